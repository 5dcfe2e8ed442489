//! Redirects (docs/behaviour.md, "Redirects"): 301, empty body, `Content-Length: 0`, relative and
//! percent-encoded `Location`s that can never be turned into an open redirect or a header
//! injection.

mod common;

use common::fixture::{assert_common, target, Tree, HELLO, SUB_INDEX};
use common::{Response, Server};

/// A 301 to exactly `location`, with an empty body and `Content-Length: 0`.
fn assert_redirect(r: &Response, location: &str, what: &str) {
    assert_eq!(r.status, 301, "{what}: {r:?}");
    assert_eq!(r.header("Location"), Some(location), "{what}");
    assert_eq!(r.header("Content-Length"), Some("0"), "{what}");
    assert!(r.body.is_empty(), "{what}: body {:?}", r.text());
    assert_safe_location(location, what);
    assert_common(r);
}

/// No CR, LF or control bytes, not `//` or `/\`, no scheme, no host.
fn assert_safe_location(location: &str, what: &str) {
    assert!(
        location.bytes().all(|b| (0x21..0x7f).contains(&b)),
        "{what}: control, space or non-ASCII byte in Location {location:?}"
    );
    assert!(
        !location.starts_with("//") && !location.starts_with("/\\"),
        "{what}: network-path Location {location:?}"
    );
    assert!(
        !location.starts_with("\\"),
        "{what}: backslash Location {location:?}"
    );
    // A scheme is `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"` before any `/`, `?`, `#`.
    let first = location.split(['/', '?', '#']).next().unwrap_or("");
    assert!(
        !first.contains(':'),
        "{what}: Location {location:?} reads as a scheme"
    );
}

/// Resolves a relative reference against the path of the request (RFC 3986 §5.2).
fn resolve(base: &str, reference: &str) -> String {
    let (ref_path, query) = match reference.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (reference, None),
    };
    let merged = if ref_path.starts_with('/') {
        ref_path.to_string()
    } else {
        let dir = &base[..=base.rfind('/').unwrap()];
        format!("{dir}{ref_path}")
    };
    // Remove dot segments.
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = merged.split('/').skip(1).collect();
    for (i, seg) in segments.iter().enumerate() {
        let last = i == segments.len() - 1;
        match *seg {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let mut path = format!("/{}", out.join("/"));
    if let Some(q) = query {
        path.push('?');
        path.push_str(q);
    }
    path
}

/// Follows the redirect of `path` once and returns the second response.
fn follow(server: &Server, path: &str) -> (String, Response) {
    let r = server.get(path, &[]);
    assert_eq!(r.status, 301, "{path}: {r:?}");
    let next = resolve(path, r.header("Location").unwrap());
    let r2 = server.get(&next, &[]);
    (next, r2)
}

// 18 ------------------------------------------------------------------------------------------

#[test]
fn s18_index_html_redirects_to_dot_slash() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    assert_redirect(&server.get("/sub/index.html", &[]), "./", "sub");
    assert_redirect(&server.get("/idx-in/index.html", &[]), "./", "idx-in");
    let (next, r) = follow(&server, "/sub/index.html");
    assert_eq!(next, "/sub/");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, SUB_INDEX);
}

#[test]
fn s18_index_html_redirect_keeps_the_query() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    assert_redirect(
        &server.get("/sub/index.html?a=1&b=%20", &[]),
        "./?a=1&b=%20",
        "query",
    );
}

#[test]
fn s18_index_html_redirect_happens_before_the_file_system() {
    let tree = Tree::new();
    let server = tree.serve(&["--no-listing"]);
    // Neither exists: still a redirect, as in Go.
    assert_redirect(&server.get("/index.html", &[]), "./", "root");
    assert_redirect(&server.get("/nope/index.html", &[]), "./", "missing dir");
    assert_redirect(
        &server.get("/hello.txt/index.html", &[]),
        "./",
        "under a file",
    );
    // HEAD too.
    let r = server.request("HEAD", "/nope/index.html", &[]);
    assert_eq!(r.status, 301);
    assert_eq!(r.header("Location"), Some("./"));
}

// 19 ------------------------------------------------------------------------------------------

