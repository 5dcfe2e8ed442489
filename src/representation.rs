//! What describes a file's representation on the wire: its content type, its strong ETag and
//! its `Last-Modified` date.

use std::borrow::Cow;
use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};

use crate::content_type;
use crate::encoding::Coding;

/// The content type of the file `name` (its last path segment), from its extension, or from
/// its first bytes when the name says nothing.
pub fn content_type(name: &[u8], file: &File) -> Cow<'static, str> {
    match content_type::by_name(name) {
        Some(known) => known,
        None => sniff(file).into(),
    }
}

/// The content type of a file whose name says nothing, from its first bytes.
fn sniff(file: &File) -> &'static str {
    let mut prefix = [0u8; content_type::SNIFF_LEN];
    let mut filled = 0;
    while filled < prefix.len() {
        match file.read_at(&mut prefix[filled..], filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return "application/octet-stream",
        }
    }
    content_type::sniff(&prefix[..filled])
}

/// An HTTP date for `Last-Modified`, formatted without allocating.
pub fn http_date(secs: u64) -> crate::timefmt::HttpDate {
    crate::timefmt::HttpDate::of(secs)
}

/// A strong ETag from the file's identity and change time: O(1), no reading of the content.
///
/// The inode change time (ctime) moves on every write and can't be set back by users (unlike
/// mtime, which `touch -d` or an archive restores), so the tag changes whenever the content
/// may have, even if size and mtime come back to old values; it stays the same across
/// restarts for an unchanged file. A coded representation (a sidecar) gets its coding
/// appended, so an identity and an encoded representation never share a tag.
pub struct Etag {
    text: [u8; 32],
    len: usize,
}

impl Etag {
    /// The ETag of the file `meta` describes, served with `coding`.
    pub fn of(meta: &Metadata, coding: Option<Coding>) -> Etag {
        let fields = [
            meta.dev(),
            meta.ino(),
            meta.size(),
            meta.mtime() as u64,
            meta.mtime_nsec() as u64,
            meta.ctime() as u64,
            meta.ctime_nsec() as u64,
        ];
        // FNV-1a: stable across builds and platforms, unlike std's hasher.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in fields.iter().flat_map(|f| f.to_le_bytes()) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        // `"` 16 hex digits [`-` coding] `"`: at most 23 bytes (the longest coding is 4).
        let mut text = [0u8; 32];
        text[0] = b'"';
        for (i, digit) in text[1..17].iter_mut().enumerate() {
            *digit = b"0123456789abcdef"[(hash >> (60 - 4 * i) & 0xf) as usize];
        }
        let mut len = 17;
        if let Some(coding) = coding {
            let token = coding.token().as_bytes();
            text[len] = b'-';
            text[len + 1..len + 1 + token.len()].copy_from_slice(token);
            len += 1 + token.len();
        }
        text[len] = b'"';
        Etag { text, len: len + 1 }
    }

    /// The tag, quotes included.
    pub fn as_str(&self) -> &str {
        // Only ASCII was written.
        std::str::from_utf8(&self.text[..self.len]).unwrap_or("\"\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_differ_by_coding_and_are_quoted() {
        let meta = std::fs::metadata("Cargo.toml").unwrap();
        let plain = Etag::of(&meta, None);
        let gzip = Etag::of(&meta, Some(Coding::Gzip));
        assert!(plain.as_str().starts_with('"') && plain.as_str().ends_with('"'));
        assert_eq!(plain.as_str().len(), 18);
        assert!(gzip.as_str().ends_with("-gzip\""));
        assert_ne!(plain.as_str(), gzip.as_str());
        assert_eq!(plain.as_str(), Etag::of(&meta, None).as_str());
    }
}
