//! Spec §9, conditional requests (statements 35–38), in RFC 9110 §13.2.2 order.

mod common;

use std::process::Command;

use common::fixture::{head_field, http_date, raw_head, Conn, Tree, PAST_DATE, PAST_MTIME};
use common::{request_bytes, Response, Server};

const BODY: &[u8] = b"from the past\n";

fn etag(server: &Server, path: &str) -> String {
    server
        .get(path, &[])
        .header("ETag")
        .expect("ETag")
        .to_string()
}

fn status(server: &Server, path: &str, headers: &[(&str, &str)]) -> u16 {
    let r = server.get(path, headers);
    match r.status {
        200 => assert!(!r.body.is_empty() || path.contains("empty"), "{r:?}"),
        304 => assert!(r.body.is_empty()),
        _ => {}
    }
    r.status
}

fn assert_412(r: &Response, what: &str) {
    assert_eq!(r.status, 412, "{what}: {r:?}");
    assert_ne!(r.body, BODY, "{what}");
    assert!(r.body.len() < 100, "{what}");
}

// 35 ------------------------------------------------------------------------------------------

#[test]
fn s35_if_match_strong_compare() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let tag = etag(&server, "/past.txt");
    let weak = format!("W/{tag}");
    let listed = format!("\"nope\", {tag}");
    for (value, expect) in [
        (tag.as_str(), 200),
        ("*", 200),
        (listed.as_str(), 200),
        ("\"nope\"", 412),
        ("\"nope\", \"other\"", 412),
        (weak.as_str(), 412),
    ] {
        let r = server.get("/past.txt", &[("If-Match", value)]);
        if expect == 412 {
            assert_412(&r, value);
        } else {
            assert_eq!(r.status, 200, "If-Match {value}: {r:?}");
            assert_eq!(r.body, BODY);
        }
        let h = server.request("HEAD", "/past.txt", &[("If-Match", value)]);
        assert_eq!(h.status, expect, "HEAD If-Match {value}");
    }
}

#[test]
fn s35_if_match_on_a_missing_file_is_404() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    // Preconditions only apply where the answer would be 2xx (RFC 9110 §13.2.1).
    assert_eq!(status(&server, "/missing", &[("If-Match", "*")]), 404);
    assert_eq!(status(&server, "/missing", &[("If-Match", "\"x\"")]), 404);
}

#[test]
fn s35_if_unmodified_since_only_without_if_match() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let earlier = http_date(PAST_MTIME - 1);
    let later = http_date(PAST_MTIME + 1);
    assert_412(
        &server.get("/past.txt", &[("If-Unmodified-Since", &earlier)]),
        "IUS earlier",
    );
    assert_eq!(
        status(&server, "/past.txt", &[("If-Unmodified-Since", PAST_DATE)]),
        200
    );
    assert_eq!(
        status(&server, "/past.txt", &[("If-Unmodified-Since", &later)]),
        200
    );
    for garbage in [
        "yesterday",
        "",
        "Sun, 99 Foo 2020 12:26:40 GMT",
        "1600000000",
    ] {
        assert_eq!(
            status(&server, "/past.txt", &[("If-Unmodified-Since", garbage)]),
            200,
            "IUS {garbage:?}"
        );
    }
    // With If-Match present, If-Unmodified-Since is not evaluated at all.
    let tag = etag(&server, "/past.txt");
    assert_eq!(
        status(
            &server,
            "/past.txt",
            &[("If-Match", &tag), ("If-Unmodified-Since", &earlier)]
        ),
        200
    );
    assert_412(
        &server.get(
            "/past.txt",
            &[("If-Match", "\"nope\""), ("If-Unmodified-Since", &later)],
        ),
        "If-Match fails, IUS would pass",
    );
}

#[test]
fn s35_if_match_is_checked_before_range() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.get(
        "/past.txt",
        &[("If-Match", "\"nope\""), ("Range", "bytes=0-1")],
    );
    assert_412(&r, "If-Match + Range");
    let r = server.get(
        "/past.txt",
        &[("If-Match", "\"nope\""), ("Range", "bytes=999-")],
    );
    assert_412(&r, "If-Match + unsatisfiable Range");
}

