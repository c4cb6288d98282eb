//! Credential decisions (integrations.md §2, §3): pure functions over presented headers,
//! configured credentials and API-key records. The one entry point for a request is
//! [`Authenticator::authenticate`]; storage is reached only through the [`KeyStore`] port.
//!
//! [`KeyStore`]: crate::store::KeyStore

pub mod apikey;
pub mod basic;
pub mod cache;
pub mod decide;
pub mod headers;
pub mod secret;
pub mod token;

#[cfg(test)]
mod testkit;

use std::fmt;

use crate::auth::basic::parse_basic;
use crate::auth::secret::{ct_eq, hash_secret, verify_secret};
use crate::store::Role;

pub use apikey::{KeyFailure, MasterSecret};
pub use cache::VerifiedCache;
pub use decide::{Authenticator, CredentialFailure, Denial, Effective, InstanceAuth, Mode};
pub use headers::redact_header;

/// A configured credential: username and the PHC hash of the password. A username
/// `_header:<Name>` makes it a header token (§2.3) whose hash is the token's.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    username: String,
    password_hash: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl Credential {
    /// A credential from a username and an already computed PHC hash.
    pub fn from_hash(username: impl Into<String>, password_hash: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password_hash: password_hash.into(),
        }
    }

    /// A credential from a plaintext password, hashed now; the plaintext is not kept.
    pub fn from_password(
        username: impl Into<String>,
        password: &str,
    ) -> Result<Self, secret::SecretError> {
        Ok(Self::from_hash(username, hash_secret(password)?))
    }

    /// The username.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The stored PHC hash.
    pub fn password_hash(&self) -> &str {
        &self.password_hash
    }

    /// Checks a presented pair. Both the username and the password are always checked, so
    /// timing does not tell which one was wrong; an empty username never matches.
    pub fn verify(&self, username: &str, password: &str) -> bool {
        let user_ok = ct_eq(username.as_bytes(), self.username.as_bytes());
        let password_ok = verify_secret(&self.password_hash, password);
        user_ok && password_ok && !self.username.is_empty()
    }
}

/// Who was admitted. `Display` is the access-log form (§2.6): `open`, `basic:<username>`,
/// `token`, `api-key:<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An open instance: nobody was asked.
    Open,
    /// A Basic pair; the username.
    Basic(String),
    /// The instance's header token (engine only).
    Token,
    /// An API key whose role allows the route.
    ApiKey {
        /// Canonical key id.
        id: String,
        /// Its role.
        role: Role,
    },
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Open => f.write_str("open"),
            Self::Basic(user) => write!(f, "basic:{user}"),
            Self::Token => f.write_str("token"),
            Self::ApiKey { id, .. } => write!(f, "api-key:{id}"),
        }
    }
}

/// Basic authentication against the effective credential (instance, else universal). `None`
/// effective credential means an open instance. `authorization` holds every `Authorization`
/// field received.
///
/// Superseded by [`Authenticator::authenticate`], which adds API keys, header tokens, the
/// cache and serverless mode (where no credential means 401, not open); kept until
/// `http::gate` moves over.
pub fn check_basic(
    effective: Option<&Credential>,
    authorization: &[&str],
) -> Result<Principal, AuthFailure> {
    let Some(credential) = effective else {
        return Ok(Principal::Open);
    };
    let [header] = authorization else {
        return Err(AuthFailure::Basic);
    };
    let presented = parse_basic(header).ok_or(AuthFailure::Basic)?;
    if credential.verify(&presented.username, &presented.password) {
        Ok(Principal::Basic(presented.username))
    } else {
        Err(AuthFailure::Basic)
    }
}

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// Basic (or header-token) authentication failed.
    #[error("basic authentication failed")]
    Basic,
}
