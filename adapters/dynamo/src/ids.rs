//! Unique tokens for chunk generations and time-ordered sort keys for incidents.
//!
//! None of these are secrets: they only have to be unique across concurrent writers, so the
//! standard library's randomly keyed hasher over (time, counter, thread) is enough.

use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// 64 unpredictable-enough bits, different on every call.
pub(crate) fn random_u64() -> u64 {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    RandomState::new().hash_one((n, nanos, std::thread::current().id()))
}

/// A 16-hex-digit token naming one write attempt's new items.
pub(crate) fn token() -> String {
    format!("{:016x}", random_u64())
}

/// The last (millisecond, sequence) handed out by this process.
static LAST: Mutex<(u64, u32)> = Mutex::new((0, 0));

/// A sort key that orders incidents by creation: milliseconds since the epoch, a
/// per-process sequence within the millisecond (so one request's incidents keep body order
/// even when the clock does not move), and random bits so two processes never collide.
pub(crate) fn ordered_key() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let (ms, seq) = {
        let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
        // The wall clock may step back; never hand out a smaller key than before.
        *last = if now > last.0 {
            (now, 0)
        } else {
            (last.0, last.1.saturating_add(1))
        };
        *last
    };
    format!("{ms:013}.{seq:06}.{:016x}", random_u64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_keys_increase_and_never_repeat() {
        let keys: Vec<String> = (0..2000).map(|_| ordered_key()).collect();
        for pair in keys.windows(2) {
            assert!(pair[0] < pair[1], "{} !< {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn tokens_differ() {
        let a: std::collections::HashSet<String> = (0..1000).map(|_| token()).collect();
        assert_eq!(a.len(), 1000);
    }
}
