//! Serving a real site: cache rules by path that stay off errors, and gzip on the fly with its
//! in-memory cache (docs/behaviour.md, "Caching", "Compression on the fly").

mod common;

use std::io::Read;
use std::process::Command;
use std::thread;

use common::{bin, set_mtime, write, Response, Server, TempDir};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn gunzip(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut out)
        .expect("a gzip body");
    out
}

/// Text that compresses well: `n` bytes of numbered lines.
fn text(n: usize, seed: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 32);
    let mut i = 0;
    while out.len() < n {
        out.extend_from_slice(format!("{seed} line {i}: the quick brown fox\n").as_bytes());
        i += 1;
    }
    out.truncate(n);
    out
}

fn site() -> TempDir {
    let dir = TempDir::new("caching");
    let root = dir.path();
    write(root, b"index.html", b"<!doctype html><p>home</p>\n");
    write(root, b"assets/app.3f2a.js", &text(20_000, "js"));
    write(root, b"assets/nested/logo.svg", &text(4000, "svg"));
    write(root, b"data.json", &text(3000, "json"));
    write(root, b"small.txt", b"tiny\n");
    write(root, b"photo.png", &common::bytes(5000, 3));
    write(root, b"README.md", &text(20_000, "readme"));
    dir
}

#[test]
fn cache_rules_set_cache_control_on_successful_file_responses_only() {
    let dir = site();
    let server = Server::start(
        dir.path(),
        &[
            "--cache-control",
            &format!("/assets/*={IMMUTABLE}"),
            "--cache-control",
            "*.json=max-age=60",
        ],
    );
    let r = server.get("/assets/app.3f2a.js", &[]);
    assert_eq!(r.header("Cache-Control"), Some(IMMUTABLE));
    assert_eq!(
        server
            .get("/assets/nested/logo.svg", &[])
            .header("Cache-Control"),
        Some(IMMUTABLE)
    );
    let etag = r.header("ETag").unwrap().to_string();
    let r = server.get("/assets/app.3f2a.js", &[("If-None-Match", &etag)]);
    assert_eq!(
        (r.status, r.header("Cache-Control")),
        (304, Some(IMMUTABLE))
    );
    let r = server.get("/assets/app.3f2a.js", &[("Range", "bytes=0-9")]);
    assert_eq!(
        (r.status, r.header("Cache-Control")),
        (206, Some(IMMUTABLE))
    );
    assert_eq!(
        server.get("/data.json", &[]).header("Cache-Control"),
        Some("max-age=60")
    );
    // Errors under a matching rule carry none of it.
    let missing = server.get("/assets/missing.js", &[]);
    assert_eq!(
        (missing.status, missing.header("Cache-Control")),
        (404, None)
    );
    let beyond = server.get("/assets/app.3f2a.js", &[("Range", "bytes=99999999-")]);
    assert_eq!((beyond.status, beyond.header("Cache-Control")), (416, None));
    // A listing is not a file: it stays no-cache under a matching rule.
    assert_eq!(
        server.get("/assets/nested/", &[]).header("Cache-Control"),
        Some("no-cache")
    );
    // Without a match, the defaults: no-cache on HTML and listings, nothing otherwise.
    assert_eq!(
        server.get("/", &[]).header("Cache-Control"),
        Some("no-cache")
    );
    assert_eq!(server.get("/small.txt", &[]).header("Cache-Control"), None);
}

