//! A line buffer that drops repeated lines and keeps only a window of the survivors.
//!
//! The text format deduplicates every line it produces (§7.5) before it windows them. Lines
//! never contain LF (values with C0 characters are dropped first), so the buffer is the
//! joined body itself, and the set of seen lines is a table of `u32` offsets into it.
//!
//! Most lines are *verbatim*: the stored value itself. In a dataset whose values are distinct
//! (every store's), each possible line is either the value of exactly one indicator or of
//! none. A bitmap with one bit per indicator records which values were written, whether as a
//! verbatim line or as a rewritten line (a URL losing its scheme, a glob base) that happens
//! to equal a stored value, found through the dataset's value index. Only rewritten lines
//! that are no stored value go through the table. A verbatim line is then one bit test, which
//! keeps the hot path out of any hash table.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::dataset::{Dataset, ValueIndex};
use crate::indicator::Indicator;

/// Deduplicating, windowing line writer: lines `[offset, offset + limit)` of the distinct
/// lines pushed, joined with LF.
#[derive(Debug)]
pub struct LineWindow<'a> {
    buf: Vec<u8>,
    /// Offsets of the lines that went through the table: every line when there is no value
    /// index, else only the lines that are no stored value.
    seen: HashTable<u32>,
    hasher: foldhash::fast::FixedState,
    /// Set when verbatim lines may skip the table.
    verbatim: Option<Verbatim<'a>>,
    /// With collapsing: offsets of every earlier line that could equal a collapsed line.
    address_like: Option<HashTable<u32>>,
    /// Distinct lines seen so far.
    distinct: u64,
    offset: u64,
    end: u64,
    /// Byte position in `buf` where line `offset` starts (once reached).
    window_start: Option<usize>,
    overflow: bool,
}

#[derive(Debug)]
struct Verbatim<'a> {
    indicators: &'a [Indicator],
    index: &'a ValueIndex,
    /// Bit `p` set once a line equal to the value of indicator `p` was written, verbatim or
    /// rewritten.
    written: Vec<u64>,
}

impl<'a> LineWindow<'a> {
    /// A writer serving `limit` distinct lines after skipping `offset`, sized for about
    /// `bytes` bytes of output, over lines drawn from `dataset`.
    pub fn new(offset: u64, limit: u64, bytes: usize, dataset: Option<&'a Dataset>) -> Self {
        Self::with_collapsed(offset, limit, bytes, dataset, false)
    }

    /// Like [`LineWindow::new`]; with `collapsed_tail`, collapsed lines will follow the
    /// ordinary ones through [`LineWindow::push_collapsed`], so ordinary lines that look like
    /// addresses are remembered for them.
    pub fn with_collapsed(
        offset: u64,
        limit: u64,
        bytes: usize,
        dataset: Option<&'a Dataset>,
        collapsed_tail: bool,
    ) -> Self {
        let verbatim = dataset.and_then(|d| {
            d.value_index().map(|index| Verbatim {
                indicators: d.indicators(),
                index,
                written: vec![0; d.indicators().len().div_ceil(64)],
            })
        });
        Self {
            buf: Vec::with_capacity(bytes),
            // Rewritten lines (URLs losing a scheme, glob bases) are a minority; start there.
            seen: HashTable::with_capacity(bytes / 64),
            hasher: foldhash::fast::FixedState::with_seed(0x6665_6564_6761_7465),
            verbatim,
            address_like: collapsed_tail.then(HashTable::new),
            distinct: 0,
            offset,
            end: offset.saturating_add(limit),
            window_start: None,
            overflow: false,
        }
    }

    /// True once the window is full: no later line can change the output.
    pub fn is_full(&self) -> bool {
        self.distinct >= self.end
    }

