//! The text import format: one value per line, typed by `--type` or by [`detect_type`].

use std::net::Ipv6Addr;

use super::Sink;
use crate::indicator::IndicatorRecord;

pub(super) fn parse_into(content: &[u8], default_type: Option<&str>, out: &mut dyn Sink) {
    for (index, line) in content.split(|&b| b == b'\n').enumerate() {
        let number = index + 1;
        // One bad line (say a Latin-1 comment) should not cost the rest of the file.
        let Ok(line) = std::str::from_utf8(line) else {
            out.reject(number, "not UTF-8".to_owned());
            continue;
        };
        // `trim` also takes the CR of a CRLF line ending.
        let value = line.trim();
        if value.is_empty() || value.starts_with('#') {
            continue;
        }
        let Some(kind) = default_type.or_else(|| detect_type(value)) else {
            out.reject(
                number,
                format!("cannot detect the type of {value:?}; give --type"),
            );
            continue;
        };
        out.record(IndicatorRecord {
            value: value.to_owned(),
            kind: kind.to_owned(),
            fields: serde_json::Map::new(),
            custom_fields: None,
        });
    }
}

/// The type a bare value most plausibly has, for text imports without `--type`: `IP`, `IPv6`,
/// `CIDR`, `IPv6CIDR`, `URL` (a `scheme://`, or a `/` path after a host), `Email`, `File` (an
/// MD5, SHA-1 or SHA-256: 32, 40 or 64 hex digits), `DomainGlob` (`*.` before a name), `Domain`
/// (a dotted name whose last label is not all digits), else `None`.
///
/// Only a guess for typing, never a check: the value is stored as given either way. An IPv4
/// address may have leading zeros (`01.1.1.1` is an `IP`; the export rules decide what to do
/// with it). A value containing whitespace or control characters is never guessed.
///
/// ```
/// use feedgate::import::detect_type;
///
/// assert_eq!(detect_type("10.0.0.0/8"), Some("CIDR"));
/// assert_eq!(detect_type("evil.example/login"), Some("URL"));
/// assert_eq!(detect_type("*.evil.example"), Some("DomainGlob"));
/// assert_eq!(detect_type("localhost"), None);
/// ```
pub fn detect_type(value: &str) -> Option<&'static str> {
    if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    if is_ipv4(value) {
        return Some("IP");
    }
    if is_ipv6(value) {
        return Some("IPv6");
    }
    if let Some((addr, path)) = value.split_once('/') {
        let network = if is_ipv4(addr) {
            Some((32, "CIDR"))
        } else if is_ipv6(addr) {
            Some((128, "IPv6CIDR"))
        } else {
            None
        };
        if let Some((max, kind)) = network {
            if is_prefix_len(path, max) {
                return Some(kind);
            }
            // `1.2.3.4/33` is a broken network, not a page on a host.
            if path.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
        }
    }
    if has_scheme(value) {
        return Some("URL");
    }
    if let Some((host, _)) = value.split_once('/')
        && is_host(host)
    {
        return Some("URL");
    }
    if is_email(value) {
        return Some("Email");
    }
    if matches!(value.len(), 32 | 40 | 64) && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some("File");
    }
    if let Some(name) = value.strip_prefix("*.")
        && is_name(name, 1)
    {
        return Some("DomainGlob");
    }
    if is_name(value, 2) {
        return Some("Domain");
    }
    None
}

/// Four dotted decimal octets; leading zeros allowed (the value is stored as given).
fn is_ipv4(s: &str) -> bool {
    let mut parts = 0;
    for part in s.split('.') {
        parts += 1;
        let ok = (1..=3).contains(&part.len())
            && part.bytes().all(|b| b.is_ascii_digit())
            && part.parse::<u16>().is_ok_and(|n| n <= 255);
        if !ok || parts > 4 {
            return false;
        }
    }
    parts == 4
}

fn is_ipv6(s: &str) -> bool {
    s.contains(':') && s.parse::<Ipv6Addr>().is_ok()
}

fn is_prefix_len(s: &str, max: u8) -> bool {
    (1..=3).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.parse::<u8>().is_ok_and(|n| n <= max)
}

/// `scheme://` followed by something: the scheme starts with a letter and holds letters,
/// digits, `+`, `-` and `.` (RFC 3986).
fn has_scheme(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
}

/// A URL host without a scheme: an IPv4 address or a dotted name, optionally with a port.
fn is_host(s: &str) -> bool {
    let host = match s.rsplit_once(':') {
        Some((host, port))
            if !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            host
        }
        _ => s,
    };
    is_ipv4(host) || is_name(host, 2)
}

fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => !local.is_empty() && is_name(domain, 2),
        None => false,
    }
}

