//! Reading credential headers out of a request, and keeping them out of logs and stored
//! incidents (integrations.md §2.6, §5.4).

/// `Authorization`: Basic pairs, standard keys and advanced digests.
pub const AUTHORIZATION: &str = "authorization";
/// `Proxy-Authorization`: never used for checks, but a secret all the same.
pub const PROXY_AUTHORIZATION: &str = "proxy-authorization";
/// `x-xdr-auth-id`: the API-key id; its mere presence selects API-key verification.
pub const XDR_AUTH_ID: &str = "x-xdr-auth-id";
/// `x-xdr-nonce`: the advanced-key nonce.
pub const XDR_NONCE: &str = "x-xdr-nonce";
/// `x-xdr-timestamp`: the advanced-key timestamp in Unix milliseconds.
pub const XDR_TIMESTAMP: &str = "x-xdr-timestamp";

/// What a masked header value is logged as.
pub const REDACTED: &str = "***";

/// Every value of the header `name` (case-insensitive), in received order.
pub fn values<'a>(
    headers: &'a [(String, String)],
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .iter()
        .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Whether the header `name` was sent at all (any value, even empty).
pub fn present(headers: &[(String, String)], name: &str) -> bool {
    values(headers, name).next().is_some()
}

/// The value of a header sent exactly once, with surrounding spaces and tabs removed; `None`
/// when it is missing or repeated. A repeated credential header is ambiguous, and guessing
/// which copy counts would let a proxy and feedgate disagree about who is calling.
pub fn single<'a>(headers: &'a [(String, String)], name: &'a str) -> Option<&'a str> {
    let mut all = values(headers, name);
    let first = all.next()?;
    match all.next() {
        Some(_) => None,
        None => Some(first.trim_matches([' ', '\t'])),
    }
}

/// Whether a header carries a secret that must never be logged: `Authorization`,
/// `Proxy-Authorization` and the instance's token header (header-token mode), by
/// case-insensitive name.
pub fn is_secret_header(name: &str, token_header: Option<&str>) -> bool {
    name.eq_ignore_ascii_case(AUTHORIZATION)
        || name.eq_ignore_ascii_case(PROXY_AUTHORIZATION)
        || token_header.is_some_and(|t| name.eq_ignore_ascii_case(t))
}

/// The value to log for a header: `***` for secret headers (see [`is_secret_header`]), the
/// value itself otherwise.
///
/// ```
/// use feedgate::auth::headers::redact_header;
/// assert_eq!(redact_header("AUTHORIZATION", "Basic dTpw", None), "***");
/// assert_eq!(redact_header("X-Token", "s3cret", Some("x-token")), "***");
/// assert_eq!(redact_header("x-xdr-auth-id", "7", Some("x-token")), "7");
/// ```
pub fn redact_header<'a>(name: &str, value: &'a str, token_header: Option<&str>) -> &'a str {
    if is_secret_header(name, token_header) {
        REDACTED
    } else {
        value
    }
}

/// Whether a header is removed from stored webhook incidents (§5.4): the secret headers plus
/// the `x-xdr-*` API-key headers, whatever authentication path was used.
pub fn is_credential_header(name: &str, token_header: Option<&str>) -> bool {
    is_secret_header(name, token_header)
        || [XDR_AUTH_ID, XDR_NONCE, XDR_TIMESTAMP]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn single_returns_a_trimmed_value_only_for_exactly_one_field() {
        type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);
        let cases: &[Case<'_>] = &[
            (&[], None),
            (&[("Authorization", " x\t")], Some("x")),
            (&[("AUTHORIZATION", "")], Some("")),
            (&[("authorization", "a"), ("Authorization", "a")], None),
            (&[("Other", "a")], None),
        ];
        for (pairs, expected) in cases {
            let h = headers(pairs);
            assert_eq!(single(&h, AUTHORIZATION), *expected, "{pairs:?}");
        }
    }

    #[test]
    fn presence_counts_an_empty_value() {
        assert!(present(&headers(&[("X-XDR-Auth-Id", "")]), XDR_AUTH_ID));
        assert!(!present(&headers(&[("x-xdr-nonce", "n")]), XDR_AUTH_ID));
    }

    #[test]
    fn redacts_exactly_the_secret_headers() {
        let cases = [
            ("Authorization", None, true),
            ("proxy-authorization", None, true),
            ("X-Token", Some("x-token"), true),
            ("X-Token", None, false),
            ("x-xdr-auth-id", None, false),
            ("x-xdr-nonce", None, false),
            ("content-type", Some("x-token"), false),
        ];
        for (name, token, secret) in cases {
            let expected = if secret { REDACTED } else { "value" };
            assert_eq!(redact_header(name, "value", token), expected, "{name}");
        }
    }

    #[test]
    fn removes_credential_headers_from_incidents() {
        for name in [
            "Authorization",
            "Proxy-Authorization",
            "X-XDR-Auth-Id",
            "x-xdr-nonce",
            "x-xdr-timestamp",
            "x-token",
        ] {
            assert!(is_credential_header(name, Some("X-Token")), "{name}");
        }
        assert!(!is_credential_header("x-token", None));
        assert!(!is_credential_header("user-agent", Some("X-Token")));
    }
}