#[test]
fn cache_rules_come_from_the_environment_and_bad_ones_are_one_line() {
    let dir = site();
    let server = Server::start_with(
        dir.path(),
        &[],
        &[(
            "HTTP_FILESERVER_CACHE_CONTROL",
            "/assets/*=max-age=10\n\n*=no-store\n",
        )],
    );
    let cc = |p: &str| {
        server
            .get(p, &[])
            .header("Cache-Control")
            .map(str::to_string)
    };
    assert_eq!(cc("/assets/app.3f2a.js").as_deref(), Some("max-age=10"));
    assert_eq!(cc("/small.txt").as_deref(), Some("no-store"));
    for args in [
        &["--cache-control", "assets/*=max-age=1"][..],
        &["--cache-control", "/x"],
        &["--cache-control", "/x=\u{7}"],
        &[
            "--cache-control",
            "/*=max-age=1",
            "--header",
            "Cache-Control: max-age=2",
        ],
    ] {
        let out = Command::new(bin())
            .args(args)
            .arg(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

fn gzip_get(server: &Server, path: &str) -> Response {
    server.get(path, &[("Accept-Encoding", "gzip, deflate, br")])
}

#[test]
fn text_is_gzipped_on_the_fly_with_its_own_etag() {
    let dir = site();
    let server = Server::start(dir.path(), &[]);
    let plain = server.get("/assets/app.3f2a.js", &[]);
    let r = gzip_get(&server, "/assets/app.3f2a.js");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    assert_eq!(r.header("Content-Type"), plain.header("Content-Type"));
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    assert!(
        r.body.len() < plain.body.len() / 3,
        "{} bytes",
        r.body.len()
    );
    assert_eq!(gunzip(&r.body), plain.body);
    let (tag, plain_tag) = (r.header("ETag").unwrap(), plain.header("ETag").unwrap());
    assert_ne!(tag, plain_tag);
    assert!(tag.ends_with("-gzip\""), "{tag}");
    // HEAD says the same; conditionals know the coded tag.
    let head = server.request(
        "HEAD",
        "/assets/app.3f2a.js",
        &[("Accept-Encoding", "gzip")],
    );
    assert_eq!(head.header("Content-Length"), r.header("Content-Length"));
    assert_eq!(head.header("ETag"), Some(tag));
    let again = server.get(
        "/assets/app.3f2a.js",
        &[("Accept-Encoding", "gzip"), ("If-None-Match", tag)],
    );
    assert_eq!(again.status, 304);
    // A range is of the file itself.
    let r = server.get(
        "/assets/app.3f2a.js",
        &[("Accept-Encoding", "gzip"), ("Range", "bytes=0-99")],
    );
    assert_eq!(r.status, 206);
    assert_eq!(r.header("Content-Encoding"), None);
    assert_eq!(r.body, &plain.body[..100]);
    // Listings too, and JSON.
    let listing = gzip_get(&server, "/assets/");
    assert_eq!(listing.header("Content-Encoding"), Some("gzip"));
    assert_eq!(listing.header("Vary"), Some("Accept, Accept-Encoding"));
    assert_eq!(gunzip(&listing.body), server.get("/assets/", &[]).body);
    assert_eq!(
        gzip_get(&server, "/data.json").header("Content-Encoding"),
        Some("gzip")
    );
}

#[test]
fn what_is_not_worth_compressing_is_sent_as_it_is() {
    let dir = site();
    write(dir.path(), b"style.css", &text(5000, "css"));
    write(dir.path(), b"style.css.gz", b"\x1f\x8bPRECOMPRESSED");
    // Too large to keep compressed: sent as it is rather than compressed on every request.
    write(dir.path(), b"huge.log", &text(5 << 20, "log"));
    let server = Server::start(dir.path(), &[]);
    for path in ["/small.txt", "/photo.png", "/huge.log"] {
        let r = gzip_get(&server, path);
        assert_eq!(r.header("Content-Encoding"), None, "{path}");
    }
    // Not asked for, or refused.
    assert_eq!(
        server.get("/README.md", &[]).header("Content-Encoding"),
        None
    );
    let refused = server.get("/README.md", &[("Accept-Encoding", "gzip;q=0, br")]);
    assert_eq!(refused.header("Content-Encoding"), None);
    // A precompressed sidecar wins.
    assert_eq!(
        gzip_get(&server, "/style.css").body,
        b"\x1f\x8bPRECOMPRESSED"
    );
    // And it can be turned off.
    let server = Server::start(dir.path(), &["--compress", "off"]);
    assert_eq!(
        gzip_get(&server, "/README.md").header("Content-Encoding"),
        None
    );
    assert_eq!(gzip_get(&server, "/").header("Content-Encoding"), None);
}

#[test]
fn a_file_changed_on_disk_is_never_served_from_a_stale_entry() {
    let dir = site();
    let path = dir.path().join("README.md");
    let server = Server::start(dir.path(), &[]);
    let before = gunzip(&gzip_get(&server, "/README.md").body);
    assert_eq!(before, text(20_000, "readme"));
    // New content of the same size, and the old modification time put back.
    let mtime = std::fs::metadata(&path).unwrap();
    let secs = mtime
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    std::fs::write(&path, text(20_000, "change")).unwrap();
    set_mtime(&path, secs);
    let after = gunzip(&gzip_get(&server, "/README.md").body);
    assert_eq!(after, text(20_000, "change"));
    // And with the cache off, every request compresses afresh.
    let server = Server::start(dir.path(), &["--compression-cache", "0"]);
    assert_eq!(gunzip(&gzip_get(&server, "/README.md").body), after);
}

/// CPU time the server has used, in clock ticks.
fn cpu_ticks(server: &Server) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", server.pid())).unwrap();
    let rest = stat.rsplit_once(") ").unwrap().1;
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the comm.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn concurrent_requests_for_a_file_not_yet_cached_compress_it_once() {
    let dir = site();
    // Two files of the same size: one compressed alone to learn the cost, one by 8 at once.
    write(dir.path(), b"one.txt", &text(1 << 20, "one"));
    write(dir.path(), b"eight.txt", &text(1 << 20, "eight"));
    let server = Server::start(dir.path(), &["--no-access-log"]);
    let before = cpu_ticks(&server);
    assert_eq!(gzip_get(&server, "/one.txt").status, 200);
    let once = cpu_ticks(&server) - before;
    let before = cpu_ticks(&server);
    let addr = server.addr;
    thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(move || {
                let request =
                    common::request_bytes("GET", b"/eight.txt", &[("Accept-Encoding", "gzip")]);
                let r = common::raw_at(addr, &request);
                assert_eq!(gunzip(&r.body), text(1 << 20, "eight"));
            });
        }
    });
    let eight = cpu_ticks(&server) - before;
    eprintln!("CPU ticks: one compression {once}, eight concurrent requests {eight}");
    assert!(
        eight <= 3 * once.max(2),
        "8 concurrent requests cost {eight} ticks, one compression {once}: compressed more than once"
    );
}
