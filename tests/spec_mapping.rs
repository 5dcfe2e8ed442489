//! Mapping a URL to a file (docs/behaviour.md, "From target to path" and "What may be
//! served"), over real TCP on the hostile tree.

mod common;

use std::time::{Duration, Instant};

use common::fixture::{self, assert_common, hostile_content, target, Tree, HELLO, SECRET};
use common::Response;

fn assert_hello(r: &Response, what: &str) {
    assert_eq!(r.status, 200, "{what}: {r:?}");
    assert_eq!(r.body, HELLO, "{what}");
    assert!(!r.has("Location"), "{what}: redirected {r:?}");
}

/// An error answer: the status, a short plain-text body that names no path.
fn assert_error(tree: &Tree, r: &Response, status: u16, what: &str) {
    assert_eq!(r.status, status, "{what}: {r:?}");
    assert_eq!(
        r.header("Content-Type"),
        Some("text/plain; charset=utf-8"),
        "{what}"
    );
    assert!(r.body.len() < 100, "{what}: long error body {:?}", r.text());
    assert!(!r.body.is_empty(), "{what}: empty error body");
    tree.assert_no_path(&r.body);
    assert_common(r);
}

// 14 ------------------------------------------------------------------------------------------

#[test]
fn s14_path_is_percent_decoded_exactly_once() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.get("/with%20space.txt", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, hostile_content(0));
    // `%25` decodes to `%`, once: `100%25.txt` is `100%.txt`…
    let r = server.get("/100%25.txt", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, hostile_content(5));
    // …and `%2525` is `%25`, not decoded a second time into `%`.
    assert_eq!(server.get("/100%2525.txt", &[]).status, 404);
    // Unreserved characters may be escaped too.
    assert_hello(&server.get("/%68%65%6C%6c%6F.txt", &[]), "escaped letters");
}

#[test]
fn s14_query_is_not_part_of_the_file_name() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    assert_hello(&server.get("/hello.txt?x=1&y=%zz", &[]), "query");
    assert_hello(&server.get("/hello.txt?", &[]), "empty query");
    // A `?` that is part of the name must be escaped; unescaped it starts the query.
    let r = server.get("/what%3F.txt", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, hostile_content(7));
    assert_eq!(server.get("/what?.txt", &[]).status, 404);
}

#[test]
fn s14_non_canonical_forms_are_served_without_redirect() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for t in [
        "//hello.txt",
        "///hello.txt",
        "/./hello.txt",
        "/sub/../hello.txt",
        "/sub/./../hello.txt",
        "/sub//..//hello.txt",
        "/%2e/hello.txt",
        "/sub/%2e%2e/hello.txt",
        "/sub/%2E%2E/hello.txt",
        "/sub%2f..%2fhello.txt",
    ] {
        assert_hello(&server.get(t, &[]), t);
    }
    // In a sub-directory, too.
    let r = server.get("//sub//other.txt", &[]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, b"other\n");
}

#[test]
fn s14_dotdot_never_climbs_above_the_root() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    // `..` at the root stays at the root.
    for t in ["/../hello.txt", "/../../../hello.txt", "/%2e%2e/hello.txt"] {
        assert_hello(&server.get(t, &[]), t);
    }
    // The sibling directory `outside/secret.txt` is never reachable by `..`.
    for t in [
        "/../outside/secret.txt",
        "/%2e%2e/outside/secret.txt",
        "/%2e%2e%2foutside%2fsecret.txt",
        "/..%2foutside%2fsecret.txt",
        "/sub/../../outside/secret.txt",
        "/sub/%2e%2e/%2e%2e/outside/secret.txt",
        "/../../../../../../etc/passwd",
        "/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/..\\..\\outside\\secret.txt",
    ] {
        let r = server.get(t, &[]);
        assert_eq!(r.status, 404, "{t}: {r:?}");
        assert_ne!(r.body, SECRET, "{t}");
        assert!(!r.text().contains("root:"), "{t}");
    }
}

