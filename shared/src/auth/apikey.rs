//! XDR-style API keys (integrations.md §3): key derivation from the master secret, the
//! standard and advanced checks, the nonce replay store and roles. Every failure is the same
//! client-facing 401; the [`KeyFailure`] reason is for the log only and never holds key
//! material.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::auth::headers::{self, AUTHORIZATION, XDR_AUTH_ID, XDR_NONCE, XDR_TIMESTAMP};
use crate::auth::secret::ct_eq;
use crate::instant::Instant;
use crate::store::{InstanceKind, KeyStore, KeyType, Role, StoreError};

/// Allowed distance between the client's timestamp and our clock, both ways, inclusive.
pub const WINDOW_MS: i128 = 300_000;
/// How long a recorded nonce stays live: twice the window, so every timestamp that could
/// still pass the window check is covered by the record (§3.6).
pub const NONCE_TTL_S: i64 = 600;
/// Longest accepted nonce, in characters.
pub const MAX_NONCE_LEN: usize = 256;
/// Longest accepted timestamp, in digits.
pub const MAX_TIMESTAMP_DIGITS: usize = 16;

const NANOS_PER_MS: i128 = 1_000_000;
const NANOS_PER_S: i128 = 1_000_000_000;

/// The secret every key is derived from (§3.2). Only the keyed HMAC state is kept; `Debug`
/// never shows it and there is no `Display`.
#[derive(Clone)]
pub struct MasterSecret {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for MasterSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterSecret(***)")
    }
}

impl MasterSecret {
    /// The shortest master secret accepted, in bytes (§3.2: at least 32 random bytes).
    pub const MIN_LEN: usize = 32;

    /// A master secret from its text; the UTF-8 bytes are the HMAC key. Refuses secrets
    /// shorter than [`MasterSecret::MIN_LEN`] bytes.
    pub fn new(secret: &str) -> Result<Self, MasterSecretError> {
        if secret.len() < Self::MIN_LEN {
            return Err(MasterSecretError::TooShort(secret.len()));
        }
        Self::from_bytes(secret.as_bytes())
    }

    /// Any length: the §3.8 vectors use a 30-byte secret.
    pub(crate) fn from_bytes(secret: &[u8]) -> Result<Self, MasterSecretError> {
        // HMAC accepts keys of every length; the error arm exists only because the trait is
        // shared with fixed-key MACs.
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
            .map_err(|_| MasterSecretError::Unusable)?;
        Ok(Self { mac })
    }

    /// key(id): lowercase hex of HMAC-SHA-256(master secret, ASCII `id`), 64 characters.
    /// `id` should be canonical ([`is_canonical_id`]); the function itself derives for any
    /// text.
    ///
    /// ```
    /// use feedgate::auth::apikey::MasterSecret;
    /// // tests/conformance/http/021: master secret and derived key of id 101.
    /// let master = MasterSecret::new("fg-conformance-master-secret-2026-0001").unwrap();
    /// assert_eq!(
    ///     master.key("101"),
    ///     "eb4c28973fdcea372da175d4105e28d193b36d16255abf18dac03742e4a4f685"
    /// );
    /// ```
    pub fn key(&self, id: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(id.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// A master secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MasterSecretError {
    /// Fewer than [`MasterSecret::MIN_LEN`] bytes; the length is given, never the value.
    #[error("master secret too short: {0} bytes, need at least 32")]
    TooShort(usize),
    /// The HMAC implementation refused the key (cannot happen for HMAC-SHA-256).
    #[error("master secret unusable as an hmac key")]
    Unusable,
}

/// The advanced-key digest (§3.5 step 4): SHA-256 over `key ‖ nonce ‖ timestamp`, plain
/// concatenation, with the timestamp exactly as the client sent it.
///
/// ```
/// use feedgate::auth::apikey::advanced_digest;
/// // integrations.md §3.8, first row.
/// let key = "A1b2C3d4".repeat(16);
/// let nonce = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789AB";
/// assert_eq!(
///     hex::encode(advanced_digest(&key, nonce, "1700000000000")),
///     "76aabf5b6b657d3833a8f8b3322aee428ccf2f7967eacde735bbe6ea5c6ffd88"
/// );
/// ```
pub fn advanced_digest(key: &str, nonce: &str, timestamp: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(key.as_bytes())
        .chain_update(nonce.as_bytes())
        .chain_update(timestamp.as_bytes())
        .finalize()
        .into()
}

/// Whether `id` is a canonical key id: `^[1-9][0-9]{0,17}$`.
pub fn is_canonical_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    matches!(bytes.first(), Some(b'1'..=b'9'))
        && bytes.len() <= 18
        && bytes.iter().all(u8::is_ascii_digit)
}

/// The API-key headers of one request. Each is `Some` only when sent exactly once, trimmed
/// of surrounding spaces and tabs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyHeaders<'a> {
    /// `x-xdr-auth-id`.
    pub id: Option<&'a str>,
    /// `Authorization`: the key or the digest.
    pub authorization: Option<&'a str>,
    /// `x-xdr-nonce`.
    pub nonce: Option<&'a str>,
    /// `x-xdr-timestamp`.
    pub timestamp: Option<&'a str>,
}

