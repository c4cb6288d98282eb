//! Instance resolution from the API Gateway path (integrations.md §1.1): the two prefixes,
//! the case-sensitive instance name, and the integration path behind it.

use feedgate::http::ApiError;
pub use feedgate::store::valid_instance_name;

/// The prefixes every instance is served under, longest first.
pub const PREFIXES: [&str; 2] = ["/xsoar/instance/execute/", "/instance/execute/"];

/// The 404 for an unknown or malformed instance name (text/plain `Not Found`).
pub const NOT_FOUND: ApiError = ApiError::NotFound("Not Found");

/// An instance route: the name and the integration path the instance sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route<'a> {
    /// The instance name as sent (matched case-sensitively later).
    pub instance: &'a str,
    /// `/` followed by whatever came after the name (still percent-encoded).
    pub path: String,
}

/// Splits a request path into instance and integration path. With nothing after the name
/// (with or without one trailing slash) the integration path is `/`.
///
/// ```
/// use feedgate_functions::route::resolve;
///
/// let r = resolve("/xsoar/instance/execute/edl_01").unwrap();
/// assert_eq!((r.instance, r.path.as_str()), ("edl_01", "/"));
/// let r = resolve("/instance/execute/lists/My%20List").unwrap();
/// assert_eq!((r.instance, r.path.as_str()), ("lists", "/My%20List"));
/// assert!(resolve("/xsoar/instance/execute/bad name").is_err());
/// ```
pub fn resolve(path: &str) -> Result<Route<'_>, ApiError> {
    let rest = PREFIXES
        .iter()
        .find_map(|prefix| path.strip_prefix(prefix))
        .ok_or(NOT_FOUND)?;
    let (instance, tail) = rest.split_once('/').unwrap_or((rest, ""));
    if !valid_instance_name(instance) {
        return Err(NOT_FOUND);
    }
    Ok(Route {
        instance,
        path: format!("/{tail}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_both_prefixes_with_and_without_a_trailing_path() {
        let table = [
            ("/xsoar/instance/execute/hook", "hook", "/"),
            ("/xsoar/instance/execute/hook/", "hook", "/"),
            ("/instance/execute/hook", "hook", "/"),
            ("/instance/execute/hook/", "hook", "/"),
            ("/xsoar/instance/execute/pl/allowed", "pl", "/allowed"),
            ("/xsoar/instance/execute/pl/a/b/", "pl", "/a/b/"),
            ("/xsoar/instance/execute/pl//x", "pl", "//x"),
            (
                "/instance/execute/My.List-2_b/x%2Fy",
                "My.List-2_b",
                "/x%2Fy",
            ),
        ];
        for (path, instance, rest) in table {
            let r = resolve(path).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!((r.instance, r.path.as_str()), (instance, rest), "{path}");
        }
    }

    #[test]
    fn answers_404_for_malformed_names_and_other_paths() {
        let long = format!("/instance/execute/{}", "a".repeat(65));
        for path in [
            "/",
            "",
            "/xsoar/instance/execute",
            "/xsoar/instance/execute/",
            "/xsoar/instance/execute//x",
            "/xsoar/instance/execute/.hidden",
            "/xsoar/instance/execute/..",
            "/xsoar/instance/execute/_x",
            "/xsoar/instance/execute/a%20b",
            "/xsoar/instance/execute/caf\u{e9}",
            "/XSOAR/instance/execute/hook",
            "/prod/xsoar/instance/execute/hook",
            long.as_str(),
        ] {
            assert_eq!(resolve(path), Err(NOT_FOUND), "{path}");
        }
    }

    #[test]
    fn names_up_to_64_characters_are_valid() {
        assert!(valid_instance_name(&"a".repeat(64)));
        assert!(!valid_instance_name(&"a".repeat(65)));
        assert!(valid_instance_name("0"));
        assert!(!valid_instance_name("-a"));
    }
}
