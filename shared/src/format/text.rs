//! PAN-OS text (§7): one entry per line, globs expanded, IPs optionally collapsed,
//! duplicates removed, then the `[s, s+n)` window.

use crate::export::args::{Collapse, ExportRequest};
use crate::export::collapse::Buckets;
use crate::export::network::Network;
use crate::export::psl::is_public_suffix;
use crate::export::url::{glob_base, has_invalid_token, has_port};
use crate::format::lines::LineWindow;
use crate::indicator::{Indicator, IndicatorType};

/// The text body before the empty-list rule: lines joined with LF, and the line count.
#[derive(Debug)]
pub struct TextBody {
    /// The served lines joined with LF, no trailing newline.
    pub body: Vec<u8>,
    /// Lines served (`X-EDL-Size`).
    pub served: u64,
}

/// Builds the text lines of §7.1–7.5 from the selection, in order. `None` when the body
/// would exceed 4 GiB.
pub fn render(selection: &[&Indicator], req: &ExportRequest<'_>) -> Option<TextBody> {
    let (lines, bytes) = size_hint(selection);
    let mut window = LineWindow::new(req.offset, req.limit, lines, bytes);
    let mut buckets = match req.collapse {
        Collapse::On(_) => Some(Buckets::new()),
        Collapse::Off => None,
    };
    for indicator in selection {
        if window.is_full() && buckets.is_none() {
            break;
        }
        line_for(indicator, req, &mut window, buckets.as_mut());
    }
    if let (Some(buckets), Collapse::On(mode)) = (buckets, req.collapse) {
        buckets.emit(mode, |line| window.push(line));
    }
    let (body, served) = window.finish()?;
    Some(TextBody { body, served })
}

fn size_hint(selection: &[&Indicator]) -> (usize, usize) {
    let bytes = selection.iter().map(|i| i.value().len() + 1).sum();
    (selection.len(), bytes)
}

/// §7.1 for one indicator: zero, one or two lines, or a network for a bucket.
fn line_for(
    indicator: &Indicator,
    req: &ExportRequest<'_>,
    window: &mut LineWindow,
    buckets: Option<&mut Buckets>,
) {
    let stored = indicator.value();
    if stored.is_empty() || (req.enforce_ascii && !stored.is_ascii()) {
        return;
    }
    let kind = indicator.kind();
    if kind.is_ip() {
        if has_control(stored) {
            return;
        }
        ip_line(stored, kind, req, window, buckets);
        return;
    }
    let value = req.url.apply(stored);
    if has_control(&value) {
        return;
    }
    if req.drop_invalids
        && (has_port(&value)
            || has_invalid_token(&value)
            || (*kind == IndicatorType::Url && value.chars().count() >= 255))
    {
        return;
    }
    if let Some(base) = glob_base(&value) {
        if req.no_wildcard_tld && (base.is_empty() || is_public_suffix(base)) {
            return;
        }
        window.push(base);
    }
    // Non-IP types never go to a bucket (§7.4), even when the value is an address.
    window.push(&value);
}

/// Steps 7 and 8 for IP types: the max-CIDR drop, then the bucket or a verbatim line.
fn ip_line(
    value: &str,
    kind: &IndicatorType,
    req: &ExportRequest<'_>,
    window: &mut LineWindow,
    buckets: Option<&mut Buckets>,
) {
    let is_cidr_type = matches!(kind, IndicatorType::Cidr | IndicatorType::Ipv6Cidr);
    // Parsing costs; only do it when a rule can use the result.
    let needs_parse = buckets.is_some() || (is_cidr_type && req.max_cidr_size > 0);
    if !needs_parse {
        window.push(value);
        return;
    }
    let network = Network::parse(value);
    if is_cidr_type
        && let Some(net) = network
        && u64::from(net.prefix()) < req.max_cidr_size
    {
        return;
    }
    let bucketed = match (network, kind) {
        (Some(net), IndicatorType::Ip | IndicatorType::Cidr) => Some(net),
        (Some(net @ Network::V6 { .. }), IndicatorType::Ipv6 | IndicatorType::Ipv6Cidr) => {
            Some(net)
        }
        _ => None,
    };
    match (buckets, bucketed) {
        (Some(buckets), Some(net)) => buckets.push(net),
        _ => window.push(value),
    }
}

fn has_control(value: &str) -> bool {
    value.bytes().any(|b| b < 0x20)
}
