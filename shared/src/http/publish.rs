//! The publish-list handler: an authenticated `GET /<list>` → the list, with ETag/304.

use bytes::Bytes;

use crate::http::etag::{etag, if_none_match};
use crate::http::{ApiError, Request, Response};
use crate::lists::{PublishListParams, render_list};
use crate::store::ListStore;

/// Methods served by a publish-list instance.
pub const PUBLISH_ALLOW: &str = "GET, HEAD";

/// Method rules for publish-list instances: every path, GET and HEAD (integrations.md §1.3).
pub fn check_route(request: &Request) -> Result<(), ApiError> {
    match request.method.as_str() {
        "GET" | "HEAD" => Ok(()),
        _ => Err(ApiError::MethodNotAllowed(PUBLISH_ALLOW)),
    }
}

const LIST_NOT_FOUND: ApiError = ApiError::NotFound("List not found");

/// Serves an authenticated request: one 404 for a bad path, a name not allowed or a list not
/// stored, so list names cannot be probed.
pub async fn handle<S: ListStore>(
    store: &S,
    params: &PublishListParams,
    request: &Request,
) -> Result<Response, ApiError> {
    let name = params.list_for_path(&request.path).ok_or(LIST_NOT_FOUND)?;
    let content = store
        .get_list(name)
        .await
        .map_err(|e| {
            tracing::error!(list = name, error = %e, "reading a list failed");
            ApiError::Unavailable {
                message: "list store unavailable; retry later".into(),
                retry_after: 5,
            }
        })?
        .ok_or(LIST_NOT_FOUND)?;
    let rendered = render_list(&content, params);
    let tag = etag(&rendered.body);
    if request
        .header_values("If-None-Match")
        .any(|h| if_none_match(h, &tag))
    {
        return Ok(Response {
            status: 304,
            headers: vec![("ETag", tag), ("Cache-Control", "no-cache".into())],
            body: Bytes::new(),
        });
    }
    let body = if request.method == "HEAD" {
        Bytes::new()
    } else {
        Bytes::copy_from_slice(&rendered.body)
    };
    Ok(Response {
        status: 200,
        headers: vec![
            ("Content-Type", rendered.content_type.to_owned()),
            ("ETag", tag),
            ("Cache-Control", "no-cache".into()),
        ],
        body,
    })
}
