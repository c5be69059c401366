//! Forwarding between command-API instances: the token goes only to peers on the allowlist,
//! and is compared so that neither timing nor an empty token lets a stranger in. No broker
//! needed: the owners topic is stood in for by the `Owner` it would have announced.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use infra::eventlog::kafka::owners::{token_matches, Forwarded, Forwarder, Owner, Peers};
use infra::eventlog::StreamRef;
use std::time::Duration;

fn owner(url: String) -> Owner {
    Owner {
        instance_id: "announced".into(),
        url,
    }
}

fn read_request() -> Forwarded {
    Forwarded::ReadStream {
        stream: StreamRef {
            stream_type: "approval".into(),
            stream_id: uuid::Uuid::now_v7().to_string(),
        },
    }
}

/// A listener that records whether anyone connected to it.
async fn listener() -> (String, tokio::sync::oneshot::Receiver<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        if listener.accept().await.is_ok() {
            let _ = tx.send(());
        }
    });
    (url, rx)
}

#[tokio::test]
async fn the_token_is_never_sent_to_an_announced_address_outside_the_peer_allowlist() {
    let (url, contacted) = listener().await;
    let cluster = Peers::parse(&["10.0.0.0/16".into()], false).unwrap();
    let forwarder = Forwarder::new(Some("peer-secret".into()), cluster);
    let answer = forwarder.forward(&owner(url), &read_request()).await;
    assert!(answer.is_err());
    assert!(
        tokio::time::timeout(Duration::from_millis(300), contacted)
            .await
            .is_err(),
        "nothing reached the announced address"
    );
}

#[tokio::test]
async fn nothing_is_forwarded_without_a_token() {
    let (url, contacted) = listener().await;
    let forwarder = Forwarder::new(Some(String::new()), Peers::loopback());
    assert!(forwarder.forward(&owner(url), &read_request()).await.is_err());
    assert!(tokio::time::timeout(Duration::from_millis(300), contacted)
        .await
        .is_err());
}

#[test]
fn the_peer_allowlist_admits_listed_networks_and_names_only() {
    let peers = Peers::parse(
        &["10.1.0.0/16".into(), "fd00::7".into(), "cmd-2.erp.internal".into()],
        false,
    )
    .unwrap();
    for url in [
        "http://10.1.2.3:8091",
        "https://[fd00::7]:8091/",
        "http://CMD-2.erp.internal:8091",
    ] {
        assert!(peers.permits(url), "{url}");
    }
    for url in [
        "http://10.2.0.1:8091",
        "http://127.0.0.1:8091",
        "http://evil.example:8091",
        "http://user:pw@10.1.2.3:8091",
        "file:///etc/passwd",
        "not a url",
    ] {
        assert!(!peers.permits(url), "{url}");
    }
    assert!(Peers::loopback().permits("http://127.0.0.1:8091"));
    assert!(Peers::loopback().permits("http://[::1]:8091"));
    assert!(Peers::parse(&["10.0.0.0/33".into()], false).is_err());
    assert!(Peers::parse(&["http://x".into()], false).is_err());
}

#[test]
fn tokens_match_only_when_equal_and_never_when_empty() {
    assert!(token_matches("peer-secret", "peer-secret"));
    assert!(!token_matches("peer-secret", "peer-secreT"));
    assert!(!token_matches("peer-secret", "peer-secret-and-more"));
    assert!(!token_matches("", ""));
    assert!(!token_matches("peer-secret", ""));
}
