//! Methods (docs/behaviour.md, "Methods").

mod common;

use common::fixture::{assert_common, head_field, raw_head, Conn, Tree, HELLO, PAST_DATE};
use common::{request_bytes, Response};

const ALLOW: &str = "GET, HEAD, OPTIONS";

fn assert_405(r: &Response, what: &str) {
    assert_eq!(r.status, 405, "{what}: {r:?}");
    assert_eq!(r.header("Allow"), Some(ALLOW), "{what}");
    assert!(
        !r.body.is_empty() && r.body.len() < 100,
        "{what}: {:?}",
        r.text()
    );
    assert!(r.header("Content-Type").unwrap().starts_with("text/plain"));
    assert_common(r);
}

// 28 ------------------------------------------------------------------------------------------

#[test]
fn s28_get_and_head_serve() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.get("/hello.txt", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, HELLO);
    let r = server.request("HEAD", "/hello.txt", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("Content-Length"),
        Some(HELLO.len().to_string().as_str())
    );
}

#[test]
fn s28_options_on_a_path_is_204_with_allow() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for path in ["/hello.txt", "/", "/sub/", "/big.bin"] {
        let (head, rest) = raw_head(
            &server,
            &request_bytes("OPTIONS", path.as_bytes(), &[("Connection", "close")]),
        );
        assert!(head.starts_with("HTTP/1.1 204"), "{path}: {head}");
        let allow =
            head_field(&head, "Allow").unwrap_or_else(|| panic!("{path}: no Allow in {head}"));
        assert_eq!(allow, ALLOW);
        assert!(rest.is_empty(), "{path}: a 204 with a body {rest:?}");
        // RFC 9110 §8.6: no Content-Length (other than 0) in a 204; no chunking either.
        let cl = head.lines().find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
        });
        assert!(cl.is_none() || cl.as_deref() == Some("0"), "{path}: {head}");
        assert!(
            !head.to_ascii_lowercase().contains("transfer-encoding"),
            "{head}"
        );
    }
}

#[test]
fn s28_other_methods_are_405_with_allow() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for method in [
        "POST", "PUT", "DELETE", "PATCH", "TRACE", "PROPFIND", "MKCOL", "FOO", "get",
    ] {
        let r = server.request(method, "/hello.txt", &[]);
        assert_405(&r, method);
        assert_ne!(r.body, HELLO, "{method}");
    }
    // With a request body.
    let r = server.raw(
        b"POST /hello.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
    );
    assert_405(&r, "POST with a body");
    let r = server.raw(
        b"PUT /new.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    assert_405(&r, "chunked PUT");
    assert!(!tree.path(b"new.txt").exists(), "PUT created a file");
}

#[test]
fn s28_405_is_decided_before_the_file_system_and_preconditions() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for path in [
        "/missing",
        "/%zz",
        "/%00",
        "/.env",
        "/link-out-file",
        "/sub",
        "/hello.txt/",
        "/sub/index.html",
        "/unreadable.txt",
        "/fifo",
        "*",
    ] {
        let r = server.request("DELETE", path, &[]);
        assert_405(&r, path);
    }
    for (k, v) in [
        ("If-Match", "\"nope\""),
        ("If-None-Match", "*"),
        ("If-Unmodified-Since", "Thu, 01 Jan 1970 00:00:00 GMT"),
        ("If-Modified-Since", PAST_DATE),
        ("Range", "bytes=999-"),
    ] {
        let r = server.request("POST", "/past.txt", &[(k, v)]);
        assert_405(&r, k);
    }
}

#[test]
fn s28_405_keeps_a_keep_alive_connection_usable() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let mut c = Conn::new(&server);
    c.send(b"POST /hello.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
    assert_405(&c.read(false), "first");
    // If the server keeps the connection, the next answer must be framed right.
    c.send(&request_bytes("GET", b"/hello.txt", &[]));
    match common::read_response(&mut c.reader, false) {
        Ok(r) => {
            assert_eq!(r.status, 200, "{r:?}");
            assert_eq!(r.body, HELLO);
        }
        Err(e) => eprintln!("note: the server closed after the 405 ({e})"),
    }
}

