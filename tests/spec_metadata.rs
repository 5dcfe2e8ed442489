//! Representation metadata (docs/behaviour.md, "Files: representation").

mod common;

use std::io::Write;
use std::time::Duration;

use common::fixture::{
    self, assert_common, big, http_date, raw_head, Conn, Tree, BIG_LEN, HELLO, PAST_DATE,
    PAST_MTIME,
};
use common::{request_bytes, set_mtime, Response};

// 30 ------------------------------------------------------------------------------------------

fn assert_file_200(r: &Response, len: usize, what: &str) {
    assert_eq!(r.status, 200, "{what}: {r:?}");
    assert_eq!(
        r.header("Content-Length"),
        Some(len.to_string().as_str()),
        "{what}"
    );
    assert!(r.has("Content-Type"), "{what}");
    assert_eq!(r.header("Accept-Ranges"), Some("bytes"), "{what}");
    assert!(r.has("Last-Modified"), "{what}");
    assert!(!r.has("Transfer-Encoding"), "{what}: chunked");
    assert_common(r);
}

#[test]
fn s30_file_200_carries_length_type_ranges_and_date() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.get("/past.txt", &[]);
    assert_file_200(&r, 14, "past.txt");
    assert_eq!(r.header("Last-Modified"), Some(PAST_DATE));
    assert_eq!(r.body, b"from the past\n");
    let r = server.get("/empty.txt", &[]);
    assert_file_200(&r, 0, "empty");
    assert!(r.body.is_empty());
}

#[test]
fn s30_multi_mib_file_is_never_chunked_get_or_head() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.get("/big.bin", &[]);
    assert_file_200(&r, BIG_LEN, "GET big");
    assert!(r.body == big(), "big.bin body differs");
    let (head, rest) = raw_head(
        &server,
        &request_bytes("HEAD", b"/big.bin", &[("Connection", "close")]),
    );
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains(&format!("content-length: {BIG_LEN}\r\n")),
        "{head}"
    );
    assert!(!lower.contains("transfer-encoding"), "{head}");
    assert!(rest.is_empty());
    // HTTP/1.0 clients too (they can't take chunks at all).
    let r = server.raw(b"GET /big.bin HTTP/1.0\r\n\r\n");
    assert_file_200(&r, BIG_LEN, "HTTP/1.0 big");
    assert!(r.body == big());
}

#[test]
fn s30_keep_alive_connection_carries_several_big_bodies() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let mut c = Conn::new(&server);
    for _ in 0..2 {
        let r = c.get("/big.bin", &[]);
        assert_file_200(&r, BIG_LEN, "keep-alive big");
        assert!(r.body == big());
        let r = c.get("/hello.txt", &[]);
        assert_eq!(r.body, HELLO);
    }
    // Pipelined: two requests in one write.
    let mut two = request_bytes("GET", b"/hello.txt", &[]);
    two.extend_from_slice(&request_bytes("GET", b"/past.txt", &[]));
    c.send(&two);
    assert_eq!(c.read(false).body, HELLO);
    assert_eq!(c.read(false).body, b"from the past\n");
}

// 31 ------------------------------------------------------------------------------------------

#[test]
fn s31_content_type_by_extension() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for (path, ct) in [
        ("/hello.txt", "text/plain; charset=utf-8"),
        ("/page.html", "text/html; charset=utf-8"),
        ("/UPPER.HTML", "text/html; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/UP.JS", "text/javascript; charset=utf-8"),
        ("/app.mjs", "text/javascript; charset=utf-8"),
        ("/mod.wasm", "application/wasm"),
        ("/data.json", "application/json"),
        ("/big.bin", "application/octet-stream"),
        ("/caf%E9.txt", "text/plain; charset=utf-8"),
        ("/sub/", "text/html; charset=utf-8"),
    ] {
        let r = server.get(path, &[]);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("Content-Type"), Some(ct), "{path}");
    }
}