// 36 ------------------------------------------------------------------------------------------

#[test]
fn s36_if_none_match_weak_compare_gives_304() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let tag = etag(&server, "/past.txt");
    let weak = format!("W/{tag}");
    let listed = format!("\"a\", {tag}, \"b\"");
    let squeezed = format!("\"a\",{tag}");
    for value in [
        tag.as_str(),
        weak.as_str(),
        listed.as_str(),
        squeezed.as_str(),
        "*",
    ] {
        assert_eq!(
            status(&server, "/past.txt", &[("If-None-Match", value)]),
            304,
            "INM {value}"
        );
        let h = server.request("HEAD", "/past.txt", &[("If-None-Match", value)]);
        assert_eq!(h.status, 304, "HEAD INM {value}");
    }
    for value in ["\"nope\"", "W/\"nope\"", "\"a\", \"b\""] {
        assert_eq!(
            status(&server, "/past.txt", &[("If-None-Match", value)]),
            200,
            "INM {value}"
        );
    }
    // `*` on a missing file: nothing to match; 404.
    assert_eq!(status(&server, "/missing", &[("If-None-Match", "*")]), 404);
}

#[test]
fn s36_if_modified_since_to_the_second() {
    let tree = Tree::new();
    // An mtime with a fraction: Last-Modified truncates it, and IMS equal to it is a match.
    let path = tree.path(b"frac.txt");
    std::fs::write(&path, b"fractional\n").unwrap();
    let ok = Command::new("touch")
        .args(["-m", "-d", &format!("@{PAST_MTIME}.75")])
        .arg(&path)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let server = tree.serve(&[]);
    let r = server.get("/frac.txt", &[]);
    assert_eq!(r.header("Last-Modified"), Some(PAST_DATE));
    assert_eq!(
        status(&server, "/frac.txt", &[("If-Modified-Since", PAST_DATE)]),
        304
    );
    assert_eq!(
        status(&server, "/past.txt", &[("If-Modified-Since", PAST_DATE)]),
        304
    );
    let later = http_date(PAST_MTIME + 86400);
    assert_eq!(
        status(&server, "/past.txt", &[("If-Modified-Since", &later)]),
        304
    );
    let earlier = http_date(PAST_MTIME - 1);
    assert_eq!(
        status(&server, "/past.txt", &[("If-Modified-Since", &earlier)]),
        200
    );
    assert_eq!(
        status(&server, "/frac.txt", &[("If-Modified-Since", &earlier)]),
        200
    );
}

#[test]
fn s36_if_modified_since_accepts_all_three_date_formats() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    // RFC 9110 §5.6.7: recipients MUST accept IMF-fixdate, RFC 850 and asctime.
    for date in [
        "Sun, 13 Sep 2020 12:26:40 GMT",
        "Sunday, 13-Sep-20 12:26:40 GMT",
        "Sun Sep 13 12:26:40 2020",
    ] {
        assert_eq!(
            status(&server, "/past.txt", &[("If-Modified-Since", date)]),
            304,
            "IMS {date}"
        );
    }
}

#[test]
fn s36_unparseable_if_modified_since_is_ignored() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for garbage in [
        "yesterday",
        "",
        "Sun, 13 Sep 2020 12:26:40",
        "Sun, 13 Sep 2020 25:26:40 GMT",
        "-1",
        "Sun, 13 Sep 20200 12:26:40 GMT",
    ] {
        assert_eq!(
            status(&server, "/past.txt", &[("If-Modified-Since", garbage)]),
            200,
            "IMS {garbage:?}"
        );
    }
}