impl<'a> KeyHeaders<'a> {
    /// Picks the API-key headers out of a request's header fields.
    pub fn from_headers(fields: &'a [(String, String)]) -> Self {
        Self {
            id: headers::single(fields, XDR_AUTH_ID),
            authorization: headers::single(fields, AUTHORIZATION),
            nonce: headers::single(fields, XDR_NONCE),
            timestamp: headers::single(fields, XDR_TIMESTAMP),
        }
    }
}

/// Standard check (§3.5): `Authorization` equals key(id) exactly, in constant time.
pub fn check_standard(key: &str, authorization: Option<&str>) -> Result<(), KeyFailure> {
    match authorization {
        Some(presented) if ct_eq(presented.as_bytes(), key.as_bytes()) => Ok(()),
        _ => Err(KeyFailure::WrongKey),
    }
}

/// Advanced check, steps 1–5 of §3.5, against `now`; returns the nonce to record. Recording
/// it (step 6) is the caller's, and must happen only after this returns `Ok`.
pub fn check_advanced<'a>(
    key: &str,
    presented: &KeyHeaders<'a>,
    now: Instant,
) -> Result<&'a str, KeyFailure> {
    let nonce = presented
        .nonce
        .filter(|n| is_valid_nonce(n))
        .ok_or(KeyFailure::MalformedNonce)?;
    let sent = presented.timestamp.ok_or(KeyFailure::MalformedTimestamp)?;
    let timestamp_ms = parse_timestamp(sent).ok_or(KeyFailure::MalformedTimestamp)?;
    let now_ms = now.unix_nanos().div_euclid(NANOS_PER_MS);
    if (now_ms - timestamp_ms).abs() > WINDOW_MS {
        return Err(KeyFailure::OutsideWindow);
    }
    let expected = advanced_digest(key, nonce, sent);
    let digest = presented
        .authorization
        .and_then(decode_digest)
        .ok_or(KeyFailure::MalformedDigest)?;
    if ct_eq(&digest, &expected) {
        Ok(nonce)
    } else {
        Err(KeyFailure::WrongDigest)
    }
}

