//! The export handler: typed arguments in, status + headers + body out (export.md §2, §12).

use bytes::Bytes;

use crate::dataset::Dataset;
use crate::export::args::{ExportParams, ExportRequest};
use crate::export::render::{RenderError, render};
use crate::http::etag::{etag, if_none_match};
use crate::http::{ApiError, Request, Response};
use crate::instant::Instant;

/// Methods served by an export instance.
pub const EXPORT_ALLOW: &str = "GET, HEAD";

/// Serves an authenticated request to an export instance: path and method, arguments (400),
/// rendering, headers and conditional requests.
pub fn handle(
    params: &ExportParams,
    dataset: &Dataset,
    request: &Request,
    now: Instant,
) -> Result<Response, ApiError> {
    check_route(request)?;
    let full = render_full(params, dataset, &request.query, now)?;
    Ok(finish(&full, request))
}

/// Path and method rules for export instances (integrations.md §1.3).
pub fn check_route(request: &Request) -> Result<(), ApiError> {
    if request.path != "/" {
        return Err(ApiError::NotFound("Not Found"));
    }
    match request.method.as_str() {
        "GET" | "HEAD" => Ok(()),
        _ => Err(ApiError::MethodNotAllowed(EXPORT_ALLOW)),
    }
}

fn render_error(e: RenderError) -> ApiError {
    match e {
        RenderError::TooLarge => ApiError::PayloadTooLarge(e.to_string()),
        RenderError::Io(_) => ApiError::Unavailable {
            message: "list could not be built; retry later".into(),
            retry_after: 5,
        },
    }
}

/// The complete `200` answer to `GET /?<query>`: arguments validated (400 otherwise), list
/// rendered, every header set. What caches keep.
pub fn render_full(
    params: &ExportParams,
    dataset: &Dataset,
    query: &str,
    now: Instant,
) -> Result<Response, ApiError> {
    let args = ExportRequest::parse(params, query)
        .map_err(|e| ApiError::InvalidArgument(e.to_string()))?;
    let rendered = render(&args, dataset, now).map_err(render_error)?;
    let tag = etag(&rendered.body);
    Ok(Response {
        status: 200,
        headers: vec![
            ("Content-Type", rendered.content_type.to_owned()),
            ("X-EDL-Size", rendered.served.to_string()),
            ("X-EDL-Origin-Size", rendered.selected.to_string()),
            ("ETag", tag),
            (
                "Cache-Control",
                format!("max-age={}, stale-if-error=600", params.cache_max_age),
            ),
            (
                "Last-Modified",
                httpdate::fmt_http_date(dataset.modified().to_system_time()),
            ),
            ("X-EDL-Created", now.to_rfc3339_millis()),
        ],
        body: Bytes::from(rendered.body),
    })
}

/// The answer to `request` given the full `200` response: 304 when `If-None-Match` matches
/// (§12.6), no body for HEAD, else the full response (the body is shared, not copied).
pub fn finish(full: &Response, request: &Request) -> Response {
    let tag = full.header("ETag").unwrap_or_default();
    if request
        .header_values("If-None-Match")
        .any(|h| if_none_match(h, tag))
    {
        let keep = ["ETag", "Cache-Control", "Last-Modified"];
        return Response {
            status: 304,
            headers: full
                .headers
                .iter()
                .filter(|(k, _)| keep.contains(k))
                .cloned()
                .collect(),
            body: Bytes::new(),
        };
    }
    let mut out = full.clone();
    if request.method == "HEAD" {
        out.body = Bytes::new();
    }
    out
}
