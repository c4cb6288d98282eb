//! The export handler: typed arguments in, status + headers + body out (export.md §2, §12).

use bytes::Bytes;

use crate::dataset::Dataset;
use crate::export::args::{ExportParams, ExportRequest};
use crate::export::render::{RenderError, Rendered, render};
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
    let args = ExportRequest::parse(params, &request.query)
        .map_err(|e| ApiError::InvalidArgument(e.to_string()))?;
    let rendered = render(&args, dataset, now).map_err(render_error)?;
    Ok(respond(rendered, params, dataset, request, now))
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

/// Headers, `If-None-Match` and HEAD for a rendered list.
pub fn respond(
    rendered: Rendered,
    params: &ExportParams,
    dataset: &Dataset,
    request: &Request,
    now: Instant,
) -> Response {
    let tag = etag(&rendered.body);
    let cache_control = format!("max-age={}, stale-if-error=600", params.cache_max_age);
    let last_modified = httpdate::fmt_http_date(dataset.modified().to_system_time());
    let not_modified = request
        .header_values("If-None-Match")
        .any(|h| if_none_match(h, &tag));
    if not_modified {
        return Response {
            status: 304,
            headers: vec![
                ("ETag", tag),
                ("Cache-Control", cache_control),
                ("Last-Modified", last_modified),
            ],
            body: Bytes::new(),
        };
    }
    let body = if request.method == "HEAD" {
        Bytes::new()
    } else {
        Bytes::from(rendered.body)
    };
    Response {
        status: 200,
        headers: vec![
            ("Content-Type", rendered.content_type.to_owned()),
            ("X-EDL-Size", rendered.served.to_string()),
            ("X-EDL-Origin-Size", rendered.selected.to_string()),
            ("ETag", tag),
            ("Cache-Control", cache_control),
            ("Last-Modified", last_modified),
            ("X-EDL-Created", now.to_rfc3339_millis()),
        ],
        body,
    }
}
