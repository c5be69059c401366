//! Bearer tokens: the embedded signer's tokens verify; everything else is refused.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use chrono::{Duration as Days, Utc};
use infra::auth::{AuthError, LocalSigner, Verifier};
use std::time::Duration;

fn signer() -> LocalSigner {
    LocalSigner::from_seed(&[7; 32], "erp-embedded", "erp")
}

#[tokio::test]
async fn a_token_from_the_local_signer_verifies_with_its_claims() {
    let signer = signer();
    let token = signer.sign("emp-1", Some("김결재"), Utc::now(), Duration::from_secs(600));
    let claims = signer.verifier().verify(&token).await.unwrap();
    assert_eq!((claims.sub.as_str(), claims.name.as_deref()), ("emp-1", Some("김결재")));
}

#[tokio::test]
async fn expired_not_yet_valid_foreign_and_tampered_tokens_are_refused() {
    let signer = signer();
    let verifier = signer.verifier();
    let expired = signer.sign("emp-1", None, Utc::now() - Days::hours(2), Duration::from_secs(60));
    assert!(matches!(verifier.verify(&expired).await, Err(AuthError::Rejected(_))));
    let future = signer.sign("emp-1", None, Utc::now() + Days::hours(1), Duration::from_secs(600));
    assert!(matches!(verifier.verify(&future).await, Err(AuthError::Rejected(_))));
    let other_audience = LocalSigner::from_seed(&[7; 32], "erp-embedded", "other");
    let token = other_audience.sign("emp-1", None, Utc::now(), Duration::from_secs(600));
    assert!(matches!(verifier.verify(&token).await, Err(AuthError::Rejected(_))));
    let other_key = LocalSigner::from_seed(&[8; 32], "erp-embedded", "erp");
    let token = other_key.sign("emp-1", None, Utc::now(), Duration::from_secs(600));
    assert_eq!(verifier.verify(&token).await, Err(AuthError::UnknownKey));
    let good = signer.sign("emp-1", None, Utc::now(), Duration::from_secs(600));
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].replace('A', "B");
    assert!(
        verifier.verify(&parts.join(".")).await.is_err(),
        "a changed payload fails the signature"
    );
    assert!(matches!(
        verifier.verify("not-a-token").await,
        Err(AuthError::Malformed(_))
    ));
}

#[tokio::test]
async fn an_unsigned_token_is_refused_even_with_a_known_kid() {
    let signer = signer();
    let good = signer.sign("emp-1", None, Utc::now(), Duration::from_secs(600));
    let header: serde_json::Value = serde_json::from_slice(&base64_decode(good.split('.').next().unwrap())).unwrap();
    let none_header = serde_json::json!({ "alg": "none", "kid": header["kid"] });
    let forged = format!(
        "{}.{}.",
        base64_encode(&serde_json::to_vec(&none_header).unwrap()),
        good.split('.').nth(1).unwrap()
    );
    assert!(signer.verifier().verify(&forged).await.is_err());
    let _ = Verifier::from_jwks(&signer.jwks(), "x", "y");
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The signer's key set with its one key marked for `use`.
fn jwks_with_use(signer: &LocalSigner, key_use: jsonwebtoken::jwk::PublicKeyUse) -> jsonwebtoken::jwk::JwkSet {
    let mut set = signer.jwks();
    set.keys[0].common.public_key_use = Some(key_use);
    set
}

#[tokio::test]
async fn a_key_published_for_encryption_does_not_verify_tokens() {
    use jsonwebtoken::jwk::PublicKeyUse;
    let signer = signer();
    let token = signer.sign("emp-1", None, Utc::now(), Duration::from_secs(600));
    let encryption = Verifier::from_jwks(&jwks_with_use(&signer, PublicKeyUse::Encryption), "erp-embedded", "erp");
    assert_eq!(encryption.verify(&token).await, Err(AuthError::UnknownKey));
    let signature = Verifier::from_jwks(&jwks_with_use(&signer, PublicKeyUse::Signature), "erp-embedded", "erp");
    assert!(signature.verify(&token).await.is_ok());
}

#[tokio::test]
async fn a_jwks_url_must_be_https_unless_it_is_on_loopback() {
    for refused in [
        "http://idp.example.com/jwks.json",
        "http://10.0.0.5:8080/.well-known/jwks.json",
        "ftp://idp.example.com/jwks.json",
        "not a url",
    ] {
        let remote = Verifier::remote("test", refused, "i", "a", Duration::from_secs(60)).await;
        assert!(matches!(remote, Err(AuthError::Config(_))), "{refused}: {remote:?}");
    }
    for accepted in [
        "https://idp.example.com/jwks.json",
        "http://127.0.0.1:1/jwks.json",
        "http://localhost:1/jwks.json",
        "http://[::1]:1/jwks.json",
    ] {
        assert!(infra::auth::check_jwks_url(accepted).is_ok(), "{accepted}");
    }
}

/// A JWKS endpoint whose answer the test changes: `(url, the JSON it serves)`.
async fn jwks_server(initial: String) -> (String, std::sync::Arc<std::sync::Mutex<String>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = std::sync::Arc::new(std::sync::Mutex::new(initial));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let served = body.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let json = served.lock().unwrap().clone();
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{json}",
                json.len()
            );
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    (url, body)
}