// 15 ------------------------------------------------------------------------------------------

#[test]
fn s15_every_hostile_name_is_served_by_its_escaped_name() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for (i, name) in fixture::HOSTILE_NAMES.iter().enumerate() {
        let t = target(name);
        let r = server.get(&t, &[]);
        assert_eq!(r.status, 200, "{t}: {r:?}");
        assert_eq!(r.body, hostile_content(i), "{t}");
    }
    let r = server.get(&target(&fixture::long_name()), &[]);
    assert_eq!(r.status, 200, "255-byte name");
    assert_eq!(r.body, b"long name\n");
}

#[test]
fn s15_non_utf8_name_is_served() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for t in ["/caf%E9.txt", "/caf%e9.txt"] {
        let r = server.get(t, &[]);
        assert_eq!(r.status, 200, "{t}: {r:?}");
        assert_eq!(r.body, hostile_content(3), "{t}");
    }
    // The UTF-8 spelling is a different file.
    let r = server.get("/caf%C3%A9.txt", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, hostile_content(1));
}

#[test]
fn s15_name_with_a_tab_is_served() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.get("/tab%09here.txt", &[]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, hostile_content(4));
}

#[test]
fn s15_backslash_is_an_ordinary_byte() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for t in ["/back%5Cslash.txt", "/back\\slash.txt"] {
        let r = server.get(t, &[]);
        assert_eq!(r.status, 200, "{t}: {r:?}");
        assert_eq!(r.body, hostile_content(13), "{t}");
    }
    // Not a separator: `sub\other.txt` is one name, which doesn't exist.
    assert_eq!(server.get("/sub\\other.txt", &[]).status, 404);
    assert_eq!(server.get("/sub%5Cother.txt", &[]).status, 404);
}

// 16 ------------------------------------------------------------------------------------------

#[test]
fn s16_nul_byte_in_the_decoded_path_is_404() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for t in [
        "/hello.txt%00",
        "/%00",
        "/hello.txt%00.html",
        "/sub/%00/other.txt",
    ] {
        let r = server.get(t, &[]);
        assert_error(&tree, &r, 404, t);
    }
}

#[test]
fn s16_malformed_percent_encoding_is_400() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for t in [
        "/%zz",
        "/hello.txt%4",
        "/hello.txt%",
        "/%",
        "/%4g",
        "/%g4",
        "/sub/%-1/x",
        "/%%30",
    ] {
        let r = server.get(t, &[]);
        assert_error(&tree, &r, 400, t);
    }
    // HEAD gets the same status.
    let r = server.request("HEAD", "/%zz", &[]);
    assert_eq!(r.status, 400);
}

// 17 ------------------------------------------------------------------------------------------

#[test]
fn s17_not_found_is_404_with_a_short_plain_body() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for t in ["/nope.txt", "/nope/deeper.txt", "/sub/nope"] {
        let r = server.get(t, &[]);
        assert_error(&tree, &r, 404, t);
    }
}

#[test]
fn s17_enotdir_is_404() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for t in ["/hello.txt/x", "/hello.txt/x/y", "/empty.txt/index.html/z"] {
        let r = server.get(t, &[]);
        assert_error(&tree, &r, 404, t);
    }
}

#[test]
fn s17_enametoolong_is_404() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    // One segment longer than NAME_MAX (255).
    let t = format!("/{}", "n".repeat(300));
    assert_error(&tree, &server.get(&t, &[]), 404, "300-byte segment");
    // A 256-byte name, one over the limit, next to the 255-byte one that exists.
    let mut name = fixture::long_name();
    name.insert(0, b'L');
    assert_error(&tree, &server.get(&target(&name), &[]), 404, "256 bytes");
    // A path longer than PATH_MAX (4096) made of valid segments.
    let t = format!("/{}", vec!["d".repeat(200); 24].join("/"));
    assert!(t.len() > 4096);
    assert_error(&tree, &server.get(&t, &[]), 404, "5 KB path");
    // The same through escapes (each byte sent as %XX: 900 bytes on the wire).
    let t = format!("/{}", "%6E".repeat(300));
    assert_error(&tree, &server.get(&t, &[]), 404, "escaped long segment");
}

