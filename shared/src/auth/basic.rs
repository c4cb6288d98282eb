//! Basic authentication parsing (integrations.md §2.4).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The most `Authorization` bytes looked at; longer values fail.
const MAX_HEADER: usize = 4096;

/// Presented Basic credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    /// The username (never contains `:`).
    pub username: String,
    /// The password (may contain `:`).
    pub password: String,
}

impl std::fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// Parses one `Authorization` value: scheme `Basic` in any case, one or more spaces, a strict
/// canonical standard-base64 token of UTF-8 text split at its first `:`. `None` on any failure.
///
/// ```
/// use feedgate::auth::basic::parse_basic;
/// let c = parse_basic("basic dXNlcjpwYTpzcw==").unwrap();
/// assert_eq!((c.username.as_str(), c.password.as_str()), ("user", "pa:ss"));
/// assert!(parse_basic("Basic dXNlcjpwYTpzcw").is_none()); // unpadded
/// ```
pub fn parse_basic(header: &str) -> Option<BasicCredentials> {
    let value = header.trim_matches([' ', '\t']);
    if value.len() > MAX_HEADER {
        return None;
    }
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let token = rest.trim_start_matches(' ');
    if token.is_empty() || token.len() % 4 != 0 || token.contains([' ', '\t']) {
        return None;
    }
    let decoded = STANDARD.decode(token).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (username, password) = text.split_once(':')?;
    Some(BasicCredentials {
        username: username.to_owned(),
        password: password.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_per_the_spec() {
        let ok = |h: &str| parse_basic(h).map(|c| (c.username, c.password));
        assert_eq!(
            ok("Basic dXNlcjpwd2Q="),
            Some(("user".into(), "pwd".into()))
        );
        assert_eq!(
            ok("BASIC   dXNlcjpwd2Q="),
            Some(("user".into(), "pwd".into()))
        );
        assert_eq!(
            ok("  Basic dXNlcjpwd2Q=\t"),
            Some(("user".into(), "pwd".into()))
        );
        assert_eq!(ok("Basic OnB3ZA=="), Some((String::new(), "pwd".into())));
        for bad in [
            "",
            "Basic",
            "Basic ",
            "Bearer dXNlcjpwd2Q=",
            "Basic dXNlcjpwd2Q",
            "Basic dXNlcjpwd2Q=x",
            "Basic dXNl cjpwd2Q=",
            "Basic dXNlcg==",
            "Basic _-8=",
            "Basic dXNlcjpwd2R=",
        ] {
            assert_eq!(ok(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn debug_output_masks_the_password() {
        let c = parse_basic("Basic dXNlcjpzM2NyZXQ=").expect("valid");
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