/// 1–256 characters, each printable ASCII without space (0x21–0x7E).
fn is_valid_nonce(nonce: &str) -> bool {
    (1..=MAX_NONCE_LEN).contains(&nonce.len()) && nonce.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// 1–16 ASCII digits; leading zeros allowed (the digest still uses the text as sent).
fn parse_timestamp(text: &str) -> Option<i128> {
    if !(1..=MAX_TIMESTAMP_DIGITS).contains(&text.len())
        || !text.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    text.parse().ok()
}

/// Exactly 64 hex digits in any case → 32 bytes.
fn decode_digest(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if text.len() != 64 {
        return None;
    }
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// A key that authenticated; its role is not checked yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedKey {
    /// Canonical id.
    pub id: String,
    /// The record's role.
    pub role: Role,
}

/// Full API-key verification (§3.4–§3.6) except the role: id canonical and known, not
/// revoked, not expired at `now`, the type's check, and for advanced keys the nonce recorded
/// through `store` (insert-if-absent-or-expired, live for [`NONCE_TTL_S`]). Without a master
/// secret no key verifies.
pub async fn verify_api_key<K: KeyStore>(
    store: &K,
    master: Option<&MasterSecret>,
    fields: &[(String, String)],
    now: Instant,
) -> Result<AuthenticatedKey, KeyError> {
    let presented = KeyHeaders::from_headers(fields);
    let master = master.ok_or(KeyFailure::NotConfigured)?;
    let id = presented
        .id
        .filter(|id| is_canonical_id(id))
        .ok_or(KeyFailure::MalformedId)?;
    let record = store
        .key(id)
        .await
        .map_err(KeyError::StoreUnavailable)?
        .ok_or(KeyFailure::UnknownId)?;
    if record.revoked {
        return Err(KeyFailure::Revoked.into());
    }
    if let Some(expires_at) = &record.expires_at {
        let expires_at = Instant::parse(expires_at).ok_or(KeyFailure::UnreadableExpiry)?;
        // Dead from the expiry instant on.
        if now >= expires_at {
            return Err(KeyFailure::Expired.into());
        }
    }
    let key = master.key(id);
    match record.kind {
        KeyType::Standard => check_standard(&key, presented.authorization)?,
        KeyType::Advanced => {
            let nonce = check_advanced(&key, &presented, now)?;
            let (expires_at_s, now_s) = nonce_times(now);
            let fresh = store
                .record_nonce(id, nonce, expires_at_s, now_s)
                .await
                .map_err(KeyError::StoreUnavailable)?;
            if !fresh {
                return Err(KeyFailure::ReplayedNonce.into());
            }
        }
    }
    Ok(AuthenticatedKey {
        id: id.to_owned(),
        role: record.role,
    })
}

/// `(expires_at_s, now_s)` for a nonce accepted at `now`: the expiry rounds up so the record
/// lives at least [`NONCE_TTL_S`] after acceptance, and "now" rounds down so an existing
/// record is only overwritten once it has surely expired.
fn nonce_times(now: Instant) -> (i64, i64) {
    let nanos = now.unix_nanos();
    let floor_s = nanos.div_euclid(NANOS_PER_S);
    let ceil_s = -(-nanos).div_euclid(NANOS_PER_S);
    let to_i64 = |s: i128| i64::try_from(s).unwrap_or(if s < 0 { i64::MIN } else { i64::MAX });
    (to_i64(ceil_s).saturating_add(NONCE_TTL_S), to_i64(floor_s))
}

/// Whether `role` may call `method` on an instance of `kind` (§3.7). Methods outside the
/// table (never reached after routing, §1.3) are refused.
pub fn role_allows(role: Role, kind: InstanceKind, method: &str) -> bool {
    let read_route = matches!(kind, InstanceKind::Export | InstanceKind::PublishList)
        && matches!(method, "GET" | "HEAD");
    let write_route = kind == InstanceKind::Webhook && method == "POST";
    match role {
        Role::Read => read_route,
        Role::Write => write_route,
        Role::Admin => read_route || write_route,
    }
}

/// Why an API key did not authenticate. For the log only: the client always gets the same
/// 401. Holds no key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyFailure {
    /// No master secret is configured, so no key can verify.
    #[error("api keys not configured")]
    NotConfigured,
    /// `x-xdr-auth-id` repeated or not canonical.
    #[error("malformed key id")]
    MalformedId,
    /// No record for the id.
    #[error("unknown key id")]
    UnknownId,
    /// The key was revoked.
    #[error("key revoked")]
    Revoked,
    /// The key expired.
    #[error("key expired")]
    Expired,
    /// The record's `expires_at` is not RFC 3339 (treated as expired).
    #[error("stored expiry unreadable")]
    UnreadableExpiry,
    /// Standard key: `Authorization` missing, repeated or different from the key.
    #[error("wrong standard key")]
    WrongKey,
    /// Advanced key: nonce missing, repeated, empty, too long or outside 0x21–0x7E.
    #[error("malformed nonce")]
    MalformedNonce,
    /// Advanced key: timestamp missing, repeated or not 1–16 digits.
    #[error("malformed timestamp")]
    MalformedTimestamp,
    /// Advanced key: timestamp more than 300 s from our clock.
    #[error("timestamp outside the window")]
    OutsideWindow,
    /// Advanced key: `Authorization` missing, repeated or not 64 hex digits.
    #[error("malformed digest")]
    MalformedDigest,
    /// Advanced key: well-formed digest that does not match.
    #[error("wrong digest")]
    WrongDigest,
    /// Advanced key: nonce already used with this key within its lifetime.
    #[error("replayed nonce")]
    ReplayedNonce,
}

