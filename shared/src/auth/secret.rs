//! Slow salted password hashes (Argon2id, PHC strings) and constant-time comparison.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use subtle::ConstantTimeEq;

/// Argon2id with m = 19 MiB, t = 2, p = 1: the floor of integrations.md §2.6.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a secret with a fresh random 16-byte salt; returns the PHC string.
pub fn hash_secret(secret: &str) -> Result<String, SecretError> {
    hasher()
        .hash_password(secret.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| SecretError(e.to_string()))
}

/// Verifies `secret` against a stored PHC string. A malformed stored string never verifies.
pub fn verify_secret(phc: &str, secret: &str) -> bool {
    // The parameters and salt come from the stored string itself.
    hasher().verify_password(secret.as_bytes(), phc).is_ok()
}

/// Whether `phc` is a PHC string this module can verify (Argon2 family).
pub fn is_supported_hash(phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| h.algorithm.as_str().starts_with("argon2"))
}

/// Constant-time equality of two byte strings (length may leak, content does not).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// 32 bytes from the operating system's secure random source (the one Argon2 salts come
/// from), for per-process keys such as the verified-credential cache's.
pub fn random_key() -> Result<[u8; 32], SecretError> {
    // `try_generate_salt` yields 16 bytes per call; two calls give a 256-bit key without
    // adding a direct dependency on `getrandom`.
    let mut key = [0u8; 32];
    for half in key.chunks_exact_mut(16) {
        let salt = argon2::password_hash::try_generate_salt()
            .map_err(|e| SecretError(format!("no secure randomness: {e}")))?;
        half.copy_from_slice(&salt);
    }
    Ok(key)
}

/// Hashing failed (no randomness, bad parameters).
#[derive(Debug, thiserror::Error)]
#[error("cannot hash secret: {0}")]
pub struct SecretError(String);

impl SecretError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_only_the_hashed_secret() {
        let phc = hash_secret("pa:ss").expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_secret(&phc, "pa:ss"));
        assert!(!verify_secret(&phc, "pa:sS"));
        assert!(!verify_secret("not a hash", "pa:ss"));
        assert!(is_supported_hash(&phc));
    }

    #[test]
    fn random_keys_differ_between_calls() {
        let a = random_key().expect("randomness");
        let b = random_key().expect("randomness");
        assert_ne!(a, b);
        assert_ne!(a[..16], a[16..], "the two halves come from separate draws");
    }

    #[test]
    fn salts_differ_between_hashes() {
        assert_ne!(hash_secret("x").expect("a"), hash_secret("x").expect("b"));
    }
}
