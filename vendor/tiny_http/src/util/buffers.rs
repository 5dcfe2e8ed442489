//! The per-connection read and write buffers, lent out by a per-thread pool.
//!
//! Upstream read the head byte by byte through a 1 KiB `BufReader` that couldn't hold more than
//! one line, and wrote through a 1 KiB `BufWriter`, so a response's head and a small body went
//! out in separate sends. These keep a whole head, and a head plus a small body, in one buffer.
//!
//! A connection holds buffers only while it is being served: they go back to the pool of the
//! thread serving it when it waits for its next request with nothing buffered, so an idle
//! keep-alive connection costs no buffer memory.

use std::cell::RefCell;
use std::io::{self, Read};

/// The read buffer's first size: most request heads fit.
const INITIAL_READ_BUF: usize = 2048;
/// The write buffer's size: a response head and a small body go out in one send.
pub(crate) const WRITE_BUF: usize = 4096;
/// How far the write buffer grows for a streamed body: a 100 KB generated page goes out in 7
/// sends rather than 25, and a client that stops reading holds at most this much of it.
pub(crate) const STREAM_CHUNK: usize = 16 * 1024;
/// Buffers of each kind a thread keeps for its next connections.
const POOLED_PER_THREAD: usize = 16;

/// Free read buffers and free write buffers.
struct Pool {
    read: Vec<Box<[u8]>>,
    write: Vec<Vec<u8>>,
}

thread_local! {
    static POOL: RefCell<Pool> = const {
        RefCell::new(Pool {
            read: Vec::new(),
            write: Vec::new(),
        })
    };
}

/// Bytes read from the socket and not consumed yet: the rest of a head, a body, or pipelined
/// requests. Allocated at the first read, grown only as far as the head limit asks.
#[derive(Default)]
pub(crate) struct ReadBuf {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

impl ReadBuf {
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Reads once from `src` into the free space, making room first: by moving unconsumed
    /// bytes to the front, or by growing the buffer, but never past `limit` bytes.
    /// Returns 0 at end of stream, or if the buffer already holds `limit` bytes.
    pub(crate) fn fill(&mut self, mut src: impl Read, limit: usize) -> io::Result<usize> {
        if self.buf.is_empty() {
            self.buf = POOL
                .with(|pool| pool.borrow_mut().read.pop())
                .unwrap_or_else(|| vec![0; INITIAL_READ_BUF].into_boxed_slice());
        }
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else if self.buf.len() < limit {
                let size = (self.buf.len() * 2).clamp(INITIAL_READ_BUF, limit);
                let mut grown = vec![0; size].into_boxed_slice();
                grown[..self.end].copy_from_slice(&self.buf[..self.end]);
                self.buf = grown;
            } else {
                return Ok(0);
            }
        }
        let n = src.read(&mut self.buf[self.end..])?;
        self.end += n;
        Ok(n)
    }

    /// Whether the last read filled the buffer to its end.
    pub(crate) fn is_full(&self) -> bool {
        !self.buf.is_empty() && self.end == self.buf.len()
    }

    /// Gives the memory back to this thread's pool if nothing is buffered.
    pub(crate) fn release(&mut self) {
        if self.start == self.end && self.buf.len() == INITIAL_READ_BUF {
            let buf = std::mem::take(&mut self.buf);
            POOL.with(|pool| {
                let mut pool = pool.borrow_mut();
                if pool.read.len() < POOLED_PER_THREAD {
                    pool.read.push(buf);
                }
            });
        } else if self.start == self.end {
            self.buf = Box::default();
        }
    }
}

/// Response bytes not sent yet: a head, a small body, or a slice of a streamed body.
#[derive(Default)]
pub(crate) struct WriteBuf {
    buf: Vec<u8>,
    /// Bytes before this offset have been sent.
    start: usize,
}