#[test]
fn s19_directory_without_slash_redirects_to_last_segment_slash() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    assert_redirect(&server.get("/sub", &[]), "sub/", "sub");
    assert_redirect(&server.get("/sub/deeper", &[]), "deeper/", "deeper");
    assert_redirect(&server.get("/list", &[]), "list/", "list");
    assert_redirect(&server.get("/link-in-dir", &[]), "link-in-dir/", "link");
    assert_redirect(&server.get("/.well-known", &[]), ".well-known/", "wk");
    let (next, r) = follow(&server, "/sub/deeper");
    assert_eq!(next, "/sub/deeper/");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("leaf.txt"));
}

#[test]
fn s19_directory_redirect_keeps_the_query() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    assert_redirect(&server.get("/sub?x=1&y", &[]), "sub/?x=1&y", "query");
}

#[test]
fn s19_directory_redirect_is_percent_encoded() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for (path, location) in [
        ("/q%3Fdir", "q%3Fdir/"),
        ("/h%23dir", "h%23dir/"),
        ("/sp%20ace", "sp%20ace/"),
        ("/pct%25dir", "pct%25dir/"),
        ("/%5Cevil.com", "%5Cevil.com/"),
        ("/q%3fdir?a=b", "q%3Fdir/?a=b"),
    ] {
        assert_redirect(&server.get(path, &[]), location, path);
    }
    // Each Location, resolved as a browser would, reaches the directory.
    for path in ["/q%3Fdir", "/h%23dir", "/sp%20ace", "/pct%25dir"] {
        let (next, r) = follow(&server, path);
        assert_eq!(r.status, 200, "{path} → {next}: {r:?}");
        assert!(r.text().contains("in.txt"), "{path} → {next}");
    }
}

#[test]
fn s19_non_canonical_directory_paths_redirect_by_their_last_segment() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    // As Go: the last segment of the path as sent.
    assert_redirect(&server.get("//sub", &[]), "sub/", "//sub");
    assert_redirect(&server.get("/x/../sub", &[]), "sub/", "/x/../sub");
}

// 20 ------------------------------------------------------------------------------------------

#[test]
fn s20_file_with_trailing_slash_redirects_up() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    assert_redirect(&server.get("/hello.txt/", &[]), "../hello.txt", "hello");
    assert_redirect(&server.get("/sub/other.txt/", &[]), "../other.txt", "other");
    assert_redirect(
        &server.get("/hello.txt/?q=1", &[]),
        "../hello.txt?q=1",
        "query",
    );
    let (next, r) = follow(&server, "/hello.txt/");
    assert_eq!(next, "/hello.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, HELLO);
}

#[test]
fn s20_file_redirect_name_is_percent_encoded() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for (name, location) in [
        (&b"what?.txt"[..], "../what%3F.txt"),
        (b"a#b.txt", "../a%23b.txt"),
        (b"100%.txt", "../100%25.txt"),
        (b"with space.txt", "../with%20space.txt"),
        (b"caf\xe9.txt", "../caf%E9.txt"),
        (b"tab\there.txt", "../tab%09here.txt"),
        (b"quote\".txt", "../quote%22.txt"),
        (
            b"<img src=x onerror=alert(1)>.txt",
            "../%3Cimg%20src=x%20onerror=alert(1)%3E.txt",
        ),
        (b"back\\slash.txt", "../back%5Cslash.txt"),
        (b"a:b.txt", "../a:b.txt"),
    ] {
        let path = format!("{}/", target(name));
        assert_redirect(&server.get(&path, &[]), location, &path);
        let (next, r) = follow(&server, &path);
        assert_eq!(r.status, 200, "{path} → {next}: {r:?}");
    }
}

// 21 ------------------------------------------------------------------------------------------

