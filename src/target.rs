//! From a raw request target to a clean path under the root.
//!
//! The target is taken as the client sent it (tiny_http doesn't touch it): origin form
//! (`/a/b?q`), absolute form (`http://host/a/b`), or `*`. The path is percent-decoded exactly
//! once into bytes — file names are bytes, not UTF-8 — and cleaned lexically, so `..` can never
//! climb above the root and no file system call ever sees a `.` or `..` component.

use std::borrow::Cow;

/// A parsed request target.
#[derive(Debug, PartialEq, Eq)]
pub enum Target<'a> {
    /// `*`, as in `OPTIONS *`.
    Asterisk,
    /// A path, with the query if there was one.
    Path(RequestPath<'a>),
}

/// The path of a request target.
#[derive(Debug, PartialEq, Eq)]
pub struct RequestPath<'a> {
    /// Percent-decoded but not cleaned: what redirects are decided on (a trailing `/`, the last
    /// segment), as Go does with `r.URL.Path`. Borrowed when there was nothing to decode.
    pub decoded: Cow<'a, [u8]>,
    /// Cleaned and relative to the root: segments joined by `/`, without empty, `.` or `..`
    /// segments. Empty for the root itself. Borrowed when the path was clean already.
    pub clean: Cow<'a, [u8]>,
    /// The raw query, without its `?`; `None` when absent or empty.
    pub query: Option<&'a str>,
}

/// Why a target was refused.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum TargetError {
    /// Not a path, or malformed percent-encoding (`%zz`, a trailing `%4`): 400.
    Malformed,
    /// A NUL byte after decoding: 404, as no file can have that name.
    Nul,
}

/// Parses a raw request target.
pub fn parse(raw: &str) -> Result<Target<'_>, TargetError> {
    if raw == "*" {
        return Ok(Target::Asterisk);
    }
    let path_and_query = if raw.starts_with('/') {
        raw
    } else {
        strip_scheme_and_authority(raw).ok_or(TargetError::Malformed)?
    };
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query).filter(|q| !q.is_empty())),
        None => (path_and_query, None),
    };
    // Absolute form may have no path at all: `http://host` means `/`.
    let path = if path.is_empty() { "/" } else { path };
    let decoded = decode(path.as_bytes())?;
    if decoded.contains(&0) {
        return Err(TargetError::Nul);
    }
    let clean = match &decoded {
        Cow::Borrowed(path) => {
            already_clean(path).map_or_else(|| Cow::Owned(clean(path)), Cow::Borrowed)
        }
        Cow::Owned(path) => Cow::Owned(clean(path)),
    };
    Ok(Target::Path(RequestPath {
        decoded,
        clean,
        query,
    }))
}

/// For an absolute-form target (`scheme://authority/path?query`), the `/path?query` part
/// (possibly empty). `None` if `raw` isn't absolute form.
fn strip_scheme_and_authority(raw: &str) -> Option<&str> {
    let (scheme, rest) = raw.split_once("://")?;
    let mut chars = scheme.bytes();
    let valid_scheme = chars.next()?.is_ascii_alphabetic()
        && chars.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if !valid_scheme {
        return None;
    }
    Some(&rest[rest.find(['/', '?']).unwrap_or(rest.len())..])
}

