//! From a validated request and a dataset to the body and its sizes (§5–§11).

use crate::dataset::Dataset;
use crate::export::args::{ExportRequest, Format};
use crate::format::{self, EMPTY_LIST_COMMENT, Selection};
use crate::instant::Instant;

/// A rendered list, before headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The exact bytes to send.
    pub body: Vec<u8>,
    /// `X-EDL-Size`: entries served.
    pub served: u64,
    /// `X-EDL-Origin-Size`: indicators selected.
    pub selected: u64,
    /// The format's `Content-Type`.
    pub content_type: &'static str,
}

/// Why a list could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The body cannot be built in memory (over 4 GiB).
    #[error("the list is too large to build in one response; page it with 's' and 'n'")]
    TooLarge,
    /// Writing into memory failed (only on allocation-like failures).
    #[error("building the list failed: {0}")]
    Io(#[from] std::io::Error),
}

/// `text/plain; charset=utf-8`.
pub const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

/// Renders the export for `req` over `dataset` as of `now`.
///
/// ```
/// use feedgate::export::args::{ExportParams, ExportRequest};
/// use feedgate::export::render::render;
/// use feedgate::{Dataset, Indicator, IndicatorType, instant::Instant};
///
/// let data = Dataset::new(vec![
///     Indicator::new("https://a.example:8443/x", IndicatorType::Url),
///     Indicator::new("10.0.0.1", IndicatorType::Ip),
/// ], 1, Instant::from_unix_millis(0));
/// let params = ExportParams::default();
/// let req = ExportRequest::parse(&params, "").unwrap();
/// let out = render(&req, &data, Instant::now()).unwrap();
/// assert_eq!(out.body, b"a.example/x\n10.0.0.1");
/// assert_eq!((out.served, out.selected), (2, 2));
/// ```
pub fn render(
    req: &ExportRequest<'_>,
    dataset: &Dataset,
    now: Instant,
) -> Result<Rendered, RenderError> {
    let positions = req.query.query().select_in(dataset, now);
    render_selection(req, &Selection::new(dataset, &positions))
}

/// Renders an already selected list of indicators (in export order).
pub fn render_selection(
    req: &ExportRequest<'_>,
    selection: &Selection<'_>,
) -> Result<Rendered, RenderError> {
    let selected = selection.len() as u64;
    let mut body = Vec::new();
    let (served, content_type) = match req.format {
        Format::Text => {
            let text = format::text::render(selection, req).ok_or(RenderError::TooLarge)?;
            body = text.body;
            (text.served, TEXT_PLAIN)
        }
        Format::Json => (
            format::json::write(&mut body, selection, req)?,
            "application/json",
        ),
        Format::Csv => (
            format::csv::write(&mut body, selection, req)?,
            if req.csv_text {
                TEXT_PLAIN
            } else {
                "text/csv; charset=utf-8"
            },
        ),
        Format::Mwg => (format::mwg::write(&mut body, selection, req)?, TEXT_PLAIN),
        Format::ProxySg => (
            format::proxysg::write(&mut body, selection, req)?,
            TEXT_PLAIN,
        ),
    };
    if served == 0 && req.format != Format::Json {
        body.clear();
        if req.comment_if_empty {
            body.extend_from_slice(EMPTY_LIST_COMMENT.as_bytes());
        }
    }
    if req.format == Format::Text && !(served == 0 && req.comment_if_empty) {
        body = surround(body, req.prepend, req.append);
    }
    Ok(Rendered {
        body,
        served,
        selected,
        content_type,
    })
}

/// §7.6: `prepend + LF + body` when prepend is set, then `body + append`.
fn surround(body: Vec<u8>, prepend: &str, append: &str) -> Vec<u8> {
    if prepend.is_empty() && append.is_empty() {
        return body;
    }
    let mut out = Vec::with_capacity(prepend.len() + 1 + body.len() + append.len());
    if !prepend.is_empty() {
        out.extend_from_slice(prepend.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(&body);
    out.extend_from_slice(append.as_bytes());
    out
}
