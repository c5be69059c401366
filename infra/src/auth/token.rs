//! # Authentication: OIDC-style bearer JWTs
//!
//! [`Verifier`] checks tokens against a JWKS: algorithm pinned per key (EdDSA or RS256), `iss`,
//! `aud`, `exp` and `nbf` checked, keys selected by `kid`, only keys meant for signatures
//! (`use` absent or `sig`). The distributed deployment points it at the identity provider's
//! JWKS URL ([`check_jwks_url`]: https, or http on loopback only) and refetches it on an
//! interval, so a key the provider withdraws stops verifying; a token with an unknown `kid`
//! also makes it refetch (at most every 30 s), which is how key rotation is picked up early.
//!
//! [`LocalSigner`] is the embedded default's own issuer: an Ed25519 key kept in the data
//! directory (owner-only, refused when others may read it), a JWKS built from it, and
//! short-lived tokens for the dev login. The embedded default verifies its tokens with the same
//! [`Verifier`], from the signer's JWKS.

use super::verified::VerifiedTokens;
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
use std::sync::{Arc, RwLock};
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

/// Why a token was refused (all answer 401), or a verifier could not be set up (`Config`).
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
    #[error("{0}")]
    Config(String),
}

struct Key {
    decoding: DecodingKey,
    algorithm: Algorithm,
}

type KeyMap = HashMap<String, Arc<Key>>;

/// Verifies bearer tokens against a JWKS. Clones share the keys (and the remote set's
/// refresh, which ends with the last clone).
#[derive(Clone)]
pub struct Verifier {
    issuer: String,
    audience: String,
    keys: Arc<RwLock<KeyMap>>,
    remote: Option<Arc<RemoteJwks>>,
    /// Access tokens that verified, kept until they expire ([`super::verified`]).
    verified: Arc<VerifiedTokens<Claims, Key>>,
}

/// Seconds of clock skew allowed on `exp` and `nbf`.
const LEEWAY: u64 = 30;

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

/// Where a remote verifier's keys come from, and when it last asked.
struct RemoteJwks {
    /// The role that checks tokens with it, the `role` label of its failure count.
    role: &'static str,
    url: reqwest::Url,
    http: reqwest::Client,
    keys: Arc<RwLock<KeyMap>>,
    last_fetch: RwLock<Option<Instant>>,
}

/// How soon a token with an unknown `kid` may make the verifier refetch the JWKS again: a
/// stream of forged `kid`s must not turn into a stream of requests to the identity provider.
const UNKNOWN_KID_REFETCH: Duration = Duration::from_secs(30);

impl RemoteJwks {
    /// Fetches the key set; a failure (at start, scheduled, or for an unknown `kid`) is
    /// counted in `erp_jwks_refresh_failures_total`, which the `ErpJwksRefreshFailing` alert
    /// watches.
    async fn fetch(&self) -> Result<(), AuthError> {
        let fetched = self.fetch_once().await;
        if fetched.is_err() {
            metrics::counter!("erp_jwks_refresh_failures_total", "role" => self.role).increment(1);
        }
        fetched
    }

    /// Fetches the set and replaces the keys; on failure the keys stay as they were.
    async fn fetch_once(&self) -> Result<(), AuthError> {
        if let Ok(mut last) = self.last_fetch.write() {
            *last = Some(Instant::now());
        }
        let set: JwkSet = self
            .http
            .get(self.url.clone())
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

    /// Refetches for an unknown `kid`, unless a fetch happened recently.
    async fn fetch_for_unknown_kid(&self) -> Result<(), AuthError> {
        let recent = self
            .last_fetch
            .read()
            .ok()
            .and_then(|t| *t)
            .is_some_and(|t| t.elapsed() < UNKNOWN_KID_REFETCH);
        if recent {
            return Ok(());
        }
        self.fetch().await
    }
}

/// Checks a JWKS URL before anything is fetched from it: https, or plain http only to a
/// loopback address (a key set fetched in the clear decides who may act as whom).
pub fn check_jwks_url(url: &str) -> Result<reqwest::Url, AuthError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| AuthError::Config(format!("JWKS URL {url:?}: {e}")))?;
    let host = parsed.host_str().unwrap_or_default();
    let loopback = match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
    {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    };
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        "http" => Err(AuthError::Config(format!(
            "JWKS URL {url} must be https (plain http is accepted on a loopback address only)"
        ))),
        other => Err(AuthError::Config(format!(
            "JWKS URL {url}: scheme {other} is not https"
        ))),
    }
}

/// The keys of a set this verifier accepts: EdDSA and RS256 signature keys with a `kid`.
fn keys_of(set: &JwkSet) -> KeyMap {
    set.keys
        .iter()
        .filter(|jwk| matches!(jwk.common.public_key_use, None | Some(PublicKeyUse::Signature)))
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
                (AlgorithmParameters::OctetKeyPair(_), _) => Algorithm::EdDSA,
                (AlgorithmParameters::RSA(_), Some(KeyAlgorithm::RS256) | None) => Algorithm::RS256,
                _ => return None, // only EdDSA and RS256 are accepted
            };
            let decoding = DecodingKey::from_jwk(jwk).ok()?;
            Some((kid, Arc::new(Key { decoding, algorithm })))
        })
        .collect()
}