/// API-key verification did not admit the request.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// 401 with the API-key body.
    #[error("api key rejected: {0}")]
    Unauthorized(KeyFailure),
    /// 503: the key record or the nonce could not be read or written; not admitted.
    #[error("authentication store unavailable")]
    StoreUnavailable(#[source] StoreError),
}

impl From<KeyFailure> for KeyError {
    fn from(failure: KeyFailure) -> Self {
        Self::Unauthorized(failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::testkit::{MemKeys, block_on, record};

    /// §3.8 rows 1–3 share this key and nonce.
    fn vector_key() -> String {
        "A1b2C3d4".repeat(16)
    }
    const VECTOR_NONCE: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789AB";
    const ROW1: &str = "76aabf5b6b657d3833a8f8b3322aee428ccf2f7967eacde735bbe6ea5c6ffd88";
    const KEY7: &str = "625068636143016e6cbbf4029277615f7d51d6d17c9de36555d6e0df9c518f58";
    const ROW7: &str = "ba9e98e3fc1f02165bcc543b579a979d07502e37de4c7257e593cb070f199aa3";
    const ROW8: &str = "07d79b4b3858142e881c30c372fe4f1f4e121e40e21a85ef8bbb16566d8c1603";
    const TS: i64 = 1_700_000_000_000;
    const CONFORMANCE_MASTER: &str = "fg-conformance-master-secret-2026-0001";

    fn at(ms: i64) -> Instant {
        Instant::from_unix_millis(ms)
    }

    fn advanced<'a>(nonce: &'a str, ts: &'a str, authorization: &'a str) -> KeyHeaders<'a> {
        KeyHeaders {
            id: Some("7"),
            authorization: Some(authorization),
            nonce: Some(nonce),
            timestamp: Some(ts),
        }
    }

    #[test]
    fn derives_the_spec_and_conformance_keys() {
        let example = MasterSecret::from_bytes(b"feedgate-example-master-secret").expect("key");
        assert_eq!(example.key("7"), KEY7);
        assert_eq!(
            example.key("8"),
            "5adc715922d8ec6048b61ca23c9ef3811906de9382f2970c2b0a4e2ba86b088c"
        );
        let master = MasterSecret::new(CONFORMANCE_MASTER).expect("32+ bytes");
        for (id, key) in [
            (
                "101",
                "eb4c28973fdcea372da175d4105e28d193b36d16255abf18dac03742e4a4f685",
            ),
            (
                "102",
                "9d6ce82f4143b0e558d1d656fc1f59b7ff74007f2cb87633148ac88fffe053ff",
            ),
            (
                "103",
                "73d36ea5da999a7daedbb52fc38f723022a288a6f433b31df3cd10a764ff46d1",
            ),
            (
                "104",
                "f2d903d9041603b36d8d0f5570a210dd53b53f3cba32d0b6d4f2f0382476dddc",
            ),
            (
                "106",
                "eba5d601049925dbed3426489477712d284b705edb466c0dc5dd876833208ca8",
            ),
            (
                "107",
                "532929c535d682bfdabf3fed0b7aeb3ae7201ee2f3b9d36b369f574dac44fb33",
            ),
            (
                "111",
                "631d28a0f9b53e108a7c99a44c7c327ccd037c640b0d74326539766dbaabfd60",
            ),
            (
                "114",
                "fb7cddc21785e66454449d8617d5815250f7f502794a62a3256c93dbb9200fbf",
            ),
        ] {
            assert_eq!(master.key(id), key, "id {id}");
        }
    }

