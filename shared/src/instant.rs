//! Instants as stored in indicator fields and written in queries: RFC 3339 (any offset,
//! optional fraction) or a bare `YYYY-MM-DD` date (midnight UTC).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time as nanoseconds since the Unix epoch (UTC). Totally ordered, cheap to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(i128);

impl Instant {
    /// The instant `nanos` nanoseconds after the Unix epoch.
    pub const fn from_unix_nanos(nanos: i128) -> Self {
        Self(nanos)
    }

    /// The instant `millis` milliseconds after the Unix epoch.
    pub const fn from_unix_millis(millis: i64) -> Self {
        Self(millis as i128 * 1_000_000)
    }

    /// Nanoseconds since the Unix epoch.
    pub const fn unix_nanos(self) -> i128 {
        self.0
    }

    /// The current wall-clock time.
    pub fn now() -> Self {
        Self(OffsetDateTime::now_utc().unix_timestamp_nanos())
    }

    /// This instant shifted by `nanos` (saturating).
    pub const fn add_nanos(self, nanos: i128) -> Self {
        Self(self.0.saturating_add(nanos))
    }

    /// Parses an RFC 3339 timestamp (`2026-01-31T10:00:00Z`, `...+02:00`, fractions allowed)
    /// or a date `2026-01-31` (midnight UTC). Returns `None` for anything else, including
    /// impossible dates such as `2001-02-29`.
    ///
    /// ```
    /// use feedgate::instant::Instant;
    /// assert_eq!(Instant::parse("1970-01-02"), Some(Instant::from_unix_millis(86_400_000)));
    /// assert!(Instant::parse("2001-02-29").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() == 10 && bytes[4] == b'-' && bytes[7] == b'-' {
            return parse_date(text);
        }
        // RFC 3339 needs at least `YYYY-MM-DDTHH:MM:SSZ`; reject obviously short text fast.
        if bytes.len() < 20 {
            return None;
        }
        OffsetDateTime::parse(text, &Rfc3339)
            .ok()
            .map(|t| Self(t.unix_timestamp_nanos()))
    }

    /// RFC 3339 UTC with millisecond precision and `Z`, e.g. `2026-11-25T15:20:50.123Z`.
    pub fn to_rfc3339_millis(self) -> String {
        match OffsetDateTime::from_unix_timestamp_nanos(self.0) {
            Ok(t) => format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.millisecond()
            ),
            Err(_) => String::from("1970-01-01T00:00:00.000Z"),
        }
    }

    /// As `std::time::SystemTime` (clamped at the epoch).
    pub fn to_system_time(self) -> std::time::SystemTime {
        let nanos = u64::try_from(self.0.max(0)).unwrap_or(u64::MAX);
        std::time::UNIX_EPOCH + std::time::Duration::from_nanos(nanos)
    }
}

fn parse_date(text: &str) -> Option<Instant> {
    let year: i32 = digits(&text[0..4])?;
    let month: u8 = digits(&text[5..7])?;
    let day: u8 = digits(&text[8..10])?;
    let month = time::Month::try_from(month).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    Some(Instant(date.midnight().assume_utc().unix_timestamp_nanos()))
}

fn digits<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339_with_offset_and_fraction() {
        let a = Instant::parse("2001-06-01T02:00:00+02:00").expect("offset form");
        let b = Instant::parse("2001-06-01T00:00:00Z").expect("utc form");
        assert_eq!(a, b);
        let c = Instant::parse("2001-06-01T00:00:00.250Z").expect("fraction");
        assert_eq!(c.unix_nanos() - b.unix_nanos(), 250_000_000);
    }

    #[test]
    fn rejects_impossible_dates_and_hours() {
        assert_eq!(Instant::parse("2001-02-29"), None);
        assert_eq!(Instant::parse("2001-06-01T25:00:00Z"), None);
        assert_eq!(Instant::parse("2001-6-01"), None);
        assert_eq!(Instant::parse("yesterday"), None);
    }

    #[test]
    fn formats_rfc3339_millis() {
        let t = Instant::from_unix_millis(1_700_000_000_123);
        assert_eq!(t.to_rfc3339_millis(), "2023-11-14T22:13:20.123Z");
    }
}
