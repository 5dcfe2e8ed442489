//! Precompressed sidecars (docs/behaviour.md, "Precompressed sidecars").

mod common;

use common::fixture::{
    Tree, APP_JS, APP_JS_BR, APP_JS_GZ, APP_JS_ZST, ONLY_GZ, STYLE_CSS, STYLE_CSS_GZ,
};
use common::{Response, Server};

const JS: &str = "text/javascript; charset=utf-8";

fn get_ae(server: &Server, path: &str, ae: &str) -> Response {
    server.get(path, &[("Accept-Encoding", ae)])
}

/// The sidecar for `coding` (None = identity) was served, with all the right headers.
fn assert_coding(r: &Response, coding: Option<&str>, body: &[u8], ct: &str, what: &str) {
    assert_eq!(r.status, 200, "{what}: {r:?}");
    assert_eq!(r.header("Content-Encoding"), coding, "{what}");
    assert_eq!(r.body, body, "{what}");
    assert_eq!(
        r.header("Content-Length"),
        Some(body.len().to_string().as_str()),
        "{what}"
    );
    assert_eq!(r.header("Content-Type"), Some(ct), "{what}");
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"), "{what}");
}

#[test]
fn s43_each_coding_is_chosen_by_accept_encoding() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for (ae, coding, body) in [
        ("br", Some("br"), APP_JS_BR),
        ("zstd", Some("zstd"), APP_JS_ZST),
        ("gzip", Some("gzip"), APP_JS_GZ),
        ("GZIP", Some("gzip"), APP_JS_GZ),
        ("identity", None, APP_JS),
        ("deflate", None, APP_JS),
        ("", None, APP_JS),
    ] {
        assert_coding(&get_ae(&server, "/app.js", ae), coding, body, JS, ae);
    }
    assert_coding(
        &server.get("/app.js", &[]),
        None,
        APP_JS,
        JS,
        "no Accept-Encoding",
    );
}

#[test]
fn s43_preference_is_br_then_zstd_then_gzip_at_equal_q() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for (ae, coding, body) in [
        ("gzip, deflate, br, zstd", "br", APP_JS_BR),
        ("gzip, zstd, br", "br", APP_JS_BR),
        ("gzip, zstd", "zstd", APP_JS_ZST),
        ("zstd, gzip", "zstd", APP_JS_ZST),
        ("gzip;q=0.5, br;q=0.5", "br", APP_JS_BR),
        ("*", "br", APP_JS_BR),
    ] {
        assert_coding(&get_ae(&server, "/app.js", ae), Some(coding), body, JS, ae);
    }
}

#[test]
fn s43_q_values_rank_and_exclude() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for (ae, coding, body) in [
        ("br;q=0.5, gzip;q=1", Some("gzip"), APP_JS_GZ),
        ("br;q=0.1, zstd;q=0.2, gzip;q=0.3", Some("gzip"), APP_JS_GZ),
        ("br;q=0.9, zstd", Some("zstd"), APP_JS_ZST),
        ("br;q=0, gzip", Some("gzip"), APP_JS_GZ),
        ("br;q=0.0, zstd;q=0, gzip", Some("gzip"), APP_JS_GZ),
        ("br;q=0, zstd;q=0, gzip;q=0", None, APP_JS),
        ("*;q=0", None, APP_JS),
        ("*;q=0, gzip", Some("gzip"), APP_JS_GZ),
        ("br;q=0, *", Some("zstd"), APP_JS_ZST),
        ("gzip;Q=0.5", Some("gzip"), APP_JS_GZ),
        ("br ; q=0.001", Some("br"), APP_JS_BR),
    ] {
        assert_coding(&get_ae(&server, "/app.js", ae), coding, body, JS, ae);
    }
}

#[test]
fn s43_only_existing_sidecars_are_used() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let css = "text/css; charset=utf-8";
    for ae in ["br, zstd, gzip", "gzip", "*"] {
        assert_coding(
            &get_ae(&server, "/style.css", ae),
            Some("gzip"),
            STYLE_CSS_GZ,
            css,
            ae,
        );
    }
    for ae in ["br", "zstd", "br, zstd"] {
        assert_coding(&get_ae(&server, "/style.css", ae), None, STYLE_CSS, css, ae);
    }
    // No sidecar at all.
    let r = get_ae(&server, "/hello.txt", "br, zstd, gzip");
    assert_coding(
        &r,
        None,
        common::fixture::HELLO,
        "text/plain; charset=utf-8",
        "hello",
    );
}

#[test]
fn s43_no_sidecar_without_the_file() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for ae in ["gzip", "br, zstd, gzip", "*", ""] {
        let r = get_ae(&server, "/only.txt", ae);
        assert_eq!(r.status, 404, "{ae}: {r:?}");
        assert!(!r.has("Content-Encoding"));
        assert_ne!(r.body, ONLY_GZ);
    }
    // The sidecar itself is an ordinary file, served without Content-Encoding.
    let r = get_ae(&server, "/only.txt.gz", "gzip");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, ONLY_GZ);
    assert!(!r.has("Content-Encoding"), "{r:?}");
    let r = get_ae(&server, "/app.js.gz", "gzip");
    assert_eq!(r.body, APP_JS_GZ);
    assert!(!r.has("Content-Encoding"), "{r:?}");
}

