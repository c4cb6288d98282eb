//! gzip for clients that accept it: lists shrink several times over, which saves transfer
//! and keeps lists that would pass Lambda's 6 MB response limit uncompressed within it.
//!
//! Only `200` answers to GET and HEAD are compressed (export and publish-list bodies). A
//! compressed answer carries `Content-Encoding: gzip`, `Vary: Accept-Encoding` and its ETag
//! turned weak (`W/"…"`, as nginx does): the bytes differ from the identity body the strong
//! tag names, while `If-None-Match` uses weak comparison, so a client sending back either
//! form still gets its 304. HEAD gets the same headers as GET, without a body. Compressed
//! bodies are cached by ETag, so a warm poll of unchanged data does not compress again.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::Mutex;

use bytes::Bytes;
use feedgate::http::Response;
use flate2::Compression;
use flate2::write::GzEncoder;

/// How many compressed bodies are kept (one per recently served list variant).
const CACHE_SLOTS: usize = 16;

/// Compression level: the fastest. Lists are repetitive text that compresses well even so,
/// and the first poll after a data change pays the compression inside the request.
pub const LEVEL: u32 = 1;

/// Whether the `Accept-Encoding` fields accept gzip (`gzip`, `x-gzip` or `*` with a
/// non-zero weight; an explicit entry wins over `*`).
///
/// ```
/// use feedgate_functions::gzip::accepts_gzip;
///
/// let h = |v: &str| vec![("Accept-Encoding".to_owned(), v.to_owned())];
/// assert!(accepts_gzip(&h("gzip, deflate")));
/// assert!(accepts_gzip(&h("br;q=1.0, *;q=0.5")));
/// assert!(!accepts_gzip(&h("gzip;q=0, *")));
/// assert!(!accepts_gzip(&[]));
/// ```
pub fn accepts_gzip(headers: &[(String, String)]) -> bool {
    let mut explicit: Option<bool> = None;
    let mut star: Option<bool> = None;
    let fields = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("accept-encoding"));
    for (_, value) in fields {
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim();
            let weight_ok = parts
                .filter_map(|p| p.trim().split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .is_none_or(|(_, q)| q.trim().parse::<f32>().is_ok_and(|q| q > 0.0));
            if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                explicit = Some(explicit.unwrap_or(false) || weight_ok);
            } else if coding == "*" {
                star = Some(weight_ok);
            }
        }
    }
    explicit.or(star).unwrap_or(false)
}

/// gzip of `body` at [`LEVEL`].
pub fn compress(body: &[u8]) -> Bytes {
    let mut encoder = GzEncoder::new(
        Vec::with_capacity(body.len() / 3 + 64),
        Compression::new(LEVEL),
    );
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(body);
    Bytes::from(encoder.finish().unwrap_or_default())
}

/// Compressed bodies by the ETag of their identity body.
#[derive(Debug, Default)]
pub struct GzipCache {
    slots: Mutex<VecDeque<(String, Bytes)>>,
}