#[test]
fn s31_extensionless_files_are_sniffed_but_never_html() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for (path, ct) in [
        ("/README", "text/plain; charset=utf-8"),
        ("/page", "text/plain; charset=utf-8"),
        ("/evil.zzz", "text/plain; charset=utf-8"),
        ("/blob", "application/octet-stream"),
        ("/noext-empty", "text/plain; charset=utf-8"),
    ] {
        let r = server.get(path, &[]);
        assert_eq!(r.status, 200, "{path}");
        let got = r.header("Content-Type").unwrap();
        assert!(!got.contains("html"), "{path}: {got}");
        assert_eq!(got, ct, "{path}");
        assert_eq!(r.header("X-Content-Type-Options"), Some("nosniff"));
    }
}

#[test]
fn s31_sniffing_looks_only_at_the_first_512_bytes() {
    let tree = Tree::new();
    // Text for 512 bytes, then binary.
    let mut text_then_binary = vec![b'a'; 512];
    text_then_binary.extend_from_slice(&[0u8, 1, 2, 0xff]);
    common::write(&tree.root, b"late-binary", &text_then_binary);
    // HTML after 512 bytes of text changes nothing either.
    let mut late_html = vec![b' '; 600];
    late_html.extend_from_slice(b"<html><script>x</script>");
    common::write(&tree.root, b"late-html", &late_html);
    let server = tree.serve(&[]);
    assert_eq!(
        server.get("/late-binary", &[]).header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        server.get("/late-html", &[]).header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
}

// 32 ------------------------------------------------------------------------------------------

/// A method, a target and request header fields.
type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>);

#[test]
fn s32_nosniff_on_every_response() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let etag = server
        .get("/hello.txt", &[])
        .header("ETag")
        .unwrap()
        .to_string();
    let cases: Vec<Case> = vec![
        ("GET", "/hello.txt", vec![]),
        ("GET", "/hello.txt", vec![("Range", "bytes=0-1")]),
        ("GET", "/hello.txt", vec![("Range", "bytes=0-1,3-4")]),
        ("GET", "/hello.txt", vec![("Range", "bytes=99-")]),
        ("GET", "/hello.txt", vec![("If-None-Match", &etag)]),
        ("GET", "/hello.txt", vec![("If-Match", "\"x\"")]),
        ("GET", "/sub", vec![]),
        ("GET", "/", vec![]),
        ("GET", "/", vec![("Accept", "application/json")]),
        ("GET", "/missing", vec![]),
        ("GET", "/%zz", vec![]),
        ("POST", "/hello.txt", vec![]),
        ("OPTIONS", "/hello.txt", vec![]),
        ("OPTIONS", "*", vec![]),
        ("HEAD", "/big.bin", vec![]),
    ];
    for (m, p, h) in &cases {
        let r = server.request(m, p, h);
        assert_eq!(
            r.header("X-Content-Type-Options"),
            Some("nosniff"),
            "{m} {p} {h:?}: {r:?}"
        );
    }
    // Errors tiny_http answers itself (no Host) too.
    let r = server.raw(b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(r.status, 400);
    assert_eq!(r.header("X-Content-Type-Options"), Some("nosniff"), "{r:?}");
}

#[test]
fn s32_cache_control_no_cache_on_html_and_listings_only() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for p in ["/page.html", "/UPPER.HTML", "/sub/", "/", "/list/"] {
        assert_eq!(
            server.get(p, &[]).header("Cache-Control"),
            Some("no-cache"),
            "{p}"
        );
    }
    assert_eq!(
        server
            .get("/list/", &[("Accept", "application/json")])
            .header("Cache-Control"),
        Some("no-cache")
    );
    for p in [
        "/hello.txt",
        "/app.js",
        "/big.bin",
        "/style.css",
        "/page",
        "/README",
        "/data.json",
    ] {
        let r = server.get(p, &[]);
        assert!(!r.has("Cache-Control"), "{p}: {r:?}");
    }
}

#[test]
fn s32_configured_headers_are_added_to_every_response() {
    let tree = Tree::new();
    let server = tree.serve(&[
        "--header",
        "Cache-Control: public, max-age=60",
        "--header",
        "X-Frame-Options: DENY",
    ]);
    for p in ["/hello.txt", "/missing", "/sub", "/%zz"] {
        let r = server.get(p, &[]);
        assert_eq!(r.header("X-Frame-Options"), Some("DENY"), "{p}");
    }
    assert_eq!(
        server.get("/hello.txt", &[]).header("Cache-Control"),
        Some("public, max-age=60")
    );
    let server = common::Server::start_with(
        &tree.root,
        &[],
        &[(
            "HTTP_FILESERVER_HEADERS",
            "X-One: 1\nStrict-Transport-Security: max-age=63072000",
        )],
    );
    let r = server.get("/hello.txt", &[]);
    assert_eq!(r.header("X-One"), Some("1"));
    assert_eq!(
        r.header("Strict-Transport-Security"),
        Some("max-age=63072000")
    );
}

