//! What people see: error pages for browsers and text for tools, configured error pages, the
//! single-page-app fallback, and the listing's sort order (docs/behaviour.md, "Errors",
//! "Directories: index files and listings").

mod common;

use std::os::unix::fs::symlink;
use std::process::Command;

use common::fixture::Json;
use common::{bin, write, Response, Server, TempDir};

const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// A small site: an app shell, an error page, assets, a dotfile, and a link out of the root.
fn site() -> (TempDir, std::path::PathBuf) {
    let dir = TempDir::new("pages");
    let root = dir.path().join("root");
    write(
        &root,
        b"index.html",
        b"<!doctype html><title>app</title>shell\n",
    );
    write(
        &root,
        b"errors/404.html",
        b"<!doctype html><h1>Lost?</h1>\n",
    );
    write(&root, b"errors/500.txt", b"broken\n");
    write(&root, b"assets/app.js", b"console.log(1)\n");
    write(&root, b".env", b"SECRET=1\n");
    write(dir.path(), b"outside/page.html", b"outside\n");
    symlink(dir.path().join("outside"), root.join("out")).unwrap();
    (dir, root)
}

fn assert_plain_error(r: &Response, status: u16) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
    assert!(r.text().starts_with(&status.to_string()), "{r:?}");
}

#[test]
fn errors_are_a_page_for_browsers_and_a_line_for_tools() {
    let (_dir, root) = site();
    let server = Server::start(&root, &[]);
    let r = server.get("/missing", &[("Accept", BROWSER)]);
    assert_eq!(r.status, 404);
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    let page = r.text();
    assert!(page.contains("<h1>404 Not Found</h1>"), "{page}");
    assert!(page.contains("<a href=\"/\">"), "{page}");
    assert!(
        !page.contains(root.to_str().unwrap()),
        "a file-system path in {page}"
    );
    assert!(r
        .header("Content-Security-Policy")
        .unwrap()
        .contains("default-src 'none'"));
    assert_eq!(r.header("Vary"), Some("Accept"));
    // HEAD: the same status and headers, no body.
    let head = server.request("HEAD", "/missing", &[("Accept", BROWSER)]);
    assert_eq!(head.status, 404);
    assert!(head.body.is_empty());
    assert_eq!(head.header("Content-Length"), r.header("Content-Length"));
    // Tools that take anything get the status line.
    assert_plain_error(&server.get("/missing", &[("Accept", "*/*")]), 404);
    assert_plain_error(&server.get("/missing", &[]), 404);
    // Other errors too, with their own headers kept.
    let r = server.request("POST", "/", &[("Accept", BROWSER)]);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("Allow"), Some("GET, HEAD, OPTIONS"));
    assert!(r.text().contains("<h1>405 Method Not Allowed</h1>"));
}

#[test]
fn a_configured_error_page_answers_its_status() {
    let (_dir, root) = site();
    let server = Server::start(&root, &["--error-page", "404=/errors/404.html"]);
    for accept in [BROWSER, "*/*"] {
        let r = server.get("/missing", &[("Accept", accept)]);
        assert_eq!(r.status, 404, "{r:?}");
        assert_eq!(r.body, b"<!doctype html><h1>Lost?</h1>\n");
        assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
        assert_eq!(r.header("Cache-Control"), Some("no-cache"));
    }
    // Other statuses keep the built-in answers.
    assert_plain_error(&server.request("DELETE", "/", &[]), 405);
    // The variable takes one page per line.
    let server = Server::start_with(
        &root,
        &[],
        &[(
            "HTTP_FILESERVER_ERROR_PAGES",
            "404=/errors/404.html\n405=/errors/500.txt\n",
        )],
    );
    assert_eq!(
        server.get("/nope", &[]).body,
        b"<!doctype html><h1>Lost?</h1>\n"
    );
    let r = server.request("PUT", "/", &[]);
    assert_eq!((r.status, r.body.as_slice()), (405, &b"broken\n"[..]));
    // A Cache-Control --header, sent with every response, is the page's only one.
    let server = Server::start(
        &root,
        &[
            "--error-page",
            "404=/errors/404.html",
            "--header",
            "Cache-Control: max-age=5",
        ],
    );
    let r = server.get("/missing", &[]);
    assert_eq!(r.header("Cache-Control"), Some("max-age=5"));
}

