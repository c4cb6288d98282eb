//! Publish List (integrations.md §6): resolving a list name from the path and rendering its
//! content.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::export::args::{ParamError, parse_bool};

/// The most a stored list may hold.
pub const MAX_LIST_BYTES: usize = 4 * 1024 * 1024;

/// Validated publish-list parameters (§6.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishListParams {
    /// `listsToPublish`: the allowed names, exact.
    pub lists: Vec<String>,
    /// `commaToLineBreak`.
    pub comma_to_line_break: bool,
    /// `add_comment_if_empty`.
    pub comment_if_empty: bool,
}

impl PublishListParams {
    /// Reads XSOAR-named parameters; `listsToPublish` is required. Unknown names are refused.
    pub fn from_params(params: &Map<String, Value>) -> Result<Self, ParamError> {
        let mut out = Self::default();
        let mut lists = None;
        for (name, value) in params {
            let err = |reason: &str| ParamError {
                name: name.clone(),
                reason: reason.to_owned(),
            };
            let flag = || match value {
                Value::Bool(b) => Ok(*b),
                Value::String(s) => parse_bool(s).ok_or_else(|| err("expected a boolean")),
                _ => Err(err("expected a boolean")),
            };
            match name.as_str() {
                "listsToPublish" => {
                    let text = value.as_str().ok_or_else(|| err("expected a string"))?;
                    lists = Some(
                        text.split(',')
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .map(str::to_owned)
                            .collect::<Vec<_>>(),
                    );
                }
                "commaToLineBreak" => out.comma_to_line_break = flag()?,
                "add_comment_if_empty" => out.comment_if_empty = flag()?,
                "incidentType" | "credentials" | "longRunningPort" | "certificate" | "key"
                | "longRunning" => {}
                _ => return Err(err("unknown parameter for a publish_list instance")),
            }
        }
        out.lists = lists.ok_or_else(|| ParamError {
            name: "listsToPublish".into(),
            reason: "required: a comma list of list names".into(),
        })?;
        Ok(out)
    }

    /// The list a request path names, if the path has the shape `/<segment>` and the
    /// percent-decoded segment is allowed. `None` otherwise (one 404 for every case).
    ///
    /// ```
    /// use feedgate::lists::PublishListParams;
    /// let p = PublishListParams { lists: vec!["My List".into()], ..Default::default() };
    /// assert_eq!(p.list_for_path("/My%20List"), Some("My List"));
    /// assert_eq!(p.list_for_path("/My%20List/"), None);
    /// assert_eq!(p.list_for_path("/Other"), None);
    /// ```
    pub fn list_for_path(&self, path: &str) -> Option<&str> {
        let segment = path.strip_prefix('/')?;
        if segment.is_empty() || segment.contains('/') {
            return None;
        }
        let name = percent_encoding::percent_decode_str(segment)
            .decode_utf8()
            .ok()?;
        self.lists
            .iter()
            .find(|allowed| **allowed == name)
            .map(String::as_str)
    }
}

/// The rendered body of a list and its content type (§6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedList<'a> {
    /// `text/plain; charset=utf-8` or `application/json`.
    pub content_type: &'static str,
    /// The exact body.
    pub body: Cow<'a, [u8]>,
}

/// Applies §6.3's rules, first match wins.
pub fn render_list<'a>(content: &'a [u8], params: &PublishListParams) -> RenderedList<'a> {
    const TEXT: &str = "text/plain; charset=utf-8";
    if content.is_empty() && params.comment_if_empty {
        return RenderedList {
            content_type: TEXT,
            body: Cow::Borrowed(b"# Empty list"),
        };
    }
    if is_json_container(content) {
        return RenderedList {
            content_type: "application/json",
            body: Cow::Borrowed(content),
        };
    }
    if params.comma_to_line_break {
        return RenderedList {
            content_type: TEXT,
            body: Cow::Owned(csv_split(content).join(&b'\n')),
        };
    }
    RenderedList {
        content_type: TEXT,
        body: Cow::Borrowed(content),
    }
}

fn is_json_container(content: &[u8]) -> bool {
    let trimmed = content.trim_ascii();
    matches!(trimmed.first(), Some(b'{' | b'['))
        && serde_json::from_slice::<Value>(trimmed).is_ok_and(|v| v.is_object() || v.is_array())
}

