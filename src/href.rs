//! File names as links: percent-encoded so that no name can end an attribute, start a query
//! or a fragment, or be read as a scheme.

use percent_encoding::{percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Bytes left as they are in a link: RFC 3986 unreserved characters and the sub-delimiters
/// that are safe in a path segment. Everything else is percent-encoded, so `%`, `?`, `#`,
/// spaces, quotes, `<`, `>`, `\`, `&`, controls and non-ASCII bytes can't end the attribute,
/// start a query or a fragment, or be read as an escape.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
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

/// Appends [`href`] of `name` to `out`.
pub fn push_href(out: &mut String, name: &[u8]) {
    if name.contains(&b':') {
        out.push_str("./");
    }
    push_segment(out, name);
}

/// Appends `name` percent-encoded for use as a path segment (see [`href`] for a whole
/// relative reference).
pub fn push_segment(out: &mut String, name: &[u8]) {
    // Borrowed when nothing needed encoding (most names): one copy instead of one per piece.
    let encoded: std::borrow::Cow<'_, str> = percent_encode(name, SEGMENT).into();
    crate::page::push_short(out, &encoded);
}

/// `name` percent-encoded for use as a path segment.
pub fn encode_segment(name: &[u8]) -> String {
    percent_encode(name, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_encode_everything_that_could_escape_the_attribute_or_the_path() {
        for (name, link) in [
            (&b"a b"[..], "a%20b"),
            (b"100%", "100%25"),
            (b"q?x#y", "q%3Fx%23y"),
            (b"\"><script>", "%22%3E%3Cscript%3E"),
            (b"a\\b&c", "a%5Cb%26c"),
            (b"caf\xe9", "caf%E9"),
            ("é".as_bytes(), "%C3%A9"),
            (b"tab\there", "tab%09here"),
            (b"it's(1)+=@!$*,;~_-.x", "it's(1)+=@!$*,;~_-.x"),
            (b"a:b", "./a:b"),
        ] {
            assert_eq!(href(name), link);
        }
        assert_eq!(encode_segment(b"a:b"), "a:b");
    }
}