#[test]
fn s36_if_modified_since_only_without_if_none_match() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    // INM doesn't match; IMS would: 200 (IMS is not evaluated).
    assert_eq!(
        status(
            &server,
            "/past.txt",
            &[
                ("If-None-Match", "\"nope\""),
                ("If-Modified-Since", PAST_DATE)
            ]
        ),
        200
    );
    // INM matches, IMS wouldn't: 304.
    let tag = etag(&server, "/past.txt");
    let earlier = http_date(PAST_MTIME - 100);
    assert_eq!(
        status(
            &server,
            "/past.txt",
            &[("If-None-Match", &tag), ("If-Modified-Since", &earlier)]
        ),
        304
    );
}

#[test]
fn s36_if_none_match_wins_over_range() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let tag = etag(&server, "/past.txt");
    let r = server.get(
        "/past.txt",
        &[("If-None-Match", &tag), ("Range", "bytes=0-1")],
    );
    assert_eq!(r.status, 304, "{r:?}");
    let r = server.get(
        "/past.txt",
        &[("If-Modified-Since", PAST_DATE), ("Range", "bytes=999-")],
    );
    assert_eq!(r.status, 304, "{r:?}");
}

// 37 ------------------------------------------------------------------------------------------

/// The raw head of a 304, checked field by field; the bytes after it must be nothing.
fn check_304(head: &str, rest: &[u8], what: &str) {
    assert!(head.starts_with("HTTP/1.1 304"), "{what}: {head}");
    assert!(
        rest.is_empty(),
        "{what}: a 304 with {} body bytes",
        rest.len()
    );
    let lower = head.to_ascii_lowercase();
    assert!(!lower.contains("\r\ncontent-type:"), "{what}: {head}");
    assert!(
        !lower.contains("\r\ncontent-length: 0\r\n"),
        "{what}: Content-Length: 0 on a 304: {head}"
    );
    assert!(!lower.contains("\r\ntransfer-encoding:"), "{what}: {head}");
    assert!(
        head_field(head, "Date").is_some(),
        "{what}: no Date: {head}"
    );
    assert!(head_field(head, "Server").is_none(), "{what}: {head}");
}

#[test]
fn s37_304_for_an_html_file_has_exactly_the_right_fields() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let tag = etag(&server, "/page.html");
    for (k, v) in [
        ("If-None-Match", tag.as_str()),
        ("If-Modified-Since", PAST_DATE),
    ] {
        let req = request_bytes("GET", b"/page.html", &[(k, v), ("Connection", "close")]);
        let (head, rest) = raw_head(&server, &req);
        check_304(&head, &rest, k);
        assert_eq!(head_field(&head, "ETag"), Some(tag.as_str()), "{head}");
        assert_eq!(
            head_field(&head, "Last-Modified"),
            Some(PAST_DATE),
            "{head}"
        );
        assert_eq!(
            head_field(&head, "Cache-Control"),
            Some("no-cache"),
            "{head}"
        );
        assert_eq!(head_field(&head, "Vary"), Some("Accept-Encoding"), "{head}");
    }
}

#[test]
fn s37_304_for_other_files_sidecars_and_listings() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    // A plain file: ETag, Last-Modified, Vary; no Cache-Control (none on the 200 either).
    let tag = etag(&server, "/past.txt");
    let (head, rest) = raw_head(
        &server,
        &request_bytes(
            "GET",
            b"/past.txt",
            &[("If-None-Match", &tag), ("Connection", "close")],
        ),
    );
    check_304(&head, &rest, "past.txt");
    assert_eq!(head_field(&head, "ETag"), Some(tag.as_str()));
    assert_eq!(head_field(&head, "Last-Modified"), Some(PAST_DATE));
    assert_eq!(head_field(&head, "Vary"), Some("Accept-Encoding"));
    // The mtime-1 file: a 304 by ETag without Last-Modified.
    let tag = etag(&server, "/epoch.txt");
    let (head, rest) = raw_head(
        &server,
        &request_bytes(
            "GET",
            b"/epoch.txt",
            &[("If-None-Match", &tag), ("Connection", "close")],
        ),
    );
    check_304(&head, &rest, "epoch.txt");
    assert!(head_field(&head, "Last-Modified").is_none(), "{head}");
    // A sidecar: its own ETag.
    let gz = server.get("/app.js", &[("Accept-Encoding", "gzip")]);
    let gz_tag = gz.header("ETag").unwrap();
    let (head, rest) = raw_head(
        &server,
        &request_bytes(
            "GET",
            b"/app.js",
            &[
                ("Accept-Encoding", "gzip"),
                ("If-None-Match", gz_tag),
                ("Connection", "close"),
            ],
        ),
    );
    check_304(&head, &rest, "sidecar");
    assert_eq!(head_field(&head, "ETag"), Some(gz_tag));
    assert_eq!(head_field(&head, "Vary"), Some("Accept-Encoding"));
    // A listing.
    let (head, rest) = raw_head(
        &server,
        &request_bytes(
            "GET",
            b"/list/",
            &[("If-Modified-Since", PAST_DATE), ("Connection", "close")],
        ),
    );
    check_304(&head, &rest, "listing");
    assert_eq!(head_field(&head, "Last-Modified"), Some(PAST_DATE));
    assert_eq!(head_field(&head, "Cache-Control"), Some("no-cache"));
    assert_eq!(head_field(&head, "Vary"), Some("Accept"));
}

