//! LSP base-protocol framing: `Content-Length` headers around JSON bodies.
//!
//! The one framing module of the project: the transport reads the client's
//! frames and writes its own with it, and the tests, benches and fuzz
//! harnesses frame their messages with it too.
//!
//! Reading is lenient, because one bad byte from an editor must never end
//! the session: headers other than `Content-Length` are dropped, lines that
//! are not headers are skipped, a header block without a usable
//! `Content-Length` is skipped, and a body over [`MAX_FRAME`] streams past
//! without being buffered (only its first [`REFUSED_HEAD`] bytes are kept,
//! to find a request's `id`). Nothing here logs message contents.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// A header line longer than this is garbage: the rest of it is dropped.
const MAX_HEADER_LINE: usize = 8 * 1024;
/// The most a frame's body reserves before its bytes arrive.
const MAX_RESERVED_BODY: usize = 64 << 20;
/// The largest frame body from the client that is read (README,
/// "Protocol"); a larger one is skipped as it streams, and refused.
pub const MAX_FRAME: usize = 256 << 20;
/// How much of a refused frame is kept to find its `id`: editors write
/// `jsonrpc`, `id` and `method` before `params`.
pub const REFUSED_HEAD: usize = 4 << 10;
/// A body buffer bigger than this is given back to the allocator once its
/// frame is decoded, so one 50 MB `didOpen` does not pin 50 MB for the rest
/// of the session.
const KEPT_BUFFER: usize = 64 << 10;

/// What [`FrameReader::read`] found.
#[derive(Debug, PartialEq)]
pub enum Frame<'a> {
    /// A whole body, borrowed from the reader's buffer.
    Body(&'a [u8]),
    /// Its `Content-Length` is over [`MAX_FRAME`]: the body was skipped, all
    /// but its first [`REFUSED_HEAD`] bytes.
    TooLarge { length: usize, head: Vec<u8> },
}

/// Reads the client's frames into one buffer, reused from frame to frame.
pub struct FrameReader<R> {
    reader: R,
    body: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> FrameReader<R> {
    pub fn new(reader: R) -> FrameReader<R> {
        FrameReader {
            reader,
            body: Vec::new(),
        }
    }

    /// Reads the next frame; `None` at the end of the input (also in the
    /// middle of a frame).
    pub async fn read(&mut self) -> io::Result<Option<Frame<'_>>> {
        self.give_back();
        let Some(length) = read_header(&mut self.reader).await? else {
            return Ok(None);
        };
        if length > MAX_FRAME {
            let head = skip_body(&mut self.reader, length).await?;
            return Ok(head.map(|head| Frame::TooLarge { length, head }));
        }
        let mut body = std::mem::take(&mut self.body);
        let read = read_body(&mut self.reader, length, &mut body).await;
        self.body = body;
        Ok(read?.then_some(Frame::Body(&self.body)))
    }

    /// Takes the buffer out, to decode a big body on another thread; give it
    /// back with [`FrameReader::restore`].
    pub fn take_buffer(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.body)
    }

    pub fn restore(&mut self, buffer: Vec<u8>) {
        self.body = buffer;
        self.give_back();
    }

    /// Capacity of the body buffer kept between frames.
    pub fn buffer_capacity(&self) -> usize {
        self.body.capacity()
    }

    /// Empties the buffer, and frees it when a big frame grew it.
    fn give_back(&mut self) {
        self.body.clear();
        if self.body.capacity() > KEPT_BUFFER {
            self.body = Vec::new();
        }
    }
}

/// `body` with its `Content-Length` header.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(body.len() + 32);
    write_header(&mut bytes, body.len());
    bytes.extend_from_slice(body);
    bytes
}

/// Appends the header of a frame whose body has `length` bytes.
pub fn write_header(out: &mut Vec<u8>, length: usize) {
    out.extend_from_slice(b"Content-Length: ");
    out.extend_from_slice(length.to_string().as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
}

/// Reads one frame's body, of any size (the server's own frames, in tests);
/// `None` at the end of the input (also in the middle of a frame).
pub async fn read_frame<R: AsyncBufRead + Unpin>(reader: &mut R) -> io::Result<Option<Vec<u8>>> {
    let Some(length) = read_header(reader).await? else {
        return Ok(None);
    };
    let mut body = Vec::new();
    Ok(read_body(reader, length, &mut body).await?.then_some(body))
}

/// Reads a frame's headers up to its body and returns its `Content-Length`;
/// `None` at the end of the input. Header blocks without a usable
/// `Content-Length`, and lines that are not headers, are skipped.
async fn read_header<R: AsyncBufRead + Unpin>(reader: &mut R) -> io::Result<Option<usize>> {
    let mut length: Option<usize> = None;
    let mut headers = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        if !read_header_line(reader, &mut line).await? {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            match length {
                Some(length) => return Ok(Some(length)),
                None if headers > 0 => {
                    tracing::warn!(
                        "skipped a frame from the client without a Content-Length header"
                    );
                    headers = 0;
                }
                None => {}
            }
            continue;
        }
        headers += 1;
        match text.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                length = value.trim().parse().ok();
            }
            Some(_) => {}
            None => tracing::warn!("skipped a line from the client that is not a header"),
        }
    }
}