    #[test]
    fn computes_every_spec_digest_vector() {
        let key = vector_key();
        let cases = [
            (key.as_str(), VECTOR_NONCE, "1700000000000", ROW1),
            (
                VECTOR_NONCE,
                key.as_str(),
                "1700000000000",
                "d7a3df2b8cc36ba79698e7c0ae895ba5e1f31b218a62195a206cdb65cc6b4d68",
            ),
            (
                key.as_str(),
                VECTOR_NONCE,
                "1700000000",
                "73e7f80cb9438d7eaece93db5c60731866ae364d604adedeca6651fe17684fcd",
            ),
            (
                "test_api_key",
                &"test".repeat(64),
                "876063600000",
                "198cc9489339256f198975f53fb8db4757fffb4c630239af9f3bb5ba34205ba1",
            ),
            (KEY7, VECTOR_NONCE, "1700000000000", ROW7),
            (KEY7, VECTOR_NONCE, "01700000000000", ROW8),
        ];
        for (key, nonce, ts, digest) in cases {
            assert_eq!(
                hex::encode(advanced_digest(key, nonce, ts)),
                digest,
                "ts {ts}"
            );
        }
    }

    #[test]
    fn checks_the_spec_vectors_against_an_injected_clock() {
        let key = vector_key();
        let wrong_order = "d7a3df2b8cc36ba79698e7c0ae895ba5e1f31b218a62195a206cdb65cc6b4d68";
        let seconds = "73e7f80cb9438d7eaece93db5c60731866ae364d604adedeca6651fe17684fcd";
        let mixed: String = ROW1
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 0 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        let cases: [(&str, &str, &str, Result<(), KeyFailure>); 7] = [
            (key.as_str(), "1700000000000", ROW1, Ok(())),
            (key.as_str(), "1700000000000", &ROW1.to_uppercase(), Ok(())),
            (key.as_str(), "1700000000000", &mixed, Ok(())),
            (
                key.as_str(),
                "1700000000000",
                wrong_order,
                Err(KeyFailure::WrongDigest),
            ),
            (
                key.as_str(),
                "1700000000",
                seconds,
                Err(KeyFailure::OutsideWindow),
            ),
            (KEY7, "01700000000000", ROW8, Ok(())),
            (KEY7, "01700000000000", ROW7, Err(KeyFailure::WrongDigest)),
        ];
        for (key, ts, digest, expected) in cases {
            let got = check_advanced(key, &advanced(VECTOR_NONCE, ts, digest), at(TS));
            assert_eq!(got.map(|_| ()), expected, "ts {ts} digest {digest}");
        }
    }

    #[test]
    fn accepts_the_window_edges_inclusively_and_nothing_beyond() {
        let ts = TS.to_string();
        let digest = hex::encode(advanced_digest(KEY7, "n", &ts));
        let cases = [
            (at(TS), true),
            (at(TS + 300_000), true),
            (at(TS - 300_000), true),
            (at(TS + 300_001), false),
            (at(TS - 300_001), false),
            // Sub-millisecond clock parts are truncated, not rounded.
            (at(TS + 300_000).add_nanos(999_999), true),
            (at(TS - 300_000).add_nanos(-1), false),
        ];
        for (now, ok) in cases {
            let got = check_advanced(KEY7, &advanced("n", &ts, &digest), now);
            let expected = if ok {
                Ok("n")
            } else {
                Err(KeyFailure::OutsideWindow)
            };
            assert_eq!(got, expected, "now {now:?}");
        }
    }

