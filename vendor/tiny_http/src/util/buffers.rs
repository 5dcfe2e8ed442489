//! The per-connection read and write buffers.
//!
//! Upstream reads the head byte by byte through a 1 KiB `BufReader` that can't hold more than
//! one line, and writes through a 1 KiB `BufWriter`, so a response's head and a small body went
//! out in separate sends. These keep a whole head, and a head plus a small body, in one buffer.

use std::io::{self, Read, Write};

/// Bytes read from the socket and not consumed yet: the rest of a head, a body, or pipelined
/// requests. Allocated at the first read, grown only as far as the head limit asks.
#[derive(Default)]
pub(crate) struct ReadBuf {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

const INITIAL_READ_BUF: usize = 2048;

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

    /// Moves up to `out.len()` buffered bytes into `out`.
    pub(crate) fn take_into(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.end - self.start);
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.consume(n);
        n
    }
}

/// Response bytes not sent yet. Sized so that a response head and a small file go out in one
/// send; allocated at the first response.
#[derive(Default)]
pub(crate) struct WriteBuf {
    buf: Box<[u8]>,
    len: usize,
}

pub(crate) const WRITE_BUF: usize = 4096;

impl WriteBuf {
    fn ensure_allocated(&mut self) {
        if self.buf.is_empty() {
            self.buf = vec![0; WRITE_BUF].into_boxed_slice();
        }
    }

    pub(crate) fn spare(&mut self) -> &mut [u8] {
        self.ensure_allocated();
        &mut self.buf[self.len..]
    }

    pub(crate) fn advance(&mut self, n: usize) {
        self.len = (self.len + n).min(self.buf.len());
    }

    pub(crate) fn is_full(&self) -> bool {
        !self.buf.is_empty() && self.len == self.buf.len()
    }

    /// Takes everything buffered, for a caller that sends it itself.
    pub(crate) fn take_pending(&mut self) -> &[u8] {
        let pending = self.len;
        self.len = 0;
        &self.buf[..pending]
    }

    /// Writes out everything buffered.
    pub(crate) fn flush_to(&mut self, mut dst: impl Write) -> io::Result<()> {
        let pending = self.len;
        // Forget the bytes even if the write fails: the connection is closed after an error.
        self.len = 0;
        dst.write_all(&self.buf[..pending])
    }

    /// Appends `data`, sending the buffer first if `data` doesn't fit, and sending `data`
    /// directly if it is larger than the whole buffer.
    pub(crate) fn write_to(&mut self, data: &[u8], mut dst: impl Write) -> io::Result<()> {
        self.ensure_allocated();
        if data.len() > self.buf.len() - self.len {
            self.flush_to(&mut dst)?;
            if data.len() >= self.buf.len() {
                return dst.write_all(data);
            }
        }
        self.buf[self.len..self.len + data.len()].copy_from_slice(data);
        self.len += data.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut out = [0u8; 10];
        assert_eq!(rb.take_into(&mut out), 10);
        assert_eq!(rb.data().len(), 4990);
    }

    #[test]
    fn write_buf_batches_small_writes_and_passes_large_ones_through() {
        let mut wb = WriteBuf::default();
        let mut sink = Vec::new();
        wb.write_to(b"head", &mut sink).unwrap();
        assert!(sink.is_empty());
        wb.write_to(&[1u8; WRITE_BUF * 2], &mut sink).unwrap();
        assert_eq!(sink.len(), 4 + WRITE_BUF * 2);
        wb.write_to(b"tail", &mut sink).unwrap();
        wb.flush_to(&mut sink).unwrap();
        assert_eq!(&sink[sink.len() - 4..], b"tail");
    }
}
