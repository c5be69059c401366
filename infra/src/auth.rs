//! # Authentication: OIDC-style bearer JWTs
//!
//! [`Verifier`] checks tokens against a JWKS: algorithm pinned per key (EdDSA or RS256), `iss`,
//! `aud`, `exp` and `nbf` checked, keys selected by `kid`. A token with an unknown `kid` makes
//! a remote verifier refetch the JWKS once (at most every 30 s), which is how key rotation is
//! picked up. The distributed deployment points it at the identity provider's JWKS URL.
//!
//! [`LocalSigner`] is the embedded default's own issuer: an Ed25519 key kept in the data
//! directory, a JWKS built from it, and short-lived tokens for the dev login. The embedded
//! default verifies its tokens with the same [`Verifier`], from the signer's JWKS.

use base64::Engine;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, OctetKeyPairParameters,
    OctetKeyPairType, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// The claims this system reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The employee id.
    pub sub: String,
    #[serde(default)]
    pub name: Option<String>,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
}

/// Why a token was refused (all answer 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("unknown signing key")]
    UnknownKey,
    #[error("token rejected: {0}")]
    Rejected(String),
    #[error("identity provider unavailable: {0}")]
    Unavailable(String),
}

struct Key {
    decoding: DecodingKey,
    algorithm: Algorithm,
}

/// Verifies bearer tokens against a JWKS.
pub struct Verifier {
    issuer: String,
    audience: String,
    keys: RwLock<HashMap<String, std::sync::Arc<Key>>>,
    jwks_url: Option<String>,
    last_fetch: RwLock<Option<Instant>>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

fn keys_of(set: &JwkSet) -> HashMap<String, std::sync::Arc<Key>> {
    set.keys
        .iter()
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
                (AlgorithmParameters::OctetKeyPair(_), _) => Algorithm::EdDSA,
                (AlgorithmParameters::RSA(_), Some(KeyAlgorithm::RS256) | None) => Algorithm::RS256,
                _ => return None, // only EdDSA and RS256 are accepted
            };
            let decoding = DecodingKey::from_jwk(jwk).ok()?;
            Some((kid, std::sync::Arc::new(Key { decoding, algorithm })))
        })
        .collect()
}

impl Verifier {
    /// A verifier over a fixed key set (the embedded signer's, or tests').
    pub fn from_jwks(set: &JwkSet, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            keys: RwLock::new(keys_of(set)),
            jwks_url: None,
            last_fetch: RwLock::new(None),
            http: reqwest::Client::new(),
        }
    }

    /// A verifier that fetches (and on an unknown `kid`, refetches) a remote JWKS.
    pub async fn remote(
        url: impl Into<String>,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, AuthError> {
        let verifier = Self {
            jwks_url: Some(url.into()),
            ..Self::from_jwks(&JwkSet { keys: vec![] }, issuer, audience)
        };
        verifier.refresh().await?;
        Ok(verifier)
    }

    async fn refresh(&self) -> Result<(), AuthError> {
        let Some(url) = &self.jwks_url else { return Ok(()) };
        let recent = self
            .last_fetch
            .read()
            .ok()
            .and_then(|t| *t)
            .is_some_and(|t| t.elapsed() < Duration::from_secs(30));
        if recent {
            return Ok(());
        }
        if let Ok(mut last) = self.last_fetch.write() {
            *last = Some(Instant::now());
        }
        let set: JwkSet = self
            .http
            .get(url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| AuthError::Unavailable(e.to_string()))?
            .json()
            .await
            .map_err(|e| AuthError::Unavailable(e.to_string()))?;
        if let Ok(mut keys) = self.keys.write() {
            *keys = keys_of(&set);
        }
        Ok(())
    }

    fn key(&self, kid: &str) -> Option<std::sync::Arc<Key>> {
        self.keys.read().ok()?.get(kid).cloned()
    }

    /// Verifies a compact JWS and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| AuthError::Malformed(e.to_string()))?;
        let kid = header.kid.ok_or_else(|| AuthError::Malformed("no kid".into()))?;
        let key = match self.key(&kid) {
            Some(key) => key,
            None => {
                self.refresh().await?;
                self.key(&kid).ok_or(AuthError::UnknownKey)?
            }
        };
        if header.alg != key.algorithm {
            return Err(AuthError::Rejected(format!(
                "algorithm {:?} not allowed for this key",
                header.alg
            )));
        }
        let mut validation = Validation::new(key.algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| AuthError::Rejected(e.to_string()))
    }
}

/// The embedded default's token issuer.
pub struct LocalSigner {
    encoding: EncodingKey,
    jwk: Jwk,
    pub issuer: String,
    pub audience: String,
}

impl std::fmt::Debug for LocalSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSigner").field("issuer", &self.issuer).finish()
    }
}

impl LocalSigner {
    /// Loads the Ed25519 seed at `path`, creating it (mode 0600) on first start.
    pub fn load_or_create(path: &Path, issuer: &str, audience: &str) -> std::io::Result<Self> {
        let seed: [u8; 32] = match std::fs::read(path) {
            Ok(bytes) if bytes.len() == 32 => bytes.try_into().unwrap_or([0; 32]),
            _ => {
                let mut seed = [0u8; 32];
                seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
                seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(path, seed)?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
                }
                seed
            }
        };
        Ok(Self::from_seed(&seed, issuer, audience))
    }

    /// A signer from a 32-byte Ed25519 seed.
    pub fn from_seed(seed: &[u8; 32], issuer: &str, audience: &str) -> Self {
        let signing = ed25519_dalek::SigningKey::from_bytes(seed);
        let der = signing
            .to_pkcs8_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default();
        let public = signing.verifying_key().to_bytes();
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(public);
        let kid = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&public[..8]);
        let jwk = Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::EdDSA),
                key_id: Some(kid),
                ..CommonParameters::default()
            },
            algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x,
            }),
        };
        Self {
            encoding: EncodingKey::from_ed_der(&der),
            jwk,
            issuer: issuer.into(),
            audience: audience.into(),
        }
    }

    /// The public key set, served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: vec![self.jwk.clone()],
        }
    }

    /// A verifier for this signer's tokens.
    pub fn verifier(&self) -> Verifier {
        Verifier::from_jwks(&self.jwks(), self.issuer.clone(), self.audience.clone())
    }

    /// Signs a token for `subject`, valid from `now` for `ttl`.
    pub fn sign(&self, subject: &str, name: Option<&str>, now: chrono::DateTime<chrono::Utc>, ttl: Duration) -> String {
        let claims = Claims {
            sub: subject.to_owned(),
            name: name.map(str::to_owned),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: now.timestamp() + ttl.as_secs() as i64,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = self.jwk.common.key_id.clone();
        jsonwebtoken::encode(&header, &claims, &self.encoding).unwrap_or_default()
    }
}
