//! IP networks as the text export sees them (spec `export.md` §7.4).
//!
//! A *network* is an IPv4 or IPv6 address, optionally followed by `/` and a prefix length of one
//! to three ASCII digits. Host bits may be set; the network stands for the whole aligned block
//! around the address. The `mc` filter (§7.1 step 7) reads [`Network::prefix`], and collapsing
//! (§7.1 step 8, [`super::collapse`]) reads the block bounds.
//!
//! Parsing is on the hot path of every export (roughly 700k calls for a one-million-indicator
//! list), so it never allocates. Dotted quads are read by hand ([`parse_ipv4`]; std's parser
//! spent about four times as long on each); IPv6 text goes to std's parser, which implements
//! exactly the RFC 4291 forms §7.4 asks for. The tests at the bottom check both against std.

use std::net::Ipv6Addr;

/// A parsed network per §7.4: address (bare = /32 or /128) or address/prefix (1-3 digits,
/// ≤32/≤128), host bits may be set.
///
/// `first` is the address with host bits cleared and `last` the address with host bits set, so
/// `first <= last` always holds and the block is `first..=last`.
///
/// ```
/// # use feedgate::export::network::Network;
/// assert_eq!(
///     Network::parse("192.168.1.77/24"),
///     Some(Network::V4 { first: 0xC0A8_0100, last: 0xC0A8_01FF, prefix: 24 }),
/// );
/// assert_eq!(Network::parse("2001:db8::1").map(|n| n.prefix()), Some(128));
/// assert_eq!(Network::parse("01.1.1.1"), None); // leading zeros are not IPv4
/// assert_eq!(Network::parse("10.0.0.0/33"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// An IPv4 block.
    V4 {
        /// Lowest address of the block (host bits cleared).
        first: u32,
        /// Highest address of the block (host bits set).
        last: u32,
        /// Prefix length, 0 to 32.
        prefix: u8,
    },
    /// An IPv6 block.
    V6 {
        /// Lowest address of the block (host bits cleared).
        first: u128,
        /// Highest address of the block (host bits set).
        last: u128,
        /// Prefix length, 0 to 128.
        prefix: u8,
    },
}

impl Network {
    /// Parses `text` as a network, or returns `None` when it is not one.
    ///
    /// Accepted: an IPv4 address (four decimal numbers 0–255, no leading zeros) or an IPv6
    /// address in any RFC 4291 text form (no zone id, no brackets), optionally followed by `/`
    /// and 1–3 ASCII digits whose value is at most 32 (IPv4) or 128 (IPv6). Nothing else is
    /// tolerated, not even surrounding spaces, because values that do not parse must stay
    /// ordinary lines written verbatim.
    pub fn parse(text: &str) -> Option<Network> {
        let bytes = text.as_bytes();
        // Most networks are IPv4: read the dotted quad straight away and look at what follows.
        // Anything but the end or a `/` goes the general way below, which decides every text.
        if let Some((bits, len)) = ipv4_head(bytes) {
            match bytes.get(len..) {
                Some([]) => return Some(Network::v4(bits, 32)),
                Some([b'/', digits @ ..]) => {
                    let prefix = parse_prefix(digits).filter(|&p| p <= 32)?;
                    return Some(Network::v4(bits, prefix));
                }
                _ => {}
            }
        }
        // One pass over the bytes finds the `/` and tells the families apart (only IPv6 text
        // contains ':'), so exactly one address parser runs. This measured faster than
        // `split_once` plus a separate search.
        let mut slash = bytes.len();
        let mut colon = false;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'/' {
                slash = i;
                break;
            }
            colon |= b == b':';
        }
        let (addr, prefix) = match (text.get(..slash), bytes.get(slash..)) {
            (Some(addr), Some([b'/', digits @ ..])) => (addr, Some(parse_prefix(digits)?)),
            _ => (text, None),
        };
        if colon {
            // std's parser accepts exactly the RFC 4291 forms, and rejects zone ids, brackets
            // and embedded IPv4 parts with leading zeros.
            let bits = u128::from(addr.parse::<Ipv6Addr>().ok()?);
            let prefix = prefix.unwrap_or(128);
            if prefix > 128 {
                return None;
            }
            // `checked_shr` is `None` for a shift by the full width (prefix 0), where every
            // bit is a host bit.
            let host = u128::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            Some(Network::V6 {
                first: bits & !host,
                last: bits | host,
                prefix,
            })
        } else {
            let bits = parse_ipv4(addr.as_bytes())?;
            let prefix = prefix.unwrap_or(32);
            if prefix > 32 {
                return None;
            }
            Some(Network::v4(bits, prefix))
        }
    }

    /// The IPv4 block of `bits` with `prefix` (at most 32).
    fn v4(bits: u32, prefix: u8) -> Network {
        // `checked_shr` is `None` for a shift by the full width (prefix 0).
        let host = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
        Network::V4 {
            first: bits & !host,
            last: bits | host,
            prefix,
        }
    }

    /// The prefix length: the number after `/`, or 32 / 128 for a bare address.
    pub fn prefix(&self) -> u8 {
        match *self {
            Network::V4 { prefix, .. } | Network::V6 { prefix, .. } => prefix,
        }
    }

    /// Whether this is an IPv4 network (the IPv4 bucket of §7.4).
    pub fn is_v4(&self) -> bool {
        matches!(self, Network::V4 { .. })
    }

    /// Whether this is an IPv6 network (the IPv6 bucket of §7.4). Values typed `IPv6` or
    /// `IPv6CIDR` join a bucket only when this holds.
    pub fn is_v6(&self) -> bool {
        matches!(self, Network::V6 { .. })
    }
}