#[test]
fn s21_crlf_in_a_name_never_reaches_the_location() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.get("/crlf%0D%0AX-Injected:%20yes", &[]);
    assert_redirect(&r, "./crlf%0D%0AX-Injected:%20yes/", "crlf dir");
    assert!(!r.has("X-Injected"));
    let r = server.get("/esc%1B%5B31m", &[]);
    assert_redirect(&r, "esc%1B%5B31m/", "escape dir");
    // Through the file redirect and the index redirect, too.
    for path in [
        "/crlf%0D%0AX-Injected:%20yes/in.txt/",
        "/%0d%0aX-Injected:%20yes/index.html",
        "/x%0d%0aSet-Cookie:%20a=b/index.html?%0d%0a",
    ] {
        let r = server.get(path, &[]);
        assert_eq!(r.status, 301, "{path}: {r:?}");
        assert!(!r.has("X-Injected") && !r.has("Set-Cookie"), "{path}");
        assert_safe_location(r.header("Location").unwrap(), path);
    }
}

#[test]
fn s21_location_never_starts_with_two_slashes_or_slash_backslash() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    // A directory named `evil.com`, reached through `//`: relative, never `//evil.com/`.
    assert_redirect(&server.get("//evil.com", &[]), "evil.com/", "//evil.com");
    assert_redirect(&server.get("/%2F%2Fevil.com", &[]), "evil.com/", "%2F%2F");
    assert_redirect(&server.get("/%2Fevil.com", &[]), "evil.com/", "%2F");
    assert_redirect(
        &server.get("/\\evil.com", &[]),
        "%5Cevil.com/",
        "\\evil.com",
    );
    assert_redirect(
        &server.get("/%5C%5Cevil.com", &[]),
        "%5C%5Cevil.com/",
        "\\\\evil.com",
    );
    assert_redirect(
        &server.get("//evil.com.txt/", &[]),
        "../evil.com.txt",
        "file",
    );
    // Paths that clean to the root or a directory through `..`: whatever the Location, it
    // must be safe.
    for path in [
        "//evil.com/..",
        "//evil.com/%2e%2e",
        "/%2F%2Fevil.com/..",
        "/\\\\evil.com/..",
        "//evil.com/../sub",
        "///evil.com/../sub",
        "//evil.com/index.html",
        "/%2F/evil.com/index.html",
        "/.//evil.com",
        "/sub/..//evil.com",
    ] {
        let r = server.get(path, &[]);
        if r.status == 301 {
            assert_safe_location(r.header("Location").unwrap(), path);
        }
    }
}

#[test]
fn s21_colon_in_a_directory_name_is_not_a_scheme() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    assert_redirect(&server.get("/a:b", &[]), "./a:b/", "a:b");
    assert_redirect(&server.get("/a%3Ab", &[]), "./a:b/", "a%3Ab");
    assert_redirect(
        &server.get("/javascript:alert(1)", &[]),
        "./javascript:alert(1)/",
        "javascript:",
    );
    let (next, r) = follow(&server, "/a:b");
    assert_eq!(next, "/a:b/");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("in.txt"));
}

#[test]
fn s21_absolute_form_target_never_puts_its_host_in_the_location() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for (target, location) in [
        ("http://evil.example/sub", "sub/"),
        ("http://evil.example/sub/index.html", "./"),
        ("http://evil.example/hello.txt/", "../hello.txt"),
        ("http://evil.example//evil.com", "evil.com/"),
    ] {
        let r =
            server.raw(format!("GET {target} HTTP/1.1\r\nHost: evil.example\r\n\r\n").as_bytes());
        assert_redirect(&r, location, target);
        assert!(!r.header("Location").unwrap().contains("evil.example"));
    }
}

#[test]
fn s21_every_redirect_in_a_sweep_is_safe() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let mut seen = 0;
    let names: Vec<Vec<u8>> = std::fs::read_dir(&tree.root)
        .unwrap()
        .map(|e| {
            use std::os::unix::ffi::OsStrExt;
            e.unwrap().file_name().as_bytes().to_vec()
        })
        .collect();
    for name in names {
        let t = target(&name);
        for path in [
            t.clone(),
            format!("{t}/"),
            format!("/{t}"),
            format!("{t}/index.html"),
        ] {
            let r = server.get(&path, &[]);
            if r.status == 301 {
                seen += 1;
                assert_safe_location(r.header("Location").unwrap(), &path);
                assert_eq!(r.header("Content-Length"), Some("0"), "{path}");
            }
        }
    }
    assert!(seen > 40, "only {seen} redirects");
}
