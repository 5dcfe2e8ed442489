//! The access policy (docs/behaviour.md, "What may be served"): symlinks and dotfiles.

mod common;

use std::os::unix::fs::symlink;

use common::fixture::{assert_common, Tree, HELLO, SECRET, SUB_INDEX};
use common::{Response, Server};

/// The hrefs of an HTML listing.
fn hrefs(r: &Response) -> Vec<String> {
    r.text()
        .split("<tr><td><a href=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

/// Asserts `path` answers exactly as a missing file does: same status, same headers (but
/// `Date`), same body.
fn assert_like_missing(server: &Server, path: &str) {
    let r = server.get(path, &[]);
    let missing = server.get("/definitely-missing", &[]);
    assert_eq!(r.status, 404, "{path}: {r:?}");
    assert_eq!(r.body, missing.body, "{path}");
    let strip = |r: &Response| {
        let mut h: Vec<(String, String)> = r
            .headers
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("date"))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        h.sort();
        h
    };
    assert_eq!(strip(&r), strip(&missing), "{path}");
    assert_ne!(r.body, SECRET);
    assert!(!r.text().contains("root:"));
    assert_common(&r);
}

// 26 ------------------------------------------------------------------------------------------

#[test]
fn s26_inside_links_are_followed_by_default() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.get("/link-in-file", &[]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, HELLO);
    let r = server.get("/link-in-dir/other.txt", &[]);
    assert_eq!(r.body, b"other\n");
    let r = server.get("/link-in-dir/deeper/leaf.txt", &[]);
    assert_eq!(r.body, b"leaf\n");
    assert_eq!(server.get("/link-in-dir/", &[]).body, SUB_INDEX);
    assert_eq!(server.get("/link-in-dir", &[]).status, 301);
}

#[test]
fn s26_outside_links_are_404_like_a_missing_file() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for path in [
        "/link-out-file",
        "/link-out-rel",
        "/link-out-dir",
        "/link-out-dir/",
        "/link-out-dir/inner.txt",
        "/passwd",
    ] {
        assert_like_missing(&server, path);
    }
    // Same with the explicit flag.
    let server = tree.serve(&["--symlinks", "inside"]);
    assert_like_missing(&server, "/passwd");
    // HEAD and ranges don't leak either.
    let r = server.request("HEAD", "/link-out-file", &[]);
    assert_eq!(r.status, 404);
    let r = server.get("/link-out-file", &[("Range", "bytes=0-3")]);
    assert_eq!(r.status, 404);
}

#[test]
fn s26_outside_links_are_not_listed_under_inside() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let h = hrefs(&server.get("/", &[]));
    for l in ["link-in-file", "link-in-dir/"] {
        assert!(h.contains(&l.to_string()), "{l} not listed: {h:?}");
    }
    for l in [
        "link-out-file",
        "link-out-rel",
        "link-out-dir",
        "link-out-dir/",
        "passwd",
        "dangling",
    ] {
        assert!(!h.contains(&l.to_string()), "{l} listed");
    }
}

#[test]
fn s26_a_link_swapped_to_point_outside_is_refused() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    assert_eq!(server.get("/link-in-file", &[]).body, HELLO);
    std::fs::remove_file(tree.path(b"link-in-file")).unwrap();
    symlink(tree.outside.join("secret.txt"), tree.path(b"link-in-file")).unwrap();
    assert_like_missing(&server, "/link-in-file");
    // And an inside path that becomes a link to the outside directory.
    std::fs::rename(tree.path(b"list"), tree.path(b"list-moved")).unwrap();
    symlink(tree.outside.join("dir"), tree.path(b"list")).unwrap();
    assert_like_missing(&server, "/list/inner.txt");
}

#[test]
fn s26_sidecar_and_index_links_outside_are_not_used() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.get("/lib.js", &[("Accept-Encoding", "gzip")]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, b"lib();\n");
    assert!(!r.has("Content-Encoding"));
    let r = server.get("/idx-out/", &[]);
    assert_eq!(r.status, 200);
    assert!(!r.text().contains("outside index"));
    // Under `any` both are used.
    let server = tree.serve(&["--symlinks", "any"]);
    let r = server.get("/lib.js", &[("Accept-Encoding", "gzip")]);
    assert_eq!(r.body, b"outside sidecar");
    assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    assert!(server
        .get("/idx-out/", &[])
        .text()
        .contains("outside index"));
}

