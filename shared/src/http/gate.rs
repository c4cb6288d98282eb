//! Route → authenticate → handle, for one export instance (integrations.md §1.4). The engine
//! and the Lambda functions both go through here; no rule is written twice.

use crate::auth::{AuthFailure, Credential, check_basic};
use crate::dataset::Dataset;
use crate::export::args::ExportParams;
use crate::http::export::{check_route, handle};
use crate::http::{ApiError, Request, Response};
use crate::instant::Instant;

/// An export instance as the request path needs it.
#[derive(Debug, Clone)]
pub struct ExportInstance {
    /// The instance name.
    pub name: String,
    /// Validated export parameters.
    pub params: ExportParams,
    /// The instance's own credential, if any.
    pub credentials: Option<Credential>,
}

impl ExportInstance {
    /// The credential requests are checked against: the instance's own, else the universal
    /// one; `None` means open.
    pub fn effective_credential<'a>(
        &'a self,
        universal: Option<&'a Credential>,
    ) -> Option<&'a Credential> {
        self.credentials.as_ref().or(universal)
    }
}

/// Serves one request to an export instance: path and method, then Basic authentication,
/// then the export. Always a response; errors are mapped in one place.
pub fn serve_export(
    instance: &ExportInstance,
    universal: Option<&Credential>,
    dataset: &Dataset,
    request: &Request,
    now: Instant,
) -> Response {
    let result = check_route(request)
        .and_then(|()| {
            let authorization: Vec<&str> = request.header_values("Authorization").collect();
            check_basic(instance.effective_credential(universal), &authorization)
                .map_err(|AuthFailure::Basic| ApiError::ExportUnauthorized)
        })
        .and_then(|_principal| handle(&instance.params, dataset, request, now));
    result.unwrap_or_else(ApiError::into_response)
}