impl GzipCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn get_or_compress(&self, etag: Option<&str>, body: &[u8]) -> Bytes {
        let Some(etag) = etag else {
            return compress(body);
        };
        let hit = self
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|(k, _)| k == etag)
            .map(|(_, v)| v.clone());
        if let Some(hit) = hit {
            return hit;
        }
        let compressed = compress(body);
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if slots.len() >= CACHE_SLOTS {
            slots.pop_front();
        }
        slots.push_back((etag.to_owned(), compressed.clone()));
        compressed
    }

    /// `response` to a `method` request whose fields are `request_headers`, compressed when
    /// the rules above allow it.
    pub fn apply(
        &self,
        mut response: Response,
        method: &str,
        request_headers: &[(String, String)],
    ) -> Response {
        let get_or_head = method == "GET" || method == "HEAD";
        if !get_or_head || !matches!(response.status, 200 | 304) {
            return response;
        }
        response.headers.push(("Vary", "Accept-Encoding".into()));
        if response.status != 200
            || response.header("Content-Encoding").is_some()
            || !accepts_gzip(request_headers)
        {
            return response;
        }
        let etag = response.header("ETag").map(str::to_owned);
        if method == "GET" {
            response.body = self.get_or_compress(etag.as_deref(), &response.body);
        }
        response.headers.push(("Content-Encoding", "gzip".into()));
        if let Some(tag) = etag.filter(|t| !t.starts_with("W/")) {
            for (name, value) in &mut response.headers {
                if name.eq_ignore_ascii_case("ETag") {
                    *value = format!("W/{tag}");
                }
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::GzDecoder;

    use super::*;

    fn fields(value: &str) -> Vec<(String, String)> {
        vec![("accept-encoding".to_owned(), value.to_owned())]
    }

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .expect("valid gzip");
        out
    }

    #[test]
    fn reads_weights_and_wildcards() {
        let table = [
            ("gzip", true),
            ("GZIP", true),
            ("x-gzip", true),
            ("deflate, gzip;q=0.5", true),
            ("gzip ; q=0.001", true),
            ("gzip;q=0", false),
            ("gzip;q=0.000", false),
            ("gzip;q=x", false),
            ("*", true),
            ("*;q=0", false),
            ("identity", false),
            ("br, deflate", false),
            ("", false),
        ];
        for (value, want) in table {
            assert_eq!(accepts_gzip(&fields(value)), want, "{value:?}");
        }
    }

    #[test]
    fn compresses_get_answers_and_weakens_the_etag() {
        let cache = GzipCache::new();
        let body = "1.1.1.1\n".repeat(1000);
        let response = Response::new(200, "text/plain", body.clone()).with_header("ETag", "\"t\"");
        let out = cache.apply(response, "GET", &fields("gzip"));
        assert_eq!(out.header("Content-Encoding"), Some("gzip"));
        assert_eq!(out.header("ETag"), Some("W/\"t\""));
        assert_eq!(out.header("Vary"), Some("Accept-Encoding"));
        assert!(out.body.len() < body.len() / 4);
        assert_eq!(gunzip(&out.body), body.as_bytes());
    }

    #[test]
    fn head_gets_the_same_headers_without_a_body() {
        let cache = GzipCache::new();
        let response = Response::new(200, "text/plain", "").with_header("ETag", "\"t\"");
        let out = cache.apply(response, "HEAD", &fields("gzip"));
        assert_eq!(out.header("Content-Encoding"), Some("gzip"));
        assert_eq!(out.header("ETag"), Some("W/\"t\""));
        assert!(out.body.is_empty());
    }

    #[test]
    fn leaves_errors_posts_and_clients_without_gzip_alone() {
        let cache = GzipCache::new();
        let body = Response::new(200, "text/plain", "x".repeat(5000));
        let plain = cache.apply(body.clone(), "GET", &[]);
        assert_eq!(plain.header("Content-Encoding"), None);
        assert_eq!(plain.header("Vary"), Some("Accept-Encoding"));
        let post = cache.apply(body, "POST", &fields("gzip"));
        assert_eq!(post.header("Content-Encoding"), None);
        let error = cache.apply(
            Response::new(404, "text/plain", "Not Found"),
            "GET",
            &fields("gzip"),
        );
        assert_eq!(error.header("Content-Encoding"), None);
        assert_eq!(error.header("Vary"), None);
    }

    #[test]
    fn a_cached_body_is_reused_for_the_same_etag() {
        let cache = GzipCache::new();
        let make =
            || Response::new(200, "text/plain", "a".repeat(100)).with_header("ETag", "\"same\"");
        let first = cache.apply(make(), "GET", &fields("gzip"));
        let second = cache.apply(make(), "GET", &fields("gzip"));
        assert_eq!(first.body.as_ptr(), second.body.as_ptr());
    }
}
