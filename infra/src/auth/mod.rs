//! # Authentication
//!
//! Two layers, each written once:
//!
//! - [`token`]: is this bearer token genuine? [`Verifier`] checks JWTs against a JWKS (remote,
//!   refreshed, or the embedded [`LocalSigner`]'s own).
//! - [`signin`]: who may act through it now? [`Authenticator`] turns a verified token into a
//!   [`Principal`] — the employee as their own record has them now (the token only names
//!   them), refused when unknown or deactivated, with the delegations they act under — or a
//!   typed [`SignInError`]. The command API, the query API and the notifier all sign in
//!   through it and differ only in how they put a refusal on their wire (problem+json,
//!   GraphQL error codes, WebSocket close codes) and where they read employees from
//!   ([`Accounts`]: the employee's own stream on the command side, the org read model on the
//!   read side). An employee signed in on the read side is kept for a moment ([`crate::kept`]), and
//!   a token that verified is not checked again until it expires ([`verified`]).

pub mod oidc;
pub mod signin;
pub mod token;
mod verified;

pub use signin::{Account, Accounts, Authenticator, Principal, SignInError};
pub use token::*;
