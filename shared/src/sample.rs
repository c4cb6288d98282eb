//! Deterministic sample indicators for the demo engine and the benchmarks.
//!
//! The mix mirrors a real threat feed: 60% IPv4 in runs of adjacent addresses, 10% CIDRs,
//! 5% IPv6, 15% domains (some `*.` globs), 10% URLs with schemes, ports and paths.

use serde_json::{Map, Value};

use crate::indicator::{Indicator, IndicatorType};

/// A small deterministic generator (xorshift64*); not for anything secret.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const WORDS: [&str; 16] = [
    "alpha", "bravo", "cdn", "delta", "echo", "files", "gate", "host", "login", "mail", "news",
    "pay", "quick", "secure", "update", "web",
];
const TLDS: [&str; 8] = ["com", "net", "org", "io", "co.uk", "de", "ru", "info"];
const FEEDS: [&str; 4] = ["AWS Feed", "AutoFocus Feed", "Unit42", "OTX"];

/// `count` indicators with distinct values, the same for the same `count` on every run.
pub fn indicators(count: usize) -> Vec<Indicator> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(count);
    let mut next_v4: u32 = 0x0B00_0000; // 11.0.0.0: public space, runs grow upwards
    let mut run_left = 0u64;
    for i in 0..count {
        let bucket = i % 20;
        let (value, kind) = match bucket {
            0..=11 => {
                if run_left == 0 {
                    next_v4 = next_v4.wrapping_add(1 + rng.below(5000) as u32);
                    run_left = 1 + rng.below(64);
                }
                run_left -= 1;
                next_v4 = next_v4.wrapping_add(1);
                (
                    std::net::Ipv4Addr::from(next_v4).to_string(),
                    IndicatorType::Ip,
                )
            }
            12 | 13 => {
                // Distinct /24-aligned blocks, so every prefix from 24 to 28 is aligned.
                let block = ((i / 20) * 2 + (bucket - 12)) as u32;
                let base = 0x6400_0000u32.wrapping_add(block << 8);
                let prefix = 24 + rng.below(5);
                (
                    format!("{}/{prefix}", std::net::Ipv4Addr::from(base)),
                    IndicatorType::Cidr,
                )
            }
            14 => (
                format!("2001:db8:{:x}::{:x}", i >> 16, i & 0xffff),
                IndicatorType::Ipv6,
            ),
            15..=17 => {
                let word = WORDS[rng.below(16) as usize];
                let tld = TLDS[rng.below(8) as usize];
                let glob = if rng.below(5) == 0 { "*." } else { "" };
                (format!("{glob}{word}{i}.{tld}"), IndicatorType::Domain)
            }
            _ => {
                let scheme = ["https://", "http://", "", "hxxp://"][rng.below(4) as usize];
                let port = if rng.below(3) == 0 { ":8080" } else { "" };
                let word = WORDS[rng.below(16) as usize];
                (
                    format!(
                        "{scheme}{word}{i}.example.com{port}/path/{}",
                        rng.below(1000)
                    ),
                    IndicatorType::Url,
                )
            }
        };
        let mut fields = Map::new();
        fields.insert(
            "sourceBrands".into(),
            Value::Array(vec![Value::String(FEEDS[(i / 7) % 4].into())]),
        );
        fields.insert("score".into(), Value::from(rng.below(4)));
        out.push(Indicator::with_fields(value, kind, fields, None));
    }
    out
}

/// User + system CPU seconds this process has used so far (Linux; 0 elsewhere). For the
/// benchmarks: on a shared machine wall time alone says little, and a client's CPU time tells
/// its own work apart from waiting on a server.
pub fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let ticks: f64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_distinct_and_deterministic() {
        let a = indicators(20_000);
        let b = indicators(20_000);
        assert_eq!(a, b);
        let mut values: Vec<&str> = a.iter().map(Indicator::value).collect();
        values.sort_unstable();
        values.dedup();
        assert_eq!(values.len(), 20_000);
    }

    #[test]
    fn cpu_time_grows_with_work() {
        let before = process_cpu_seconds();
        let mut x = 0u64;
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_millis(60) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(process_cpu_seconds() > before, "{x}");
    }
}
