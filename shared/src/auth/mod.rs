//! Credential decisions (integrations.md §2): pure functions over presented headers and
//! configured credentials. Storage and caching live at the edges.

pub mod basic;
pub mod secret;

use std::fmt;

use crate::auth::basic::parse_basic;
use crate::auth::secret::{ct_eq, hash_secret, verify_secret};

/// A configured Basic credential: username and the PHC hash of the password.
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

/// Who was admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An open instance: nobody was asked.
    Open,
    /// A Basic pair.
    Basic(String),
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Open => f.write_str("open"),
            Self::Basic(user) => write!(f, "basic:{user}"),
        }
    }
}

/// Basic authentication against the effective credential (instance, else universal). `None`
/// effective credential means an open instance. `authorization` holds every `Authorization`
/// field received.
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
