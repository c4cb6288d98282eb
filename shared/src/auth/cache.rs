//! The verified-credential cache (integrations.md §2.6): a firewall polling every few minutes
//! should not pay the slow password hash on every request. Only successes are remembered,
//! for at most 300 s, under an HMAC with a per-process random key of (instance, stored PHC,
//! presented username, presented secret): no plaintext is kept, and changing the stored hash
//! or moving to another instance misses.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::auth::secret::{SecretError, random_key};
use crate::instant::Instant;

/// The longest a success may be remembered (§2.6).
pub const MAX_TTL: Duration = Duration::from_secs(300);
/// How long a success is remembered unless configured otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);
/// How many successes are remembered at most, unless configured otherwise. Far more than
/// the distinct credentials a deployment sees within one TTL; the bound only stops a flood of
/// valid-but-distinct credentials from growing memory.
pub const DEFAULT_CAPACITY: usize = 4096;

/// The HMAC of one presented credential: what the cache stores instead of the credential.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryKey([u8; 32]);

impl fmt::Debug for EntryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EntryKey(..)")
    }
}

/// Successful verifications, remembered for a short time. Thread-safe; bounded in size.
pub struct VerifiedCache {
    mac: Hmac<Sha256>,
    ttl_nanos: i128,
    capacity: usize,
    /// Entry key → when it was verified.
    entries: Mutex<HashMap<EntryKey, Instant>>,
}