    /// Adds the stored value of the indicator at `position` of the dataset, unchanged.
    pub fn push_verbatim(&mut self, line: &str, position: u32) {
        if self.is_full() {
            return;
        }
        match &self.verbatim {
            Some(v) if (position as usize) < v.indicators.len() => {
                debug_assert_eq!(v.indicators[position as usize].value(), line);
                self.push_stored(line, position);
            }
            // No value index, or a position outside the dataset: an ordinary line.
            _ => self.push(line),
        }
    }

    /// Adds a line (without LF); repeated lines and lines past the window are ignored.
    pub fn push(&mut self, line: &str) {
        if self.is_full() {
            return;
        }
        if let Some(v) = &self.verbatim
            && let Some(p) = v.index.position(v.indicators, line)
        {
            self.push_stored(line, p);
            return;
        }
        let hash = self.hasher.hash_one(line.as_bytes());
        if self.find_hashed(line, hash).is_some() {
            return;
        }
        if let Some(start) = self.append(line) {
            let (buf, hasher) = (&self.buf, &self.hasher);
            self.seen
                .insert_unique(hash, start, |&s| hasher.hash_one(line_at(buf, s as usize)));
            self.remember_address_like(line, start);
        }
    }

    /// Adds `line`, the value of the indicator at `position` (in range), unless a line equal
    /// to that value was written before.
    fn push_stored(&mut self, line: &str, position: u32) {
        let (word, bit) = (position as usize / 64, 1u64 << (position % 64));
        let Some(v) = &mut self.verbatim else {
            return;
        };
        let Some(w) = v.written.get_mut(word) else {
            return;
        };
        if *w & bit != 0 {
            return;
        }
        *w |= bit;
        if let Some(start) = self.append(line) {
            self.remember_address_like(line, start);
        }
    }

    /// Adds a collapsed line. Collapsed lines come after every ordinary line and are distinct
    /// among themselves, so they are only checked against the ordinary lines that could
    /// equal one (made of hex digits, `.`, `:`, `/` and `-`). Falls back to [`push`] when the
    /// writer was not built for a collapsed tail.
    ///
    /// [`push`]: LineWindow::push
    pub fn push_collapsed(&mut self, line: &str) {
        if self.is_full() {
            return;
        }
        let Some(table) = &self.address_like else {
            self.push(line);
            return;
        };
        if !table.is_empty() {
            let hash = self.hasher.hash_one(line.as_bytes());
            let buf = &self.buf;
            if table
                .find(hash, |&start| {
                    line_at(buf, start as usize) == line.as_bytes()
                })
                .is_some()
            {
                return;
            }
        }
        self.append(line);
    }

    #[inline]
    fn remember_address_like(&mut self, line: &str, start: u32) {
        if self.address_like.is_some() {
            self.remember_address_like_slow(line, start);
        }
    }

    fn remember_address_like_slow(&mut self, line: &str, start: u32) {
        let Some(table) = &mut self.address_like else {
            return;
        };
        let address_like = line
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || matches!(b, b'.' | b':' | b'/' | b'-'));
        if address_like {
            let (buf, hasher) = (&self.buf, &self.hasher);
            table.insert_unique(hasher.hash_one(line.as_bytes()), start, |&s| {
                hasher.hash_one(line_at(buf, s as usize))
            });
        }
    }

    fn find_hashed(&self, line: &str, hash: u64) -> Option<u32> {
        let buf = &self.buf;
        self.seen
            .find(hash, |&start| {
                line_at(buf, start as usize) == line.as_bytes()
            })
            .copied()
    }

    /// Writes a new distinct line; returns its start offset.
    fn append(&mut self, line: &str) -> Option<u32> {
        if self.distinct > 0 {
            self.buf.push(b'\n');
        }
        let start = self.buf.len();
        let Ok(start32) = u32::try_from(start) else {
            // A body past 4 GiB cannot be served in one response anyway; say so rather than
            // serve a list with silent duplicates.
            self.overflow = true;
            self.distinct = self.end;
            return None;
        };
        if self.distinct == self.offset {
            self.window_start = Some(start);
        }
        self.buf.extend_from_slice(line.as_bytes());
        self.distinct += 1;
        Some(start32)
    }

    /// The served lines joined with LF, and how many there are. `None` when the body would
    /// exceed what the offset table can address (4 GiB).
    pub fn finish(self) -> Option<(Vec<u8>, u64)> {
        if self.overflow {
            return None;
        }
        let served = self
            .distinct
            .saturating_sub(self.offset)
            .min(self.end - self.offset);
        let mut buf = self.buf;
        match self.window_start {
            None => buf.clear(),
            Some(0) => {}
            Some(start) => {
                buf.drain(..start);
            }
        }
        Some((buf, served))
    }
}

