//! The crate-level error, organised by what the client should learn, and the one function
//! that turns it into a status and body.

use crate::http::Response;

/// `text/plain; charset=utf-8`.
const TEXT: &str = "text/plain; charset=utf-8";

/// What went wrong, from the client's point of view.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400: a bad argument or body; the message names it.
    #[error("{0}")]
    InvalidArgument(String),
    /// 401 from the export service's Basic check (with the challenge).
    #[error("basic authentication failed")]
    ExportUnauthorized,
    /// 401 from the export service's header-token check (no challenge: the client must
    /// send the token, not Basic credentials).
    #[error("token authentication failed")]
    ExportUnauthorizedNoChallenge,
    /// 401 from webhook / publish-list Basic checks (no challenge).
    #[error("authorization failed")]
    Unauthorized,
    /// 401 from an API-key check.
    #[error("api key unauthorized")]
    ApiKeyUnauthorized,
    /// 403: the API key's role may not call this route.
    #[error("api key forbidden")]
    Forbidden,
    /// 404 with the given body.
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// 405 with the `Allow` value.
    #[error("method not allowed; allow {0}")]
    MethodNotAllowed(&'static str),
    /// 413 with the message.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 503 with `Retry-After` seconds and the message.
    #[error("{message}")]
    Unavailable {
        /// Shown to the client.
        message: String,
        /// `Retry-After` seconds.
        retry_after: u32,
    },
}

impl ApiError {
    /// The response for this error. Every status the handlers send that is not a success is
    /// decided here.
    pub fn into_response(self) -> Response {
        match self {
            Self::InvalidArgument(message) => {
                Response::new(400, TEXT, message).with_header("Cache-Control", "no-store")
            }
            Self::ExportUnauthorized => Response::new(
                401,
                TEXT,
                "Basic authentication failed. Make sure you are using the right credentials.",
            )
            .with_header("WWW-Authenticate", "Basic realm=\"feedgate\""),
            Self::ExportUnauthorizedNoChallenge => Response::new(
                401,
                TEXT,
                "Basic authentication failed. Make sure you are using the right credentials.",
            ),
            Self::Unauthorized => Response::new(401, TEXT, "Authorization failed."),
            Self::ApiKeyUnauthorized => Response::new(
                401,
                "application/json",
                r#"{"reply":{"err_code":401,"err_msg":"Public API request unauthorized","err_extra":null}}"#,
            ),
            Self::Forbidden => Response::new(
                403,
                "application/json",
                r#"{"reply":{"err_code":403,"err_msg":"Public API request forbidden","err_extra":null}}"#,
            ),
            Self::NotFound(body) => Response::new(404, TEXT, body),
            Self::MethodNotAllowed(allow) => {
                Response::new(405, TEXT, "Method Not Allowed").with_header("Allow", allow)
            }
            Self::PayloadTooLarge(message) => Response::new(413, TEXT, message),
            Self::Unavailable {
                message,
                retry_after,
            } => Response::new(503, TEXT, message)
                .with_header("Retry-After", retry_after.to_string()),
        }
    }

    /// Whether this is a server-side failure (logged with its cause at the boundary).
    pub fn is_server_error(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

impl From<crate::auth::decide::Denial> for ApiError {
    fn from(denial: crate::auth::decide::Denial) -> Self {
        use crate::auth::decide::{
            Denial, STORE_UNAVAILABLE_MESSAGE, STORE_UNAVAILABLE_RETRY_AFTER,
        };
        match denial {
            Denial::ExportChallenge(_) => Self::ExportUnauthorized,
            Denial::ExportNoChallenge(_) => Self::ExportUnauthorizedNoChallenge,
            Denial::Unauthorized(_) => Self::Unauthorized,
            Denial::ApiKey(_) => Self::ApiKeyUnauthorized,
            Denial::Forbidden { .. } => Self::Forbidden,
            Denial::StoreUnavailable(_) => Self::Unavailable {
                message: STORE_UNAVAILABLE_MESSAGE.into(),
                retry_after: STORE_UNAVAILABLE_RETRY_AFTER,
            },
        }
    }
}
