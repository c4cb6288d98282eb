//! HTTP glue shared by the Lambda functions and the engine: a plain request/response pair,
//! the one error type and the one place that maps it to a status, and the handlers.

pub mod error;
pub mod etag;
pub mod export;
pub mod export_cache;
pub mod gate;
pub mod publish;
pub mod serve;
pub mod webhook;

use bytes::Bytes;

pub use error::ApiError;

/// A request as every front end (API Gateway event, engine socket) hands it to a handler.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Method in upper case (`GET`, `HEAD`, `POST`, ...).
    pub method: String,
    /// The integration path (starts with `/`).
    pub path: String,
    /// The raw query string without `?` (still percent-encoded).
    pub query: String,
    /// Header fields in received order; names compared case-insensitively.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl Request {
    /// Every value of the header `name`, in received order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of the header `name`.
    pub fn header<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.header_values(name).next()
    }
}

/// A response: status, headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header fields.
    pub headers: Vec<(&'static str, String)>,
    /// Body bytes (empty for HEAD and 304).
    pub body: Bytes,
}

impl Response {
    /// A response with a body and a content type.
    pub fn new(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type", content_type.to_owned())],
            body: body.into(),
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