/// At least `min_labels` non-empty labels of letters (any script), digits, `-` and `_`, joined
/// by dots, with an optional root dot; the last label is not all digits (no TLD is).
fn is_name(s: &str, min_labels: usize) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    let mut labels = 0;
    let mut last_has_letter = false;
    for label in s.split('.') {
        if label.is_empty()
            || !label
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_'))
        {
            return false;
        }
        labels += 1;
        last_has_letter = !label.bytes().all(|b| b.is_ascii_digit());
    }
    labels >= min_labels && last_has_letter
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{ImportFormat, Parsed, parse as parse_format};
    use proptest::prelude::*;

    #[test]
    fn detects_the_type_of_a_value() {
        let cases: &[(&str, Option<&str>)] = &[
            ("1.2.3.4", Some("IP")),
            ("255.255.255.255", Some("IP")),
            ("01.1.1.1", Some("IP")),
            ("0.0.0.0", Some("IP")),
            ("256.1.1.1", None),
            ("1.2.3", None),
            ("1.2.3.4.5", None),
            ("::1", Some("IPv6")),
            ("2001:db8::1", Some("IPv6")),
            ("::ffff:1.2.3.4", Some("IPv6")),
            ("2001:db8::1%eth0", None),
            ("10.0.0.0/8", Some("CIDR")),
            ("1.2.3.4/32", Some("CIDR")),
            ("1.2.3.4/0", Some("CIDR")),
            ("1.2.3.4/33", None),
            ("2001:db8::/32", Some("IPv6CIDR")),
            ("::/0", Some("IPv6CIDR")),
            ("2001:db8::/129", None),
            ("http://evil.example/path", Some("URL")),
            ("https://1.2.3.4:8443/x?y=1", Some("URL")),
            ("hxxp://defanged.example", Some("URL")),
            ("git+ssh://host", Some("URL")),
            ("http://", None),
            ("evil.example/login", Some("URL")),
            ("evil.example:8080/", Some("URL")),
            ("1.2.3.4/phish", Some("URL")),
            ("1.2.3.4:80/a", Some("URL")),
            ("user@evil.example", Some("Email")),
            ("first.last+tag@mail.evil.example", Some("Email")),
            ("@evil.example", None),
            ("user@localhost", None),
            ("d41d8cd98f00b204e9800998ecf8427e", Some("File")),
            ("da39a3ee5e6b4b0d3255bfef95601890afd80709", Some("File")),
            (
                "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                Some("File"),
            ),
            ("d41d8cd98f00b204e9800998ecf8427", None),
            ("*.evil.example", Some("DomainGlob")),
            ("*.com", Some("DomainGlob")),
            ("*.", None),
            ("evil.example", Some("Domain")),
            ("EVIL.Example.", Some("Domain")),
            ("xn--80ak6aa92e.com", Some("Domain")),
            ("пример.рф", Some("Domain")),
            ("_dmarc.evil.example", Some("Domain")),
            ("evil..example", None),
            ("localhost", None),
            ("1.2.3.999", None),
            ("evil example.com", None),
            ("evil\u{1}.example", None),
            ("", None),
            ("#", None),
        ];
        for (value, want) in cases {
            assert_eq!(detect_type(value), *want, "{value:?}");
        }
    }

    fn pairs(parsed: &Parsed) -> Vec<(&str, &str)> {
        parsed
            .records
            .iter()
            .map(|r| (r.value.as_str(), r.kind.as_str()))
            .collect()
    }

    fn text(content: &[u8], default_type: Option<&str>) -> Parsed {
        parse_format(content, ImportFormat::Text, default_type).expect("text always reads")
    }

    #[test]
    fn reads_one_value_per_line_trimming_and_skipping_comments() {
        let parsed = text(
            b"# feed of the day\r\n1.2.3.4\r\n  evil.example\t\n\n   \n  # indented comment\nhttp://x/y\n2001:db8::/48",
            None,
        );
        assert_eq!(
            pairs(&parsed),
            [
                ("1.2.3.4", "IP"),
                ("evil.example", "Domain"),
                ("http://x/y", "URL"),
                ("2001:db8::/48", "IPv6CIDR"),
            ]
        );
        assert!(parsed.rejected.is_empty());
        assert!(parsed.records.iter().all(|r| r.fields.is_empty()));
    }

    #[test]
    fn the_given_type_wins_over_detection_and_keeps_values_as_given() {
        let parsed = text(
            b"1.2.3.4\nnot detectable\nevil\x01.example\n01.1.1.1\n1.2.3.4\n",
            Some("Custom"),
        );
        assert_eq!(
            pairs(&parsed),
            [
                ("1.2.3.4", "Custom"),
                ("not detectable", "Custom"),
                ("evil\u{1}.example", "Custom"),
                ("01.1.1.1", "Custom"),
                ("1.2.3.4", "Custom"),
            ]
        );
        assert!(parsed.rejected.is_empty());
    }

    #[test]
    fn rejects_undetectable_and_non_utf8_lines_by_line_number() {
        let parsed = text(
            b"1.2.3.4\n\n# c\nlocalhost\nbad\xFFbyte\r\nevil\x01.example\n::1\n",
            None,
        );
        assert_eq!(pairs(&parsed), [("1.2.3.4", "IP"), ("::1", "IPv6")]);
        let rejected: Vec<(usize, &str)> = parsed
            .rejected
            .iter()
            .map(|r| (r.record, r.reason.as_str()))
            .collect();
        assert_eq!(
            rejected,
            [
                (4, "cannot detect the type of \"localhost\"; give --type"),
                (5, "not UTF-8"),
                (
                    6,
                    "cannot detect the type of \"evil\\u{1}.example\"; give --type"
                ),
            ]
        );
    }

    #[test]
    fn an_empty_file_imports_nothing() {
        let parsed = text(b"", None);
        assert!(parsed.records.is_empty() && parsed.rejected.is_empty());
    }

    proptest! {
        #[test]
        fn detect_type_never_panics_and_never_guesses_for_spaced_values(value in "\\PC{0,40}") {
            let kind = detect_type(&value);
            if value.chars().any(char::is_whitespace) {
                prop_assert_eq!(kind, None);
            }
        }

        #[test]
        fn every_kept_line_is_a_record_or_a_rejection(
            lines in proptest::collection::vec("[a-z0-9.:/*@# \r-]{0,20}", 0..20),
        ) {
            let content = lines.join("\n");
            let parsed = text(content.as_bytes(), None);
            let kept = lines
                .iter()
                .filter(|l| {
                    let t = l.trim();
                    !t.is_empty() && !t.starts_with('#')
                })
                .count();
            prop_assert_eq!(parsed.records.len() + parsed.rejected.len(), kept);
        }
    }
}