/// Reads a line into `line` (at most [`MAX_HEADER_LINE`] bytes of it; the
/// rest is dropped). `false` at the end of the input.
async fn read_header_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> io::Result<bool> {
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(false);
        }
        let (taken, done) = match available.iter().position(|&b| b == b'\n') {
            Some(end) => (end + 1, true),
            None => (available.len(), false),
        };
        let room = MAX_HEADER_LINE.saturating_sub(line.len());
        line.extend_from_slice(&available[..taken.min(room)]);
        reader.consume(taken);
        if done {
            return Ok(true);
        }
    }
}

/// Reads a body of `length` bytes into `body`; `false` if the input ends
/// first.
async fn read_body<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    length: usize,
    body: &mut Vec<u8>,
) -> io::Result<bool> {
    // Reserved up to a bound: a Content-Length that lies costs address
    // space, not memory, and beyond the bound the body grows as it arrives.
    body.clear();
    body.reserve(length.min(MAX_RESERVED_BODY));
    let read = reader.take(length as u64).read_to_end(body).await?;
    Ok(read == length)
}

/// Reads past a body of `length` bytes as it arrives, keeping only its first
/// [`REFUSED_HEAD`] bytes; `None` if the input ends first.
async fn skip_body<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    length: usize,
) -> io::Result<Option<Vec<u8>>> {
    let mut head = Vec::with_capacity(REFUSED_HEAD.min(length));
    let mut left = length;
    while left > 0 {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(None);
        }
        let taken = available.len().min(left);
        let room = REFUSED_HEAD - head.len();
        head.extend_from_slice(&available[..taken.min(room)]);
        reader.consume(taken);
        left -= taken;
    }
    Ok(Some(head))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, BufReader};

    #[tokio::test]
    async fn frames_are_read_past_garbage_and_odd_headers() {
        let input = b"garbage\r\n\r\nContent-Type: x\r\n\r\ncontent-length: 2\r\nX-Other: 1\r\nContent-Type: y\r\n\r\n{}Content-Length: 5\r\n\r\nab";
        let mut reader = &input[..];
        assert_eq!(read_frame(&mut reader).await.unwrap(), Some(b"{}".to_vec()));
        assert_eq!(
            read_frame(&mut reader).await.unwrap(),
            None,
            "truncated body"
        );
    }

    #[tokio::test]
    async fn only_the_skipped_frames_start_is_kept() {
        let length = MAX_FRAME + 1;
        let start = br#"{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"text":""#;
        let header = format!("Content-Length: {length}\r\n\r\n");
        let input = header
            .as_bytes()
            .chain(&start[..])
            .chain(tokio::io::repeat(b'x').take((length - start.len()) as u64))
            .chain(&b"Content-Length: 2\r\n\r\n{}"[..]);
        let mut frames = FrameReader::new(BufReader::new(input));
        let Some(Frame::TooLarge { length: read, head }) = frames.read().await.unwrap() else {
            panic!("expected a refused frame");
        };
        assert_eq!((read, head.len()), (length, REFUSED_HEAD));
        assert_eq!(&head[..start.len()], &start[..]);
        assert_eq!(frames.read().await.unwrap(), Some(Frame::Body(b"{}")));
        assert_eq!(frames.read().await.unwrap(), None);
    }

    /// One big frame does not keep its buffer for the rest of the session.
    #[tokio::test]
    async fn the_buffer_of_a_big_frame_is_given_back() {
        let big = vec![b'x'; 4 << 20];
        let mut input = frame(&big);
        input.extend_from_slice(&frame(b"{}"));
        let mut frames = FrameReader::new(&input[..]);
        assert_eq!(frames.read().await.unwrap(), Some(Frame::Body(&big[..])));
        assert!(frames.buffer_capacity() >= big.len());
        assert_eq!(frames.read().await.unwrap(), Some(Frame::Body(b"{}")));
        assert!(
            frames.buffer_capacity() <= KEPT_BUFFER,
            "{} bytes kept",
            frames.buffer_capacity()
        );
        let mut taken = frames.take_buffer();
        taken.resize(1 << 20, 0);
        frames.restore(taken);
        assert_eq!(frames.buffer_capacity(), 0);
    }

    #[test]
    fn a_frame_is_its_header_and_body() {
        assert_eq!(frame(b"{}"), b"Content-Length: 2\r\n\r\n{}");
    }
}