#[test]
fn s37_304_on_keep_alive_leaves_the_connection_in_sync() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let tag = etag(&server, "/past.txt");
    let mut c = Conn::new(&server);
    for _ in 0..3 {
        let r = c.get("/past.txt", &[("If-None-Match", &tag)]);
        assert_eq!(r.status, 304);
        let r = c.get("/past.txt", &[]);
        assert_eq!(r.status, 200);
        assert_eq!(r.body, BODY);
    }
}

// 38 ------------------------------------------------------------------------------------------

#[test]
fn s38_if_range_with_our_strong_etag_or_date_honours_the_range() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let tag = etag(&server, "/past.txt");
    for value in [tag.as_str(), PAST_DATE] {
        let r = server.get("/past.txt", &[("Range", "bytes=0-3"), ("If-Range", value)]);
        assert_eq!(r.status, 206, "If-Range {value}: {r:?}");
        assert_eq!(r.body, b"from");
        assert_eq!(r.header("Content-Range"), Some("bytes 0-3/14"));
    }
}

#[test]
fn s38_if_range_anything_else_sends_the_whole_file() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let tag = etag(&server, "/past.txt");
    let weak = format!("W/{tag}");
    let later = http_date(PAST_MTIME + 1);
    let earlier = http_date(PAST_MTIME - 1);
    for value in [
        "\"nope\"",
        weak.as_str(),
        later.as_str(),
        earlier.as_str(),
        "garbage",
        "Sunday, 13-Sep-20 12:26:41 GMT",
    ] {
        let r = server.get("/past.txt", &[("Range", "bytes=0-3"), ("If-Range", value)]);
        assert_eq!(r.status, 200, "If-Range {value}: {r:?}");
        assert_eq!(r.body, BODY);
        assert!(!r.has("Content-Range"));
    }
    // An unsatisfiable range with a failing If-Range: the whole file, not 416.
    let r = server.get(
        "/past.txt",
        &[("Range", "bytes=500-"), ("If-Range", "\"nope\"")],
    );
    assert_eq!(r.status, 200, "{r:?}");
    // A sidecar's If-Range compares against the sidecar's ETag.
    let gz_tag = server
        .get("/app.js", &[("Accept-Encoding", "gzip")])
        .header("ETag")
        .unwrap()
        .to_string();
    let identity = etag(&server, "/app.js");
    let r = server.get(
        "/app.js",
        &[
            ("Accept-Encoding", "gzip"),
            ("Range", "bytes=0-1"),
            ("If-Range", &gz_tag),
        ],
    );
    assert_eq!(r.status, 206, "{r:?}");
    let r = server.get(
        "/app.js",
        &[
            ("Accept-Encoding", "gzip"),
            ("Range", "bytes=0-1"),
            ("If-Range", &identity),
        ],
    );
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn s38_if_range_without_range_is_ignored() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.get("/past.txt", &[("If-Range", "\"nope\"")]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, BODY);
}
