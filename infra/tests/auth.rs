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