impl WriteBuf {
    /// The bytes not sent yet.
    pub(crate) fn pending(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Marks `n` pending bytes as sent.
    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.buf.len());
        if self.start == self.buf.len() {
            self.start = 0;
            self.buf.clear();
        }
    }

    /// The buffer itself, to append a response head to (it may grow past [`WRITE_BUF`]).
    pub(crate) fn vec(&mut self) -> &mut Vec<u8> {
        if self.buf.capacity() == 0 {
            self.buf = POOL
                .with(|pool| pool.borrow_mut().write.pop())
                .unwrap_or_else(|| Vec::with_capacity(WRITE_BUF));
        }
        &mut self.buf
    }

    /// Appends `data`.
    pub(crate) fn push(&mut self, data: &[u8]) {
        extend_short(self.vec(), data);
    }

    /// Room left before the buffer holds [`WRITE_BUF`] bytes.
    pub(crate) fn room(&self) -> usize {
        WRITE_BUF.saturating_sub(self.buf.len())
    }

    /// Reads once from `src` into the room left before the buffer holds `size` bytes pending,
    /// at most `max` bytes. Returns 0 at the end of `src`; the caller makes sure there is room
    /// (fewer than `size` bytes pending, and `max` above 0).
    pub(crate) fn fill_from(
        &mut self,
        mut src: impl Read,
        max: usize,
        size: usize,
    ) -> io::Result<usize> {
        if self.start > 0 && self.buf.len() >= size {
            // The sent bytes' room, back to the end.
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let want = size.saturating_sub(self.buf.len()).min(max);
        debug_assert!(want > 0, "fill_from without room");
        self.vec();
        let len = self.buf.len();
        self.buf.resize(len + want, 0);
        let result = src.read(&mut self.buf[len..]);
        let n = *result.as_ref().unwrap_or(&0);
        self.buf.truncate(len + n);
        result
    }

    /// Gives the memory back to this thread's pool if nothing is pending.
    pub(crate) fn release(&mut self) {
        if !self.buf.is_empty() || self.buf.capacity() == 0 {
            return;
        }
        let buf = std::mem::take(&mut self.buf);
        if buf.capacity() == WRITE_BUF {
            POOL.with(|pool| {
                let mut pool = pool.borrow_mut();
                if pool.write.len() < POOLED_PER_THREAD {
                    pool.write.push(buf);
                }
            });
        }
    }
}

/// Appends `bytes` to `out`. Slices up to a few hundred bytes are copied right here, eight
/// bytes to a move, not by musl's `memcpy`, whose `rep movs` costs some 50 cycles however few
/// bytes it moves; a response's head is built from a dozen short pieces, and a small body
/// joins it (perf: `memcpy` was a tenth of the server's CPU time on 1 KiB requests).
#[inline]
pub(crate) fn extend_short(out: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.len() > 256 {
        out.extend_from_slice(bytes);
        return;
    }
    out.reserve(bytes.len());
    let (words, tail) = bytes.as_chunks::<8>();
    for word in words {
        // Of a length known here, so a single move rather than a call.
        out.extend_from_slice(word);
    }
    for &b in tail {
        out.push(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_extends_append_every_byte_in_order() {
        let source: Vec<u8> = (0..300u32).map(|i| (i * 7 % 251) as u8).collect();
        for len in 0..=source.len() {
            let mut out = b"head".to_vec();
            extend_short(&mut out, &source[..len]);
            assert_eq!(&out[..4], b"head");
            assert_eq!(&out[4..], &source[..len], "length {len}");
        }
    }

    #[test]
    fn read_buf_grows_up_to_its_limit_and_compacts() {
        let mut rb = ReadBuf::default();
        let src = vec![7u8; 10_000];
        let mut src = &src[..];
        let mut total = 0;
        loop {
            let n = rb.fill(&mut src, 6000).unwrap();
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, 6000);
        assert_eq!(rb.data().len(), 6000);
        // Consuming makes room again: the rest moves to the front.
        rb.consume(5000);
        assert_eq!(rb.fill(&mut src, 6000).unwrap(), 4000);
        assert_eq!(rb.data().len(), 5000);
        rb.consume(5000);
        rb.release();
        assert!(rb.buf.is_empty());
    }

    #[test]
    fn write_buf_sends_in_parts_and_returns_to_the_pool() {
        let mut wb = WriteBuf::default();
        wb.push(b"head");
        assert_eq!(wb.fill_from(&b"body"[..], 2, WRITE_BUF).unwrap(), 2);
        assert_eq!(wb.pending(), b"headbo");
        wb.consume(3);
        assert_eq!(wb.pending(), b"dbo");
        assert_eq!(wb.room(), WRITE_BUF - 6);
        // Sent bytes make room again when the buffer is full.
        assert_eq!(wb.fill_from(&b"xyz"[..], 3, 6).unwrap(), 3);
        assert_eq!(wb.pending(), b"dboxyz");
        wb.consume(6);
        assert!(wb.pending().is_empty());
        wb.release();
        assert_eq!(wb.buf.capacity(), 0);
        // The next buffer on this thread is the pooled one.
        wb.push(b"x");
        assert_eq!(wb.buf.capacity(), WRITE_BUF);
    }
}
