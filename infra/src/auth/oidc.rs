//! OpenID Connect sign-in: the authorization code flow with PKCE (RFC 7636, `S256`) against
//! any issuer that publishes its discovery document.
//!
//! 1. [`Oidc::start`] draws a `state`, a PKCE verifier and a `nonce`, keeps them (in memory,
//!    bounded, for ten minutes) and answers the issuer's authorization URL to redirect to.
//! 2. The issuer sends the browser back with `code` and `state`. [`Oidc::finish`] takes the
//!    kept login for that `state` (once: a replayed callback finds nothing), redeems the code
//!    with the verifier at the token endpoint, and checks the ID token: signature against the
//!    issuer's JWKS, `iss`, `aud` (our client id), `exp`, and the `nonce` it was started with.
//! 3. It answers the configured claim (`email` by default), which the caller matches to an
//!    employee. Who the employee is, and whether they may sign in, stays the caller's rule.
//!
//! Every URL of the issuer must be https, or plain http on a loopback address (as for JWKS).

use super::token::{check_jwks_url, AuthError, Verifier};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a started sign-in may take to come back.
pub const PENDING_TTL: Duration = Duration::from_secs(600);
/// At most this many sign-ins are in progress at once; more are refused until some finish or
/// expire (a flood of `/login` requests must not grow memory without bound).
pub const MAX_PENDING: usize = 10_000;

/// What an issuer is and who we are to it.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The issuer URL (`iss`), whose `/.well-known/openid-configuration` is read.
    pub issuer: String,
    pub client_id: String,
    /// For confidential clients; a public client (PKCE alone) sends none.
    pub client_secret: Option<String>,
    /// Where the issuer sends the browser back: this server's `/auth/oidc/callback`.
    pub redirect_uri: String,
    /// The ID token claim that names the employee (matched to an email or an employee id).
    pub claim: String,
}

#[derive(Debug)]
struct Pending {
    verifier: String,
    nonce: String,
    /// The web app's own value for this sign-in, handed back with the session so the app
    /// takes only a session it asked for.
    app: String,
    started: Instant,
}

/// A finished sign-in: the claim that names the employee, and the app's value for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub claim: String,
    pub app: String,
}

/// An issuer, discovered, with the sign-ins in progress.
#[derive(Debug)]
pub struct Oidc {
    config: OidcConfig,
    authorization_endpoint: reqwest::Url,
    token_endpoint: reqwest::Url,
    keys: Verifier,
    http: reqwest::Client,
    pending: Mutex<HashMap<String, Pending>>,
}

#[derive(serde::Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    id_token: String,
}

/// 32 random bytes, base64url: 256 bits for a state, a verifier or a nonce.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The PKCE `S256` challenge of `verifier`: base64url(SHA-256(verifier)).
pub fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn unavailable(e: impl std::fmt::Display) -> AuthError {
    AuthError::Unavailable(e.to_string())
}