impl Verifier {
    /// A verifier over a fixed key set (the embedded signer's, or tests').
    pub fn from_jwks(set: &JwkSet, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            keys: Arc::new(RwLock::new(keys_of(set))),
            remote: None,
            verified: Arc::default(),
        }
    }

    /// A verifier that fetches a remote JWKS (checked with [`check_jwks_url`]) now and then
    /// every `refresh`, and refetches on an unknown `kid`. The refresh task ends with the
    /// verifier. `role` names the role using it in the failure count.
    pub async fn remote(
        role: &'static str,
        url: &str,
        issuer: impl Into<String>,
        audience: impl Into<String>,
        refresh: Duration,
    ) -> Result<Self, AuthError> {
        let url = check_jwks_url(url)?;
        let verifier = Self::from_jwks(&JwkSet { keys: vec![] }, issuer, audience);
        let remote = Arc::new(RemoteJwks {
            role,
            url,
            http: reqwest::Client::new(),
            keys: verifier.keys.clone(),
            last_fetch: RwLock::new(None),
        });
        remote.fetch().await?;
        let weak = Arc::downgrade(&remote);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(refresh.max(Duration::from_millis(10)));
            every.tick().await; // the first tick is immediate: the set was just fetched
            loop {
                every.tick().await;
                let Some(remote) = weak.upgrade() else { return };
                if let Err(e) = remote.fetch().await {
                    tracing::warn!(error = %e, url = %remote.url, "JWKS refresh failed; keeping the keys we have");
                }
            }
        });
        Ok(Self {
            remote: Some(remote),
            ..verifier
        })
    }

    fn key(&self, kid: &str) -> Option<Arc<Key>> {
        self.keys.read().ok()?.get(kid).cloned()
    }

    /// Verifies a compact JWS and returns its claims. A token that verified before is
    /// answered from [`super::verified`] while its key is still held and it has not expired.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let now = jsonwebtoken::get_current_timestamp() as i64;
        if let Some(claims) = self.verified.get(token, now, LEEWAY as i64, |kid| self.key(kid)) {
            return Ok(claims);
        }
        let (claims, kid, key) = self.verify_keyed(token, &["exp", "nbf", "iss", "aud", "sub"]).await?;
        self.verified.put(token, &claims, claims.exp, kid, key);
        Ok(claims)
    }

    /// Verifies a compact JWS against the keys, issuer and audience, requiring the `required`
    /// registered claims, and returns its claims as `T` (an OpenID Connect ID token's shape
    /// differs from an access token's).
    pub async fn verify_as<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        required: &[&str],
    ) -> Result<T, AuthError> {
        self.verify_keyed(token, required).await.map(|(claims, _, _)| claims)
    }

    /// As [`Self::verify_as`], with the `kid` and the key that verified it.
    async fn verify_keyed<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        required: &[&str],
    ) -> Result<(T, String, Arc<Key>), AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| AuthError::Malformed(e.to_string()))?;
        let kid = header.kid.ok_or_else(|| AuthError::Malformed("no kid".into()))?;
        let key = match (self.key(&kid), &self.remote) {
            (Some(key), _) => key,
            (None, None) => return Err(AuthError::UnknownKey),
            (None, Some(remote)) => {
                remote.fetch_for_unknown_kid().await?;
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
        validation.set_required_spec_claims(required);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY;
        let claims = jsonwebtoken::decode::<T>(token, &key.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| AuthError::Rejected(e.to_string()))?;
        Ok((claims, kid, key))
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
    /// Loads the Ed25519 seed at `path`, creating it on first start: written owner-only (0600)
    /// to a fresh temporary file beside it, then renamed into place, so the key is never
    /// readable by others nor seen half-written. An existing key file that group or others may
    /// read, or that is not a 32-byte seed, is refused rather than used or replaced.
    pub fn load_or_create(path: &Path, issuer: &str, audience: &str) -> std::io::Result<Self> {
        let seed = match std::fs::metadata(path) {
            Ok(meta) => {
                refuse_shared(path, &meta)?;
                let bytes = std::fs::read(path)?;
                <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "{} is not a 32-byte Ed25519 seed ({} bytes)",
                            path.display(),
                            bytes.len()
                        ),
                    )
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_seed(path)?,
            Err(e) => return Err(e),
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

/// Creates `dir` and its missing parents owner-only (0700): the data directory holds the
/// signing key and every record.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Refuses a key file that group or others may read or write.
fn refuse_shared(path: &Path, meta: &std::fs::Metadata) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "{} has mode {mode:03o}: the signing key must be readable by its owner only (chmod 600 it)",
                    path.display()
                ),
            ));
        }
    }
    let _ = (path, meta);
    Ok(())
}

/// A fresh random seed, written owner-only to a temporary file and renamed to `path`.
fn create_seed(path: &Path) -> std::io::Result<[u8; 32]> {
    use std::io::Write;
    let mut seed = [0u8; 32];
    seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let temp = dir.join(format!(".key-{}.tmp", uuid::Uuid::new_v4().simple()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temp).and_then(|mut file| {
        file.write_all(&seed)?;
        file.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&temp, path)) {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    Ok(seed)
}

/// The token of an `Authorization: Bearer <token>` value (either case of the scheme), as the
/// command API, the query API and the notifier's `connection_init` all read it.
pub fn bearer_token(header: &str) -> Option<&str> {
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
}
