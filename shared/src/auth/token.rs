//! Header-token mode (integrations.md §2.3, engine only): an instance username
//! `_header:<Name>` means "the header `<Name>` carries the password". The password is stored
//! only as a hash, so the presented value is verified against it like a Basic password.

use crate::auth::Credential;
use crate::auth::headers;

/// The username prefix that selects header-token mode.
pub const TOKEN_PREFIX: &str = "_header:";

/// The header named by a `_header:<Name>` username: the text after the first `:` up to the
/// next `:` or the end, trimmed. `None` for any other username.
///
/// ```
/// use feedgate::auth::token::token_header_name;
/// assert_eq!(token_header_name("_header:X-Token"), Some("X-Token"));
/// assert_eq!(token_header_name("_header: Authorization :ignored"), Some("Authorization"));
/// assert_eq!(token_header_name("admin"), None);
/// ```
pub fn token_header_name(username: &str) -> Option<&str> {
    let rest = username.strip_prefix(TOKEN_PREFIX)?;
    let name = rest.split(':').next().unwrap_or(rest);
    Some(name.trim())
}

/// The token header of an instance credential, if it is in header-token mode: the header to
/// mask in logs and to drop from stored incidents.
pub fn token_header(credential: Option<&Credential>) -> Option<&str> {
    credential.and_then(|c| token_header_name(c.username()))
}

/// The presented token: the named header (case-insensitive name) sent exactly once, its value
/// trimmed. `None` when the name is empty or the header is missing or repeated.
pub fn presented_token<'a>(name: &'a str, fields: &'a [(String, String)]) -> Option<&'a str> {
    if name.is_empty() {
        return None;
    }
    headers::single(fields, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_header_name_per_the_spec() {
        let cases = [
            ("_header:X-Token", Some("X-Token")),
            ("_header:Authorization", Some("Authorization")),
            ("_header:  X-Api-Key\t", Some("X-Api-Key")),
            ("_header:X-Token:rest:more", Some("X-Token")),
            ("_header:", Some("")),
            ("_HEADER:X-Token", None),
            ("_header", None),
            ("user", None),
            ("", None),
        ];
        for (username, expected) in cases {
            assert_eq!(token_header_name(username), expected, "{username:?}");
        }
    }

    #[test]
    fn takes_the_token_only_from_exactly_one_named_header() {
        let fields = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let one = fields(&[("x-token", "  s3cr3t ")]);
        assert_eq!(presented_token("X-Token", &one), Some("s3cr3t"));
        let two = fields(&[("X-Token", "a"), ("X-TOKEN", "a")]);
        assert_eq!(presented_token("X-Token", &two), None);
        assert_eq!(presented_token("X-Token", &fields(&[])), None);
        assert_eq!(presented_token("", &fields(&[("", "x")])), None);
    }

    #[test]
    fn names_the_token_header_of_a_token_credential_only() {
        let token = Credential::from_hash("_header:X-Token", "$argon2id$x");
        let basic = Credential::from_hash("user", "$argon2id$x");
        assert_eq!(token_header(Some(&token)), Some("X-Token"));
        assert_eq!(token_header(Some(&basic)), None);
        assert_eq!(token_header(None), None);
    }
}