impl fmt::Debug for VerifiedCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedCache")
            .field("ttl", &self.ttl())
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl VerifiedCache {
    /// A cache remembering successes for `ttl` (capped at [`MAX_TTL`]; zero disables it),
    /// holding at most [`DEFAULT_CAPACITY`] entries, keyed under a fresh random key.
    pub fn new(ttl: Duration) -> Result<Self, SecretError> {
        Self::with_capacity(ttl, DEFAULT_CAPACITY)
    }

    /// As [`VerifiedCache::new`], holding at most `capacity` entries.
    pub fn with_capacity(ttl: Duration, capacity: usize) -> Result<Self, SecretError> {
        let key = random_key()?;
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key)
            .map_err(|_| SecretError::new("cache key refused by hmac"))?;
        Ok(Self {
            mac,
            ttl_nanos: ttl.min(MAX_TTL).as_nanos().try_into().unwrap_or(0),
            capacity,
            entries: Mutex::new(HashMap::new()),
        })
    }

    /// How long a success is remembered.
    pub fn ttl(&self) -> Duration {
        Duration::from_nanos(u64::try_from(self.ttl_nanos).unwrap_or(0))
    }

    /// The entry key of a presented credential checked against `phc` on `instance`. Fields
    /// are length-prefixed so no two different tuples share an input.
    pub fn entry_key(&self, instance: &str, phc: &str, username: &str, secret: &str) -> EntryKey {
        let mut mac = self.mac.clone();
        for field in [instance, phc, username, secret] {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field.as_bytes());
        }
        EntryKey(mac.finalize().into_bytes().into())
    }

    /// Whether `key` was verified less than the TTL before `now`. An entry from "the future"
    /// (the wall clock stepped back) does not count.
    pub fn contains(&self, key: &EntryKey, now: Instant) -> bool {
        self.lock()
            .get(key)
            .is_some_and(|verified_at| self.is_live(*verified_at, now))
    }

    /// Remembers a successful verification at `now`. When full, expired entries go first,
    /// then the oldest one.
    pub fn insert(&self, key: EntryKey, now: Instant) {
        if self.ttl_nanos == 0 || self.capacity == 0 {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, verified_at| self.is_live(*verified_at, now));
            if entries.len() >= self.capacity {
                let oldest = entries.iter().min_by_key(|(_, at)| **at).map(|(k, _)| *k);
                if let Some(oldest) = oldest {
                    entries.remove(&oldest);
                }
            }
        }
        entries.insert(key, now);
    }

    /// Number of remembered entries (live or not yet purged).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn is_live(&self, verified_at: Instant, now: Instant) -> bool {
        let age = now.unix_nanos() - verified_at.unix_nanos();
        (0..self.ttl_nanos).contains(&age)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<EntryKey, Instant>> {
        // The map is consistent after every statement, so a panic elsewhere while holding
        // the lock leaves nothing half-done: keep using it.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Instant = Instant::from_unix_millis(1_700_000_000_000);

    fn at_ms(offset: i64) -> Instant {
        Instant::from_unix_millis(1_700_000_000_000 + offset)
    }

    #[test]
    fn remembers_a_success_for_exactly_the_ttl() {
        let cache = VerifiedCache::new(Duration::from_secs(60)).expect("cache");
        let key = cache.entry_key("edl", "$phc", "user", "pw");
        assert!(!cache.contains(&key, T0));
        cache.insert(key, T0);
        for (offset, live) in [(0, true), (59_999, true), (60_000, false), (-1, false)] {
            assert_eq!(cache.contains(&key, at_ms(offset)), live, "{offset} ms");
        }
    }

    #[test]
    fn caps_the_ttl_at_five_minutes_and_zero_disables() {
        let long = VerifiedCache::new(Duration::from_secs(3600)).expect("cache");
        assert_eq!(long.ttl(), MAX_TTL);
        let off = VerifiedCache::new(Duration::ZERO).expect("cache");
        let key = off.entry_key("edl", "$phc", "user", "pw");
        off.insert(key, T0);
        assert!(!off.contains(&key, T0));
        assert!(off.is_empty());
    }

    #[test]
    fn keys_differ_in_every_field_and_field_boundaries() {
        let cache = VerifiedCache::new(DEFAULT_TTL).expect("cache");
        let base = cache.entry_key("edl", "$phc", "user", "pw");
        for other in [
            cache.entry_key("edl2", "$phc", "user", "pw"),
            cache.entry_key("edl", "$phc2", "user", "pw"),
            cache.entry_key("edl", "$phc", "User", "pw"),
            cache.entry_key("edl", "$phc", "user", "pW"),
            cache.entry_key("ed", "l$phc", "user", "pw"),
            cache.entry_key("edl", "$phc", "userp", "w"),
        ] {
            assert_ne!(base, other);
        }
        assert_eq!(base, cache.entry_key("edl", "$phc", "user", "pw"));
    }

    #[test]
    fn two_caches_key_the_same_credential_differently() {
        let a = VerifiedCache::new(DEFAULT_TTL).expect("cache");
        let b = VerifiedCache::new(DEFAULT_TTL).expect("cache");
        assert_ne!(
            a.entry_key("i", "p", "u", "s"),
            b.entry_key("i", "p", "u", "s")
        );
    }

    #[test]
    fn stays_within_capacity_evicting_expired_then_oldest() {
        let cache = VerifiedCache::with_capacity(Duration::from_secs(60), 2).expect("cache");
        let k = |s: &str| cache.entry_key("i", "p", "u", s);
        cache.insert(k("a"), T0);
        cache.insert(k("b"), at_ms(1));
        cache.insert(k("c"), at_ms(2));
        assert_eq!(cache.len(), 2);
        assert!(!cache.contains(&k("a"), at_ms(2)), "oldest evicted");
        assert!(cache.contains(&k("b"), at_ms(2)) && cache.contains(&k("c"), at_ms(2)));
        // Both expired by now: purged before anything live would be evicted.
        cache.insert(k("d"), at_ms(70_000));
        assert_eq!(cache.len(), 1);
        assert!(cache.contains(&k("d"), at_ms(70_000)));
    }

    #[test]
    fn debug_output_shows_no_key_material() {
        let cache = VerifiedCache::new(DEFAULT_TTL).expect("cache");
        let key = cache.entry_key("edl", "$phc", "user", "hunter2");
        cache.insert(key, T0);
        let shown = format!("{cache:?} {key:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("user"),
            "{shown}"
        );
    }
}
