//! `Content-Type` from the file name, or from the first bytes when the name says nothing.

use std::borrow::Cow;

/// How many bytes [`sniff`] looks at (as browsers and Go do).
pub const SNIFF_LEN: usize = 512;

/// The content type for a file name, by its extension (case-insensitive), or `None` when the
/// extension is missing or unknown (then [`sniff`] the content).
///
/// Text types get `; charset=utf-8`. Where mime_guess and Go's table differ, Go's wins, since
/// browsers care: JavaScript is `text/javascript` (RFC 9239) and WebAssembly `application/wasm`
/// (required for streaming compilation).
pub fn by_name(name: &[u8]) -> Option<Cow<'static, str>> {
    let dot = name.iter().rposition(|&b| b == b'.')?;
    if let Some(common) = common(&name[dot + 1..]) {
        return Some(Cow::Borrowed(common));
    }
    by_extension(&name[dot + 1..])
}

/// The extensions most requests are for, with the types [`by_extension`] gives them. Looked
/// up first: mime_guess's case-insensitive search of its 1,500 extensions took about 1,700
/// instructions and two allocations per request (measured with callgrind).
const COMMON: &[(&[u8], &str)] = &[
    (b"html", "text/html; charset=utf-8"),
    (b"css", "text/css; charset=utf-8"),
    (b"js", "text/javascript; charset=utf-8"),
    (b"json", "application/json"),
    (b"png", "image/png"),
    (b"jpg", "image/jpeg"),
    (b"svg", "image/svg+xml"),
    (b"woff2", "font/woff2"),
    (b"webp", "image/webp"),
    (b"txt", "text/plain; charset=utf-8"),
    (b"ico", "image/x-icon"),
    (b"gif", "image/gif"),
    (b"jpeg", "image/jpeg"),
    (b"mjs", "text/javascript; charset=utf-8"),
    (b"wasm", "application/wasm"),
    (b"xml", "text/xml; charset=utf-8"),
    (b"pdf", "application/pdf"),
    (b"mp4", "video/mp4"),
    (b"bin", "application/octet-stream"),
    (b"htm", "text/html; charset=utf-8"),
];

fn common(ext: &[u8]) -> Option<&'static str> {
    let mut lower = [0u8; 5];
    let lower = lower.get_mut(..ext.len())?;
    for (l, b) in lower.iter_mut().zip(ext) {
        *l = b.to_ascii_lowercase();
    }
    let lower = &*lower;
    COMMON.iter().find(|(e, _)| *e == lower).map(|(_, t)| *t)
}

/// The content type for an extension, from mime_guess's table where Go's doesn't differ.
fn by_extension(ext: &[u8]) -> Option<Cow<'static, str>> {
    let ext = std::str::from_utf8(ext).ok()?;
    if ext.eq_ignore_ascii_case("js") || ext.eq_ignore_ascii_case("mjs") {
        return Some(Cow::Borrowed("text/javascript; charset=utf-8"));
    }
    if ext.eq_ignore_ascii_case("wasm") {
        return Some(Cow::Borrowed("application/wasm"));
    }
    let mime = mime_guess::from_ext(ext).first_raw()?;
    Some(with_charset(mime))
}

fn with_charset(mime: &'static str) -> Cow<'static, str> {
    // The common ones without an allocation per request.
    match mime {
        "text/html" => Cow::Borrowed("text/html; charset=utf-8"),
        "text/css" => Cow::Borrowed("text/css; charset=utf-8"),
        "text/plain" => Cow::Borrowed("text/plain; charset=utf-8"),
        "text/csv" => Cow::Borrowed("text/csv; charset=utf-8"),
        "text/xml" => Cow::Borrowed("text/xml; charset=utf-8"),
        "text/markdown" => Cow::Borrowed("text/markdown; charset=utf-8"),
        m if m.starts_with("text/") => Cow::Owned(format!("{m}; charset=utf-8")),
        m => Cow::Borrowed(m),
    }
}

/// The content type of a file whose name says nothing, from its first bytes: UTF-8 text
/// without control characters is `text/plain`, anything else `application/octet-stream`.
///
/// Never `text/html`, unlike Go and browsers: a server that sniffs HTML out of an extension-less
/// upload lets whoever uploads it run scripts in the site's origin.
pub fn sniff(prefix: &[u8]) -> &'static str {
    let prefix = &prefix[..prefix.len().min(SNIFF_LEN)];
    let text = match std::str::from_utf8(prefix) {
        Ok(_) => true,
        // A multi-byte character cut off by the sniff window is still text.
        Err(e) => e.error_len().is_none() && prefix.len() == SNIFF_LEN,
    };
    let binary_controls = prefix
        .iter()
        .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b));
    if text && !binary_controls {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    }
}

/// Whether browsers render this type as HTML (such responses get `Cache-Control: no-cache`).
pub fn is_html(content_type: &str) -> bool {
    content_type.starts_with("text/html")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_extension_case_insensitive() {
        assert_eq!(by_name(b"index.HTML").unwrap(), "text/html; charset=utf-8");
        assert_eq!(by_name(b"a.css").unwrap(), "text/css; charset=utf-8");
        assert_eq!(by_name(b"a.png").unwrap(), "image/png");
        assert_eq!(by_name(b"a.json").unwrap(), "application/json");
        assert_eq!(by_name(b"a.svg").unwrap(), "image/svg+xml");
        assert_eq!(
            by_name(b"caf\xe9.txt").unwrap(),
            "text/plain; charset=utf-8"
        );
    }

    #[test]
    fn the_common_extensions_get_what_the_full_table_gives() {
        for (ext, expected) in COMMON {
            let full = by_extension(ext).unwrap();
            assert_eq!(full, *expected, "{}", String::from_utf8_lossy(ext));
            let upper = ext.to_ascii_uppercase();
            assert_eq!(common(&upper), Some(*expected));
        }
        assert_eq!(common(b"htmlx"), None);
        assert_eq!(common(b"toolong"), None);
    }

    #[test]
    fn go_table_wins_where_it_differs() {
        assert_eq!(
            by_name(b"app.js").unwrap(),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            by_name(b"app.MJS").unwrap(),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(by_name(b"m.wasm").unwrap(), "application/wasm");
    }

    #[test]
    fn unknown_or_missing_extension_means_sniff() {
        assert_eq!(by_name(b"README"), None);
        assert_eq!(by_name(b"a.nosuchext"), None);
        assert_eq!(by_name(b"a.\xff"), None);
    }

    #[test]
    fn sniffing_never_says_html() {
        assert_eq!(
            sniff(b"<!doctype html><script>alert(1)</script>"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(sniff(b"plain text\n"), "text/plain; charset=utf-8");
        assert_eq!(sniff(b""), "text/plain; charset=utf-8");
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n"), "application/octet-stream");
        assert_eq!(sniff(b"abc\x00def"), "application/octet-stream");
        assert_eq!(sniff(b"caf\xe9"), "application/octet-stream");
        // A UTF-8 character cut at the window's edge.
        let mut cut = vec![b'a'; SNIFF_LEN - 1];
        cut.extend_from_slice("é".as_bytes());
        assert_eq!(sniff(&cut), "text/plain; charset=utf-8");
    }
}
