//! Bearer tokens whose signature was checked, kept until they expire, so that a client sending
//! the same token with every request pays for one signature check (Ed25519 or RSA), not one
//! per request: on two cores the Ed25519 check was about a tenth of what a query cost.
//!
//! An entry is a token's exact text, the claims it verified to and the key that verified it.
//! It answers only while the verifier still holds that very key under the token's `kid` (a
//! JWKS refresh that withdraws or replaces the key ends it) and while the token has not
//! expired, with the same leeway the check allows. Only tokens that verified are kept, at
//! most [`VerifiedTokens::MAX`]; past it the cache starts over.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// What a token verified to (its claims `C` and their `exp`), and with which key `K`.
struct Verified<C, K> {
    claims: C,
    exp: i64,
    kid: String,
    key: Arc<K>,
}

/// Tokens that verified, by their text.
pub(super) struct VerifiedTokens<C, K> {
    entries: Mutex<HashMap<String, Verified<C, K>>>,
}

impl<C, K> Default for VerifiedTokens<C, K> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<C: Clone, K> VerifiedTokens<C, K> {
    /// Tokens kept at most: one per signed-in session that is active at once, and more.
    pub(super) const MAX: usize = 10_000;

    /// The claims `token` verified to, if it did, with a key that `key` (the verifier's key
    /// for a `kid` now) still gives, and it has not expired at `now` (seconds since the
    /// epoch) allowing `leeway` seconds.
    pub(super) fn get(&self, token: &str, now: i64, leeway: i64, key: impl Fn(&str) -> Option<Arc<K>>) -> Option<C> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let verified = entries.get(token)?;
        let same_key = key(&verified.kid).is_some_and(|now| Arc::ptr_eq(&now, &verified.key));
        (same_key && verified.exp >= now - leeway).then(|| verified.claims.clone())
    }

    /// Keeps `token` as verified to `claims`, expiring at `exp`, by `key`, held under `kid`.
    pub(super) fn put(&self, token: &str, claims: &C, exp: i64, kid: String, key: Arc<K>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= Self::MAX {
            entries.clear();
        }
        let verified = Verified {
            claims: claims.clone(),
            exp,
            kid,
            key,
        };
        entries.insert(token.to_owned(), verified);
    }
}

impl<C, K> std::fmt::Debug for VerifiedTokens<C, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.entries.lock().map_or(0, |entries| entries.len());
        f.debug_struct("VerifiedTokens").field("kept", &kept).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Claims are what a token says; a key is anything held under a kid.
    type Tokens = VerifiedTokens<&'static str, u8>;

    #[test]
    fn a_kept_token_answers_until_it_expires_with_the_leeway() {
        let (tokens, key) = (Tokens::default(), Arc::new(1));
        tokens.put("t", &"emp-1", 1_000, "k1".into(), key.clone());
        let held = |_: &str| Some(key.clone());
        assert_eq!(tokens.get("t", 900, 30, held), Some("emp-1"));
        assert_eq!(tokens.get("t", 1_030, 30, held), Some("emp-1"), "within the leeway");
        assert_eq!(tokens.get("t", 1_031, 30, held), None, "expired");
        assert_eq!(tokens.get("other", 900, 30, held), None, "never verified");
    }

    #[test]
    fn a_kept_token_answers_only_while_its_key_is_the_one_held_under_its_kid() {
        let (tokens, key) = (Tokens::default(), Arc::new(1));
        tokens.put("t", &"emp-1", 1_000, "k1".into(), key.clone());
        assert_eq!(tokens.get("t", 900, 30, |_| None), None, "the key was withdrawn");
        let replaced = Arc::new(1);
        assert_eq!(
            tokens.get("t", 900, 30, |_| Some(replaced.clone())),
            None,
            "another key under the kid, equal or not"
        );
        let asked = std::cell::RefCell::new(Vec::new());
        let found = tokens.get("t", 900, 30, |kid| {
            asked.borrow_mut().push(kid.to_owned());
            Some(key.clone())
        });
        assert_eq!((found, asked.into_inner()), (Some("emp-1"), vec!["k1".to_owned()]));
    }

    #[test]
    fn past_its_bound_the_cache_starts_over() {
        let (tokens, key) = (Tokens::default(), Arc::new(1));
        for n in 0..Tokens::MAX {
            tokens.put(&format!("t{n}"), &"emp", 1_000, "k1".into(), key.clone());
        }
        let held = |_: &str| Some(key.clone());
        assert!(tokens.get("t0", 900, 30, held).is_some());
        tokens.put("one more", &"emp", 1_000, "k1".into(), key.clone());
        assert!(tokens.get("t0", 900, 30, held).is_none());
        assert!(tokens.get("one more", 900, 30, held).is_some());
    }
}
