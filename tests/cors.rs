//! CORS: which other sites' scripts may read responses, and preflights
//! (docs/behaviour.md, "CORS").

mod common;

use common::{write, Server, TempDir};

fn site() -> TempDir {
    let dir = TempDir::new("cors");
    write(dir.path(), b"data.json", b"{\"a\":1}\n");
    dir
}

const APP: &str = "https://app.example.com";

#[test]
fn listed_origins_may_read_and_responses_vary_on_origin() {
    let dir = site();
    let server = Server::start(
        dir.path(),
        &[
            "--cors-origin",
            APP,
            "--cors-origin",
            "http://localhost:3000",
        ],
    );
    let r = server.get("/data.json", &[("Origin", APP)]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Access-Control-Allow-Origin"), Some(APP));
    assert_eq!(r.header("Vary"), Some("Accept-Encoding, Origin"));
    assert!(r
        .header("Access-Control-Expose-Headers")
        .unwrap()
        .contains("Content-Range"));
    // Errors too: a script may see its 404.
    let missing = server.get("/nope.json", &[("Origin", APP)]);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("Access-Control-Allow-Origin"), Some(APP));
    assert_eq!(missing.header("Vary"), Some("Accept, Origin"));
    // Another origin, or none: no grant, but the same Vary, so no cache mixes them up.
    for origin in [&[("Origin", "https://evil.example")][..], &[]] {
        let r = server.get("/data.json", origin);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("Access-Control-Allow-Origin"), None);
        assert_eq!(r.header("Vary"), Some("Accept-Encoding, Origin"));
    }
}

#[test]
fn preflights_grant_reading_only() {
    let dir = site();
    let server = Server::start(dir.path(), &["--cors-origin", APP]);
    let preflight = |method: &str, headers: Option<&str>, origin: &str| {
        let mut h = vec![
            ("Origin", origin),
            ("Access-Control-Request-Method", method),
        ];
        if let Some(headers) = headers {
            h.push(("Access-Control-Request-Headers", headers));
        }
        server.request("OPTIONS", "/data.json", &h)
    };
    let r = preflight("GET", Some("range, if-none-match"), APP);
    assert_eq!(r.status, 204);
    assert_eq!(r.header("Access-Control-Allow-Origin"), Some(APP));
    assert_eq!(r.header("Access-Control-Allow-Methods"), Some("GET, HEAD"));
    assert_eq!(
        r.header("Access-Control-Allow-Headers"),
        Some("range, if-none-match")
    );
    assert_eq!(r.header("Access-Control-Max-Age"), Some("7200"));
    assert_eq!(r.header("Vary"), Some("Origin"));
    // Writing, credentials, another origin: a plain OPTIONS answer, which the browser takes
    // as a refusal.
    for (method, headers, origin) in [
        ("PUT", None, APP),
        ("GET", Some("authorization"), APP),
        ("GET", None, "https://evil.example"),
    ] {
        let r = preflight(method, headers, origin);
        assert_eq!(r.status, 204);
        assert_eq!(r.header("Allow"), Some("GET, HEAD, OPTIONS"));
        for h in [
            "Access-Control-Allow-Origin",
            "Access-Control-Allow-Methods",
        ] {
            assert_eq!(r.header(h), None, "{method} {headers:?} {origin}");
        }
    }
}

#[test]
fn any_origin_and_none() {
    let dir = site();
    let server = Server::start(dir.path(), &[]);
    let r = server.get("/data.json", &[("Origin", APP)]);
    assert_eq!(r.header("Access-Control-Allow-Origin"), None);
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    let pre = server.request(
        "OPTIONS",
        "/data.json",
        &[("Origin", APP), ("Access-Control-Request-Method", "GET")],
    );
    assert_eq!(pre.header("Access-Control-Allow-Origin"), None);
    // `*`: the same answer for everyone, so nothing varies on Origin.
    let server = Server::start_with(dir.path(), &[], &[("HTTP_FILESERVER_CORS_ORIGINS", "*")]);
    let r = server.get("/data.json", &[("Origin", APP)]);
    assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    let pre = server.request(
        "OPTIONS",
        "/data.json",
        &[("Origin", APP), ("Access-Control-Request-Method", "HEAD")],
    );
    assert_eq!(pre.header("Access-Control-Allow-Origin"), Some("*"));
}

#[test]
fn bad_origins_are_one_line() {
    let dir = site();
    for args in [
        &["--cors-origin", "https://app.example.com/"][..],
        &["--cors-origin", "app.example.com"],
        &[
            "--cors-origin",
            "*",
            "--header",
            "Access-Control-Allow-Origin: *",
        ],
    ] {
        let out = std::process::Command::new(common::bin())
            .args(args)
            .arg(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    }
}