#[tokio::test]
async fn a_key_withdrawn_from_the_jwks_stops_verifying_after_the_refresh_interval() {
    let signer = signer();
    let (url, served) = jwks_server(serde_json::to_string(&signer.jwks()).unwrap()).await;
    let verifier = Verifier::remote("test", &url, "erp-embedded", "erp", Duration::from_millis(200))
        .await
        .unwrap();
    let token = signer.sign("emp-1", None, Utc::now(), Duration::from_secs(600));
    assert!(verifier.verify(&token).await.is_ok());
    *served.lock().unwrap() = r#"{"keys":[]}"#.to_owned();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(verifier.verify(&token).await, Err(AuthError::UnknownKey));
}

/// The value of `erp_jwks_refresh_failures_total{role="<role>"}` in this process, 0 if absent.
fn refresh_failures(role: &str) -> f64 {
    let wanted = format!("erp_jwks_refresh_failures_total{{role=\"{role}\"}}");
    infra::telemetry::metrics::render()
        .lines()
        .find_map(|line| line.strip_prefix(&wanted)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn a_failed_jwks_refresh_keeps_the_keys_and_is_counted_for_the_alert() {
    infra::telemetry::metrics::install();
    let signer = signer();
    let (url, served) = jwks_server(serde_json::to_string(&signer.jwks()).unwrap()).await;
    let verifier = Verifier::remote("refresh-test", &url, "erp-embedded", "erp", Duration::from_millis(100))
        .await
        .unwrap();
    assert_eq!(refresh_failures("refresh-test"), 0.0);
    *served.lock().unwrap() = "not a key set".to_owned();
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(
        refresh_failures("refresh-test") >= 2.0,
        "{}",
        infra::telemetry::metrics::render()
    );
    let token = signer.sign("emp-1", None, Utc::now(), Duration::from_secs(600));
    assert!(
        verifier.verify(&token).await.is_ok(),
        "the keys fetched before are kept"
    );
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn a_new_signing_key_is_owner_only_in_an_owner_only_directory() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("data/keys/ed25519.seed");
    let first = LocalSigner::load_or_create(&key, "erp-embedded", "erp").unwrap();
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(key.parent().unwrap()), 0o700);
    assert_eq!(mode(&dir.path().join("data")), 0o700);
    let again = LocalSigner::load_or_create(&key, "erp-embedded", "erp").unwrap();
    assert_eq!(first.jwks(), again.jwks(), "the same key on the next start");
    let leftovers: Vec<_> = std::fs::read_dir(key.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left behind");
}

#[cfg(unix)]
#[test]
fn a_signing_key_that_others_may_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("ed25519.seed");
    LocalSigner::load_or_create(&key, "erp-embedded", "erp").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = LocalSigner::load_or_create(&key, "erp-embedded", "erp").unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::PermissionDenied);
    assert!(refused.to_string().contains("chmod 600"), "{refused}");
}

#[test]
fn a_damaged_signing_key_is_refused_not_silently_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("ed25519.seed");
    LocalSigner::load_or_create(&key, "erp-embedded", "erp").unwrap();
    let original = std::fs::read(&key).unwrap();
    std::fs::write(&key, &original[..20]).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    assert!(LocalSigner::load_or_create(&key, "erp-embedded", "erp").is_err());
    assert_eq!(
        std::fs::read(&key).unwrap().len(),
        20,
        "left for the operator to look at"
    );
}