// 33 ------------------------------------------------------------------------------------------

#[test]
fn s33_mtime_at_the_epoch_has_no_last_modified() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for p in ["/epoch.txt", "/zero.txt"] {
        let r = server.get(p, &[]);
        assert_eq!(r.status, 200);
        assert!(!r.has("Last-Modified"), "{p}: {r:?}");
        assert!(r.has("ETag"), "{p}");
        let h = server.request("HEAD", p, &[]);
        assert!(!h.has("Last-Modified"), "HEAD {p}");
    }
    // Two seconds after the epoch is a real date.
    let r = server.get("/two.txt", &[]);
    assert_eq!(
        r.header("Last-Modified"),
        Some("Thu, 01 Jan 1970 00:00:02 GMT")
    );
}

#[test]
fn s33_mtime_at_the_epoch_never_gets_a_date_based_304() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let future = http_date(fixture::now_secs() + 86400 * 365);
    for ims in [
        future.as_str(),
        "Thu, 01 Jan 1970 00:00:01 GMT",
        "Thu, 01 Jan 1970 00:00:02 GMT",
        PAST_DATE,
    ] {
        for p in ["/epoch.txt", "/zero.txt"] {
            let r = server.get(p, &[("If-Modified-Since", ims)]);
            assert_eq!(r.status, 200, "{p} IMS {ims}: {r:?}");
            assert!(!r.body.is_empty());
        }
    }
    // If-Range by date can't match a date that isn't sent.
    let r = server.get(
        "/epoch.txt",
        &[
            ("Range", "bytes=0-1"),
            ("If-Range", "Thu, 01 Jan 1970 00:00:01 GMT"),
        ],
    );
    assert_eq!(r.status, 200, "{r:?}");
    // The ETag still works.
    let etag = server
        .get("/epoch.txt", &[])
        .header("ETag")
        .unwrap()
        .to_string();
    assert_eq!(
        server.get("/epoch.txt", &[("If-None-Match", &etag)]).status,
        304
    );
}

// 34 ------------------------------------------------------------------------------------------

fn etag(r: &Response) -> String {
    r.header("ETag").expect("an ETag").to_string()
}

fn assert_strong(tag: &str) {
    assert!(!tag.starts_with("W/"), "weak ETag {tag}");
    assert!(
        tag.len() >= 3 && tag.starts_with('"') && tag.ends_with('"'),
        "{tag}"
    );
    assert!(
        tag[1..tag.len() - 1]
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b)),
        "bad etagc in {tag}"
    );
}

#[test]
fn s34_strong_etag_on_200_206_304() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.get("/hello.txt", &[]);
    let tag = etag(&r);
    assert_strong(&tag);
    let r = server.get("/hello.txt", &[("Range", "bytes=0-2")]);
    assert_eq!(r.status, 206);
    assert_eq!(etag(&r), tag);
    let r = server.get("/hello.txt", &[("Range", "bytes=0-2,4-5")]);
    assert_eq!(r.status, 206);
    assert_eq!(etag(&r), tag);
    let r = server.get("/hello.txt", &[("If-None-Match", &tag)]);
    assert_eq!(r.status, 304);
    assert_eq!(etag(&r), tag);
    assert_eq!(etag(&server.request("HEAD", "/hello.txt", &[])), tag);
    // Distinct files, distinct tags.
    let tags: std::collections::BTreeSet<String> =
        ["/hello.txt", "/past.txt", "/empty.txt", "/big.bin"]
            .iter()
            .map(|p| etag(&server.get(p, &[])))
            .collect();
    assert_eq!(tags.len(), 4);
}

