//! The protocol rules owned here (docs/behaviour.md, "Request heads" and "From target to
//! path"): `Host`, absolute-form targets and `OPTIONS *`, no `Server` and always `Date`. The
//! rest of the protocol layer is in tests/hardening*.rs.

mod common;

use common::fixture::{self, head_field, raw_head, Tree, HELLO, SUB_INDEX};
use common::{request_bytes, Response};

/// `Date` is an IMF-fixdate within a few seconds of now.
fn assert_date_now(date: &str, what: &str) {
    let now = fixture::now_secs();
    let ok = (now.saturating_sub(5)..=now + 5).any(|t| fixture::http_date(t) == date);
    assert!(ok, "{what}: Date {date:?} is not an IMF-fixdate near now");
}

fn assert_date_no_server(r: &Response, what: &str) {
    let date = r
        .header("Date")
        .unwrap_or_else(|| panic!("{what}: no Date: {r:?}"));
    assert_date_now(date, what);
    assert!(!r.has("Server"), "{what}: Server header: {r:?}");
}

// 8 -------------------------------------------------------------------------------------------

#[test]
fn s8_http11_without_host_is_400() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for req in [
        &b"GET /hello.txt HTTP/1.1\r\n\r\n"[..],
        b"GET /hello.txt HTTP/1.1\r\nAccept: */*\r\n\r\n",
        b"HEAD /hello.txt HTTP/1.1\r\n\r\n",
        b"GET http://test/hello.txt HTTP/1.1\r\n\r\n",
    ] {
        let r = server.raw(req);
        assert_eq!(r.status, 400, "{:?}: {r:?}", String::from_utf8_lossy(req));
        assert_ne!(r.body, HELLO);
        assert_date_no_server(&r, "no Host");
    }
}

#[test]
fn s8_http10_without_host_is_served() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.raw(b"GET /hello.txt HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, HELLO);
    let r = server.raw(b"GET /sub/ HTTP/1.0\r\nUser-Agent: old\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, SUB_INDEX);
}

#[test]
fn s8_http11_with_host_is_served() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.raw(b"GET /hello.txt HTTP/1.1\r\nHost: example.com:8080\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, HELLO);
    // Header names are case-insensitive.
    let r = server.raw(b"GET /hello.txt HTTP/1.1\r\nhOsT: x\r\n\r\n");
    assert_eq!(r.status, 200);
}

// 11 ------------------------------------------------------------------------------------------

#[test]
fn s11_absolute_form_is_served_as_its_path() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for (target, body) in [
        ("http://test/hello.txt", HELLO),
        ("http://other.example:8080/hello.txt?x=1", HELLO),
        ("HTTP://TEST/hello.txt", HELLO),
        ("https://test/sub/other.txt", &b"other\n"[..]),
        ("http://test/sub/", SUB_INDEX),
        (
            "http://test/with%20space.txt",
            &fixture::hostile_content(0)[..],
        ),
    ] {
        let r = server.raw(format!("GET {target} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes());
        assert_eq!(r.status, 200, "{target}: {r:?}");
        assert_eq!(r.body, body, "{target}");
    }
    // No path at all is the root.
    let r = server.raw(b"GET http://test HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.text().contains("hello.txt"));
    // The authority is never a path: `..` can't escape through it either.
    let r = server.raw(b"GET http://test/../outside/secret.txt HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!(r.status, 404);
    let r = server.raw(b"GET http://hello.txt HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_ne!(r.body, HELLO, "the authority was taken as a path");
    // HEAD and policy apply the same way.
    let r = server.raw(b"HEAD http://test/big.bin HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!(
        r.header("Content-Length"),
        Some(fixture::BIG_LEN.to_string().as_str())
    );
    let r = server.raw(b"GET http://test/.env HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!(r.status, 404);
}

#[test]
fn s11_options_star_is_204_with_allow() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let (head, rest) = raw_head(
        &server,
        b"OPTIONS * HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 204"), "{head}");
    assert_eq!(head_field(&head, "Allow"), Some("GET, HEAD, OPTIONS"));
    assert!(rest.is_empty(), "204 with a body: {rest:?}");
    assert!(head_field(&head, "Server").is_none(), "{head}");
    assert_date_now(head_field(&head, "Date").expect("Date"), "OPTIONS *");
    // HTTP/1.0 too.
    let r = server.raw(b"OPTIONS * HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 204);
}

#[test]
fn s11_asterisk_is_only_for_options() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.raw(b"GET * HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!(r.status, 400, "{r:?}");
    let r = server.raw(b"HEAD * HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!(r.status, 400, "{r:?}");
}

// 13 ------------------------------------------------------------------------------------------

#[test]
fn s13_no_server_header_and_always_a_date() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let etag = server
        .get("/hello.txt", &[])
        .header("ETag")
        .unwrap()
        .to_string();
    let mut cases: Vec<(String, Vec<u8>)> = vec![];
    let mut add = |what: &str, req: Vec<u8>| cases.push((what.to_string(), req));
    add("200", request_bytes("GET", b"/hello.txt", &[]));
    add("200 big", request_bytes("GET", b"/big.bin", &[]));
    add("200 listing", request_bytes("GET", b"/", &[]));
    add(
        "200 json",
        request_bytes("GET", b"/list/", &[("Accept", "application/json")]),
    );
    add(
        "206",
        request_bytes("GET", b"/hello.txt", &[("Range", "bytes=0-1")]),
    );
    add(
        "206 multipart",
        request_bytes("GET", b"/hello.txt", &[("Range", "bytes=0-1,3-4")]),
    );
    add(
        "304",
        request_bytes("GET", b"/hello.txt", &[("If-None-Match", &etag)]),
    );
    add("301", request_bytes("GET", b"/sub", &[]));
    add("400 target", request_bytes("GET", b"/%zz", &[]));
    add("404", request_bytes("GET", b"/missing", &[]));
    add("405", request_bytes("DELETE", b"/hello.txt", &[]));
    add(
        "412",
        request_bytes("GET", b"/hello.txt", &[("If-Match", "\"x\"")]),
    );
    add(
        "416",
        request_bytes("GET", b"/hello.txt", &[("Range", "bytes=99-")]),
    );
    add("204", request_bytes("OPTIONS", b"/hello.txt", &[]));
    add("HEAD", request_bytes("HEAD", b"/big.bin", &[]));
    add("400 no Host", b"GET / HTTP/1.1\r\n\r\n".to_vec());
    add("400 garbage", b"\x01\x02garbage\r\n\r\n".to_vec());
    add("505", b"GET / HTTP/2.0\r\nHost: t\r\n\r\n".to_vec());
    add("HTTP/1.0", b"GET /hello.txt HTTP/1.0\r\n\r\n".to_vec());
    for (what, req) in &cases {
        let r = server.raw(req);
        assert_date_no_server(&r, what);
    }
    // Also with a configured header list (the list replaces nothing it shouldn't).
    let server = tree.serve(&["--header", "X-Extra: 1"]);
    let r = server.get("/missing", &[]);
    assert_date_no_server(&r, "404 with --header");
}

#[test]
fn s13_every_response_on_a_keep_alive_connection_has_a_date() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let mut c = fixture::Conn::new(&server);
    for path in ["/hello.txt", "/missing", "/sub", "/", "/big.bin"] {
        let r = c.get(path, &[]);
        assert_date_no_server(&r, path);
    }
}
