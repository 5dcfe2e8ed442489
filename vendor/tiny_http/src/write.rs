//! Sending a response without ever waiting for the client: as much as the socket takes now,
//! and the rest later, from whichever thread sees the socket writable.
//!
//! Upstream wrote each response to the end on one thread, blocked in `write()` while the client
//! didn't read; with a thread per slow client, 1,024 clients that requested a large file and
//! stopped reading held 1,024 threads (seen: 1,031 threads, new clients refused). Here a
//! response that doesn't fit in the socket is an [`Outgoing`] kept with the connection: the
//! buffered bytes and what is left of the body (a file range, bytes, or a stream), resumed by
//! [`Outgoing::pump`] when epoll says there is room.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use crate::connection::Connection;
use crate::response::{Body, Completion, CompletionHook};
use crate::util::{WriteBuf, STREAM_CHUNK, WRITE_BUF};

/// A response on its way: the bytes in the connection's write buffer, then `rest`.
pub(crate) struct Outgoing {
    rest: Rest,
    /// Bytes of the response head, which come first.
    head_len: u64,
    /// Bytes written to the socket so far, head included.
    sent: u64,
    hook: Option<CompletionHook>,
}

/// What is left of the body once the write buffer is sent.
enum Rest {
    Done,
    Bytes {
        bytes: Bytes,
        pos: usize,
    },
    File {
        file: File,
        pos: u64,
        end: u64,
    },
    Stream {
        reader: Box<dyn Read + Send>,
        left: u64,
    },
}

enum Bytes {
    Owned(Vec<u8>),
    Shared(Arc<[u8]>),
}

impl Bytes {
    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Owned(v) => v,
            Bytes::Shared(s) => s,
        }
    }
}

/// Reads a file from a position with pread(2), leaving the file's own offset alone.
struct FileAt<F> {
    file: F,
    pos: u64,
}

impl<F: std::borrow::Borrow<File>> Read for FileAt<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.borrow().read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

fn short_body() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "response body shorter than its Content-Length",
    )
}

impl Outgoing {
    /// A response whose head (`head_len` bytes) is in the write buffer, followed by `body`.
    pub(crate) fn new(body: Body, head_len: u64, hook: Option<CompletionHook>) -> Outgoing {
        let rest = match body {
            Body::Empty => Rest::Done,
            Body::Bytes(v) if v.is_empty() => Rest::Done,
            Body::Bytes(v) => Rest::Bytes {
                bytes: Bytes::Owned(v),
                pos: 0,
            },
            Body::Shared(s) => Rest::Bytes {
                bytes: Bytes::Shared(s),
                pos: 0,
            },
            Body::File { len: 0, .. } | Body::Stream { len: 0, .. } => Rest::Done,
            Body::File { file, offset, len } => Rest::File {
                file,
                pos: offset,
                end: offset.saturating_add(len),
            },
            Body::Stream { reader, len } => Rest::Stream { reader, left: len },
        };
        Outgoing {
            rest,
            head_len,
            sent: 0,
            hook,
        }
    }

    /// Tells the hook how the response ended.
    pub(crate) fn finish(mut self, complete: bool) {
        self.report(complete);
    }

    fn report(&mut self, complete: bool) {
        if let Some(hook) = self.hook.take() {
            hook(Completion {
                body_bytes: self.sent.saturating_sub(self.head_len),
                complete,
            });
        }
    }

    /// Sends what the socket takes: `Ok(true)` once everything is sent, `Ok(false)` when the
    /// socket is full (wait for it to become writable, then call again).
    pub(crate) fn pump(&mut self, wbuf: &mut WriteBuf, conn: &Connection) -> io::Result<bool> {
        loop {
            self.buffer_small_rest(wbuf)?;
            if !self.flush(wbuf, conn)? {
                return Ok(false);
            }
            let written = match &mut self.rest {
                Rest::Done => return Ok(true),
                // Refilled from the stream at the top of the loop.
                Rest::Stream { .. } => continue,
                Rest::Bytes { bytes, pos } => {
                    let data = &bytes.as_slice()[*pos..];
                    let result = conn.try_write(data);
                    if let Ok(n) = result {
                        *pos += n;
                        if *pos == bytes.as_slice().len() {
                            self.rest = Rest::Done;
                        }
                    }
                    result
                }
                Rest::File { file, pos, end } => {
                    let left = usize::try_from(*end - *pos).unwrap_or(usize::MAX);
                    match crate::sys::sendfile(conn.raw_fd(), file, pos, left) {
                        Ok(0) => return Err(short_body()),
                        Ok(n) => {
                            if *pos == *end {
                                self.rest = Rest::Done;
                            }
                            Ok(n)
                        }
                        Err(e)
                            if matches!(
                                e.kind(),
                                io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
                            ) =>
                        {
                            // A file system that can't sendfile: copy through the buffer.
                            self.copy_file_instead();
                            continue;
                        }
                        Err(e) => Err(e),
                    }
                }
            };
            match written {
                Ok(n) => self.sent += n as u64,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Moves body bytes into the write buffer when they fit in the room left (a small body
    /// then leaves with the head in one send), and refills it from a stream.
    fn buffer_small_rest(&mut self, wbuf: &mut WriteBuf) -> io::Result<()> {
        let room = wbuf.room() as u64;
        match &mut self.rest {
            Rest::Bytes { bytes, pos } if (bytes.as_slice().len() - *pos) as u64 <= room => {
                wbuf.push(&bytes.as_slice()[*pos..]);
                self.rest = Rest::Done;
            }
            Rest::File { file, pos, end } if *end - *pos <= room => {
                let mut at = FileAt {
                    file: &*file,
                    pos: *pos,
                };
                let mut left = *end - *pos;
                while left > 0 {
                    let max = usize::try_from(left).unwrap_or(usize::MAX);
                    match wbuf.fill_from(&mut at, max, WRITE_BUF) {
                        Ok(0) => return Err(short_body()),
                        Ok(n) => left -= n as u64,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                self.rest = Rest::Done;
            }
            Rest::Stream { reader, left } if wbuf.pending().len() < STREAM_CHUNK && *left > 0 => {
                let max = usize::try_from(*left).unwrap_or(usize::MAX);
                loop {
                    match wbuf.fill_from(&mut *reader, max, STREAM_CHUNK) {
                        Ok(0) => return Err(short_body()),
                        Ok(n) => {
                            *left -= n as u64;
                            break;
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                if *left == 0 {
                    self.rest = Rest::Done;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Sends the write buffer; false if the socket filled up first. Before a file body, the
    /// head goes with MSG_MORE so that it shares segments with the file's first bytes.
    fn flush(&mut self, wbuf: &mut WriteBuf, conn: &Connection) -> io::Result<bool> {
        let more = matches!(self.rest, Rest::File { .. } | Rest::Bytes { .. });
        while !wbuf.pending().is_empty() {
            let result = if more {
                crate::sys::send_more(conn.raw_fd(), wbuf.pending())
            } else {
                conn.try_write(wbuf.pending())
            };
            match result {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    wbuf.consume(n);
                    self.sent += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    fn copy_file_instead(&mut self) {
        if let Rest::File { file, pos, end } = std::mem::replace(&mut self.rest, Rest::Done) {
            self.rest = Rest::Stream {
                left: end - pos,
                reader: Box::new(FileAt { file, pos }),
            };
        }
    }
}

impl Drop for Outgoing {
    /// A response dropped before it was sent whole was cut off (the connection closed).
    fn drop(&mut self) {
        self.report(false);
    }
}