    #[test]
    fn enforces_the_nonce_charset_and_length() {
        let ts = TS.to_string();
        let cases = [
            (String::from("!"), true),
            (String::from("~"), true),
            ("x".repeat(256), true),
            ((0x21u8..=0x7e).map(char::from).collect(), true),
            ("x".repeat(257), false),
            (String::new(), false),
            (String::from("a b"), false),
            (String::from("a\tb"), false),
            (String::from("a\u{7f}"), false),
            (String::from("é"), false),
        ];
        for (nonce, ok) in cases {
            let digest = hex::encode(advanced_digest(KEY7, &nonce, &ts));
            let got = check_advanced(KEY7, &advanced(&nonce, &ts, &digest), at(TS));
            let expected = if ok {
                Ok(nonce.as_str())
            } else {
                Err(KeyFailure::MalformedNonce)
            };
            assert_eq!(got, expected, "{nonce:?}");
        }
        let missing = KeyHeaders {
            nonce: None,
            ..advanced("n", &ts, ROW7)
        };
        assert_eq!(
            check_advanced(KEY7, &missing, at(TS)),
            Err(KeyFailure::MalformedNonce)
        );
    }

    #[test]
    fn accepts_timestamps_of_one_to_sixteen_digits_only() {
        let cases = [
            ("1700000000000", TS, true),
            ("0001700000000000", TS, true),
            ("0", 0, true),
            ("9999999999999999", 9_999_999_999_999_999, true),
            ("01700000000000000", TS, false),
            ("", TS, false),
            ("+1700000000000", TS, false),
            ("-1700000000000", TS, false),
            ("1700000000000.0", TS, false),
            ("1_700000000000", TS, false),
        ];
        for (ts, now_ms, ok) in cases {
            let digest = hex::encode(advanced_digest(KEY7, "n", ts));
            let got = check_advanced(KEY7, &advanced("n", ts, &digest), at(now_ms));
            let expected = if ok {
                Ok("n")
            } else {
                Err(KeyFailure::MalformedTimestamp)
            };
            assert_eq!(got, expected, "{ts:?}");
        }
    }

    #[test]
    fn requires_exactly_sixty_four_hex_digits() {
        let ts = TS.to_string();
        let good = hex::encode(advanced_digest(KEY7, "n", &ts));
        let cases = [
            good[..63].to_owned(),
            format!("{good}0"),
            format!("g{}", &good[1..]),
            String::new(),
            format!("0x{}", &good[2..]),
        ];
        for digest in cases {
            let got = check_advanced(KEY7, &advanced("n", &ts, &digest), at(TS));
            assert_eq!(got, Err(KeyFailure::MalformedDigest), "{digest:?}");
        }
        let missing = KeyHeaders {
            authorization: None,
            ..advanced("n", &ts, &good)
        };
        assert_eq!(
            check_advanced(KEY7, &missing, at(TS)),
            Err(KeyFailure::MalformedDigest)
        );
    }

    #[test]
    fn compares_standard_keys_exactly() {
        let upper = KEY7.to_uppercase();
        let cases = [
            (Some(KEY7), true),
            (Some(upper.as_str()), false),
            (Some(&KEY7[..63]), false),
            (Some(ROW7), false),
            (Some(""), false),
            (None, false),
        ];
        for (presented, ok) in cases {
            let expected = if ok {
                Ok(())
            } else {
                Err(KeyFailure::WrongKey)
            };
            assert_eq!(check_standard(KEY7, presented), expected, "{presented:?}");
        }
    }

    #[test]
    fn accepts_only_canonical_ids() {
        let cases = [
            ("1", true),
            ("7", true),
            ("123456789012345678", true),
            ("1234567890123456789", false),
            ("0", false),
            ("01", false),
            ("", false),
            ("-1", false),
            ("+1", false),
            ("1a", false),
            (" 1", false),
            ("١", false),
        ];
        for (id, ok) in cases {
            assert_eq!(is_canonical_id(id), ok, "{id:?}");
        }
    }