#[test]
fn s43_sidecar_etag_is_distinct_and_validates_only_itself() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let identity = server
        .get("/app.js", &[])
        .header("ETag")
        .unwrap()
        .to_string();
    let br = get_ae(&server, "/app.js", "br")
        .header("ETag")
        .unwrap()
        .to_string();
    assert_ne!(identity, br);
    let r = server.get(
        "/app.js",
        &[("Accept-Encoding", "br"), ("If-None-Match", &br)],
    );
    assert_eq!(r.status, 304);
    assert_eq!(r.header("ETag"), Some(br.as_str()));
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    let r = server.get("/app.js", &[("If-None-Match", &br)]);
    assert_eq!(r.status, 200, "identity request validated by the br tag");
    assert_eq!(r.body, APP_JS);
}

#[test]
fn s43_ranges_apply_to_the_sidecar_bytes() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.get(
        "/app.js",
        &[("Accept-Encoding", "gzip"), ("Range", "bytes=2-5")],
    );
    assert_eq!(r.status, 206, "{r:?}");
    assert_eq!(r.body, &APP_JS_GZ[2..=5]);
    assert_eq!(
        r.header("Content-Range"),
        Some(format!("bytes 2-5/{}", APP_JS_GZ.len()).as_str())
    );
    assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    assert_eq!(r.header("Content-Type"), Some(JS));
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    // Unsatisfiable against the sidecar even if the identity file is longer.
    let v = format!("bytes={}-", APP_JS_GZ.len());
    assert!(APP_JS.len() > APP_JS_GZ.len());
    let r = server.get("/app.js", &[("Accept-Encoding", "gzip"), ("Range", &v)]);
    assert_eq!(r.status, 416, "{r:?}");
    assert_eq!(
        r.header("Content-Range"),
        Some(format!("bytes */{}", APP_JS_GZ.len()).as_str())
    );
    // Several ranges of the sidecar.
    let r = server.get(
        "/app.js",
        &[("Accept-Encoding", "br"), ("Range", "bytes=0-1,-2")],
    );
    assert_eq!(r.status, 206);
    let b = common::fixture::boundary_of(r.header("Content-Type").unwrap());
    let parts = common::fixture::parse_multipart(&r.body, &b);
    let n = APP_JS_BR.len();
    assert_eq!(parts[0].body, &APP_JS_BR[..2]);
    assert_eq!(parts[1].body, &APP_JS_BR[n - 2..]);
    assert_eq!(
        parts[1].content_range,
        format!("bytes {}-{}/{n}", n - 2, n - 1)
    );
    assert_eq!(parts[0].content_type, JS);
}

#[test]
fn s43_vary_accept_encoding_on_every_file_response() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let tag = server
        .get("/hello.txt", &[])
        .header("ETag")
        .unwrap()
        .to_string();
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("/hello.txt", vec![]),
        ("/big.bin", vec![]),
        ("/empty.txt", vec![]),
        ("/page.html", vec![]),
        ("/sub/", vec![]),
        ("/hello.txt", vec![("Range", "bytes=0-1")]),
        ("/hello.txt", vec![("Range", "bytes=0-1,3-4")]),
        ("/hello.txt", vec![("Range", "bytes=99-")]),
        ("/hello.txt", vec![("If-None-Match", &tag)]),
        ("/app.js", vec![("Accept-Encoding", "gzip")]),
    ];
    for (p, h) in &cases {
        let r = server.get(p, h);
        assert_eq!(
            r.header("Vary"),
            Some("Accept-Encoding"),
            "{p} {h:?}: {r:?}"
        );
        let r = server.request("HEAD", p, h);
        assert_eq!(r.header("Vary"), Some("Accept-Encoding"), "HEAD {p} {h:?}");
    }
}

#[test]
fn s43_index_files_get_sidecars_too() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = get_ae(&server, "/idx-gz/", "gzip");
    assert_coding(
        &r,
        Some("gzip"),
        b"\x1f\x8bindex-gz",
        "text/html; charset=utf-8",
        "index sidecar",
    );
    assert_eq!(r.header("Cache-Control"), Some("no-cache"));
    let r = server.get("/idx-gz/", &[]);
    assert_eq!(r.body, b"<p>plain index</p>\n");
}

#[test]
fn s43_sidecar_that_is_a_directory_or_dangling_is_skipped() {
    let tree = Tree::new();
    common::write(&tree.root, b"dirside.txt", b"identity\n");
    common::write(&tree.root, b"dirside.txt.br/x", b"not a sidecar");
    std::os::unix::fs::symlink("nowhere", tree.path(b"dirside.txt.zst")).unwrap();
    common::write(&tree.root, b"dirside.txt.gz", b"gz!");
    let server = tree.serve(&[]);
    let r = get_ae(&server, "/dirside.txt", "br, zstd, gzip");
    assert_coding(
        &r,
        Some("gzip"),
        b"gz!",
        "text/plain; charset=utf-8",
        "skip",
    );
}