fn line_at(buf: &[u8], start: usize) -> &[u8] {
    let rest = &buf[start..];
    match rest.iter().position(|&b| b == b'\n') {
        Some(end) => &rest[..end],
        None => rest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicator::IndicatorType;
    use crate::instant::Instant;
    use proptest::prelude::*;

    fn run(offset: u64, limit: u64, lines: &[&str]) -> (String, u64) {
        let mut w = LineWindow::new(offset, limit, 0, None);
        for l in lines {
            w.push(l);
        }
        let (body, n) = w.finish().expect("small body");
        (String::from_utf8(body).expect("utf8"), n)
    }

    #[test]
    fn drops_repeats_keeping_the_first() {
        assert_eq!(
            run(0, 10, &["a", "b", "a", "c", "b"]),
            ("a\nb\nc".into(), 3)
        );
    }

    #[test]
    fn windows_after_dedup() {
        assert_eq!(run(1, 2, &["a", "a", "b", "c", "d"]), ("b\nc".into(), 2));
        assert_eq!(run(3, 2, &["a", "b", "c"]), (String::new(), 0));
        assert_eq!(run(0, 0, &["a"]), (String::new(), 0));
        assert_eq!(run(2, u64::MAX, &["a", "b", "c", "d"]), ("c\nd".into(), 2));
    }

    #[test]
    fn a_prefix_is_not_a_repeat() {
        assert_eq!(
            run(0, 10, &["ab", "a", "", "b", ""]),
            ("ab\na\n\nb".into(), 4)
        );
    }

    #[test]
    fn verbatim_and_rewritten_lines_repeat_each_other_in_both_orders() {
        let values = ["a.com", "https://a.com", "b.com", "https://b.com"];
        let d = Dataset::new(
            values
                .iter()
                .map(|v| Indicator::new(*v, IndicatorType::Url))
                .collect::<Vec<_>>(),
            1,
            Instant::from_unix_millis(0),
        );
        let mut w = LineWindow::new(0, 100, 0, Some(&d));
        w.push_verbatim("a.com", 0); // verbatim first ...
        w.push("a.com"); // ... so the stripped https://a.com repeats it
        w.push("b.com"); // rewritten first ...
        w.push_verbatim("b.com", 2); // ... so the verbatim b.com repeats it
        w.push_verbatim("https://b.com", 3);
        w.push("c.com");
        w.push("c.com");
        w.push_collapsed("d.com");
        let (body, n) = w.finish().expect("small");
        assert_eq!(
            String::from_utf8(body).expect("utf8"),
            "a.com\nb.com\nhttps://b.com\nc.com\nd.com"
        );
        assert_eq!(n, 5);
    }

    /// One step of a line sequence: a verbatim line (the value at a position), an ordinary
    /// line (text), or a collapsed line (text).
    #[derive(Debug, Clone)]
    enum Step {
        Verbatim(usize),
        Line(&'static str),
        Collapsed(&'static str),
    }

    /// Stored values, and texts that are or are not among them, address-like or not.
    const STORED: [&str; 6] = ["a.com", "10.0.0.1", "b.org/x", "fe.de", "", "1::2"];
    const TEXTS: [&str; 9] = [
        "a.com", "10.0.0.1", "fe.de", "c.net", "10.0.0.2", "", "a.co", "1::2", "d.com/y",
    ];
    /// Distinct address-like lines, as collapsing emits them.
    const COLLAPSED: [&str; 4] = ["10.0.0.1", "10.0.0.2", "fe.de", "10.0.0.0/31"];

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        let ordinary = prop_oneof![
            (0..STORED.len()).prop_map(Step::Verbatim),
            prop::sample::select(TEXTS.to_vec()).prop_map(Step::Line),
        ];
        (
            prop::collection::vec(ordinary, 0..24),
            prop::sample::subsequence(COLLAPSED.to_vec(), 0..=COLLAPSED.len()),
        )
            .prop_map(|(mut steps, collapsed)| {
                steps.extend(collapsed.into_iter().map(Step::Collapsed));
                steps
            })
    }

    /// What every writer must produce: the distinct lines in first-seen order, windowed.
    fn model(offset: u64, limit: u64, steps: &[Step]) -> (String, u64) {
        let mut seen = std::collections::HashSet::new();
        let mut lines = Vec::new();
        for step in steps {
            let line = match *step {
                Step::Verbatim(p) => STORED[p],
                Step::Line(l) | Step::Collapsed(l) => l,
            };
            if seen.insert(line) {
                lines.push(line);
            }
        }
        let window: Vec<&str> = lines
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect();
        (window.join("\n"), window.len() as u64)
    }

    fn write(w: &mut LineWindow<'_>, steps: &[Step]) {
        for step in steps {
            match *step {
                Step::Verbatim(p) => w.push_verbatim(STORED[p], p as u32),
                Step::Line(l) => w.push(l),
                Step::Collapsed(l) => w.push_collapsed(l),
            }
        }
    }

    proptest! {
        /// The bitmap path (distinct stored values), the general table (no dataset, and a
        /// dataset with a repeated value, which has no value index) and the model agree, with
        /// and without the collapsed tail.
        #[test]
        fn every_dedup_path_matches_the_model(
            steps in steps(),
            offset in 0u64..6,
            limit in prop_oneof![0u64..6, Just(u64::MAX)],
            tail in any::<bool>(),
        ) {
            let expected = model(offset, limit, &steps);
            let distinct = dataset(&STORED);
            let mut repeated_values = STORED.to_vec();
            repeated_values.push(STORED[0]);
            let repeated = dataset(&repeated_values);
            prop_assert!(distinct.value_index().is_some());
            prop_assert!(repeated.value_index().is_none());
            for d in [Some(&distinct), Some(&repeated), None] {
                let mut w = LineWindow::with_collapsed(offset, limit, 0, d, tail);
                write(&mut w, &steps);
                let (body, n) = w.finish().expect("small body");
                let got = (String::from_utf8(body).expect("utf8"), n);
                prop_assert_eq!(&got, &expected, "dataset {:?}", d.map(|d| d.indicators().len()));
            }
        }
    }

    fn dataset(values: &[&str]) -> Dataset {
        Dataset::new(
            values
                .iter()
                .map(|v| Indicator::new(*v, IndicatorType::Domain))
                .collect::<Vec<_>>(),
            1,
            Instant::from_unix_millis(0),
        )
    }

    #[test]
    fn collapsed_lines_skip_earlier_address_lines_only() {
        let mut w = LineWindow::with_collapsed(0, 100, 0, None, true);
        w.push("10.0.0.0/24");
        w.push("fe.de");
        w.push("example.com");
        w.push_collapsed("10.0.0.0/24");
        w.push_collapsed("fe.de");
        w.push_collapsed("example.com"); // cannot be collapsed output; not remembered
        w.push_collapsed("1.1.1.1");
        let (body, n) = w.finish().expect("small");
        assert_eq!(
            String::from_utf8(body).expect("utf8"),
            "10.0.0.0/24\nfe.de\nexample.com\nexample.com\n1.1.1.1"
        );
        assert_eq!(n, 5);
    }
}
