//! A line buffer that drops repeated lines and keeps only a window of the survivors.
//!
//! The text format deduplicates every line it produces (§7.5) before it windows them. Lines
//! never contain LF (values with C0 characters are dropped first), so the buffer is the
//! joined body itself, and the set of seen lines is a table of `u32` offsets into it: about
//! five bytes per distinct line instead of a copy of every line.

use std::hash::BuildHasher;

use hashbrown::HashTable;

/// Deduplicating, windowing line writer: lines `[offset, offset + limit)` of the distinct
/// lines pushed, joined with LF.
#[derive(Debug)]
pub struct LineWindow {
    buf: Vec<u8>,
    seen: HashTable<u32>,
    hasher: foldhash::fast::FixedState,
    /// Distinct lines seen so far.
    distinct: u64,
    offset: u64,
    end: u64,
    /// Byte position in `buf` where line `offset` starts (once reached).
    window_start: Option<usize>,
    overflow: bool,
}

impl LineWindow {
    /// A writer serving `limit` distinct lines after skipping `offset`, sized for about
    /// `lines` lines of `bytes` total bytes.
    pub fn new(offset: u64, limit: u64, lines: usize, bytes: usize) -> Self {
        Self {
            buf: Vec::with_capacity(bytes),
            seen: HashTable::with_capacity(lines),
            hasher: foldhash::fast::FixedState::with_seed(0x6665_6564_6761_7465),
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

    /// Adds a line (without LF); repeated lines and lines past the window are ignored.
    pub fn push(&mut self, line: &str) {
        if self.is_full() {
            return;
        }
        let bytes = line.as_bytes();
        let hash = self.hasher.hash_one(bytes);
        let buf = &self.buf;
        if self
            .seen
            .find(hash, |&start| line_at(buf, start as usize) == bytes)
            .is_some()
        {
            return;
        }
        if self.distinct > 0 {
            self.buf.push(b'\n');
        }
        let start = self.buf.len();
        let Ok(start32) = u32::try_from(start) else {
            // A body past 4 GiB cannot be served in one response anyway; say so rather than
            // serve a list with silent duplicates.
            self.overflow = true;
            self.distinct = self.end;
            return;
        };
        if self.distinct == self.offset {
            self.window_start = Some(start);
        }
        self.buf.extend_from_slice(bytes);
        let (buf, hasher) = (&self.buf, &self.hasher);
        self.seen.insert_unique(hash, start32, |&s| {
            hasher.hash_one(line_at(buf, s as usize))
        });
        self.distinct += 1;
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
        drop(self.seen);
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

    fn run(offset: u64, limit: u64, lines: &[&str]) -> (String, u64) {
        let mut w = LineWindow::new(offset, limit, 0, 0);
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
}