/// §7.4's dotted decimal: four numbers 0–255 of one to three ASCII digits, without leading
/// zeros, separated by `.`, and nothing else. Accepts exactly what std's `Ipv4Addr` parser
/// accepts (which rejects leading zeros, octal, hex and short forms), with the same result;
/// the tests check that on arbitrary text.
pub fn parse_ipv4(bytes: &[u8]) -> Option<u32> {
    let (addr, len) = ipv4_head(bytes)?;
    (len == bytes.len()).then_some(addr)
}

/// The dotted quad `bytes` start with, as [`parse_ipv4`] reads it, and its length in bytes.
/// `None` when they do not start with one, including when the fourth number runs on to a
/// fourth digit.
fn ipv4_head(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut addr = 0u32;
    let mut at = 0usize;
    for part in 0..4 {
        if part > 0 {
            if bytes.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
        // A number is the whole run of digits: one to three of them, the first not `0` unless
        // it stands alone.
        let start = at;
        let mut n = 0u32;
        while let Some(&b) = bytes.get(at)
            && b.is_ascii_digit()
        {
            if at - start == 3 {
                return None;
            }
            n = n * 10 + u32::from(b - b'0');
            at += 1;
        }
        let digits = at - start;
        if digits == 0 || n > 255 || (digits > 1 && bytes.get(start) == Some(&b'0')) {
            return None;
        }
        addr = addr << 8 | n;
    }
    Some((addr, at))
}

/// Parses the text after `/`: one to three ASCII digits. Leading zeros are allowed (`/024` is
/// 24) because §7.4 counts digits, not a canonical number. Range checking against the family's
/// width is left to the caller.
fn parse_prefix(bytes: &[u8]) -> Option<u8> {
    if bytes.is_empty() || bytes.len() > 3 {
        return None;
    }
    let mut value: u16 = 0;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        // At most three digits, so at most 999: no overflow in u16.
        value = value * 10 + u16::from(b - b'0');
    }
    u8::try_from(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    fn v4(first: u32, last: u32, prefix: u8) -> Option<Network> {
        Some(Network::V4 {
            first,
            last,
            prefix,
        })
    }

    fn v6(first: u128, last: u128, prefix: u8) -> Option<Network> {
        Some(Network::V6 {
            first,
            last,
            prefix,
        })
    }

    #[test]
    fn parses_ipv4_addresses_and_networks() {
        let cases: &[(&str, Option<Network>)] = &[
            ("1.1.1.1", v4(0x0101_0101, 0x0101_0101, 32)),
            ("0.0.0.0", v4(0, 0, 32)),
            ("255.255.255.255", v4(u32::MAX, u32::MAX, 32)),
            ("10.0.0.0/8", v4(0x0A00_0000, 0x0AFF_FFFF, 8)),
            ("0.0.0.0/0", v4(0, u32::MAX, 0)),
            ("255.255.255.255/0", v4(0, u32::MAX, 0)),
            ("1.2.3.4/32", v4(0x0102_0304, 0x0102_0304, 32)),
            ("1.2.3.5/31", v4(0x0102_0304, 0x0102_0305, 31)),
            ("255.255.255.255/31", v4(0xFFFF_FFFE, u32::MAX, 31)),
        ];
        for (text, want) in cases {
            assert_eq!(Network::parse(text), *want, "{text}");
        }
    }

    #[test]
    fn keeps_host_bits_out_of_the_block_bounds() {
        assert_eq!(
            Network::parse("192.168.1.77/24"),
            v4(0xC0A8_0100, 0xC0A8_01FF, 24)
        );
        assert_eq!(
            Network::parse("1.1.1.1/12"),
            v4(0x0100_0000, 0x010F_FFFF, 12)
        );
        assert_eq!(
            Network::parse("2001:db8::1234/112"),
            v6(0x2001_0db8 << 96, (0x2001_0db8 << 96) | 0xFFFF, 112)
        );
    }

    #[test]
    fn rejects_ipv4_leading_zeros_and_malformed_dotted_quads() {
        for text in [
            "01.1.1.1",
            "1.1.1.01",
            "1.1.1.00",
            "00.0.0.0",
            "1.1.1",
            "1.1.1.1.1",
            "1.1.1.256",
            "1.1.1.-1",
            "+1.1.1.1",
            "0x1.1.1.1",
            "1..1.1",
            "1.1.1.1.",
            "",
            "doesntwork/oh",
        ] {
            assert_eq!(Network::parse(text), None, "{text}");
        }
    }

    #[test]
    fn reads_prefixes_of_one_to_three_digits() {
        assert_eq!(
            Network::parse("10.0.0.0/008"),
            v4(0x0A00_0000, 0x0AFF_FFFF, 8)
        );
        assert_eq!(
            Network::parse("10.0.0.0/032"),
            v4(0x0A00_0000, 0x0A00_0000, 32)
        );
        assert_eq!(Network::parse("10.0.0.0/000"), v4(0, u32::MAX, 0));
        assert_eq!(Network::parse("1.1.1.1/001").map(|n| n.prefix()), Some(1));
        assert_eq!(Network::parse("::/0128").map(|n| n.prefix()), None);
        assert_eq!(Network::parse("::1/128").map(|n| n.prefix()), Some(128));
        assert_eq!(Network::parse("::/000").map(|n| n.prefix()), Some(0));
    }

    #[test]
    fn rejects_prefixes_out_of_range_or_malformed() {
        for text in [
            "1.1.1.1/33",
            "1.1.1.1/999",
            "1.1.1.1/0033",
            "1.1.1.1/",
            "1.1.1.1/+8",
            "1.1.1.1/-0",
            "1.1.1.1/ 8",
            "1.1.1.1/8 ",
            "1.1.1.1/8/8",
            "1.1.1.1/x",
            "/8",
            "::/129",
            "::/256",
            "::/",
            "2001:db8::/3a",
        ] {
            assert_eq!(Network::parse(text), None, "{text}");
        }
    }

    #[test]
    fn parses_every_rfc4291_ipv6_form() {
        let db8 = 0x2001_0db8_u128 << 96;
        let cases: &[(&str, Option<Network>)] = &[
            ("::", v6(0, 0, 128)),
            ("::/0", v6(0, u128::MAX, 0)),
            ("::1", v6(1, 1, 128)),
            ("2001:db8::1", v6(db8 | 1, db8 | 1, 128)),
            ("2001:DB8::1", v6(db8 | 1, db8 | 1, 128)),
            (
                "2001:0db8:0000:0000:0000:0000:0000:0003",
                v6(db8 | 3, db8 | 3, 128),
            ),
            ("2001:db8::/127", v6(db8, db8 | 1, 127)),
            (
                "1:2:3:4:5:6:7::",
                v6(
                    0x0001_0002_0003_0004_0005_0006_0007_0000,
                    0x0001_0002_0003_0004_0005_0006_0007_0000,
                    128,
                ),
            ),
            (
                "::ffff:1.2.3.4",
                v6(0xFFFF_0102_0304, 0xFFFF_0102_0304, 128),
            ),
            ("::1.2.3.4", v6(0x0102_0304, 0x0102_0304, 128)),
            (
                "1::3:4:5:6:1.2.3.4",
                v6(
                    0x0001_0000_0003_0004_0005_0006_0102_0304,
                    0x0001_0000_0003_0004_0005_0006_0102_0304,
                    128,
                ),
            ),
            (
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                v6(u128::MAX, u128::MAX, 128),
            ),
            (
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/1",
                v6(1 << 127, u128::MAX, 1),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(Network::parse(text), *want, "{text}");
        }
    }

    #[test]
    fn rejects_zone_ids_brackets_spaces_and_malformed_ipv6() {
        for text in [
            "fe80::1%eth0",
            "fe80::1%1",
            "[::1]",
            " ::1",
            "::1 ",
            " 1.1.1.1",
            "1.1.1.1 ",
            "1.1.1.1 /8",
            ":::",
            "1::2::3",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7:8::",
            "00000::1",
            "::ffff:01.2.3.4",
            "::ffff:1.2.3",
            "1:2:3:4:5:6:7:1.2.3.4",
            "2001:db8::g",
            "http://1.1.1.1:80",
            "1.1.1.1:80",
        ] {
            assert_eq!(Network::parse(text), None, "{text}");
        }
    }

    #[test]
    fn reports_family_and_prefix() {
        let four = Network::parse("10.0.0.0/15");
        let six = Network::parse("2001:db8::/15");
        assert_eq!(
            four.map(|n| (n.is_v4(), n.is_v6(), n.prefix())),
            Some((true, false, 15))
        );
        assert_eq!(
            six.map(|n| (n.is_v4(), n.is_v6(), n.prefix())),
            Some((false, true, 15))
        );
    }

    /// §7.4 read literally, with std's address parsers: the text up to the first `/` is an
    /// IPv6 address if it contains `:`, else an IPv4 one; after the `/`, one to three digits.
    fn reference(text: &str) -> Option<Network> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, digits)) => {
                let ok =
                    (1..=3).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
                (addr, Some(digits.parse::<u8>().ok().filter(|_| ok)?))
            }
            None => (text, None),
        };
        if addr.contains(':') {
            let bits = u128::from(addr.parse::<std::net::Ipv6Addr>().ok()?);
            let prefix = prefix.unwrap_or(128);
            let host = u128::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            (prefix <= 128).then_some(Network::V6 {
                first: bits & !host,
                last: bits | host,
                prefix,
            })
        } else {
            let bits = u32::from(addr.parse::<Ipv4Addr>().ok()?);
            let prefix = prefix.unwrap_or(32);
            let host = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            (prefix <= 32).then_some(Network::V4 {
                first: bits & !host,
                last: bits | host,
                prefix,
            })
        }
    }

    /// Strings near the dotted-decimal grammar: digit runs with leading zeros, too many or too
    /// few parts, stray characters.
    fn near_ipv4() -> impl Strategy<Value = String> {
        let part = prop_oneof![
            (0u32..300).prop_map(|n| n.to_string()),
            Just("0".to_owned()),
            Just("00".to_owned()),
            Just("010".to_owned()),
            Just("0255".to_owned()),
            Just("1000".to_owned()),
            Just(String::new()),
            "[0-9a-f+ :-]{1,2}",
        ];
        prop::collection::vec(part, 1..6).prop_map(|parts| parts.join("."))
    }

    proptest! {
        #[test]
        fn bare_ipv4_parses_exactly_when_std_parses_it(text in near_ipv4()) {
            let ours = match Network::parse(&text) {
                Some(Network::V4 { first, last, prefix: 32 }) if first == last => Some(first),
                _ => None,
            };
            let std = text.parse::<Ipv4Addr>().ok().map(u32::from);
            prop_assert_eq!(ours, std, "{}", text);
        }

        #[test]
        fn dotted_quads_parse_exactly_as_std_parses_them(
            text in prop_oneof![
                near_ipv4(),
                "[0-9.]{0,20}",
                "[0-9]{1,3}(\\.[0-9]{1,4}){3}",
                "\\PC{0,20}",
                any::<u32>().prop_map(|a| Ipv4Addr::from(a).to_string()),
            ]
        ) {
            let std = text.parse::<Ipv4Addr>().ok().map(u32::from);
            prop_assert_eq!(parse_ipv4(text.as_bytes()), std, "{}", text);
        }

        #[test]
        fn networks_parse_as_the_spec_reads_them_with_std_parsers(
            text in prop_oneof![
                "[0-9./:a-fA-F]{0,24}",
                (any::<u32>(), "[0-9./:x -]{0,6}")
                    .prop_map(|(a, rest)| format!("{}{rest}", Ipv4Addr::from(a))),
                (near_ipv4(), "(/[0-9]{0,4})?").prop_map(|(a, p)| format!("{a}{p}")),
            ]
        ) {
            prop_assert_eq!(Network::parse(&text), reference(&text), "{}", text);
        }

        #[test]
        fn parses_every_written_ipv4_address(addr in any::<u32>(), prefix in 0u8..=32) {
            let host = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            let text = format!("{}/{prefix}", Ipv4Addr::from(addr));
            prop_assert_eq!(Network::parse(&text), v4(addr & !host, addr | host, prefix));
        }

        #[test]
        fn never_panics_on_arbitrary_text(text in "\\PC{0,50}") {
            let _ = Network::parse(&text);
        }

        #[test]
        fn never_panics_on_address_like_text(text in "[0-9a-fA-F:./%]{0,45}") {
            if let Some(net) = Network::parse(&text) {
                let (first, last, width) = match net {
                    Network::V4 { first, last, .. } => (u128::from(first), u128::from(last), 32),
                    Network::V6 { first, last, .. } => (first, last, 128),
                };
                prop_assert!(first <= last && net.prefix() <= width);
            }
        }
    }
}