/// Percent-decodes once; every `%` must start a two-digit hex escape.
fn decode(path: &[u8]) -> Result<Cow<'_, [u8]>, TargetError> {
    if !path.contains(&b'%') {
        return Ok(Cow::Borrowed(path));
    }
    let mut out = Vec::with_capacity(path.len());
    let mut i = 0;
    while i < path.len() {
        let b = path[i];
        if b == b'%' {
            let hi = path.get(i + 1).and_then(|&h| hex(h));
            let lo = path.get(i + 2).and_then(|&l| hex(l));
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                _ => return Err(TargetError::Malformed),
            }
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Ok(Cow::Owned(out))
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The clean relative path of `decoded` if cleaning would only drop its leading `/` (and a
/// trailing one): no empty, `.` or `..` segment. Most paths are, and need no copy.
fn already_clean(decoded: &[u8]) -> Option<&[u8]> {
    let rel = decoded.strip_prefix(b"/")?;
    let rel = rel.strip_suffix(b"/").unwrap_or(rel);
    if rel.is_empty() {
        return Some(rel);
    }
    let clean = rel
        .split(|&b| b == b'/')
        .all(|segment| !matches!(segment, b"" | b"." | b".."));
    clean.then_some(rel)
}

/// Cleans a decoded path lexically: drops empty and `.` segments, and lets `..` remove the
/// segment before it but never go above the root.
fn clean(decoded: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(decoded.len());
    for segment in decoded.split(|&b| b == b'/') {
        match segment {
            b"" | b"." => {}
            b".." => {
                let parent = out.iter().rposition(|&b| b == b'/').unwrap_or(0);
                out.truncate(parent);
            }
            name => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(name);
            }
        }
    }
    out
}

impl RequestPath<'_> {
    /// Whether the path as sent ends with `/` (a directory URL).
    pub fn has_trailing_slash(&self) -> bool {
        self.decoded.ends_with(b"/")
    }

    /// The last segment of the path as sent, ignoring a trailing `/` (`path.Base` in Go).
    pub fn last_segment(&self) -> &[u8] {
        let trimmed = self.decoded.strip_suffix(b"/").unwrap_or(&self.decoded);
        trimmed.rsplit(|&b| b == b'/').next().unwrap_or(b"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(raw: &str) -> RequestPath<'_> {
        match parse(raw) {
            Ok(Target::Path(p)) => p,
            other => panic!("{raw}: {other:?}"),
        }
    }

    #[test]
    fn cleans_lexically_never_above_the_root_and_decodes_once_into_bytes() {
        for (raw, clean) in [
            ("/", &b""[..]),
            ("//a", b"a"),
            ("/./a", b"a"),
            ("/b/../a", b"a"),
            ("/../../etc/passwd", b"etc/passwd"),
            ("/a/b/../../../c/", b"c"),
            ("/%2e%2e/%2E%2E/x", b"x"),
            ("/a%2fb", b"a/b"),
            ("/caf%E9.txt", b"caf\xe9.txt"),
            ("/a%09b", b"a\tb"),
            ("/100%25", b"100%"),
            ("/%2525", b"%25"),
            ("/a\\b", b"a\\b"),
            ("/a/b/", b"a/b"),
            ("/a/b", b"a/b"),
            ("/a/./b", b"a/b"),
            ("/a/b/.", b"a/b"),
            ("/a/b/..", b"a"),
            ("/a//b", b"a/b"),
            ("/.well-known/x", b".well-known/x"),
            ("/...", b"..."),
        ] {
            assert_eq!(&*path(raw).clean, clean, "{raw}");
        }
    }

    #[test]
    fn rejects_malformed_escapes_and_nul() {
        assert_eq!(parse("/%zz"), Err(TargetError::Malformed));
        assert_eq!(parse("/a%4"), Err(TargetError::Malformed));
        assert_eq!(parse("/a%"), Err(TargetError::Malformed));
        assert_eq!(parse("/a%00b"), Err(TargetError::Nul));
        assert_eq!(parse("a/b"), Err(TargetError::Malformed));
        assert_eq!(parse(""), Err(TargetError::Malformed));
        assert_eq!(parse("example.com:443"), Err(TargetError::Malformed));
    }

    #[test]
    fn splits_the_query_and_keeps_it_raw() {
        let p = path("/d?x=%41&y");
        assert_eq!(&*p.clean, b"d");
        assert_eq!(p.query, Some("x=%41&y"));
        assert_eq!(path("/d?").query, None);
    }

    #[test]
    fn absolute_form_and_asterisk() {
        assert_eq!(parse("*"), Ok(Target::Asterisk));
        assert_eq!(&*path("http://example.com/p/q").clean, b"p/q");
        assert_eq!(&*path("HTTPS://example.com").decoded, b"/");
        assert_eq!(path("http://example.com?x=1").query, Some("x=1"));
    }

    #[test]
    fn redirect_helpers() {
        assert_eq!(path("/a/b/").last_segment(), b"b");
        assert!(path("/a/b/").has_trailing_slash());
        assert_eq!(path("/a/q%3Fdir").last_segment(), b"q?dir");
        assert_eq!(path("/a/.").last_segment(), b".");
    }
}
