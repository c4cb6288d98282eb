//! Strong entity tags over the exact body bytes, and `If-None-Match` evaluation.

use sha1::{Digest, Sha1};

/// `"` + lowercase hex SHA-1 of `body` + `"`.
///
/// ```
/// assert_eq!(
///     feedgate::http::etag::etag(b"1.1.1.1"),
///     "\"409629a08b9b3f3be610b8832cc28822f964410f\""
/// );
/// ```
pub fn etag(body: &[u8]) -> String {
    let digest = Sha1::digest(body);
    let mut out = String::with_capacity(42);
    out.push('"');
    out.push_str(&hex::encode(digest));
    out.push('"');
    out
}

/// Whether an `If-None-Match` value matches `etag` (§12.6): `*`, or any comma-separated
/// tag that equals it once whitespace and a `W/` prefix are removed (weak comparison).
pub fn if_none_match(header: &str, etag: &str) -> bool {
    if header.trim() == "*" {
        return true;
    }
    header.split(',').any(|tag| {
        let tag = tag.trim();
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        tag == etag
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_star_lists_and_weak_tags_but_not_unquoted() {
        let tag = "\"abc\"";
        assert!(if_none_match("*", tag));
        assert!(if_none_match("\"x\", W/\"abc\"", tag));
        assert!(if_none_match(" \"abc\" ", tag));
        assert!(!if_none_match("abc", tag));
        assert!(!if_none_match("\"abcd\"", tag));
    }
}