/// Splits CSV-ish content into fields (§6.3): `,` and line breaks outside quotes separate;
/// one final line break is dropped; quoted fields keep commas and line breaks, `""` is `"`.
///
/// ```
/// use feedgate::lists::csv_split;
/// assert_eq!(csv_split(b"a,\"b,c\",d"), vec![b"a".to_vec(), b"b,c".to_vec(), b"d".to_vec()]);
/// assert_eq!(csv_split(b"a, b,,c,").len(), 5);
/// ```
pub fn csv_split(content: &[u8]) -> Vec<Vec<u8>> {
    let content = content
        .strip_suffix(b"\r\n")
        .or_else(|| content.strip_suffix(b"\n"))
        .or_else(|| content.strip_suffix(b"\r"))
        .unwrap_or(content);
    let mut fields = Vec::new();
    let mut field = Vec::new();
    let mut i = 0;
    let mut at_field_start = true;
    while i < content.len() {
        let b = content[i];
        if at_field_start && b == b'"' {
            // Quoted: runs to the next `"` not followed by another `"`.
            i += 1;
            loop {
                match content.get(i) {
                    None => break,
                    Some(b'"') if content.get(i + 1) == Some(&b'"') => {
                        field.push(b'"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        field.push(c);
                        i += 1;
                    }
                }
            }
            at_field_start = false;
            continue;
        }
        match b {
            b',' | b'\n' | b'\r' => {
                fields.push(std::mem::take(&mut field));
                if b == b'\r' && content.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                at_field_start = true;
            }
            _ => {
                field.push(b);
                at_field_start = false;
            }
        }
        i += 1;
    }
    fields.push(field);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> String {
        String::from_utf8(csv_split(text.as_bytes()).join(&b'\n')).expect("utf8")
    }

    #[test]
    fn splits_per_the_spec_examples() {
        assert_eq!(split("a,\"b,c\",d"), "a\nb,c\nd");
        assert_eq!(split("a, b,,c,"), "a\n b\n\nc\n");
        assert_eq!(split("a,b\nc,d\n"), "a\nb\nc\nd");
        assert_eq!(split("a\r\nb\rc"), "a\nb\nc");
        assert_eq!(
            split("1.1.1.1,\"example.com,evil\",2.2.2.2,\"say \"\"hi\"\"\""),
            "1.1.1.1\nexample.com,evil\n2.2.2.2\nsay \"hi\""
        );
        assert_eq!(split("\"a\"x,b"), "ax\nb");
        assert_eq!(split("\"unterminated,x"), "unterminated,x");
        assert_eq!(split("a\"b,c"), "a\"b\nc");
        assert_eq!(split("\"multi\nline\",z"), "multi\nline\nz");
    }

    #[test]
    fn renders_by_the_first_matching_rule() {
        let p = PublishListParams {
            lists: vec![],
            comma_to_line_break: true,
            comment_if_empty: true,
        };
        assert_eq!(render_list(b"", &p).body.as_ref(), b"# Empty list");
        let json = render_list(b" {\"a\": [1,2]} \n", &p);
        assert_eq!(json.content_type, "application/json");
        assert_eq!(json.body.as_ref(), b" {\"a\": [1,2]} \n");
        assert_eq!(render_list(b"a,b", &p).body.as_ref(), b"a\nb");
        let verbatim = PublishListParams::default();
        assert_eq!(render_list(b"a,b", &verbatim).body.as_ref(), b"a,b");
        assert_eq!(render_list(b"", &verbatim).body.as_ref(), b"");
        assert_eq!(
            render_list(b"[1,", &verbatim).content_type,
            "text/plain; charset=utf-8"
        );
    }

    #[test]
    fn requires_lists_to_publish_and_refuses_unknown_params() {
        assert!(PublishListParams::from_params(&Map::new()).is_err());
        let mut m = Map::new();
        m.insert("listsToPublish".into(), Value::from(" a, ,b "));
        assert_eq!(
            PublishListParams::from_params(&m).expect("ok").lists,
            vec!["a".to_owned(), "b".to_owned()]
        );
        m.insert("listToPublish".into(), Value::from("x"));
        assert!(PublishListParams::from_params(&m).is_err());
    }
}