    #[test]
    fn grants_roles_per_the_table() {
        use InstanceKind::{Export, PublishList, Webhook};
        let cases = [
            (Role::Read, Export, "GET", true),
            (Role::Read, Export, "HEAD", true),
            (Role::Read, PublishList, "GET", true),
            (Role::Read, Webhook, "POST", false),
            (Role::Write, Export, "GET", false),
            (Role::Write, PublishList, "HEAD", false),
            (Role::Write, Webhook, "POST", true),
            (Role::Admin, Export, "GET", true),
            (Role::Admin, PublishList, "HEAD", true),
            (Role::Admin, Webhook, "POST", true),
            (Role::Admin, Webhook, "GET", false),
            (Role::Admin, Export, "POST", false),
        ];
        for (role, kind, method, allowed) in cases {
            assert_eq!(
                role_allows(role, kind, method),
                allowed,
                "{role:?} {kind:?} {method}"
            );
        }
    }

    #[test]
    fn refuses_short_master_secrets_and_never_shows_one() {
        assert_eq!(
            MasterSecret::new(&"x".repeat(31)).map(|_| ()),
            Err(MasterSecretError::TooShort(31))
        );
        let master = MasterSecret::new(CONFORMANCE_MASTER).expect("long enough");
        assert_eq!(format!("{master:?}"), "MasterSecret(***)");
    }

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn conformance_master() -> MasterSecret {
        MasterSecret::new(CONFORMANCE_MASTER).expect("long enough")
    }

    fn advanced_fields(
        master: &MasterSecret,
        id: &str,
        nonce: &str,
        ts: i64,
    ) -> Vec<(String, String)> {
        let ts = ts.to_string();
        let digest = hex::encode(advanced_digest(&master.key(id), nonce, &ts));
        fields(&[
            ("x-xdr-auth-id", id),
            ("x-xdr-nonce", nonce),
            ("x-xdr-timestamp", &ts),
            ("Authorization", &digest),
        ])
    }

    fn failure(result: Result<AuthenticatedKey, KeyError>) -> Option<KeyFailure> {
        match result {
            Err(KeyError::Unauthorized(f)) => Some(f),
            _ => None,
        }
    }

    #[test]
    fn rejects_dead_unknown_and_malformed_keys_with_a_reason() {
        let master = conformance_master();
        let mut expired = record("107", KeyType::Standard, Role::Read);
        expired.expires_at = Some("2023-11-14T22:13:20Z".to_owned()); // = TS
        let mut revoked = record("109", KeyType::Standard, Role::Read);
        revoked.revoked = true;
        let mut garbled = record("110", KeyType::Standard, Role::Read);
        garbled.expires_at = Some("next tuesday".to_owned());
        let store = MemKeys::with(vec![expired, revoked, garbled]);
        let standard =
            |id: &str| fields(&[("x-xdr-auth-id", id), ("Authorization", &master.key(id))]);
        let cases = [
            (standard("107"), at(TS), Some(KeyFailure::Expired)),
            (standard("107"), at(TS).add_nanos(-1), None),
            (standard("109"), at(TS), Some(KeyFailure::Revoked)),
            (standard("110"), at(TS), Some(KeyFailure::UnreadableExpiry)),
            (standard("999"), at(TS), Some(KeyFailure::UnknownId)),
            (standard("0107"), at(TS), Some(KeyFailure::MalformedId)),
            (
                fields(&[("x-xdr-auth-id", "")]),
                at(TS),
                Some(KeyFailure::MalformedId),
            ),
            (
                fields(&[("x-xdr-auth-id", "107"), ("x-xdr-auth-id", "107")]),
                at(TS),
                Some(KeyFailure::MalformedId),
            ),
        ];
        for (request, now, expected) in cases {
            let got = block_on(verify_api_key(&store, Some(&master), &request, now));
            match expected {
                Some(reason) => assert_eq!(failure(got), Some(reason), "{request:?}"),
                None => assert!(got.is_ok(), "{request:?}"),
            }
        }
    }

