//! PAN-OS text (§7): one entry per line, globs expanded, IPs optionally collapsed,
//! duplicates removed, then the `[s, s+n)` window.

use crate::export::args::{Collapse, ExportRequest};
use crate::export::collapse::Buckets;
use crate::export::network::Network;
use crate::export::psl::is_public_suffix;
use crate::export::url::{glob_base, has_invalid_token, has_port};
use crate::format::Selection;
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
pub fn render(selection: &Selection<'_>, req: &ExportRequest<'_>) -> Option<TextBody> {
    let bytes = estimated_bytes(selection);
    let collapsing = matches!(req.collapse, Collapse::On(_));
    let mut window = LineWindow::with_collapsed(
        req.offset,
        req.limit,
        bytes,
        Some(selection.dataset()),
        collapsing,
    );
    let mut buckets = match req.collapse {
        Collapse::On(_) => Some(Buckets::new()),
        Collapse::Off => None,
    };
    for (position, indicator) in selection.iter_positions() {
        if window.is_full() && buckets.is_none() {
            break;
        }
        line_for(
            indicator.value(),
            indicator,
            position,
            req,
            &mut window,
            buckets.as_mut(),
        );
    }
    if let (Some(buckets), Collapse::On(mode)) = (buckets, req.collapse) {
        buckets.emit(mode, |line| window.push_collapsed(line));
    }
    let (body, served) = window.finish()?;
    Some(TextBody { body, served })
}

/// The body size if every selected value became one line: the dataset's total, scaled.
fn estimated_bytes(selection: &Selection<'_>) -> usize {
    let dataset = selection.dataset();
    let total = dataset.indicators().len().max(1);
    let scaled = dataset.value_bytes() as u128 * selection.len() as u128 / total as u128;
    usize::try_from(scaled).unwrap_or(0) + selection.len()
}

/// §7.1 for one indicator: zero, one or two lines, or a network for a bucket.
fn line_for(
    stored: &str,
    indicator: &Indicator,
    position: u32,
    req: &ExportRequest<'_>,
    window: &mut LineWindow,
    buckets: Option<&mut Buckets>,
) {
    if stored.is_empty() || (req.enforce_ascii && !stored.is_ascii()) {
        return;
    }
    let kind = indicator.kind();
    if kind.is_ip() {
        if has_control(stored) {
            return;
        }
        ip_line(stored, position, kind, req, window, buckets);
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
    // Non-IP types never go to a bucket (§7.4), even when the value is an address. The URL
    // handler only removes text, so an unchanged length means an unchanged value.
    if value.len() == stored.len() {
        window.push_verbatim(stored, position);
    } else {
        window.push(&value);
    }
}

/// Steps 7 and 8 for IP types: the max-CIDR drop, then the bucket or a verbatim line.
fn ip_line(
    value: &str,
    position: u32,
    kind: &IndicatorType,
    req: &ExportRequest<'_>,
    window: &mut LineWindow,
    buckets: Option<&mut Buckets>,
) {
    let is_cidr_type = matches!(kind, IndicatorType::Cidr | IndicatorType::Ipv6Cidr);
    // Parsing costs; only do it when a rule can use the result.
    let needs_parse = buckets.is_some() || (is_cidr_type && req.max_cidr_size > 0);
    if !needs_parse {
        window.push_verbatim(value, position);
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
        _ => window.push_verbatim(value, position),
    }
}

fn has_control(value: &str) -> bool {
    value.bytes().any(|b| b < 0x20)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Dataset;
    use crate::export::args::ExportParams;
    use crate::instant::Instant;
    use proptest::prelude::*;

    fn render_text(values: &[(String, IndicatorType)], query: &str, slow_path: bool) -> String {
        let mut indicators: Vec<Indicator> = values
            .iter()
            .map(|(v, t)| Indicator::new(v.clone(), t.clone()))
            .collect();
        let positions: Vec<u32> = (0..indicators.len() as u32).collect();
        if slow_path && let Some(first) = indicators.first().cloned() {
            // A repeated value (not selected) makes the dataset's value index unavailable,
            // forcing every line through the general dedup table.
            indicators.push(first);
        }
        let dataset = Dataset::new(indicators, 1, Instant::from_unix_millis(0));
        let params = ExportParams::default();
        let req = ExportRequest::parse(&params, query).expect("valid args");
        let body = render(&Selection::new(&dataset, &positions), &req).expect("small");
        String::from_utf8(body.body).expect("utf8")
    }

    fn value_strategy() -> impl Strategy<Value = (String, IndicatorType)> {
        let value = prop::sample::select(vec![
            "a.com",
            "https://a.com",
            "*.a.com",
            "a.com:80",
            "http://a.com:8080",
            "1.1.1.1",
            "1.1.1.0/31",
            "http://1.1.1.1",
            "*.com",
            "b.org/x",
            "hxxp://b.org/x",
            // Values that other values turn into once rewritten, or that rewrite to the same
            // line as another value.
            "b.org:8080/x",
            "//a.com",
            "*.*.a.com",
            "a.com:80:90",
            "1.1.1.1:80",
            "http://1.1.1.0/31",
            "10.0.0.0",
            "10.0.0.1",
            "10.0.0.0/31",
            "::1",
            "http://[::1]:80",
            "[::1]",
        ]);
        let kind = prop::sample::select(vec![
            IndicatorType::Url,
            IndicatorType::Domain,
            IndicatorType::DomainGlob,
            IndicatorType::Ip,
            IndicatorType::Cidr,
            IndicatorType::Ipv6,
        ]);
        (value, kind).prop_map(|(v, k)| (v.to_owned(), k))
    }

    proptest! {
        #[test]
        fn fast_dedup_matches_the_general_table(
            mut values in prop::collection::vec(value_strategy(), 0..16),
            query in prop::sample::select(vec![
                "",
                "tr=1",
                "tr=2",
                "s=1&n=3",
                "di&nt",
                "pr=0",
                "sp=0",
                "pr=0&sp=0",
                "tr=2&s=2&n=4",
                "tr=1&mc=31",
                "mc=32&di",
            ]),
        ) {
            // Stores hold distinct values; keep the first of each.
            let mut seen = std::collections::HashSet::new();
            values.retain(|(v, _)| seen.insert(v.clone()));
            let fast = render_text(&values, query, false);
            prop_assert_eq!(&fast, &render_text(&values, query, true));
            if fast != "# Empty List" {
                let lines: Vec<&str> = fast.split('\n').collect();
                let distinct: std::collections::HashSet<&str> = lines.iter().copied().collect();
                prop_assert_eq!(lines.len(), distinct.len(), "repeated line in {:?}", fast);
            }
        }
    }

    #[test]
    fn glob_base_comes_first_and_repeats_are_dropped() {
        let values = vec![
            ("a.com".to_owned(), IndicatorType::Domain),
            ("*.a.com".to_owned(), IndicatorType::DomainGlob),
            ("https://a.com".to_owned(), IndicatorType::Url),
            ("*.com".to_owned(), IndicatorType::DomainGlob),
        ];
        assert_eq!(
            render_text(&values, "", false),
            "a.com\n*.a.com\ncom\n*.com"
        );
        assert_eq!(render_text(&values, "nt", false), "a.com\n*.a.com");
    }
}