#[test]
fn s17_symlink_loop_is_404() {
    let tree = Tree::new();
    for mode in ["inside", "any", "deny"] {
        let server = tree.serve(&["--symlinks", mode]);
        for t in ["/loop-a", "/loop-b", "/loop-a/x"] {
            let r = server.get(t, &[]);
            assert_error(&tree, &r, 404, &format!("{mode} {t}"));
        }
    }
}

#[test]
fn s17_dangling_symlink_is_404() {
    let tree = Tree::new();
    for mode in ["inside", "any"] {
        let server = tree.serve(&["--symlinks", mode]);
        let r = server.get("/dangling", &[]);
        assert_error(&tree, &r, 404, mode);
    }
}

#[test]
fn s17_permission_denied_is_403() {
    let tree = Tree::new();
    let Some(server) = tree.serve_unprivileged(&[]) else {
        fixture::skip("running as root without setpriv: every file is readable");
        return;
    };
    let r = server.get("/unreadable.txt", &[]);
    assert_error(&tree, &r, 403, "mode 000");
    // Readable files are still served by the same process.
    assert_hello(&server.get("/hello.txt", &[]), "readable");
    // HEAD agrees.
    assert_eq!(server.request("HEAD", "/unreadable.txt", &[]).status, 403);
}

#[test]
fn s17_fifo_is_404_and_does_not_hang() {
    let tree = Tree::new();
    for mode in ["inside", "any"] {
        let server = tree.serve(&["--symlinks", mode]);
        let started = Instant::now();
        let r = server.get("/fifo", &[]);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{mode}: the FIFO took {:?}",
            started.elapsed()
        );
        assert_error(&tree, &r, 404, mode);
        // And the server is still fine afterwards.
        assert_hello(&server.get("/hello.txt", &[]), "after the FIFO");
    }
}

#[test]
fn s17_error_bodies_never_name_a_path() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let long = format!("/{}", "n".repeat(300));
    for t in [
        "/nope",
        "/hello.txt/x",
        long.as_str(),
        "/loop-a",
        "/link-out-file",
        "/passwd",
        "/.env",
        "/%zz",
        "/%00",
        "/fifo",
    ] {
        let r = server.get(t, &[]);
        assert!(r.status >= 400, "{t}: {r:?}");
        tree.assert_no_path(&r.body);
        assert!(!r.text().contains("root"), "{t}: {:?}", r.text());
        assert!(!r.text().contains("No such file"), "{t}: {:?}", r.text());
        assert!(!r.text().contains("os error"), "{t}: {:?}", r.text());
    }
}

#[test]
fn s17_special_files_are_404_like_missing_files() {
    let tree = Tree::new();
    // A Unix socket (open(2) fails with ENXIO), and links to character devices.
    let _sock = std::os::unix::net::UnixListener::bind(tree.path(b"sock")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", tree.path(b"zero-dev")).unwrap();
    std::os::unix::fs::symlink("/dev/null", tree.path(b"null-dev")).unwrap();
    for mode in ["inside", "any"] {
        let server = tree.serve(&["--symlinks", mode]);
        for t in ["/fifo", "/sock", "/zero-dev", "/null-dev"] {
            let started = Instant::now();
            let r = server.get(t, &[]);
            assert!(started.elapsed() < Duration::from_secs(2), "{mode} {t}");
            assert_error(&tree, &r, 404, &format!("{mode} {t}"));
        }
        // And none of them is listed.
        let listing = server.get("/", &[]).text();
        for name in ["\"fifo\"", "\"sock\"", "\"zero-dev\"", "\"null-dev\""] {
            assert!(!listing.contains(name), "{mode}: {name} listed");
        }
    }
}
