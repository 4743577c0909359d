//! Lines from the app-server's pipes (its JSON-RPC output and its stderr),
//! read with a bound on the memory one line may take.
//!
//! `read_until` and `lines()` buffer a line whole, however long it is: one
//! 200 MiB line costs 200 MiB for as long as the buffer lives, and a stderr
//! that never writes a newline grows without end. `lines()` also stops at the
//! first byte that is not UTF-8, which closes the pipe under the app-server
//! (EPIPE, SIGPIPE for its helpers). [`LineReader`] keeps at most
//! `max_line` bytes of a line. What happens to the rest is the caller's
//! [`Overlong`] rule; the line after an overlong one is read as usual, and
//! the buffer is given back after a big line so memory returns to normal.
//! Bytes are handed out as they are: decoding (lossy, for stderr) is the
//! caller's.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, BufReader};

/// The longest line from the app-server's output that is read: a JSON-RPC
/// message longer than this is discarded as it streams, never buffered
/// whole (README, "How a run works").
pub const MAX_MESSAGE_LINE: usize = 64 << 20;

/// The longest stderr line that is logged; the rest of a longer line is
/// dropped.
pub const MAX_STDERR_LINE: usize = 16 << 10;

/// A buffer grown past this is given back after its line, so one big line
/// does not hold its memory for the life of the app-server.
const KEPT_CAPACITY: usize = 64 << 10;

/// What to do with a line longer than the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlong {
    /// Drop all of it, freeing what was buffered at once (a JSON-RPC message
    /// cut short is of no use, and its content must not reach the log).
    Discard,
    /// Keep its first `max_line` bytes and drop the rest (a log line cut
    /// short still tells something).
    KeepHead,
}

/// One line, without its `\n`.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// The whole line (the last one may lack its newline).
    Whole(&'a [u8]),
    /// A line longer than the limit: `bytes` is its full length; `head` its
    /// first `max_line` bytes under [`Overlong::KeepHead`], empty under
    /// [`Overlong::Discard`].
    TooLong { head: &'a [u8], bytes: u64 },
}

/// Reads lines of at most `max_line` bytes from `reader`.
pub struct LineReader<R> {
    reader: R,
    max_line: usize,
    overlong: Overlong,
    line: Vec<u8>,
    /// The most the buffer ever held, for the tests.
    #[cfg(test)]
    peak_capacity: usize,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    pub fn new(reader: R, max_line: usize, overlong: Overlong) -> LineReader<R> {
        LineReader {
            reader,
            max_line,
            overlong,
            line: Vec::new(),
            #[cfg(test)]
            peak_capacity: 0,
        }
    }

    /// The next line; `None` at the end of the input.
    pub async fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.line.clear();
        if self.line.capacity() > KEPT_CAPACITY {
            self.line.shrink_to(KEPT_CAPACITY);
        }
        let mut bytes: u64 = 0;
        let mut too_long = false;
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                if bytes == 0 {
                    return Ok(None);
                }
                break;
            }
            let (taken, content, done) = match available.iter().position(|&b| b == b'\n') {
                Some(end) => (end + 1, end, true),
                None => (available.len(), available.len(), false),
            };
            bytes += content as u64;
            if !too_long {
                let room = self.max_line - self.line.len();
                if content <= room {
                    self.line.extend_from_slice(&available[..content]);
                } else {
                    too_long = true;
                    match self.overlong {
                        Overlong::Discard => {
                            self.line.clear();
                            self.line.shrink_to(KEPT_CAPACITY);
                        }
                        Overlong::KeepHead => self.line.extend_from_slice(&available[..room]),
                    }
                }
            }
            #[cfg(test)]
            {
                self.peak_capacity = self.peak_capacity.max(self.line.capacity());
            }
            self.reader.consume(taken);
            if done {
                break;
            }
        }
        if too_long {
            Ok(Some(Line::TooLong {
                head: &self.line,
                bytes,
            }))
        } else {
            Ok(Some(Line::Whole(&self.line)))
        }
    }

    /// How much memory the line buffer holds now.
    #[cfg(test)]
    fn buffer_capacity(&self) -> usize {
        self.line.capacity()
    }

    /// The most memory the line buffer ever held.
    #[cfg(test)]
    fn peak_capacity(&self) -> usize {
        self.peak_capacity
    }
}

