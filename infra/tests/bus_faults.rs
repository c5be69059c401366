//! The Redis change bus under a Redis restart, on a private `redis-server` this test starts
//! and kills (the shared test server stays untouched).

use infra::bus::{Change, ChangeBus, RedisBus};
use infra::readmodel::FeedEntry;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `redis-server` of our own on `port` (installed by `scripts/services`).
fn redis_on(port: u16) -> Child {
    Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting redis-server ({e}): run scripts/test, which installs it"))
}

async fn wait_ready(url: &str) {
    let client = redis::Client::open(url).expect("a redis url");
    for _ in 0..100 {
        if let Ok(mut c) = client.get_multiplexed_tokio_connection().await {
            if redis::cmd("PING").query_async::<String>(&mut c).await.is_ok() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("redis at {url} never answered");
}

fn notice(n: u32) -> Change {
    Change::Notification {
        recipient: "someone".into(),
        entry: FeedEntry {
            id: format!("n{n}"),
            doc: "doc".into(),
            kind: "submitted".into(),
            title: "t".into(),
            at: "2026-12-03T00:00:00Z".into(),
            read: false,
        },
        position: format!("approval:0:{n}"),
        correlation_id: "c".into(),
        trace_id: None,
        traceparent: None,
    }
}

async fn next(receiver: &mut tokio::sync::broadcast::Receiver<Change>) -> Change {
    tokio::time::timeout(Duration::from_secs(10), receiver.recv())
        .await
        .expect("a change within 10 s")
        .expect("the ring is open")
}

/// Redis restarted under a running bus used to end its subscription for good ("redis
/// subscription ended") and fail every later publish on the dead connection: live updates
/// stopped until the processes were restarted. Now both reconnect, and subscribers learn that
/// changes may have been lost meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bus_survives_a_redis_restart_and_says_changes_may_be_lost() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let url = format!("redis://127.0.0.1:{port}");
    let mut server = redis_on(port);
    wait_ready(&url).await;
    let bus = RedisBus::connect(&url, "bus-faults").await.unwrap();
    let mut changes = bus.subscribe();
    let mut interruptions = bus.interruptions();
    bus.publish(&[notice(1)]).await.unwrap();
    assert_eq!(next(&mut changes).await, notice(1));

    server.kill().unwrap();
    server.wait().unwrap();
    let mut server = redis_on(port);
    wait_ready(&url).await;

    tokio::time::timeout(Duration::from_secs(15), interruptions.changed())
        .await
        .expect("the interruption is reported once the subscription is back")
        .unwrap();
    assert_eq!(*interruptions.borrow(), 1);
    bus.publish(&[notice(2)])
        .await
        .expect("a publish after the restart reconnects");
    assert_eq!(next(&mut changes).await, notice(2), "the subscription is back");
    server.kill().unwrap();
    let _ = server.wait();
}