#[test]
fn s26_any_follows_every_link() {
    let tree = Tree::new();
    let server = tree.serve(&["--symlinks", "any"]);
    assert_eq!(server.get("/link-out-file", &[]).body, SECRET);
    assert_eq!(server.get("/link-out-rel", &[]).body, SECRET);
    assert_eq!(server.get("/link-out-dir/inner.txt", &[]).body, SECRET);
    let r = server.get("/passwd", &[]);
    assert_eq!(r.status, 200);
    assert!(r.text().contains("root:"));
    assert_eq!(server.get("/link-in-file", &[]).body, HELLO);
    let h = hrefs(&server.get("/", &[]));
    for l in ["link-out-file", "link-out-dir/", "passwd", "link-in-dir/"] {
        assert!(
            h.contains(&l.to_string()),
            "{l} not listed under any: {h:?}"
        );
    }
    // A dangling link is still nothing.
    assert_eq!(server.get("/dangling", &[]).status, 404);
    assert!(!h.contains(&"dangling".to_string()));
}

#[test]
fn s26_deny_follows_no_link() {
    let tree = Tree::new();
    let server = tree.serve(&["--symlinks", "deny"]);
    for path in [
        "/link-in-file",
        "/link-in-dir/",
        "/link-in-dir",
        "/link-in-dir/other.txt",
        "/link-out-file",
        "/link-out-dir/inner.txt",
        "/passwd",
    ] {
        assert_like_missing(&server, path);
    }
    assert_eq!(server.get("/hello.txt", &[]).body, HELLO);
    let h = hrefs(&server.get("/", &[]));
    for l in [
        "link-in-file",
        "link-in-dir/",
        "link-out-file",
        "link-out-dir/",
        "passwd",
    ] {
        assert!(!h.contains(&l.to_string()), "{l} listed under deny");
    }
    assert!(h.contains(&"hello.txt".to_string()));
}

#[test]
fn s26_policy_from_the_environment_and_flag_beats_it() {
    let tree = Tree::new();
    let server =
        common::Server::start_with(&tree.root, &[], &[("HTTP_FILESERVER_SYMLINKS", "any")]);
    assert_eq!(server.get("/link-out-file", &[]).body, SECRET);
    let server = common::Server::start_with(
        &tree.root,
        &["--symlinks", "deny"],
        &[("HTTP_FILESERVER_SYMLINKS", "any")],
    );
    assert_eq!(server.get("/link-in-file", &[]).status, 404);
    let server = common::Server::start_with(
        &tree.root,
        &["--symlinks=inside"],
        &[("HTTP_FILESERVER_SYMLINKS", "any")],
    );
    assert_eq!(server.get("/link-out-file", &[]).status, 404);
    assert_eq!(server.get("/link-in-file", &[]).body, HELLO);
}

#[test]
fn s26_root_given_through_a_symlink_is_canonicalised() {
    let tree = Tree::new();
    let link = tree.dir.path().join("root-link");
    symlink(&tree.root, &link).unwrap();
    let server = common::Server::start(&link, &[]);
    // Links inside the real root are inside; outside ones are not.
    assert_eq!(server.get("/link-in-file", &[]).body, HELLO);
    assert_eq!(server.get("/link-out-file", &[]).status, 404);
    assert_eq!(server.get("/hello.txt", &[]).body, HELLO);
}

// 27 ------------------------------------------------------------------------------------------

#[test]
fn s27_dotfiles_are_hidden_by_default() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for path in [
        "/.env",
        "/.git/config",
        "/.git/",
        "/.git",
        "/sub/.hidden",
        "/list/.hidden-in-list",
        "/%2eenv",
        "/%2Egit/config",
        "/sub/../.env",
        "/.well-known/../.env",
        "//.env",
        "/./.env",
        "/sub/.well-known/x.txt",
        "/sub/.well-known/",
    ] {
        assert_like_missing(&server, path);
    }
}

#[test]
fn s27_dotfiles_are_not_listed_but_well_known_is_at_the_root() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let h = hrefs(&server.get("/", &[]));
    assert!(h.contains(&".well-known/".to_string()), "{h:?}");
    assert!(!h.contains(&".env".to_string()));
    assert!(!h.contains(&".git/".to_string()));
    let l = server.get("/list/", &[]).text();
    assert!(!l.contains(".hidden-in-list"));
    // Not below the root: sub/.well-known is a dotfile like any other.
    std::fs::remove_file(tree.path(b"sub/index.html")).unwrap();
    let h = hrefs(&server.get("/sub/", &[]));
    assert!(!h.iter().any(|x| x.starts_with('.')), "{h:?}");
}

