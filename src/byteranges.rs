//! `multipart/byteranges` bodies (RFC 9110 §14.6): several ranges of a file in one response,
//! each part with its own `Content-Type` and `Content-Range`, streamed from the file.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;

use crate::range::ByteRange;

/// 30 random hex digits, drawn once per process from std's randomly keyed hasher: a boundary
/// a file can't be crafted in advance to contain.
pub fn random_boundary() -> String {
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    let mut a = state.build_hasher();
    a.write_u64(std::process::id().into());
    let mut b = state.build_hasher();
    b.write_u64(a.finish());
    format!("{:016x}{:014x}", a.finish(), b.finish() >> 8)
}

/// A `multipart/byteranges` body, read part by part as the client takes it. Its length is
/// known up front, so it goes out with `Content-Length`.
pub struct Multipart {
    file: File,
    segments: Vec<Segment>,
    current: usize,
    /// Offset within the current segment.
    offset: u64,
    len: u64,
}

enum Segment {
    Text(Vec<u8>),
    Range(ByteRange),
}

impl Segment {
    fn len(&self) -> u64 {
        match self {
            Segment::Text(text) => text.len() as u64,
            Segment::Range(r) => r.length,
        }
    }
}

impl Multipart {
    /// The body of `ranges` of `file` (of `size` bytes, served as `content_type`).
    pub fn new(
        file: File,
        ranges: &[ByteRange],
        size: u64,
        content_type: &str,
        boundary: &str,
    ) -> Multipart {
        let mut segments = Vec::with_capacity(ranges.len() * 2 + 1);
        for (i, r) in ranges.iter().enumerate() {
            let separator = if i == 0 { "" } else { "\r\n" };
            let head = format!(
                "{separator}--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: {}\r\n\r\n",
                r.content_range(size)
            );
            segments.push(Segment::Text(head.into_bytes()));
            segments.push(Segment::Range(*r));
        }
        segments.push(Segment::Text(
            format!("\r\n--{boundary}--\r\n").into_bytes(),
        ));
        let len = segments.iter().map(Segment::len).sum();
        Multipart {
            file,
            segments,
            current: 0,
            offset: 0,
            len,
        }
    }

    /// The body's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the body has no bytes (never: it always has a closing boundary).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Read for Multipart {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(segment) = self.segments.get(self.current) else {
                return Ok(0);
            };
            let n = match segment {
                Segment::Text(text) => {
                    let rest = &text[self.offset as usize..];
                    let n = rest.len().min(buf.len());
                    buf[..n].copy_from_slice(&rest[..n]);
                    n
                }
                Segment::Range(r) => {
                    let left = r.length - self.offset;
                    let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    let n = self.file.read_at(&mut buf[..want], r.start + self.offset)?;
                    if n == 0 && want > 0 {
                        // The file shrank: end here; the short body closes the connection.
                        return Ok(0);
                    }
                    n
                }
            };
            self.offset += n as u64;
            if self.offset == segment.len() {
                self.current += 1;
                self.offset = 0;
            }
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_body_has_exact_length_and_shape() {
        let dir = std::env::temp_dir().join(format!("hf-multipart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        let ranges = [
            ByteRange {
                start: 0,
                length: 2,
            },
            ByteRange {
                start: 8,
                length: 2,
            },
        ];
        let mut m = Multipart::new(File::open(&path).unwrap(), &ranges, 10, "text/plain", "B");
        let len = m.len();
        let mut body = String::new();
        m.read_to_string(&mut body).unwrap();
        assert_eq!(body.len() as u64, len);
        assert_eq!(
            body,
            "--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\n01\
             \r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 8-9/10\r\n\r\n89\
             \r\n--B--\r\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn boundaries_are_long_and_differ_between_draws() {
        let (a, b) = (random_boundary(), random_boundary());
        assert_eq!(a.len(), 30);
        assert_ne!(a, b);
    }
}