    #[test]
    fn without_a_master_secret_no_key_verifies() {
        let master = conformance_master();
        let store = MemKeys::with(vec![record("101", KeyType::Standard, Role::Read)]);
        let request = fields(&[
            ("x-xdr-auth-id", "101"),
            ("Authorization", &master.key("101")),
        ]);
        let got = block_on(verify_api_key(&store, None, &request, at(TS)));
        assert_eq!(failure(got), Some(KeyFailure::NotConfigured));
    }

    #[test]
    fn records_the_nonce_once_with_ten_minutes_of_life() {
        let master = conformance_master();
        let store = MemKeys::with(vec![record("104", KeyType::Advanced, Role::Read)]);
        let now = at(TS).add_nanos(500_000_000);
        let request = advanced_fields(&master, "104", "replay-me", TS);
        let first = block_on(verify_api_key(&store, Some(&master), &request, now));
        assert_eq!(
            first.ok().map(|k| (k.id, k.role)),
            Some(("104".to_owned(), Role::Read))
        );
        let secs = TS / 1000;
        assert_eq!(
            store.recorded(),
            vec![(
                "104".to_owned(),
                "replay-me".to_owned(),
                secs + 1 + 600,
                secs
            )]
        );
        let second = block_on(verify_api_key(&store, Some(&master), &request, now));
        assert_eq!(failure(second), Some(KeyFailure::ReplayedNonce));
    }

    #[test]
    fn rejects_a_replayed_nonce_only_for_the_same_key() {
        let master = conformance_master();
        let store = MemKeys::with(vec![
            record("103", KeyType::Advanced, Role::Write),
            record("104", KeyType::Advanced, Role::Read),
        ]);
        for id in ["103", "104"] {
            let request = advanced_fields(&master, id, "shared-nonce", TS);
            assert!(block_on(verify_api_key(&store, Some(&master), &request, at(TS))).is_ok());
        }
        let again = advanced_fields(&master, "103", "shared-nonce", TS + 1);
        let got = block_on(verify_api_key(&store, Some(&master), &again, at(TS)));
        assert_eq!(failure(got), Some(KeyFailure::ReplayedNonce));
    }

    #[test]
    fn consumes_no_nonce_when_an_earlier_step_fails() {
        let master = conformance_master();
        let store = MemKeys::with(vec![
            record("104", KeyType::Advanced, Role::Read),
            record("101", KeyType::Standard, Role::Read),
        ]);
        let mut wrong = advanced_fields(&master, "104", "n1", TS);
        wrong[3].1 = "0".repeat(64);
        let stale = advanced_fields(&master, "104", "n2", TS - 300_001);
        let standard = advanced_fields(&master, "101", "n3", TS);
        let cases = [
            (wrong, Some(KeyFailure::WrongDigest)),
            (stale, Some(KeyFailure::OutsideWindow)),
            (standard, Some(KeyFailure::WrongKey)),
        ];
        for (request, expected) in cases {
            let got = block_on(verify_api_key(&store, Some(&master), &request, at(TS)));
            assert_eq!(failure(got), expected);
        }
        assert!(store.recorded().is_empty());
    }

    #[test]
    fn store_failures_are_unavailable_not_unauthorized() {
        let master = conformance_master();
        let mut store = MemKeys::with(vec![record("104", KeyType::Advanced, Role::Read)]);
        store.nonces_down = true;
        let request = advanced_fields(&master, "104", "n", TS);
        let got = block_on(verify_api_key(&store, Some(&master), &request, at(TS)));
        assert!(matches!(got, Err(KeyError::StoreUnavailable(_))), "{got:?}");
        store.down = true;
        let got = block_on(verify_api_key(&store, Some(&master), &request, at(TS)));
        assert!(matches!(got, Err(KeyError::StoreUnavailable(_))), "{got:?}");
    }
}
