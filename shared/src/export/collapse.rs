//! Address buckets and collapsing for the text export's `tr` argument (spec `export.md` §7.4).
//!
//! Every network is an integer interval `first..=last`. A bucket's intervals are sorted by
//! their first address and merged in one pass into maximal runs of consecutive addresses
//! (overlapping and adjacent blocks join, duplicates vanish), then each run is written either as
//! a range or as its minimal list of aligned CIDR blocks. This is the approach of ipnet's
//! `aggregate()`, done directly on integers so that a bucket of a million addresses costs one
//! sort and no allocation per output line.
//!
//! ```
//! use feedgate::export::collapse::{Buckets, CollapseMode};
//! use feedgate::export::network::Network;
//!
//! let mut buckets = Buckets::new();
//! for text in ["2001:db8::2", "1.1.1.3", "1.1.1.1", "1.1.1.2", "2001:db8::/127", "9.9.9.9"] {
//!     if let Some(net) = Network::parse(text) {
//!         buckets.push(net);
//!     }
//! }
//! let mut lines = Vec::new();
//! buckets.emit(CollapseMode::Cidrs, |line| lines.push(line.to_owned()));
//! assert_eq!(lines, ["1.1.1.1", "1.1.1.2/31", "9.9.9.9", "2001:db8::/127", "2001:db8::2"]);
//! ```

use std::net::Ipv6Addr;

use super::network::Network;

/// How a merged run is written: `tr=1` is [`CollapseMode::Ranges`], `tr=2` is
/// [`CollapseMode::Cidrs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollapseMode {
    /// `first-last`, or the bare address for a run of one address.
    Ranges,
    /// The minimal list of aligned CIDR blocks, `address/prefix`, with /32 and /128 written as
    /// the bare address.
    Cidrs,
}

/// The IPv4 and IPv6 buckets of §7.4.
///
/// Blocks are kept as inclusive integer intervals and only merged by [`Buckets::emit`], so
/// [`Buckets::push`] is a plain vector push.
#[derive(Debug, Default)]
pub struct Buckets {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl Buckets {
    /// Two empty buckets.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a network to the bucket of its family: IPv4 networks to the IPv4 bucket, IPv6
    /// networks to the IPv6 bucket. Which typed values may join a bucket at all (§7.4: an IPv4
    /// value typed `IPv6` may not) is the caller's decision.
    pub fn push(&mut self, net: Network) {
        match net {
            Network::V4 { first, last, .. } => self.v4.push((first, last)),
            Network::V6 { first, last, .. } => self.v6.push((first, last)),
        }
    }

