//! The JSON listing: `[{"name","href","type","size","mtime"}]`, in the same order as the
//! page. `name` is the file name as text (bytes that aren't UTF-8 become U+FFFD); `href` is
//! the exact relative link, so that any name can be fetched.

use std::fmt::Write as _;

use super::body::Render;
use super::Listing;
use crate::dir::Kind;
use crate::href;
use crate::timefmt;

/// The JSON of a listing.
pub struct Json {
    listing: Listing,
}

impl Json {
    /// The JSON of `listing`.
    pub fn new(listing: Listing) -> Json {
        Json { listing }
    }
}

impl Render for Json {
    fn rows(&self) -> usize {
        self.listing.entries.len()
    }

    fn head(&self, out: &mut String) {
        out.push('[');
    }

    fn row(&self, i: usize, out: &mut String) {
        let entry = &self.listing.entries[i];
        let name = self.listing.name(entry);
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        push_json_string(out, &String::from_utf8_lossy(name));
        out.push_str(",\"href\":\"");
        // Percent-encoded: only characters that need no escaping in JSON.
        href::push_href(out, name);
        let (slash, kind) = match entry.kind {
            Kind::Dir => ("/", "dir"),
            Kind::File => ("", "file"),
        };
        let _ = write!(
            out,
            "{slash}\",\"type\":\"{kind}\",\"size\":{},\"mtime\":\"",
            entry.size
        );
        timefmt::push_rfc3339(out, entry.mtime.max(0) as u64, None);
        out.push_str("\"}");
    }

    fn tail(&self, out: &mut String) {
        out.push_str("]\n");
    }
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings() {
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c\n\u{e9}");
        assert_eq!(out, "\"a\\\"b\\\\c\\u000a\u{e9}\"");
    }
}