/// Logs the app-server's stderr (at `debug`) until it closes, for the
/// app-server's whole life: a pipe nobody reads would block the app-server
/// and its helpers, and one closed early kills them with EPIPE or SIGPIPE.
/// Each line takes at most [`MAX_STDERR_LINE`] bytes, bytes that are not
/// UTF-8 are logged as U+FFFD, and a read error ends the drain only because
/// the pipe itself failed. Returns how many lines it logged.
pub async fn drain_stderr<R: AsyncRead + Unpin>(stderr: R) -> u64 {
    let mut lines = LineReader::new(BufReader::new(stderr), MAX_STDERR_LINE, Overlong::KeepHead);
    let mut count = 0;
    loop {
        match lines.next_line().await {
            Ok(Some(Line::Whole(line))) => {
                tracing::debug!(target: "codex_ls::codex::stderr", "{}", String::from_utf8_lossy(line));
            }
            Ok(Some(Line::TooLong { head, bytes })) => {
                tracing::debug!(
                    target: "codex_ls::codex::stderr",
                    "{} [... {} more bytes dropped]",
                    String::from_utf8_lossy(head),
                    bytes - head.len() as u64
                );
            }
            Ok(None) => break,
            Err(err) => {
                tracing::debug!("reading codex app-server's stderr failed: {err}");
                break;
            }
        }
        count += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio::io::{AsyncRead, BufReader, ReadBuf};

    use super::*;

    /// An input of `filler` bytes of `byte` and then `tail`, generated as it
    /// is read: a 200 MiB line costs no memory here.
    struct Generated {
        filler: u64,
        byte: u8,
        tail: Vec<u8>,
        tail_at: usize,
    }

    impl Generated {
        fn new(filler: u64, byte: u8, tail: &[u8]) -> Generated {
            Generated {
                filler,
                byte,
                tail: tail.to_vec(),
                tail_at: 0,
            }
        }
    }

    impl AsyncRead for Generated {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            if self.filler > 0 {
                let n = buf.remaining().min(self.filler as usize);
                let byte = self.byte;
                buf.initialize_unfilled_to(n).fill(byte);
                buf.advance(n);
                self.filler -= n as u64;
            } else {
                let at = self.tail_at;
                let n = buf.remaining().min(self.tail.len() - at);
                buf.put_slice(&self.tail[at..at + n]);
                self.tail_at += n;
            }
            Poll::Ready(Ok(()))
        }
    }

    const BIG: u64 = 200 << 20;
    const LIMIT: usize = 1 << 20;

    #[tokio::test]
    async fn a_200_mib_line_is_discarded_in_bounded_memory_and_the_next_line_arrives() {
        let input = Generated::new(BIG, b'x', b"\n{\"id\":1}\nlast");
        let mut lines = LineReader::new(BufReader::new(input), LIMIT, Overlong::Discard);
        assert_eq!(
            lines.next_line().await.unwrap(),
            Some(Line::TooLong {
                head: b"",
                bytes: BIG
            })
        );
        assert!(
            lines.peak_capacity() <= LIMIT,
            "{} bytes held while the line streamed",
            lines.peak_capacity()
        );
        assert!(
            lines.buffer_capacity() <= KEPT_CAPACITY,
            "{} bytes held after the line",
            lines.buffer_capacity()
        );
        assert_eq!(
            lines.next_line().await.unwrap(),
            Some(Line::Whole(b"{\"id\":1}"))
        );
        assert_eq!(lines.next_line().await.unwrap(), Some(Line::Whole(b"last")));
        assert_eq!(lines.next_line().await.unwrap(), None);
    }

    #[tokio::test]
    async fn lines_at_the_limit_are_whole_and_longer_ones_keep_their_head_when_asked() {
        let mut input = vec![b'a'; 8];
        input.push(b'\n');
        input.extend_from_slice(&[b'b'; 9]);
        input.extend_from_slice(b"\nc\n");
        let mut lines = LineReader::new(&input[..], 8, Overlong::KeepHead);
        assert_eq!(
            lines.next_line().await.unwrap(),
            Some(Line::Whole(&[b'a'; 8]))
        );
        assert_eq!(
            lines.next_line().await.unwrap(),
            Some(Line::TooLong {
                head: &[b'b'; 8],
                bytes: 9
            })
        );
        assert_eq!(lines.next_line().await.unwrap(), Some(Line::Whole(b"c")));
        assert_eq!(lines.next_line().await.unwrap(), None);
    }

    /// A stderr that writes 200 MiB of bytes that are not UTF-8 and no
    /// newline is drained to its end in bounded memory, and its last line
    /// still arrives.
    #[tokio::test]
    async fn invalid_utf8_without_newlines_keeps_being_drained() {
        let input = Generated::new(BIG, 0xff, b"\nafter \xfe\n");
        let mut lines = LineReader::new(BufReader::new(input), LIMIT, Overlong::KeepHead);
        let Some(Line::TooLong { head, bytes }) = lines.next_line().await.unwrap() else {
            panic!("expected an overlong line");
        };
        assert_eq!((head.len(), bytes), (LIMIT, BIG));
        assert_eq!(
            lines.next_line().await.unwrap(),
            Some(Line::Whole(b"after \xfe"))
        );
        assert!(lines.peak_capacity() <= LIMIT, "{}", lines.peak_capacity());
        assert!(lines.buffer_capacity() <= KEPT_CAPACITY);
        assert_eq!(lines.next_line().await.unwrap(), None);
    }

    #[tokio::test]
    async fn the_stderr_drain_reads_to_the_end_past_invalid_utf8_and_endless_lines() {
        let input = Generated::new(BIG, 0xfe, b"\n\xff\xfe\nlast");
        assert_eq!(drain_stderr(input).await, 3);
    }
}