    /// Whether no network has been pushed into either bucket.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Merge each bucket into maximal runs of consecutive addresses, then call `emit` once per
    /// output line: IPv4 lines ascending, then IPv6 ascending. Ranges: `first-last` or the bare
    /// address for a one-address run. Cidrs: minimal aligned CIDR blocks, `addr/prefix`, /32 and
    /// /128 as the bare address.
    ///
    /// Addresses are written in dotted decimal and in RFC 5952 form (lower-case hex, the first
    /// longest run of two or more zero groups as `::`, `::ffff:a.b.c.d` for IPv4-mapped
    /// addresses). The line passed to `emit` lives in one reused buffer, so `emit` must copy
    /// it if it keeps it.
    pub fn emit(self, mode: CollapseMode, mut emit: impl FnMut(&str)) {
        let Buckets { mut v4, mut v6 } = self;
        merge_v4(&mut v4);
        merge_v6(&mut v6);
        // One buffer for every line: the longest line is two full IPv6 addresses and a dash.
        let mut line = String::with_capacity(96);
        write_runs(&v4, mode, &mut line, &mut emit);
        write_runs(&v6, mode, &mut line, &mut emit);
    }
}

/// Sorts and merges IPv4 intervals in place into maximal runs of consecutive addresses.
///
/// Each `(first, last)` is the inclusive interval `first..=last`; intervals with
/// `first > last` are empty and removed. Afterwards the runs are ascending, and no two of them
/// overlap or touch (a run's `last + 1` is less than the next run's `first`).
///
/// ```
/// use feedgate::export::collapse::merge_v4;
///
/// let mut blocks = vec![(10, 20), (0, 4), (21, 21), (5, 5), (30, 40), (35, 36), (u32::MAX, 9)];
/// merge_v4(&mut blocks);
/// assert_eq!(blocks, [(0, 5), (10, 21), (30, 40)]);
/// ```
pub fn merge_v4(blocks: &mut Vec<(u32, u32)>) {
    merge(blocks);
}

/// Sorts and merges IPv6 intervals in place; see [`merge_v4`].
pub fn merge_v6(blocks: &mut Vec<(u128, u128)>) {
    merge(blocks);
}

/// Calls `f(address, prefix)` for each block of the minimal list of aligned CIDR blocks that
/// exactly covers `first..=last`, in ascending order. Nothing is called when `first > last`.
///
/// ```
/// use feedgate::export::collapse::cidrs_v4;
///
/// let mut blocks = Vec::new();
/// cidrs_v4(0x0101_0101, 0x0101_0103, |addr, prefix| blocks.push((addr, prefix)));
/// assert_eq!(blocks, [(0x0101_0101, 32), (0x0101_0102, 31)]);
///
/// blocks.clear();
/// cidrs_v4(0, u32::MAX, |addr, prefix| blocks.push((addr, prefix)));
/// assert_eq!(blocks, [(0, 0)]);
/// ```
pub fn cidrs_v4(first: u32, last: u32, f: impl FnMut(u32, u8)) {
    cidrs(first, last, f);
}

/// Calls `f(address, prefix)` for each block of the minimal CIDR cover of `first..=last`; see
/// [`cidrs_v4`].
pub fn cidrs_v6(first: u128, last: u128, f: impl FnMut(u128, u8)) {
    cidrs(first, last, f);
}

/// Appends `addr` to `out` in dotted decimal.
pub fn push_v4(out: &mut String, addr: u32) {
    let [a, b, c, d] = addr.to_be_bytes();
    push_decimal(out, a);
    out.push('.');
    push_decimal(out, b);
    out.push('.');
    push_decimal(out, c);
    out.push('.');
    push_decimal(out, d);
}

/// Appends `addr` to `out` in RFC 5952 form, as §7.4 asks: lower-case hex without leading
/// zeros, the first longest run of two or more zero groups as `::`, a single zero group kept as
/// `0`, and addresses in `::ffff:0:0/96` as `::ffff:a.b.c.d`.
///
/// This is what std's `Display for Ipv6Addr` prints (the tests check that on random
/// addresses); it is written out by hand because going through `fmt` measured about three
/// times slower per address.
///
/// ```
/// let mut line = String::new();
/// feedgate::export::collapse::push_v6(&mut line, 0x2001_0db8_0000_0000_0001_0000_0000_0001);
/// assert_eq!(line, "2001:db8::1:0:0:1");
/// ```
pub fn push_v6(out: &mut String, addr: u128) {
    if addr >> 32 == 0xFFFF {
        out.push_str("::ffff:");
        // The mask keeps exactly the low 32 bits, so the conversion cannot fail.
        push_v4(out, u32::try_from(addr & 0xFFFF_FFFF).unwrap_or_default());
        return;
    }
    let groups = Ipv6Addr::from(addr).segments();
    // Find the first longest run of zero groups; RFC 5952 §4.2.2 forbids `::` for a single one.
    let (mut best_start, mut best_len) = (0, 0);
    let mut i = 0;
    while i < groups.len() {
        if groups[i] == 0 {
            let start = i;
            while i < groups.len() && groups[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                (best_start, best_len) = (start, i - start);
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        push_groups(out, &groups);
    } else {
        push_groups(out, &groups[..best_start]);
        out.push_str("::");
        push_groups(out, &groups[best_start + best_len..]);
    }
}

/// Groups in lower-case hex without leading zeros, separated by `:`.
fn push_groups(out: &mut String, groups: &[u16]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (n, &group) in groups.iter().enumerate() {
        if n > 0 {
            out.push(':');
        }
        let mut started = false;
        for shift in [12, 8, 4, 0] {
            let digit = usize::from((group >> shift) & 0xF);
            // The last digit is always written, so a zero group is `0`.
            if started || digit != 0 || shift == 0 {
                started = true;
                out.push(char::from(HEX[digit]));
            }
        }
    }
}

/// Appends a number 0–255 in decimal without leading zeros.
fn push_decimal(out: &mut String, n: u8) {
    if n >= 100 {
        out.push(char::from(b'0' + n / 100));
    }
    if n >= 10 {
        out.push(char::from(b'0' + n / 10 % 10));
    }
    out.push(char::from(b'0' + n % 10));
}

/// The address integers of the two families, so merging and CIDR splitting are written once.
trait Addr: Copy + Ord {
    /// Address width in bits; also the prefix of a one-address block.
    const BITS: u8;
    /// The highest address, where "next address" does not exist.
    const MAX: Self;
    /// `self + 1`; only called when `self` is not [`Addr::MAX`].
    fn succ(self) -> Self;
    /// Number of host bits `k` of the largest aligned block that starts at `first` and ends at
    /// or before `last` (requires `first <= last`), and that block's last address.
    fn largest_block(first: Self, last: Self) -> (u8, Self);
    /// Appends the address in its textual form.
    fn push(self, out: &mut String);
    /// Sorts intervals by first address (the order of equal firsts does not matter).
    fn sort(blocks: &mut Vec<(Self, Self)>);
}

macro_rules! impl_addr {
    ($int:ty, $push:path, $sort:path) => {
        impl Addr for $int {
            const BITS: u8 = <$int>::BITS as u8;
            const MAX: Self = <$int>::MAX;

            fn succ(self) -> Self {
                // Wrapping keeps this panic-free even if a caller broke the contract.
                self.wrapping_add(1)
            }

            fn largest_block(first: Self, last: Self) -> (u8, Self) {
                // Alignment limit: the block can be no larger than the lowest set bit of first
                // allows (`trailing_zeros` of 0 is the full width).
                let align = first.trailing_zeros();
                // Length limit: floor(log2(last - first + 1)), where the `+ 1` would overflow
                // exactly when the run is the whole address space.
                let span = last.wrapping_sub(first);
                let fits = match span.checked_add(1) {
                    Some(len) => <$int>::BITS - 1 - len.leading_zeros(),
                    None => <$int>::BITS,
                };
                let host_bits = align.min(fits);
                // `checked_shr` is `None` for a shift by the full width, i.e. no host bits.
                let host = <$int>::MAX
                    .checked_shr(<$int>::BITS - host_bits)
                    .unwrap_or(0);
                // host_bits <= BITS <= 128, so the narrowing cannot lose anything.
                (
                    u8::try_from(host_bits).unwrap_or(<Self as Addr>::BITS),
                    first | host,
                )
            }

            fn push(self, out: &mut String) {
                $push(out, self);
            }

            fn sort(blocks: &mut Vec<(Self, Self)>) {
                $sort(blocks);
            }
        }
    };
}

impl_addr!(u32, push_v4, radix_sort_v4);
impl_addr!(u128, push_v6, sort_v6);

/// IPv6 buckets are small in practice; a comparison sort on the first address is enough.
fn sort_v6(blocks: &mut [(u128, u128)]) {
    blocks.sort_unstable_by_key(|&(first, _)| first);
}

/// LSD radix sort on the first address, 11 bits per pass (three passes cover 32 bits).
/// IPv4 buckets can hold most of a million-indicator list, and there this is about three times
/// faster than a comparison sort (the sort was the largest cost of collapsing; 11-bit digits
/// measured faster than 8-bit ones because they save a whole pass over the data). A pass
/// whose digit is the same for every interval is skipped.
fn radix_sort_v4(blocks: &mut Vec<(u32, u32)>) {
    const DIGIT_BITS: u32 = 11;
    const BUCKETS: usize = 1 << DIGIT_BITS;
    const MASK: u32 = (1 << DIGIT_BITS) - 1;
    // Below this the histogram set-up costs more than it saves.
    const SMALL: usize = 4096;
    if blocks.len() < SMALL {
        blocks.sort_unstable_by_key(|&(first, _)| first);
        return;
    }
    let len = blocks.len();
    let digit = |first: u32, pass: u32| ((first >> (DIGIT_BITS * pass)) & MASK) as usize;
    let mut counts = [[0usize; BUCKETS]; 3];
    for &(first, _) in blocks.iter() {
        for (pass, count) in (0..).zip(counts.iter_mut()) {
            count[digit(first, pass)] += 1;
        }
    }
    let mut scratch = vec![(0u32, 0u32); len];
    for (pass, count) in (0..).zip(counts.iter()) {
        if count.contains(&len) {
            continue;
        }
        let mut offsets = [0usize; BUCKETS];
        let mut sum = 0;
        for (offset, &n) in offsets.iter_mut().zip(count) {
            *offset = sum;
            sum += n;
        }
        for &block in blocks.iter() {
            // Offsets are prefix sums of this same data's digit counts, so every slot index is
            // below len and each slot is written once.
            let offset = &mut offsets[digit(block.0, pass)];
            scratch[*offset] = block;
            *offset += 1;
        }
        std::mem::swap(blocks, &mut scratch);
    }
}

/// Sort by first address, then one pass that folds each interval into the previous run when
/// they overlap or touch.
fn merge<A: Addr>(blocks: &mut Vec<(A, A)>) {
    blocks.retain(|&(first, last)| first <= last);
    // Only the first address matters for the merge.
    A::sort(blocks);
    blocks.dedup_by(|next, run| {
        // `run.1 == MAX` means the run reaches the end of the space, which every later
        // interval touches; testing it first keeps `succ` from wrapping.
        if run.1 == A::MAX || next.0 <= run.1.succ() {
            run.1 = run.1.max(next.1);
            true
        } else {
            false
        }
    });
}

/// Greedy split of `first..=last` into aligned blocks, each the largest that starts at the
/// current address; this yields the unique minimal CIDR cover.
fn cidrs<A: Addr>(mut first: A, last: A, mut f: impl FnMut(A, u8)) {
    if first > last {
        return;
    }
    loop {
        let (host_bits, block_last) = A::largest_block(first, last);
        f(first, A::BITS - host_bits);
        if block_last >= last {
            break;
        }
        first = block_last.succ();
    }
}

/// Writes every merged run of one bucket as lines.
fn write_runs<A: Addr>(
    runs: &[(A, A)],
    mode: CollapseMode,
    line: &mut String,
    emit: &mut impl FnMut(&str),
) {
    for &(first, last) in runs {
        match mode {
            CollapseMode::Ranges => {
                line.clear();
                first.push(line);
                if last != first {
                    line.push('-');
                    last.push(line);
                }
                emit(line);
            }
            CollapseMode::Cidrs => cidrs(first, last, |addr, prefix| {
                line.clear();
                addr.push(line);
                if prefix != A::BITS {
                    line.push('/');
                    // A prefix is 0–128, within push_decimal's range.
                    push_decimal(line, prefix);
                }
                emit(line);
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    /// Parses every text as a network, collapses them and returns the lines.
    fn collapse(texts: &[&str], mode: CollapseMode) -> Vec<String> {
        let mut buckets = Buckets::new();
        for text in texts {
            buckets.push(Network::parse(text).unwrap_or_else(|| panic!("{text} must parse")));
        }
        lines(buckets, mode)
    }

    fn lines(buckets: Buckets, mode: CollapseMode) -> Vec<String> {
        let mut out = Vec::new();
        buckets.emit(mode, |line| out.push(line.to_owned()));
        out
    }

    const CASE_008: &[&str] = &[
        "1.1.1.1",
        "25.24.23.22",
        "22.21.20.19",
        "1.1.1.2",
        "1.2.3.4",
        "1.1.1.3",
        "2.2.2.2",
        "1.2.3.5",
        "3.3.3.0/30",
        "3.3.3.1",
    ];

    #[test]
    fn collapses_conformance_008_into_ranges() {
        assert_eq!(
            collapse(CASE_008, CollapseMode::Ranges),
            [
                "1.1.1.1-1.1.1.3",
                "1.2.3.4-1.2.3.5",
                "2.2.2.2",
                "3.3.3.0-3.3.3.3",
                "22.21.20.19",
                "25.24.23.22"
            ]
        );
    }

    #[test]
    fn collapses_conformance_009_into_cidrs() {
        assert_eq!(
            collapse(CASE_008, CollapseMode::Cidrs),
            [
                "1.1.1.1",
                "1.1.1.2/31",
                "1.2.3.4/31",
                "2.2.2.2",
                "3.3.3.0/30",
                "22.21.20.19",
                "25.24.23.22"
            ]
        );
    }

    #[test]
    fn collapses_ipv6_written_in_any_form_into_one_range() {
        let texts = [
            "2001:db8::1",
            "2001:db8::2",
            "2001:0db8:0000:0000:0000:0000:0000:0003",
        ];
        assert_eq!(
            collapse(&texts, CollapseMode::Ranges),
            ["2001:db8::1-2001:db8::3"]
        );
    }

    #[test]
    fn joins_an_ipv6_cidr_with_adjacent_addresses() {
        let texts = ["2001:db8::/127", "2001:db8::2", "2001:db8::3"];
        assert_eq!(collapse(&texts, CollapseMode::Cidrs), ["2001:db8::/126"]);
    }

    #[test]
    fn emits_ipv4_before_ipv6_each_ascending() {
        let texts = [
            "2001:db8::10",
            "10.0.0.0/24",
            "9.9.9.9",
            "10.0.0.128/25",
            "::1",
            "2001:db8::/124",
            "1.1.1.1",
        ];
        assert_eq!(
            collapse(&texts, CollapseMode::Ranges),
            [
                "1.1.1.1",
                "9.9.9.9",
                "10.0.0.0-10.0.0.255",
                "::1",
                "2001:db8::-2001:db8::10"
            ]
        );
    }

    #[test]
    fn clears_host_bits_of_collapsed_cidrs() {
        let texts = ["192.168.1.77/24", "2001:db8::1234/112"];
        assert_eq!(
            collapse(&texts, CollapseMode::Cidrs),
            ["192.168.1.0/24", "2001:db8::/112"]
        );
    }

    #[test]
    fn collapses_the_whole_ipv4_space() {
        let texts = ["0.0.0.0/0", "10.0.0.1"];
        assert_eq!(collapse(&texts, CollapseMode::Cidrs), ["0.0.0.0/0"]);
        assert_eq!(
            collapse(&texts, CollapseMode::Ranges),
            ["0.0.0.0-255.255.255.255"]
        );
        let halves = ["128.0.0.0/1", "0.0.0.0/1"];
        assert_eq!(collapse(&halves, CollapseMode::Cidrs), ["0.0.0.0/0"]);
    }

    #[test]
    fn collapses_at_both_ends_of_the_ipv4_space() {
        let texts = ["255.255.255.255", "0.0.0.1", "255.255.255.254", "0.0.0.0"];
        assert_eq!(
            collapse(&texts, CollapseMode::Cidrs),
            ["0.0.0.0/31", "255.255.255.254/31"]
        );
        assert_eq!(
            collapse(&texts, CollapseMode::Ranges),
            ["0.0.0.0-0.0.0.1", "255.255.255.254-255.255.255.255"]
        );
        let top = ["255.255.255.255", "255.255.255.255/32", "255.255.255.0/24"];
        assert_eq!(collapse(&top, CollapseMode::Cidrs), ["255.255.255.0/24"]);
        assert_eq!(
            collapse(&["255.255.255.255"], CollapseMode::Ranges),
            ["255.255.255.255"]
        );
    }

    #[test]
    fn collapses_the_whole_ipv6_space() {
        let texts = ["::/0", "::"];
        assert_eq!(
            collapse(&texts, CollapseMode::Ranges),
            ["::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]
        );
        assert_eq!(collapse(&texts, CollapseMode::Cidrs), ["::/0"]);
        let top = [
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
        ];
        assert_eq!(
            collapse(&top, CollapseMode::Cidrs),
            ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"]
        );
    }

    #[test]
    fn collapses_adjacent_slash24s() {
        let texts = [
            "10.0.1.0/24",
            "10.0.0.0/24",
            "10.0.3.0/24",
            "10.0.2.0/24",
            "10.0.4.0/24",
        ];
        assert_eq!(
            collapse(&texts, CollapseMode::Cidrs),
            ["10.0.0.0/22", "10.0.4.0/24"]
        );
        assert_eq!(
            collapse(&texts, CollapseMode::Ranges),
            ["10.0.0.0-10.0.4.255"]
        );
    }

    #[test]
    fn splits_an_unaligned_run_into_minimal_cidrs() {
        // 10.0.0.1 .. 10.0.1.254: every block size on the way up and down.
        assert_eq!(
            collapse(
                &[
                    "10.0.0.1",
                    "10.0.0.2/31",
                    "10.0.0.4/30",
                    "10.0.0.0/24",
                    "10.0.1.0/25"
                ],
                CollapseMode::Cidrs
            ),
            ["10.0.0.0/24", "10.0.1.0/25"]
        );
        let mut blocks = Vec::new();
        cidrs_v4(0x0A00_0001, 0x0A00_01FE, |a, p| {
            blocks.push(format!("{}/{p}", Ipv4Addr::from(a)))
        });
        assert_eq!(
            blocks,
            [
                "10.0.0.1/32",
                "10.0.0.2/31",
                "10.0.0.4/30",
                "10.0.0.8/29",
                "10.0.0.16/28",
                "10.0.0.32/27",
                "10.0.0.64/26",
                "10.0.0.128/25",
                "10.0.1.0/25",
                "10.0.1.128/26",
                "10.0.1.192/27",
                "10.0.1.224/28",
                "10.0.1.240/29",
                "10.0.1.248/30",
                "10.0.1.252/31",
                "10.0.1.254/32"
            ]
        );
    }

    #[test]
    fn splits_runs_touching_the_ends_of_the_space() {
        let mut blocks = Vec::new();
        cidrs_v4(1, u32::MAX, |a, p| blocks.push((a, p)));
        assert_eq!(blocks.len(), 32);
        assert_eq!(blocks.first(), Some(&(1, 32)));
        assert_eq!(blocks.last(), Some(&(0x8000_0000, 1)));
        blocks.clear();
        cidrs_v4(0, u32::MAX - 1, |a, p| blocks.push((a, p)));
        assert_eq!(blocks.len(), 32);
        assert_eq!(blocks.first(), Some(&(0, 1)));
        assert_eq!(blocks.last(), Some(&(u32::MAX - 1, 32)));
        let mut six = Vec::new();
        cidrs_v6(1, u128::MAX - 1, |a, p| six.push((a, p)));
        assert_eq!(six.len(), 254);
        cidrs_v6(5, 4, |a, p| six.push((a, p)));
        assert_eq!(six.len(), 254);
    }

    #[test]
    fn drops_duplicates_and_contained_blocks() {
        let texts = [
            "1.1.1.1",
            "1.1.1.1",
            "1.1.1.0/24",
            "1.1.1.200",
            "1.1.1.1/32",
        ];
        assert_eq!(collapse(&texts, CollapseMode::Cidrs), ["1.1.1.0/24"]);
        assert_eq!(
            collapse(&texts, CollapseMode::Ranges),
            ["1.1.1.0-1.1.1.255"]
        );
    }

    #[test]
    fn keeps_gaps_of_one_address() {
        let texts = ["1.1.1.1", "1.1.1.3"];
        assert_eq!(
            collapse(&texts, CollapseMode::Ranges),
            ["1.1.1.1", "1.1.1.3"]
        );
    }

    #[test]
    fn writes_mapped_ipv6_with_a_dotted_tail() {
        let texts = [
            "::ffff:1.2.3.4",
            "::ffff:1.2.3.5",
            "::FFFF:0102:0306",
            "::ffff:0:0/120",
        ];
        assert_eq!(
            collapse(&texts, CollapseMode::Ranges),
            [
                "::ffff:0.0.0.0-::ffff:0.0.0.255",
                "::ffff:1.2.3.4-::ffff:1.2.3.6"
            ]
        );
        assert_eq!(
            collapse(&texts, CollapseMode::Cidrs),
            ["::ffff:0.0.0.0/120", "::ffff:1.2.3.4/127", "::ffff:1.2.3.6"]
        );
        // Mapped IPv6 stays in the IPv6 bucket: it never joins 1.2.3.x.
        assert_eq!(
            collapse(&["1.2.3.4", "::ffff:1.2.3.5"], CollapseMode::Ranges),
            ["1.2.3.4", "::ffff:1.2.3.5"]
        );
    }

    #[test]
    fn writes_ipv6_in_rfc5952_form() {
        let cases: &[(&str, &str)] = &[
            ("2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
            ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
            ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),
            ("0:0:0:0:0:0:0:0", "::"),
            ("0:0:0:0:0:0:0:1", "::1"),
            ("1:0:0:0:0:0:0:0", "1::"),
            ("::1.2.3.4", "::102:304"),
            ("::ffff:0:0", "::ffff:0.0.0.0"),
            ("::fffe:102:304", "::fffe:102:304"),
            ("::1:ffff:102:304", "::1:ffff:102:304"),
            ("64:ff9b::1.2.3.4", "64:ff9b::102:304"),
            (
                "ABCD:EF01:0023:0450:6789:A000:0B00:00C0",
                "abcd:ef01:23:450:6789:a000:b00:c0",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(collapse(&[text], CollapseMode::Cidrs), [*want], "{text}");
        }
    }

    #[test]
    fn merges_touching_overlapping_and_empty_intervals() {
        let mut blocks = vec![
            (5u32, 9),
            (0, 4),
            (3, 3),
            (20, 10),
            (11, 12),
            (u32::MAX, u32::MAX),
            (13, 13),
        ];
        merge_v4(&mut blocks);
        assert_eq!(blocks, [(0, 9), (11, 13), (u32::MAX, u32::MAX)]);
        let mut all = vec![(0u128, u128::MAX), (7, 7), (u128::MAX, u128::MAX)];
        merge_v6(&mut all);
        assert_eq!(all, [(0, u128::MAX)]);
        let mut empty: Vec<(u32, u32)> = Vec::new();
        merge_v4(&mut empty);
        assert!(empty.is_empty());
    }

    #[test]
    fn radix_sorts_large_buckets_like_a_comparison_sort() {
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // Random, clustered (upper digits equal, so passes are skipped), constant, and the
        // top of the space.
        let shapes: [&dyn Fn(u64) -> u32; 4] = [
            &|r| r as u32,
            &|r| 0x0A0B_0000 | (r as u32 & 0x7FF),
            &|_| 7,
            &|r| u32::MAX - (r as u32 & 0xFFFF),
        ];
        for shape in shapes {
            let blocks: Vec<(u32, u32)> = (0..20_000)
                .map(|_| {
                    let first = shape(next());
                    (first, first.saturating_add(next() as u32 & 3))
                })
                .collect();
            let mut radix = blocks.clone();
            radix_sort_v4(&mut radix);
            assert!(radix.windows(2).all(|w| w[0].0 <= w[1].0));
            let mut want = blocks.clone();
            want.sort_unstable();
            radix.sort_unstable();
            assert_eq!(radix, want);
            // And the merge on top of it agrees with a merge after a comparison sort.
            let mut merged = blocks.clone();
            merge_v4(&mut merged);
            let mut reference = blocks;
            reference.sort_unstable();
            let mut runs: Vec<(u32, u32)> = Vec::new();
            for (first, last) in reference {
                match runs.last_mut() {
                    Some(run) if u64::from(first) <= u64::from(run.1) + 1 => {
                        run.1 = run.1.max(last)
                    }
                    _ => runs.push((first, last)),
                }
            }
            assert_eq!(merged, runs);
        }
    }

    #[test]
    fn empty_buckets_emit_nothing() {
        let buckets = Buckets::new();
        assert!(buckets.is_empty());
        assert!(lines(buckets, CollapseMode::Cidrs).is_empty());
        let mut one = Buckets::new();
        one.push(Network::V6 {
            first: 1,
            last: 1,
            prefix: 128,
        });
        assert!(!one.is_empty());
    }

    // ----- properties -----

    /// A block in a crowded neighbourhood so overlaps and adjacency are common: a base from
    /// the ends and middle of the space, a small offset, and a prefix of the last few bits.
    fn v4_block() -> impl Strategy<Value = (u32, u8)> {
        let base = prop_oneof![
            Just(0u32),
            Just(0x0A00_0000),
            Just(0x7FFF_FF00),
            Just(u32::MAX - 511)
        ];
        let prefix = prop_oneof![8 => 24u8..=32, 1 => 0u8..=32];
        (base, 0u32..512, prefix).prop_map(|(b, off, p)| (b.wrapping_add(off), p))
    }

    fn v6_block() -> impl Strategy<Value = (u128, u8)> {
        let base = prop_oneof![
            Just(0u128),
            Just(0xFFFF_0000_0000),
            Just(0x2001_0db8_u128 << 96),
            Just(u128::MAX - 511)
        ];
        let prefix = prop_oneof![8 => 120u8..=128, 1 => 0u8..=128];
        (base, 0u128..512, prefix).prop_map(|(b, off, p)| (b.wrapping_add(off), p))
    }

    fn v4_net((addr, prefix): (u32, u8)) -> Network {
        Network::parse(&format!("{}/{prefix}", Ipv4Addr::from(addr)))
            .unwrap_or_else(|| panic!("v4 {addr} {prefix}"))
    }

    fn v6_net((addr, prefix): (u128, u8)) -> Network {
        Network::parse(&format!("{}/{prefix}", Ipv6Addr::from(addr)))
            .unwrap_or_else(|| panic!("v6 {addr} {prefix}"))
    }

    /// Turns an output line back into (is_v6, first, last), checking the CIDR shape.
    fn line_interval(line: &str) -> (bool, u128, u128) {
        if let Some((a, b)) = line.split_once('-') {
            let (Some(a), Some(b)) = (Network::parse(a), Network::parse(b)) else {
                panic!("{line}")
            };
            assert_eq!((a.prefix(), a.is_v4()), (b.prefix(), b.is_v4()), "{line}");
            assert!(a.prefix() == 32 || a.prefix() == 128, "{line}");
            let (fa, _) = bounds(a);
            let (fb, _) = bounds(b);
            assert!(fa < fb, "{line}");
            (a.is_v6(), fa, fb)
        } else {
            let net = Network::parse(line).unwrap_or_else(|| panic!("{line}"));
            let (first, last) = bounds(net);
            // Written blocks are aligned (the text had no host bits) and /32, /128 are bare.
            let addr_text = line.split('/').next().unwrap_or_default();
            assert_eq!(
                Network::parse(addr_text).map(bounds).map(|b| b.0),
                Some(first),
                "{line}"
            );
            assert_eq!(
                line.contains('/'),
                !(net.prefix() == 32 && net.is_v4() || net.prefix() == 128),
                "{line}"
            );
            (net.is_v6(), first, last)
        }
    }

    fn bounds(net: Network) -> (u128, u128) {
        match net {
            Network::V4 { first, last, .. } => (u128::from(first), u128::from(last)),
            Network::V6 { first, last, .. } => (first, last),
        }
    }

    fn covered(set: &[(u128, u128)], point: u128) -> bool {
        set.iter().any(|&(f, l)| f <= point && point <= l)
    }

    /// Two unions of intervals are equal iff they agree at every interval start of either:
    /// the lowest point where they differ is where one of them starts an interval.
    fn same_set(a: &[(u128, u128)], b: &[(u128, u128)]) -> bool {
        a.iter()
            .chain(b)
            .all(|&(f, _)| covered(a, f) == covered(b, f))
    }

    /// Whether two aligned blocks are the two halves of one larger aligned block. A cover by
    /// disjoint aligned blocks is minimal exactly when no two of its blocks are siblings: a
    /// non-maximal block's parent is inside the set, and any split of that parent into
    /// aligned blocks contains a sibling pair (at its deepest split).
    fn siblings((f1, l1): (u128, u128), (f2, l2): (u128, u128)) -> bool {
        let size = l1 - f1;
        l2 - f2 == size
            && l1.checked_add(1) == Some(f2)
            && f1 & size.wrapping_mul(2).wrapping_add(1) == 0
    }

    fn check_output(
        v4_in: &[(u128, u128)],
        v6_in: &[(u128, u128)],
        out: &[String],
        mode: CollapseMode,
    ) -> Result<(), TestCaseError> {
        let parsed: Vec<(bool, u128, u128)> = out.iter().map(|l| line_interval(l)).collect();
        // IPv4 lines first, then IPv6, never mixed.
        let split = parsed.iter().take_while(|(six, ..)| !six).count();
        prop_assert!(parsed[split..].iter().all(|(six, ..)| *six));
        for (part, input) in [(&parsed[..split], v4_in), (&parsed[split..], v6_in)] {
            let got: Vec<(u128, u128)> = part.iter().map(|&(_, f, l)| (f, l)).collect();
            prop_assert!(
                same_set(&got, input),
                "set differs: {:?} vs {:?}",
                got,
                input
            );
            for pair in got.windows(2) {
                let ((f1, l1), (f2, l2)) = (pair[0], pair[1]);
                // Sorted and disjoint.
                prop_assert!(l1 < f2);
                match mode {
                    // Maximal runs: ranges never touch.
                    CollapseMode::Ranges => prop_assert!(l1 + 1 < f2),
                    // Minimal cover: two sibling blocks would merge into their parent.
                    CollapseMode::Cidrs => {
                        prop_assert!(!siblings((f1, l1), (f2, l2)), "{:?} could merge", pair);
                    }
                }
            }
        }
        Ok(())
    }

    fn run(v4: &[(u32, u8)], v6: &[(u128, u8)], mode: CollapseMode) -> Result<(), TestCaseError> {
        let mut buckets = Buckets::new();
        let mut v4_in = Vec::new();
        let mut v6_in = Vec::new();
        // Interleave the families so input order cannot leak into the output.
        for i in 0..v4.len().max(v6.len()) {
            if let Some(&b) = v4.get(i) {
                let net = v4_net(b);
                v4_in.push(bounds(net));
                buckets.push(net);
            }
            if let Some(&b) = v6.get(i) {
                let net = v6_net(b);
                v6_in.push(bounds(net));
                buckets.push(net);
            }
        }
        let out = lines(buckets, mode);
        check_output(&v4_in, &v6_in, &out, mode)?;
        // Idempotent: collapsing the output again changes nothing.
        let mut again = Buckets::new();
        for line in &out {
            match line.split_once('-') {
                Some((a, b)) => {
                    let (Some(a), Some(b)) = (Network::parse(a), Network::parse(b)) else {
                        panic!("{line}")
                    };
                    let ((f, _), (l, _)) = (bounds(a), bounds(b));
                    again.push(if a.is_v4() {
                        Network::V4 {
                            first: f as u32,
                            last: l as u32,
                            prefix: 32,
                        }
                    } else {
                        Network::V6 {
                            first: f,
                            last: l,
                            prefix: 128,
                        }
                    });
                }
                None => again.push(Network::parse(line).unwrap_or_else(|| panic!("{line}"))),
            }
        }
        prop_assert_eq!(lines(again, mode), out);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn cidr_collapse_keeps_the_address_set_minimal_sorted_and_stable(
            v4 in prop::collection::vec(v4_block(), 0..40),
            v6 in prop::collection::vec(v6_block(), 0..40),
        ) {
            run(&v4, &v6, CollapseMode::Cidrs)?;
        }

        #[test]
        fn range_collapse_keeps_the_address_set_maximal_sorted_and_stable(
            v4 in prop::collection::vec(v4_block(), 0..40),
            v6 in prop::collection::vec(v6_block(), 0..40),
        ) {
            run(&v4, &v6, CollapseMode::Ranges)?;
        }

        #[test]
        fn collapse_handles_blocks_anywhere_in_the_space(
            v4 in prop::collection::vec((any::<u32>(), 0u8..=32), 0..20),
            v6 in prop::collection::vec((any::<u128>(), 0u8..=128), 0..20),
        ) {
            run(&v4, &v6, CollapseMode::Cidrs)?;
            run(&v4, &v6, CollapseMode::Ranges)?;
        }

        #[test]
        fn cidr_split_of_any_interval_is_exact_and_minimal(a in any::<u32>(), b in any::<u32>()) {
            let (first, last) = (a.min(b), a.max(b));
            let mut blocks: Vec<(u128, u128)> = Vec::new();
            cidrs_v4(first, last, |addr, prefix| {
                let host = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
                assert_eq!(addr & host, 0);
                blocks.push((u128::from(addr), u128::from(addr | host)));
            });
            prop_assert!(blocks.len() <= 62);
            prop_assert!(same_set(&blocks, &[(u128::from(first), u128::from(last))]));
            for pair in blocks.windows(2) {
                prop_assert!(pair[0].1 + 1 == pair[1].0, "{:?} not contiguous", pair);
                prop_assert!(!siblings(pair[0], pair[1]), "{:?} could merge", pair);
            }
        }

        #[test]
        fn writes_ipv6_exactly_like_std(
            groups in prop::array::uniform8(prop_oneof![3 => Just(0u16), 1 => Just(0xFFFF), 3 => any::<u16>()]),
            mapped in any::<bool>(),
        ) {
            let mut addr = u128::from(Ipv6Addr::from(groups));
            if mapped {
                addr = 0xFFFF_0000_0000 | (addr & 0xFFFF_FFFF);
            }
            let mut line = String::new();
            push_v6(&mut line, addr);
            prop_assert_eq!(&line, &Ipv6Addr::from(addr).to_string());
            prop_assert_eq!(Network::parse(&line), Some(Network::V6 { first: addr, last: addr, prefix: 128 }));
        }

        #[test]
        fn writes_ipv4_exactly_like_std(addr in any::<u32>()) {
            let mut line = String::new();
            push_v4(&mut line, addr);
            prop_assert_eq!(line, Ipv4Addr::from(addr).to_string());
        }
    }

    /// Timing of the worst realistic case, printed rather than asserted:
    /// `cargo test --release -- --ignored --nocapture measures`.
    #[test]
    #[ignore]
    fn measures_collapse_of_650k_addresses() {
        // xorshift: deterministic, dependency-free pseudo-random numbers.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut nets = Vec::with_capacity(650_000);
        while nets.len() < 600_000 {
            // Runs of 1..=8 adjacent addresses at random places.
            let start = next() as u32;
            for i in 0..=(next() % 8) as u32 {
                let addr = start.wrapping_add(i);
                nets.push(Network::V4 {
                    first: addr,
                    last: addr,
                    prefix: 32,
                });
            }
        }
        nets.truncate(600_000);
        while nets.len() < 650_000 {
            let addr = (u128::from(next()) << 64) | u128::from(next() % 4);
            nets.push(Network::V6 {
                first: addr,
                last: addr,
                prefix: 128,
            });
        }
        // Shuffle so the sort has real work to do.
        for i in (1..nets.len()).rev() {
            nets.swap(i, (next() % (i as u64 + 1)) as usize);
        }
        let texts: Vec<String> = nets
            .iter()
            .map(|n| match *n {
                Network::V4 { first, .. } => Ipv4Addr::from(first).to_string(),
                Network::V6 { first, .. } => Ipv6Addr::from(first).to_string(),
            })
            .collect();
        // Best of five, so a busy machine distorts the figure less.
        for mode in [CollapseMode::Cidrs, CollapseMode::Ranges] {
            let mut best = (std::time::Duration::MAX, std::time::Duration::MAX);
            let (mut count, mut bytes) = (0usize, 0usize);
            for _ in 0..5 {
                let start = std::time::Instant::now();
                let mut buckets = Buckets::new();
                for text in &texts {
                    if let Some(net) = Network::parse(text) {
                        buckets.push(net);
                    }
                }
                let parsed = start.elapsed();
                (count, bytes) = (0, 0);
                buckets.emit(mode, |line| {
                    count += 1;
                    bytes += line.len();
                });
                let collapsed = start.elapsed() - parsed;
                best = (best.0.min(parsed), best.1.min(collapsed));
            }
            println!(
                "{mode:?}: parse+push 650k {:?}, merge+split+format {:?} -> {count} lines, {bytes} bytes",
                best.0, best.1
            );
        }
    }
}