// 29 ------------------------------------------------------------------------------------------

/// GET and HEAD of the same request: same status, same headers but `Date`.
fn assert_head_matches_get(server: &common::Server, path: &str, headers: &[(&str, &str)]) {
    let get = server.get(path, headers);
    let mut with_close = headers.to_vec();
    with_close.push(("Connection", "close"));
    let (head, rest) = raw_head(server, &request_bytes("HEAD", path.as_bytes(), &with_close));
    assert!(
        rest.is_empty(),
        "HEAD {path} sent a body: {} bytes",
        rest.len()
    );
    let head_resp = common::read_response(&mut head.as_bytes(), true).unwrap();
    assert_eq!(head_resp.status, get.status, "{path} {headers:?}");
    let norm = |r: &Response| {
        let mut h: Vec<(String, String)> = r
            .headers
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("date"))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        h.sort();
        h
    };
    let mut get_headers = norm(&get);
    let mut head_headers = norm(&head_resp);
    // A multipart boundary is per process, so equal here too; nothing to strip.
    get_headers.retain(|(k, _)| k != "connection");
    head_headers.retain(|(k, _)| k != "connection");
    assert_eq!(head_headers, get_headers, "HEAD {path} {headers:?}");
}

#[test]
fn s29_head_equals_get_without_the_body_for_every_status() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let etag = server
        .get("/past.txt", &[])
        .header("ETag")
        .unwrap()
        .to_string();
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("/hello.txt", vec![]),
        ("/empty.txt", vec![]),
        ("/big.bin", vec![]),
        ("/page.html", vec![]),
        ("/blob", vec![]),
        ("/epoch.txt", vec![]),
        ("/sub/", vec![]),
        ("/list/", vec![]),
        ("/list/", vec![("Accept", "application/json")]),
        ("/", vec![]),
        ("/app.js", vec![("Accept-Encoding", "br")]),
        (
            "/app.js",
            vec![("Accept-Encoding", "gzip"), ("Range", "bytes=1-3")],
        ),
        ("/past.txt", vec![("Range", "bytes=2-5")]),
        ("/big.bin", vec![("Range", "bytes=0-99,1000-1099,-100")]),
        ("/past.txt", vec![("Range", "bytes=100-")]),
        ("/past.txt", vec![("If-None-Match", &etag)]),
        ("/past.txt", vec![("If-Modified-Since", PAST_DATE)]),
        ("/past.txt", vec![("If-Match", "\"x\"")]),
        ("/list/", vec![("If-Modified-Since", PAST_DATE)]),
        ("/sub", vec![]),
        ("/hello.txt/", vec![]),
        ("/sub/index.html?x", vec![]),
        ("/missing", vec![]),
        ("/.env", vec![]),
        ("/%zz", vec![]),
        ("/%00", vec![]),
        ("/link-out-file", vec![]),
    ];
    for (path, headers) in &cases {
        assert_head_matches_get(&server, path, headers);
    }
}

#[test]
fn s29_head_of_a_big_file_has_its_exact_length_and_no_chunking() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let (head, rest) = raw_head(
        &server,
        &request_bytes("HEAD", b"/big.bin", &[("Connection", "close")]),
    );
    assert!(rest.is_empty());
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains(&format!(
            "\r\ncontent-length: {}\r\n",
            common::fixture::BIG_LEN
        )),
        "{head}"
    );
    assert!(!lower.contains("transfer-encoding"), "{head}");
}

#[test]
fn s29_head_on_keep_alive_is_framed_right() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let mut c = Conn::new(&server);
    for _ in 0..3 {
        let h = c.head("/big.bin", &[]);
        assert_eq!(h.status, 200);
        let h = c.head("/missing", &[]);
        assert_eq!(h.status, 404);
        let r = c.get("/hello.txt", &[]);
        assert_eq!(r.body, HELLO);
    }
}
