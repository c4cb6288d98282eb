//! Prometheus metrics of the engine, served on the optional admin port (`[admin]`).
//!
//! Every series is created when an instance is bound (or, for a status code, the first time an
//! instance answers with it) and recording is atomics plus the histogram's short lock: the
//! hot path never hashes a label set. Labels carry instance names and status codes only —
//! never a username, a credential or a query string.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The `Content-Type` of `GET /metrics`: the Prometheus text format, version 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Upper bounds (seconds) of the request-duration buckets: a cached poll takes well under a
/// millisecond of work, a first load of a million indicators seconds.
const DURATION_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The status codes a counter is kept for (anything else is counted under `other`).
const STATUSES: std::ops::RangeInclusive<u16> = 100..=599;

type InstanceLabel = [(&'static str, String); 1];
type StatusLabels = [(&'static str, String); 2];

fn new_duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// The engine's metric registry. Built once at start-up; shared by every listener.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<StatusLabels, Counter>,
    duration: Family<InstanceLabel, Histogram, fn() -> Histogram>,
    bytes: Family<InstanceLabel, Counter>,
    indicators: Family<InstanceLabel, Gauge>,
    store_errors: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric family and `feedgate_build_info` set.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<StatusLabels, Counter>::default();
        registry.register(
            "feedgate_http_requests",
            "Requests answered, by instance and HTTP status",
            requests.clone(),
        );
        let duration = Family::<InstanceLabel, Histogram, fn() -> Histogram>::new_with_constructor(
            new_duration_histogram,
        );
        registry.register(
            "feedgate_http_request_duration_seconds",
            "Time from the request head to the response, by instance",
            duration.clone(),
        );
        let bytes = Family::<InstanceLabel, Counter>::default();
        registry.register(
            "feedgate_http_response_bytes",
            "Response body bytes, by instance",
            bytes.clone(),
        );
        let indicators = Family::<InstanceLabel, Gauge>::default();
        registry.register(
            "feedgate_export_indicators",
            "Entries in the export instance's last 200 answer (X-EDL-Size)",
            indicators.clone(),
        );
        let store_errors = Counter::default();
        registry.register(
            "feedgate_store_errors",
            "Requests answered 503 because the store failed",
            store_errors.clone(),
        );
        let build_info = Family::<[(&'static str, &'static str); 1], Gauge>::default();
        build_info
            .get_or_create(&[("version", env!("CARGO_PKG_VERSION"))])
            .set(1);
        registry.register(
            "feedgate_build_info",
            "Always 1; the version label names the running build",
            build_info,
        );
        Self {
            registry,
            requests,
            duration,
            bytes,
            indicators,
            store_errors,
        }
    }

    /// The recording handle of one instance; its series exist (at zero) from now on.
    pub fn instance(&self, name: &str, export: bool) -> Arc<InstanceMetrics> {
        let label = [("instance", name.to_owned())];
        Arc::new(InstanceMetrics {
            name: name.to_owned(),
            requests: self.requests.clone(),
            by_status: STATUSES.map(|_| OnceLock::new()).collect(),
            other_status: OnceLock::new(),
            duration: self.duration.get_or_create_owned(&label),
            bytes: self.bytes.get_or_create_owned(&label),
            indicators: export.then(|| self.indicators.get_or_create_owned(&label)),
            store_errors: self.store_errors.clone(),
        })
    }

    /// The exposition text (Prometheus text format 0.0.4).
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let _ = prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// Pre-created series of one instance.
#[derive(Debug)]
pub struct InstanceMetrics {
    name: String,
    requests: Family<StatusLabels, Counter>,
    /// Index `status - 100`; filled the first time the instance answers with that status.
    by_status: Box<[OnceLock<Counter>]>,
    other_status: OnceLock<Counter>,
    duration: Histogram,
    bytes: Counter,
    indicators: Option<Gauge>,
    store_errors: Counter,
}

impl InstanceMetrics {
    /// Records one answered request: its status, body bytes, duration, and for an export
    /// 200 the entries it served.
    pub fn record(&self, status: u16, bytes: usize, elapsed: Duration, served: Option<u64>) {
        self.status_counter(status).inc();
        self.bytes.inc_by(bytes as u64);
        self.duration.observe(elapsed.as_secs_f64());
        if status == 503 {
            self.store_errors.inc();
        }
        if let (Some(gauge), Some(served)) = (&self.indicators, served) {
            gauge.set(i64::try_from(served).unwrap_or(i64::MAX));
        }
    }

    fn status_counter(&self, status: u16) -> &Counter {
        let (slot, label) = match STATUSES
            .contains(&status)
            .then(|| self.by_status.get(usize::from(status - STATUSES.start())))
            .flatten()
        {
            Some(slot) => (slot, None),
            None => (&self.other_status, Some("other")),
        };
        slot.get_or_init(|| {
            let status = label.map_or_else(|| status.to_string(), str::to_owned);
            self.requests
                .get_or_create_owned(&[("instance", self.name.clone()), ("status", status)])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_into_the_exposition() {
        let metrics = Metrics::new();
        let edl = metrics.instance("edl", true);
        let hook = metrics.instance("hook", false);
        edl.record(200, 1000, Duration::from_millis(2), Some(42));
        edl.record(200, 500, Duration::from_millis(30), Some(7));
        edl.record(503, 10, Duration::from_millis(1), None);
        hook.record(401, 20, Duration::from_micros(100), None);
        hook.record(999, 0, Duration::ZERO, None);
        let text = metrics.encode();
        for line in [
            "# TYPE feedgate_http_requests_total counter",
            "feedgate_http_requests_total{instance=\"edl\",status=\"200\"} 2",
            "feedgate_http_requests_total{instance=\"edl\",status=\"503\"} 1",
            "feedgate_http_requests_total{instance=\"hook\",status=\"401\"} 1",
            "feedgate_http_requests_total{instance=\"hook\",status=\"other\"} 1",
            "feedgate_http_response_bytes_total{instance=\"edl\"} 1510",
            "feedgate_http_response_bytes_total{instance=\"hook\"} 20",
            "feedgate_http_request_duration_seconds_count{instance=\"edl\"} 3",
            "feedgate_http_request_duration_seconds_bucket{instance=\"edl\",le=\"0.005\"} 2",
            "feedgate_export_indicators{instance=\"edl\"} 7",
            "feedgate_store_errors_total 1",
            &format!(
                "feedgate_build_info{{version=\"{}\"}} 1",
                env!("CARGO_PKG_VERSION")
            ),
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line:?} missing from:\n{text}"
            );
        }
        assert!(!text.contains("feedgate_export_indicators{instance=\"hook\"}"));
        assert!(!text.contains("# EOF"), "0.0.4 has no EOF marker");
    }
}
