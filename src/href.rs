//! Directory listings: Go's HTML format, escaped properly, or JSON.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use percent_encoding::{percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::timefmt;

/// One entry of a listing.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The file name, as bytes.
    pub name: Vec<u8>,
    /// A directory, or a symlink to one.
    pub is_dir: bool,
    /// Size in bytes (0 for a directory).
    pub size: u64,
    /// Last modification time.
    pub mtime: SystemTime,
}

/// Bytes left as they are in a link: RFC 3986 unreserved characters and the sub-delimiters
/// that are safe in a path segment. Everything else is percent-encoded, so `%`, `?`, `#`,
/// spaces, quotes, `<`, `>`, `\`, `&`, controls and non-ASCII bytes can't end the attribute,
/// start a query or a fragment, or be read as an escape.
const HREF: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// A relative reference to a file named `name`: percent-encoded, and prefixed with `./` when
/// the name contains `:`, which would otherwise make its start look like a URL scheme.
pub fn href(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    push_href(&mut out, name);
    out
}

fn push_href(out: &mut String, name: &[u8]) {
    if name.contains(&b':') {
        out.push_str("./");
    }
    out.extend(percent_encode(name, HREF));
}

/// `name` percent-encoded for use as a path segment (see [`href`] for a whole reference).
pub fn encode_segment(name: &[u8]) -> String {
    percent_encode(name, HREF).to_string()
}

/// Appends `text` escaped for HTML text and attribute values.
fn push_html(out: &mut String, text: &str) {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// The HTML listing, in the format of Go's `http.FileServer`, entries in the given order.
pub fn html(entries: &[Entry]) -> String {
    let mut out = String::with_capacity(64 + entries.len() * 80);
    out.push_str(
        "<!doctype html>\n<meta name=\"viewport\" content=\"width=device-width\">\n<pre>\n",
    );
    for entry in entries {
        let slash = if entry.is_dir { "/" } else { "" };
        out.push_str("<a href=\"");
        push_href(&mut out, &entry.name);
        out.push_str(slash);
        out.push_str("\">");
        push_html(&mut out, &String::from_utf8_lossy(&entry.name));
        out.push_str(slash);
        out.push_str("</a>\n");
    }
    out.push_str("</pre>\n");
    out
}

/// The JSON listing: `[{"name","type":"file"|"dir","size","mtime"}]`, names shown lossily if
/// they aren't UTF-8, mtime in RFC 3339 UTC.
pub fn json(entries: &[Entry]) -> String {
    let mut out = String::with_capacity(2 + entries.len() * 96);
    out.push('[');
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        push_json_string(&mut out, &String::from_utf8_lossy(&entry.name));
        let kind = if entry.is_dir { "dir" } else { "file" };
        let secs = entry
            .mtime
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let _ = write!(
            out,
            ",\"type\":\"{kind}\",\"size\":{},\"mtime\":\"{}\"}}",
            entry.size,
            timefmt::rfc3339(secs)
        );
    }
    out.push_str("]\n");
    out
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

    fn entry(name: &[u8], is_dir: bool) -> Entry {
        Entry {
            name: name.to_vec(),
            is_dir,
            size: 3,
            mtime: UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
        }
    }

    #[test]
    fn hrefs_encode_everything_that_could_escape_the_attribute_or_the_path() {
        assert_eq!(href(b"a b"), "a%20b");
        assert_eq!(href(b"100%"), "100%25");
        assert_eq!(href(b"q?x#y"), "q%3Fx%23y");
        assert_eq!(href(b"\"><script>"), "%22%3E%3Cscript%3E");
        assert_eq!(href(b"a\\b&c"), "a%5Cb%26c");
        assert_eq!(href(b"caf\xe9"), "caf%E9");
        assert_eq!(href("é".as_bytes()), "%C3%A9");
        assert_eq!(href(b"tab\there"), "tab%09here");
        assert_eq!(href(b"it's(1)+=@!$*,;~_-.x"), "it's(1)+=@!$*,;~_-.x");
        assert_eq!(href(b"a:b"), "./a:b");
    }

    #[test]
    fn html_has_gos_shape_and_escapes_text() {
        let page = html(&[
            entry(b"<b>&\"'", false),
            entry(b"sub", true),
            entry(b"\xff.txt", false),
        ]);
        assert_eq!(
            page,
            "<!doctype html>\n<meta name=\"viewport\" content=\"width=device-width\">\n<pre>\n\
             <a href=\"%3Cb%3E%26%22'\">&lt;b&gt;&amp;&#34;&#39;</a>\n\
             <a href=\"sub/\">sub/</a>\n\
             <a href=\"%FF.txt\">\u{fffd}.txt</a>\n\
             </pre>\n"
        );
    }

    #[test]
    fn json_listing() {
        let out = json(&[entry(b"a\"b\n", false), entry(b"d", true)]);
        assert_eq!(
            out,
            "[{\"name\":\"a\\\"b\\u000a\",\"type\":\"file\",\"size\":3,\"mtime\":\"2023-11-14T22:13:20Z\"},\
             {\"name\":\"d\",\"type\":\"dir\",\"size\":3,\"mtime\":\"2023-11-14T22:13:20Z\"}]\n"
        );
    }
}