/// Runs the binary expecting a start-up failure; returns its one line of stderr.
fn start_up_error(root: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(bin())
        .args(["--bind", "127.0.0.1", "--port", "0"])
        .args(args)
        .arg(root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

#[test]
fn a_page_that_cannot_be_served_is_a_start_up_error() {
    let (_dir, root) = site();
    for (args, needle) in [
        (&["--error-page", "404=/no-such.html"][..], "no such file"),
        (&["--error-page", "404=/.env"], "hidden by --dotfiles"),
        (&["--error-page", "404=/out/page.html"], "--symlinks"),
        (&["--error-page", "404=/errors"], "a directory"),
        (&["--fallback", "/no-such.html"], "no such file"),
    ] {
        let err = start_up_error(&root, args);
        assert!(
            err.contains(needle) && err.contains(args[1]),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn the_fallback_answers_browsers_for_paths_that_do_not_exist() {
    let (_dir, root) = site();
    let server = Server::start(&root, &["--fallback", "/index.html"]);
    let shell = b"<!doctype html><title>app</title>shell\n";
    let r = server.get("/app/settings/profile", &[("Accept", BROWSER)]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, shell);
    assert_eq!(r.header("Cache-Control"), Some("no-cache"));
    assert_eq!(r.header("Vary"), Some("Accept, Accept-Encoding"));
    // Its own validators: the index's.
    let etag = server
        .get("/index.html", &[])
        .header("ETag")
        .map(str::to_string);
    let etag = etag.or_else(|| server.get("/", &[]).header("ETag").map(str::to_string));
    assert_eq!(r.header("ETag").map(str::to_string), etag);
    let again = server.get(
        "/another/route",
        &[
            ("Accept", BROWSER),
            ("If-None-Match", r.header("ETag").unwrap()),
        ],
    );
    assert_eq!(again.status, 304);
    let head = server.request("HEAD", "/app/x", &[("Accept", BROWSER)]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("Content-Length"), r.header("Content-Length"));
    // A script's request for a missing asset keeps its 404.
    assert_plain_error(&server.get("/assets/missing.js", &[("Accept", "*/*")]), 404);
    // Existing files are served as they are.
    assert_eq!(
        server.get("/assets/app.js", &[("Accept", BROWSER)]).body,
        b"console.log(1)\n"
    );
    // The dotfile, symlink and method rules come first.
    for path in [
        "/.env",
        "/.git/config",
        "/out/page.html",
        "/out/missing.html",
    ] {
        let r = server.get(path, &[("Accept", BROWSER)]);
        assert_eq!(r.status, 404, "{path}: {r:?}");
        assert_ne!(r.body, shell, "{path}");
    }
    assert_eq!(
        server
            .request("POST", "/app", &[("Accept", BROWSER)])
            .status,
        405
    );
}

/// The entry names of a JSON listing, in order.
fn json_names(r: &Response) -> Vec<String> {
    let Json::Arr(items) = Json::parse(&r.text()) else {
        panic!("not an array: {}", r.text())
    };
    items
        .iter()
        .map(|i| i.get("name").unwrap().str().unwrap().to_string())
        .collect()
}

#[test]
fn listings_sort_by_the_query_directories_first() {
    let dir = TempDir::new("sorting");
    let root = dir.path();
    for (name, len, mtime) in [
        ("10.txt", 30, 1_700_000_300),
        ("9.txt", 10, 1_700_000_100),
        ("Apple.txt", 20, 1_700_000_400),
        ("apple.txt", 40, 1_700_000_200),
    ] {
        let path = write(root, name.as_bytes(), &vec![b'x'; len]);
        common::set_mtime(&path, mtime);
    }
    write(root, b"zdir/x", b"x");
    write(root, b"Adir/x", b"x");
    let server = Server::start(root, &["--no-access-log"]);
    let json = |query: &str| {
        json_names(&server.get(&format!("/{query}"), &[("Accept", "application/json")]))
    };
    assert_eq!(
        json(""),
        ["Adir", "zdir", "9.txt", "10.txt", "Apple.txt", "apple.txt"]
    );
    assert_eq!(
        json("?sort=name&order=desc"),
        ["zdir", "Adir", "apple.txt", "Apple.txt", "10.txt", "9.txt"]
    );
    assert_eq!(
        json("?sort=size"),
        ["Adir", "zdir", "apple.txt", "10.txt", "Apple.txt", "9.txt"]
    );
    assert_eq!(
        json("?sort=modified&order=asc"),
        ["Adir", "zdir", "9.txt", "apple.txt", "10.txt", "Apple.txt"]
    );
    // Unknown values fall back to the defaults.
    assert_eq!(json("?sort=color&order=up"), json(""));
    // The page: the current column says its direction and links to the other.
    let page = server.get("/?sort=size", &[]).text();
    assert!(
        page.contains("<th aria-sort=descending><a href=\"/?sort=size&amp;order=asc\">Size</a>"),
        "{page}"
    );
    assert!(page.contains("<th><a href=\"/?sort=name&amp;order=asc\">Name</a>"));
}

#[test]
fn listings_hide_sidecars_of_listed_files_and_show_every_name_safely() {
    let dir = TempDir::new("sidecars");
    let root = dir.path();
    for name in [
        &b"app.js"[..],
        b"app.js.gz",
        b"app.js.br",
        b"app.js.zst",
        b"orphan.css.gz",
        "invoice-\u{202E}gpj.exe".as_bytes(),
        b"bell\x07.txt",
    ] {
        write(root, name, b"x");
    }
    let server = Server::start(root, &["--no-access-log"]);
    let page = server.get("/", &[]).text();
    assert!(page.contains(">app.js</a>"), "{page}");
    for sidecar in ["app.js.gz", "app.js.br", "app.js.zst"] {
        assert!(!page.contains(sidecar), "{sidecar} listed: {page}");
        // Still fetchable.
        assert_eq!(server.get(&format!("/{sidecar}"), &[]).status, 200);
    }
    assert!(
        page.contains(">orphan.css.gz</a>"),
        "a sidecar without its file: {page}"
    );
    assert!(
        page.contains("invoice-<span class=esc>\\u{202E}</span>gpj.exe"),
        "{page}"
    );
    assert!(
        page.contains("bell<span class=esc>\\u{7}</span>.txt"),
        "{page}"
    );
    assert!(!page.contains('\u{202E}') && !page.contains('\u{7}'));
    // JSON keeps the exact link, which fetches the file.
    let r = server.get("/", &[("Accept", "application/json")]);
    assert!(
        r.text().contains("\"href\":\"invoice-%E2%80%AEgpj.exe\""),
        "{}",
        r.text()
    );
    assert_eq!(server.get("/invoice-%E2%80%AEgpj.exe", &[]).status, 200);
}