impl Oidc {
    /// Reads the issuer's discovery document and its keys. `role` names the role in the JWKS
    /// failure count.
    pub async fn discover(config: OidcConfig, role: &'static str) -> Result<Self, AuthError> {
        let issuer = config.issuer.trim_end_matches('/');
        let url = check_jwks_url(&format!("{issuer}/.well-known/openid-configuration"))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(unavailable)?;
        let found: Discovery = http
            .get(url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(unavailable)?
            .json()
            .await
            .map_err(unavailable)?;
        if found.issuer.trim_end_matches('/') != issuer {
            return Err(AuthError::Config(format!(
                "the discovery document names issuer {:?}, not {issuer:?}",
                found.issuer
            )));
        }
        let keys = Verifier::remote(
            role,
            &found.jwks_uri,
            found.issuer.clone(),
            config.client_id.clone(),
            Duration::from_secs(300),
        )
        .await?;
        Ok(Self {
            authorization_endpoint: check_jwks_url(&found.authorization_endpoint)?,
            token_endpoint: check_jwks_url(&found.token_endpoint)?,
            config: OidcConfig {
                issuer: found.issuer,
                ..config
            },
            keys,
            http,
            pending: Mutex::new(HashMap::new()),
        })
    }

    /// Starts a sign-in for the web app's value `app`: the URL to send the browser to, and the
    /// `state` the caller binds to the browser (a cookie) so that a callback URL someone else
    /// started signs nobody in.
    pub fn start(&self, app: &str) -> Result<(reqwest::Url, String), AuthError> {
        let (state, verifier, nonce) = (random_token(), random_token(), random_token());
        let mut url = self.authorization_endpoint.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", &self.config.redirect_uri)
            .append_pair("scope", "openid email profile")
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        let mut pending = self.pending.lock().map_err(|_| unavailable("sign-in state poisoned"))?;
        pending.retain(|_, p| p.started.elapsed() < PENDING_TTL);
        if pending.len() >= MAX_PENDING {
            return Err(AuthError::Unavailable("too many sign-ins in progress; retry".into()));
        }
        pending.insert(
            state.clone(),
            Pending {
                verifier,
                nonce,
                app: app.to_owned(),
                started: Instant::now(),
            },
        );
        Ok((url, state))
    }

    /// Finishes the sign-in `state` names with the issuer's `code`: the configured claim of
    /// the verified ID token. An `email` claim counts only when the issuer says it verified
    /// it (`email_verified`): an address a user may type in themselves names nobody.
    pub async fn finish(&self, state: &str, code: &str) -> Result<SignedIn, AuthError> {
        let pending = self
            .pending
            .lock()
            .map_err(|_| unavailable("sign-in state poisoned"))?
            .remove(state)
            .filter(|p| p.started.elapsed() < PENDING_TTL)
            .ok_or_else(|| {
                AuthError::Rejected("no sign-in in progress for this state (used, expired or forged)".into())
            })?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.config.redirect_uri.as_str()),
            ("client_id", self.config.client_id.as_str()),
            ("code_verifier", pending.verifier.as_str()),
        ];
        if let Some(secret) = &self.config.client_secret {
            form.push(("client_secret", secret.as_str()));
        }
        let answer = self
            .http
            .post(self.token_endpoint.clone())
            .form(&form)
            .send()
            .await
            .map_err(unavailable)?;
        if !answer.status().is_success() {
            return Err(AuthError::Rejected(format!(
                "the issuer refused the code: {}",
                answer.status()
            )));
        }
        let answer: TokenAnswer = answer.json().await.map_err(|e| AuthError::Malformed(e.to_string()))?;
        let claims: serde_json::Map<String, serde_json::Value> = self
            .keys
            .verify_as(&answer.id_token, &["exp", "iss", "aud", "sub"])
            .await?;
        if claims.get("nonce").and_then(|n| n.as_str()) != Some(pending.nonce.as_str()) {
            return Err(AuthError::Rejected("the ID token's nonce is not this sign-in's".into()));
        }
        if self.config.claim == "email" {
            // Some issuers (Cognito among them) send the flag as a string.
            let verified = match claims.get("email_verified") {
                Some(serde_json::Value::Bool(b)) => *b,
                Some(serde_json::Value::String(s)) => s == "true",
                _ => false,
            };
            if !verified {
                return Err(AuthError::Rejected("the issuer has not verified this email".into()));
            }
        }
        let claim = claims
            .get(&self.config.claim)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| AuthError::Rejected(format!("the ID token has no {:?} claim", self.config.claim)))?;
        Ok(SignedIn {
            claim,
            app: pending.app,
        })
    }

    /// The configured claim's name.
    pub fn claim(&self) -> &str {
        &self.config.claim
    }

    /// Whether the issuer sends the browser back over https (the state cookie is then
    /// `Secure`).
    pub fn secure(&self) -> bool {
        self.config.redirect_uri.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_the_rfc_7636_s256_of_the_verifier() {
        // RFC 7636, appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn random_tokens_are_long_and_differ() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }
}