#[test]
fn s27_well_known_is_served() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.get("/.well-known/security.txt", &[]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, b"Contact: mailto:security@example.com\n");
    let r = server.get("/.well-known/", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(hrefs(&r), ["security.txt"]);
    assert_eq!(server.get("/.well-known", &[]).status, 301);
    // Non-canonical spellings clean to the same path.
    assert_eq!(server.get("//.well-known/security.txt", &[]).status, 200);
    assert_eq!(server.get("/%2ewell-known/security.txt", &[]).status, 200);
    assert_eq!(
        server.get("/x/../.well-known/security.txt", &[]).status,
        200
    );
    // A dot segment below .well-known is still hidden.
    tree_write(&tree, b".well-known/.secret", b"no");
    assert_like_missing(&server, "/.well-known/.secret");
}

fn tree_write(tree: &Tree, rel: &[u8], content: &[u8]) {
    common::write(&tree.root, rel, content);
}

#[test]
fn s27_dotfiles_allow_serves_and_lists_them() {
    let tree = Tree::new();
    for args in [&["--dotfiles", "allow"][..], &["--dotfiles=allow"]] {
        let server = tree.serve(args);
        assert_eq!(server.get("/.env", &[]).body, b"SECRET=1\n", "{args:?}");
        assert_eq!(server.get("/.git/config", &[]).body, b"[core]\n");
        assert_eq!(server.get("/sub/.hidden", &[]).body, b"hidden\n");
        assert_eq!(server.get("/sub/.well-known/x.txt", &[]).status, 200);
        let h = hrefs(&server.get("/", &[]));
        assert!(h.contains(&".env".to_string()), "{h:?}");
        assert!(h.contains(&".git/".to_string()), "{h:?}");
        assert!(server.get("/list/", &[]).text().contains(".hidden-in-list"));
    }
}

#[test]
fn s27_dotfiles_from_the_environment_and_flag_beats_it() {
    let tree = Tree::new();
    let env = [("HTTP_FILESERVER_DOTFILES", "allow")];
    let server = common::Server::start_with(&tree.root, &[], &env);
    assert_eq!(server.get("/.env", &[]).status, 200);
    let server = common::Server::start_with(&tree.root, &["--dotfiles", "hide"], &env);
    assert_eq!(server.get("/.env", &[]).status, 404);
    let server = common::Server::start_with(
        &tree.root,
        &["--dotfiles", "allow"],
        &[("HTTP_FILESERVER_DOTFILES", "hide")],
    );
    assert_eq!(server.get("/.env", &[]).status, 200);
}

#[test]
fn s27_dotfile_sidecars_and_indexes_follow_the_policy() {
    let tree = Tree::new();
    // A sidecar can't smuggle a dot directory's content, and a dot directory's index isn't
    // served.
    common::write(&tree.root, b".private/index.html", b"<p>private</p>");
    let server = tree.serve(&[]);
    assert_like_missing(&server, "/.private/");
    assert_like_missing(&server, "/.private/index.html/");
    let r = server.get("/.private", &[]);
    assert_eq!(r.status, 404, "{r:?}");
}

#[test]
fn s26_a_sibling_sharing_the_roots_name_prefix_is_outside() {
    let tree = Tree::new();
    // `…/root-sibling` starts with the characters of `…/root` but is not inside it.
    common::write(tree.dir.path(), b"root-sibling/secret.txt", SECRET);
    common::write(tree.dir.path(), b"rootx/secret.txt", SECRET);
    symlink("../root-sibling/secret.txt", tree.path(b"prefix-file")).unwrap();
    symlink("../root-sibling", tree.path(b"prefix-dir")).unwrap();
    symlink(
        tree.dir.path().join("rootx/secret.txt"),
        tree.path(b"prefix-abs"),
    )
    .unwrap();
    let server = tree.serve(&[]);
    for path in [
        "/prefix-file",
        "/prefix-dir/secret.txt",
        "/prefix-dir/",
        "/prefix-abs",
    ] {
        assert_like_missing(&server, path);
    }
    let h = hrefs(&server.get("/", &[]));
    assert!(!h.iter().any(|x| x.starts_with("prefix-")), "{h:?}");
}