#[test]
fn s34_etag_changes_when_content_changes_with_size_and_mtime_restored() {
    let tree = Tree::new();
    let path = tree.path(b"past.txt");
    let server = tree.serve(&[]);
    let before = server.get("/past.txt", &[]);
    let tag1 = etag(&before);
    // In place: same length, different bytes, mtime put back.
    let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all(b"FROM THE PAST\n").unwrap();
    drop(f);
    set_mtime(&path, PAST_MTIME);
    let after = server.get("/past.txt", &[]);
    assert_eq!(after.body, b"FROM THE PAST\n");
    assert_eq!(after.header("Last-Modified"), Some(PAST_DATE));
    assert_eq!(
        after.header("Content-Length"),
        before.header("Content-Length")
    );
    let tag2 = etag(&after);
    assert_ne!(tag1, tag2, "ETag unchanged after an in-place rewrite");
    // The old tag no longer validates.
    assert_eq!(
        server.get("/past.txt", &[("If-None-Match", &tag1)]).status,
        200
    );
    assert_eq!(server.get("/past.txt", &[("If-Match", &tag1)]).status, 412);
    // Replaced by rename (a deploy): same size and mtime, new tag again.
    let tmp = tree.path(b"past.txt.new");
    std::fs::write(&tmp, b"from The past\n").unwrap();
    set_mtime(&tmp, PAST_MTIME);
    std::fs::rename(&tmp, &path).unwrap();
    let tag3 = etag(&server.get("/past.txt", &[]));
    assert_ne!(tag3, tag2);
    assert_ne!(tag3, tag1);
}

#[test]
fn s34_etag_is_stable_across_restarts() {
    let tree = Tree::new();
    let (a, b, c) = {
        let server = tree.serve(&[]);
        (
            etag(&server.get("/past.txt", &[])),
            etag(&server.get("/big.bin", &[("Range", "bytes=0-0")])),
            etag(&server.get("/app.js", &[("Accept-Encoding", "br")])),
        )
    };
    std::thread::sleep(Duration::from_millis(20));
    let server = tree.serve(&[]);
    assert_eq!(etag(&server.get("/past.txt", &[])), a);
    assert_eq!(etag(&server.get("/big.bin", &[])), b);
    assert_eq!(
        etag(&server.get("/app.js", &[("Accept-Encoding", "br")])),
        c
    );
    // And the old tag still gives 304.
    assert_eq!(
        server.get("/past.txt", &[("If-None-Match", &a)]).status,
        304
    );
}

#[test]
fn s34_sidecar_etag_differs_from_identity() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let identity = etag(&server.get("/app.js", &[]));
    let br = etag(&server.get("/app.js", &[("Accept-Encoding", "br")]));
    let zst = etag(&server.get("/app.js", &[("Accept-Encoding", "zstd")]));
    let gz = etag(&server.get("/app.js", &[("Accept-Encoding", "gzip")]));
    for t in [&identity, &br, &zst, &gz] {
        assert_strong(t);
    }
    let all: std::collections::BTreeSet<&String> = [&identity, &br, &zst, &gz].into();
    assert_eq!(all.len(), 4, "{identity} {br} {zst} {gz}");
    // The identity tag doesn't validate the gzip representation.
    let r = server.get(
        "/app.js",
        &[("Accept-Encoding", "gzip"), ("If-None-Match", &identity)],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Encoding"), Some("gzip"));
}

#[test]
fn s34_same_file_through_a_link_has_the_same_etag() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let direct = etag(&server.get("/hello.txt", &[]));
    let linked = etag(&server.get("/link-in-file", &[]));
    assert_eq!(direct, linked, "same file, same representation");
    assert_common(&server.get("/hello.txt", &[]));
}

#[test]
fn s34_etag_changes_on_back_to_back_rewrites() {
    let tree = Tree::new();
    let path = tree.path(b"past.txt");
    let server = tree.serve(&[]);
    let mut conn = Conn::new(&server);
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..20u8 {
        // Same size, same mtime, different bytes, as fast as a deploy script would.
        let content = format!("rewrite {:>5}\n", i);
        assert_eq!(content.len(), 14);
        std::fs::write(&path, &content).unwrap();
        set_mtime(&path, PAST_MTIME);
        let r = conn.get("/past.txt", &[]);
        assert_eq!(r.body, content.as_bytes());
        assert!(seen.insert(etag(&r)), "ETag repeated after rewrite {i}");
    }
}
