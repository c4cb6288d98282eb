//! Log lines of `feedgate serve`, gathered in memory and written out in batches.
//!
//! An engine answering a cached poll spends a few microseconds on the answer; writing its
//! access line straight to stderr was a `write` system call per request, taken under stderr's
//! lock — about a tenth of the CPU of a cached poll, with the worker threads queueing on that
//! lock. A writer thread fed line by line through a queue was measured to cost as much again
//! in wake-ups. Here a line is appended to a buffer (a short lock, no system call) and a flusher
//! thread writes the buffer every [`FLUSH_EVERY`]: one `write` for many lines and twenty
//! wake-ups a second, whatever the load.
//!
//! Lines keep their order (one buffer for all threads), are never split or dropped, and reach
//! the output at most [`FLUSH_EVERY`] after they were logged. A buffer past [`MAX_PENDING`] is
//! written at once by the thread that filled it, so memory stays bounded when the output is
//! slow. The [`FlushGuard`] writes what is left when the engine stops; lines of the last
//! [`FLUSH_EVERY`] before a `kill -9` are lost (log lines, never acknowledged data).

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long a line may wait in the buffer.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// Buffered bytes past which the logging thread writes the buffer itself.
pub const MAX_PENDING: usize = 1 << 20;

/// A [`MakeWriter`] for `tracing_subscriber::fmt` that appends each line to the shared buffer.
#[derive(Debug, Clone)]
pub struct LineBuffer<W> {
    shared: Arc<Shared<W>>,
}

#[derive(Debug)]
struct Shared<W> {
    /// Lines not yet written.
    pending: Mutex<Vec<u8>>,
    /// The output. Taken before `pending` whenever both are needed, and held while writing,
    /// so batches reach the output in the order they were taken.
    out: Mutex<W>,
    stop: AtomicBool,
}

/// Stops the flusher thread and writes the lines still buffered, when dropped.
#[derive(Debug)]
pub struct FlushGuard<W: Write + Send + 'static> {
    shared: Arc<Shared<W>>,
    flusher: Option<JoinHandle<()>>,
}

impl<W: Write + Send + 'static> LineBuffer<W> {
    /// A buffer in front of `out`, and its flusher thread (stopped by the guard).
    pub fn start(out: W) -> io::Result<(Self, FlushGuard<W>)> {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Vec::with_capacity(64 * 1024)),
            out: Mutex::new(out),
            stop: AtomicBool::new(false),
        });
        let flusher = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("log-flush".to_owned())
                .spawn(move || {
                    while !shared.stop.load(Ordering::Acquire) {
                        std::thread::park_timeout(FLUSH_EVERY);
                        shared.flush();
                    }
                })?
        };
        let guard = FlushGuard {
            shared: Arc::clone(&shared),
            flusher: Some(flusher),
        };
        Ok((Self { shared }, guard))
    }
}

impl<W: Write> Shared<W> {
    /// Writes everything buffered so far. Write errors are ignored: a log line that cannot be
    /// written must not stop the engine, and there is nowhere else to report it.
    fn flush(&self) {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        let batch = {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            if pending.is_empty() {
                return;
            }
            let capacity = pending.capacity();
            std::mem::replace(&mut *pending, Vec::with_capacity(capacity))
        };
        let _ = out.write_all(&batch);
        let _ = out.flush();
    }
}

impl<W: Write + Send + 'static> Drop for FlushGuard<W> {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(flusher) = self.flusher.take() {
            flusher.thread().unpark();
            let _ = flusher.join();
        }
        self.shared.flush();
    }
}

/// One line's writer: `tracing_subscriber::fmt` formats the whole line first and hands it over
/// in one `write`.
#[derive(Debug)]
pub struct LineWriter<'a, W: Write> {
    shared: &'a Shared<W>,
}

impl<W: Write> Write for LineWriter<'_, W> {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let full = {
            let mut pending = self
                .shared
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            pending.extend_from_slice(line);
            pending.len() >= MAX_PENDING
        };
        if full {
            self.shared.flush();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a, W: Write + 'a> MakeWriter<'a> for LineBuffer<W> {
    type Writer = LineWriter<'a, W>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            shared: &self.shared,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// An output the test can read while the buffer writes to it; counts the writes.
    #[derive(Debug, Clone, Default)]
    struct Capture {
        bytes: Arc<Mutex<Vec<u8>>>,
        writes: Arc<Mutex<usize>>,
    }

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.bytes
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(buf);
            *self.writes.lock().unwrap_or_else(PoisonError::into_inner) += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Capture {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.bytes.lock().unwrap_or_else(PoisonError::into_inner))
                .into_owned()
        }
    }

    fn log(buffer: &LineBuffer<Capture>, line: &str) {
        let mut writer = buffer.make_writer();
        assert_eq!(writer.write(line.as_bytes()).ok(), Some(line.len()));
    }

    #[test]
    fn lines_from_many_threads_arrive_whole_in_each_threads_order_when_the_guard_drops() {
        let capture = Capture::default();
        let (buffer, guard) = LineBuffer::start(capture.clone()).expect("flusher starts");
        std::thread::scope(|scope| {
            for t in 0..4 {
                let buffer = &buffer;
                scope.spawn(move || {
                    for i in 0..5_000 {
                        log(
                            buffer,
                            &format!("thread={t} line={i} {}\n", "x".repeat(i % 300)),
                        );
                    }
                });
            }
        });
        drop(guard);
        let text = capture.text();
        let mut next = [0usize; 4];
        for line in text.lines() {
            let mut words = line.split(' ');
            let t: usize = words
                .next()
                .and_then(|w| w.strip_prefix("thread="))
                .and_then(|w| w.parse().ok())
                .expect("a whole line");
            let i: usize = words
                .next()
                .and_then(|w| w.strip_prefix("line="))
                .and_then(|w| w.parse().ok())
                .expect("a whole line");
            assert_eq!(i, next[t], "thread {t}'s lines out of order");
            assert_eq!(
                words.next().map(str::len),
                Some(i % 300),
                "line {i} of thread {t} cut"
            );
            next[t] += 1;
        }
        assert_eq!(next, [5_000; 4], "every line arrives once");
        // Batched: far fewer writes than lines.
        let writes = *capture
            .writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        assert!(writes < 2_000, "{writes} writes for 20,000 lines");
    }

    #[test]
    fn a_line_reaches_the_output_within_the_flush_interval_without_a_guard_drop() {
        let capture = Capture::default();
        let (buffer, _guard) = LineBuffer::start(capture.clone()).expect("flusher starts");
        log(&buffer, "hello\n");
        let logged = Instant::now();
        while capture.text().is_empty() {
            assert!(
                logged.elapsed() < Duration::from_secs(5),
                "the line was never written"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(capture.text(), "hello\n");
    }

    #[test]
    fn a_full_buffer_is_written_by_the_thread_that_filled_it() {
        let capture = Capture::default();
        let (buffer, _guard) = LineBuffer::start(capture.clone()).expect("flusher starts");
        let line = format!("{}\n", "y".repeat(MAX_PENDING));
        log(&buffer, &line);
        // Written before `write` returned, not by the flusher.
        assert_eq!(capture.text().len(), line.len());
    }
}
