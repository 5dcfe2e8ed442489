//! Index files and directory listings (docs/behaviour.md, "Directories: index files and
//! listings").

mod common;

use std::collections::BTreeSet;

use common::fixture::{
    self, assert_common, http_date, Json, Tree, PAST_DATE, PAST_MTIME, SUB_INDEX,
};
use common::{set_mtime, Response};

/// The `href` of every entry link of an HTML listing, in order (navigation links, which are
/// absolute paths, left out).
fn hrefs(body: &str) -> Vec<String> {
    body.split("<tr><td><a href=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

/// Every `href` of the page.
fn all_links(body: &str) -> Vec<String> {
    body.split("href=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

fn assert_html_listing(r: &Response, what: &str) {
    assert_eq!(r.status, 200, "{what}: {r:?}");
    assert_eq!(
        r.header("Content-Type"),
        Some("text/html; charset=utf-8"),
        "{what}"
    );
    let body = r.text();
    assert!(body.starts_with("<!doctype html>\n<html lang=en>\n<meta charset=utf-8>\n<meta name=viewport content=\"width=device-width,initial-scale=1\">\n<title>Index of /"), "{what}: {body:?}");
    assert!(body.contains("<table>\n<thead><tr>"), "{what}: {body:?}");
    assert!(body.contains("</table>\n<p>"), "{what}: {body:?}");
    // Scripts are forbidden on listings, the inline style allowed.
    let csp = r
        .header("Content-Security-Policy")
        .expect("a CSP on listings");
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script"),
        "{csp}"
    );
    assert!(!body.contains("<script"), "{what}");
    assert_common(r);
}

/// Natural, case-insensitive order, written independently of the server's: digit runs by
/// value, other bytes ASCII-lowercased, ties bytewise.
fn natural(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    fn key(s: &[u8]) -> Vec<(u8, String)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < s.len() {
            if s[i].is_ascii_digit() {
                let end = (i..s.len())
                    .find(|&j| !s[j].is_ascii_digit())
                    .unwrap_or(s.len());
                let n = std::str::from_utf8(&s[i..end])
                    .unwrap()
                    .trim_start_matches('0');
                // Numbers before letters of the same position compare as (0, width-padded).
                out.push((0, format!("{:0>40}", n)));
                i = end;
            } else {
                out.push((1, (s[i].to_ascii_lowercase() as char).to_string()));
                i += 1;
            }
        }
        out
    }
    let (ka, kb) = (key(a), key(b));
    // Mixed digit/letter positions compare by the byte, as the spec's algorithm does.
    for (x, y) in ka.iter().zip(&kb) {
        let ord = match (x.0, y.0) {
            (0, 0) => x.1.cmp(&y.1),
            (1, 1) => x.1.cmp(&y.1),
            _ => x.1.as_bytes()[0].cmp(&y.1.as_bytes()[0]),
        };
        if ord.is_ne() {
            return ord;
        }
    }
    ka.len().cmp(&kb.len()).then_with(|| a.cmp(b))
}

// 22 ------------------------------------------------------------------------------------------

#[test]
fn s22_directory_with_index_serves_the_index() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.get("/sub/", &[]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, SUB_INDEX);
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    assert_eq!(
        r.header("Content-Length"),
        Some(SUB_INDEX.len().to_string().as_str())
    );
    // Through an in-root symlink to the directory, and an in-root symlinked index.
    let r = server.get("/link-in-dir/", &[]);
    assert_eq!(r.body, SUB_INDEX, "{r:?}");
    let r = server.get("/idx-in/", &[]);
    assert_eq!(r.body, SUB_INDEX, "{r:?}");
}

#[test]
fn s22_index_is_served_even_with_listings_off() {
    let tree = Tree::new();
    let server = tree.serve(&["--no-listing"]);
    let r = server.get("/sub/", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, SUB_INDEX);
}

#[test]
fn s22_index_carries_its_own_validators() {
    let tree = Tree::new();
    set_mtime(&tree.path(b"sub/index.html"), PAST_MTIME);
    // The directory's own mtime differs from the index's.
    set_mtime(&tree.path(b"sub"), PAST_MTIME + 1000);
    let server = tree.serve(&[]);
    let r = server.get("/sub/", &[]);
    assert_eq!(r.header("Last-Modified"), Some(PAST_DATE), "{r:?}");
    assert_eq!(r.header("Accept-Ranges"), Some("bytes"));
    let etag = r.header("ETag").expect("index ETag").to_string();
    assert!(etag.starts_with('"'), "{etag}");
    // The index answers conditionals and ranges like any file.
    let r = server.get("/sub/", &[("If-None-Match", &etag)]);
    assert_eq!(r.status, 304, "{r:?}");
    let r = server.get("/sub/", &[("If-Modified-Since", PAST_DATE)]);
    assert_eq!(r.status, 304, "{r:?}");
    let r = server.get("/sub/", &[("Range", "bytes=0-8")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &SUB_INDEX[..9]);
    // The same ETag as the index through another directory link to it.
    let r = server.get("/link-in-dir/", &[]);
    assert_eq!(r.header("ETag"), Some(etag.as_str()));
}

#[test]
fn s22_index_that_fails_policy_is_not_served() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    // idx-out/index.html links out of the root: listed like a directory without an index.
    let r = server.get("/idx-out/", &[]);
    assert_html_listing(&r, "idx-out");
    assert!(!r.text().contains("outside index"), "{}", r.text());
    assert_eq!(hrefs(&r.text()), ["visible.txt"]);
    // With listings off, it's a 404 rather than the outside file.
    let server = tree.serve(&["--no-listing"]);
    let r = server.get("/idx-out/", &[]);
    assert_eq!(r.status, 404, "{r:?}");
    // Under `deny`, even the in-root symlinked index isn't used.
    let server = tree.serve(&["--symlinks", "deny"]);
    let r = server.get("/idx-in/", &[]);
    assert_html_listing(&r, "idx-in under deny");
    assert_ne!(r.body, SUB_INDEX);
    // Under `any`, the outside index is served (Go parity).
    let server = tree.serve(&["--symlinks", "any"]);
    let r = server.get("/idx-out/", &[]);
    assert_eq!(r.body, b"<p>outside index</p>\n");
}

// 23 ------------------------------------------------------------------------------------------

#[test]
fn s23_listing_is_a_table_directories_first_in_natural_order() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.get("/list/", &[]);
    assert_html_listing(&r, "list");
    let body = r.text();
    assert_eq!(hrefs(&body), ["dir/", "a.txt", "b.txt", "C.txt"]);
    assert!(body.contains("<title>Index of /list/</title>"), "{body}");
    // Breadcrumbs: the root linked, the current directory not.
    assert!(
        body.contains("<nav><h1><a href=\"/\">/</a>list/</h1></nav>"),
        "{body}"
    );
    // A parent row, and sort links on every column, all absolute paths.
    assert!(
        body.contains("<tr class=up><td colspan=3><a href=\"/\">Parent directory</a>"),
        "{body}"
    );
    for link in [
        "/list/?sort=name&amp;order=desc",
        "/list/?sort=size&amp;order=desc",
        "/list/?sort=modified&amp;order=desc",
    ] {
        assert!(body.contains(&format!("href=\"{link}\"")), "{link}: {body}");
    }
    // Sizes for people, exact bytes on hover, dates in UTC.
    assert!(
        body.contains("<tr><td><a href=\"a.txt\">a.txt</a><td title=\"2 bytes\">2 B<td>"),
        "{body}"
    );
    assert!(body.contains("<p>1 directory, 3 files\n"), "{body}");
    assert_eq!(
        r.header("Content-Length"),
        Some(r.body.len().to_string().as_str())
    );
    assert!(!r.has("Transfer-Encoding"));
}

#[test]
fn s23_root_listing_is_in_natural_order_with_directories_first_and_slashed() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.get("/", &[]);
    assert_html_listing(&r, "root");
    let body = r.text();
    // No parent row at the root, and a breadcrumb of just `/`.
    assert!(!body.contains("class=up"), "{body}");
    assert!(body.contains("<nav><h1>/</h1></nav>"), "{body}");
    let hrefs = hrefs(&body);
    let dirs = hrefs.iter().take_while(|h| h.ends_with('/')).count();
    assert!(
        hrefs[dirs..].iter().all(|h| !h.ends_with('/')),
        "directories not first: {hrefs:?}"
    );
    for group in [&hrefs[..dirs], &hrefs[dirs..]] {
        let raw: Vec<Vec<u8>> = group.iter().map(|h| decode(h)).collect();
        let mut sorted = raw.clone();
        sorted.sort_by(|a, b| natural(a, b));
        assert_eq!(raw, sorted, "not in natural order");
    }
    for dir in ["sub/", "list/", "q%3Fdir/", "link-in-dir/", ".well-known/"] {
        assert!(hrefs.iter().any(|h| h == dir), "{dir} missing: {hrefs:?}");
    }
    for file in ["hello.txt", "link-in-file", "empty.txt", "big.bin"] {
        assert!(hrefs.iter().any(|h| h == file), "{file} missing: {hrefs:?}");
    }
}

#[test]
fn s23_listing_last_modified_is_the_directory_mtime_and_answers_ims() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.get("/list/", &[]);
    assert_eq!(r.header("Last-Modified"), Some(PAST_DATE), "{r:?}");
    let r = server.get("/list/", &[("If-Modified-Since", PAST_DATE)]);
    assert_eq!(r.status, 304, "{r:?}");
    assert!(r.body.is_empty());
    let later = http_date(PAST_MTIME + 3600);
    assert_eq!(
        server
            .get("/list/", &[("If-Modified-Since", &later)])
            .status,
        304
    );
    let earlier = http_date(PAST_MTIME - 1);
    let r = server.get("/list/", &[("If-Modified-Since", &earlier)]);
    assert_eq!(r.status, 200);
    assert!(r.text().contains("a.txt"));
}

#[test]
fn s23_listing_off_gives_404() {
    let tree = Tree::new();
    let server = tree.serve(&["--no-listing"]);
    for p in ["/", "/list/", "/.well-known/", "/link-in-dir/deeper/"] {
        let r = server.get(p, &[]);
        assert_eq!(r.status, 404, "{p}: {r:?}");
        assert!(!r.text().contains("<a href"), "{p}");
    }
    // Files are still served, and directories without a slash still redirect.
    assert_eq!(server.get("/list/a.txt", &[]).status, 200);
    assert_eq!(server.get("/list", &[]).status, 301);
}

#[test]
fn s23_symlinks_to_directories_are_listed_with_a_slash() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let hrefs = hrefs(&server.get("/", &[]).text());
    assert!(hrefs.contains(&"link-in-dir/".to_string()), "{hrefs:?}");
    assert!(hrefs.contains(&"link-in-file".to_string()), "{hrefs:?}");
    assert!(!hrefs.contains(&"link-in-dir".to_string()), "{hrefs:?}");
    let server = tree.serve(&["--symlinks", "any"]);
    let hrefs = self::hrefs(&server.get("/", &[]).text());
    assert!(hrefs.contains(&"link-out-dir/".to_string()), "{hrefs:?}");
    assert!(hrefs.contains(&"link-out-file".to_string()), "{hrefs:?}");
}

#[test]
fn s23_empty_directory_lists_nothing() {
    let tree = Tree::new();
    std::fs::create_dir(tree.path(b"void")).unwrap();
    let server = tree.serve(&[]);
    let r = server.get("/void/", &[]);
    assert_html_listing(&r, "empty dir");
    let body = r.text();
    assert!(hrefs(&body).is_empty(), "{body}");
    assert!(body.contains("class=up"), "a parent row: {body}");
    assert!(body.ends_with("<p>0 directories, 0 files\n"), "{body}");
}

// 24 ------------------------------------------------------------------------------------------

/// How a name shows in a listing's link text: HTML-escaped, with invalid UTF-8 bytes, controls
/// and bidirectional formatting characters made visible as tinted escapes.
fn shown(name: &[u8]) -> String {
    let mut out = String::new();
    for chunk in name.utf8_chunks() {
        for c in chunk.valid().chars() {
            let escape = match c {
                '\t' => Some("\\t".to_string()),
                '\n' => Some("\\n".to_string()),
                '\r' => Some("\\r".to_string()),
                c if c.is_control()
                    || ('\u{202A}'..='\u{202E}').contains(&c)
                    || ('\u{2066}'..='\u{2069}').contains(&c) =>
                {
                    Some(format!("\\u{{{:X}}}", c as u32))
                }
                _ => None,
            };
            match escape {
                Some(e) => out.push_str(&format!("<span class=esc>{e}</span>")),
                None => out.push_str(&match c {
                    '&' => "&amp;".to_string(),
                    '<' => "&lt;".to_string(),
                    '>' => "&gt;".to_string(),
                    '"' => "&#34;".to_string(),
                    '\'' => "&#39;".to_string(),
                    c => c.to_string(),
                }),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("<span class=esc>\\x{b:02X}</span>"));
        }
    }
    out
}

/// How entry links are encoded: everything but unreserved and `!$'()*+,;=:@`, with `./`
/// before a name containing `:`.
fn href_of(name: &[u8]) -> String {
    let mut out = String::new();
    if name.contains(&b':') {
        out.push_str("./");
    }
    for &b in name {
        if b.is_ascii_alphanumeric() || b"-._~!$'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(href: &str) -> Vec<u8> {
    let b = href
        .trim_start_matches("./")
        .trim_end_matches('/')
        .as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap(), 16).unwrap(),
            );
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

#[test]
fn s24_hostile_names_are_percent_encoded_in_href_and_escaped_in_text() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let body = server.get("/", &[]).text();
    let mut names: Vec<(Vec<u8>, &str)> = fixture::HOSTILE_NAMES
        .iter()
        .map(|n| (n.to_vec(), ""))
        .collect();
    for d in [&b"q?dir"[..], b"h#dir", b"a:b", b"sp ace", b"pct%dir"] {
        names.push((d.to_vec(), "/"));
    }
    names.push((fixture::long_name(), ""));
    for (name, slash) in names {
        let link = format!(
            "<tr><td><a href=\"{}{slash}\">{}{slash}</a><td",
            href_of(&name),
            shown(&name)
        );
        assert!(body.contains(&link), "missing {link:?} in listing:\n{body}");
    }
}

#[test]
fn s24_specific_escapes() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let body = server.get("/", &[]).text();
    for needle in [
        "<a href=\"100%25.txt\">100%.txt</a>",
        "<a href=\"caf%E9.txt\">caf<span class=esc>\\xE9</span>.txt</a>",
        "<a href=\"tab%09here.txt\">tab<span class=esc>\\t</span>here.txt</a>",
        "<a href=\"./crlf%0D%0AX-Injected:%20yes/\">crlf<span class=esc>\\r</span><span class=esc>\\n</span>X-Injected: yes/</a>",
        "<a href=\"a%23b.txt\">a#b.txt</a>",
        "<a href=\"what%3F.txt\">what?.txt</a>",
        "<a href=\"with%20space.txt\">with space.txt</a>",
        "<a href=\"a%26b.txt\">a&amp;b.txt</a>",
        "<a href=\"back%5Cslash.txt\">back\\slash.txt</a>",
        "<a href=\"caf%C3%A9.txt\">café.txt</a>",
        "<a href=\"%E6%97%A5%E6%9C%AC.txt\">日本.txt</a>",
        "<a href=\"./a:b.txt\">a:b.txt</a>",
        "<a href=\"./a:b/\">a:b/</a>",
        "<a href=\"plus+semi;eq=.txt\">plus+semi;eq=.txt</a>",
        "<a href=\"%3Cimg%20src=x%20onerror=alert(1)%3E.txt\">&lt;img src=x onerror=alert(1)&gt;.txt</a>",
        "<a href=\"%3Cscript%3Ealert(1)%3C%5Cscript%3E.txt\">&lt;script&gt;alert(1)&lt;\\script&gt;.txt</a>",
    ] {
        assert!(body.contains(needle), "missing {needle:?} in:\n{body}");
    }
    // Nothing a browser would run, no raw control character, and no raw quote inside an
    // attribute.
    assert!(!body.contains("<script"), "{body}");
    assert!(!body.contains("<img"), "{body}");
    assert!(
        !body.contains(|c: char| c.is_control() && c != '\n'),
        "a raw control character in {body:?}"
    );
    let entries = hrefs(&body);
    for h in &entries {
        assert!(
            !h.contains(['"', '<', '>', ' ', '\\', '#', '?', '&', '\t', '\r', '\n']),
            "unsafe href {h:?}"
        );
    }
    // Every other link navigates: an absolute path, never one that could name another host.
    for h in all_links(&body).iter().filter(|h| !entries.contains(h)) {
        assert!(h.starts_with('/') && !h.starts_with("//"), "{h:?}");
    }
}

#[test]
fn s24_every_link_in_a_listing_works() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let body = server.get("/", &[]).text();
    let hrefs = hrefs(&body);
    assert!(hrefs.len() > 40, "{hrefs:?}");
    for h in hrefs {
        let r = server.get(&format!("/{h}"), &[]);
        let expected = if h == "unreadable.txt" && tree.unreadable_enforced {
            403
        } else {
            200
        };
        assert_eq!(r.status, expected, "/{h}: {r:?}");
    }
}

#[test]
fn s24_entries_hidden_by_policy_are_not_listed() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let hrefs = hrefs(&server.get("/", &[]).text());
    for hidden in [
        ".env",
        ".git/",
        "link-out-file",
        "link-out-dir/",
        "link-out-rel",
        "passwd",
        "dangling",
        "loop-a",
        "loop-b",
    ] {
        assert!(!hrefs.contains(&hidden.to_string()), "{hidden} listed");
    }
    assert!(hrefs.contains(&".well-known/".to_string()));
    let list = server.get("/list/", &[]).text();
    assert!(!list.contains(".hidden-in-list"), "{list}");
    let r = server.get("/idx-out/", &[]);
    assert!(!r.text().contains("index.html"), "{}", r.text());
}

// 25 ------------------------------------------------------------------------------------------

fn json_listing(r: &Response) -> Vec<Json> {
    assert_eq!(r.status, 200, "{r:?}");
    let ct = r.header("Content-Type").unwrap();
    assert!(ct.starts_with("application/json"), "{ct}");
    match Json::parse(&r.text()) {
        Json::Arr(items) => items,
        other => panic!("not an array: {other:?}"),
    }
}

#[test]
fn s25_accept_json_gives_a_json_listing() {
    let tree = Tree::new();
    for (name, secs) in [("a.txt", 1_500_000_000), ("b.txt", 1_500_000_001)] {
        set_mtime(&tree.path(format!("list/{name}").as_bytes()), secs);
    }
    set_mtime(&tree.path(b"list/dir"), PAST_MTIME);
    set_mtime(&tree.path(b"list"), PAST_MTIME);
    let server = tree.serve(&[]);
    let r = server.get("/list/", &[("Accept", "application/json")]);
    let items = json_listing(&r);
    let names: Vec<&str> = items
        .iter()
        .map(|i| i.get("name").unwrap().str().unwrap())
        .collect();
    assert_eq!(names, ["dir", "a.txt", "b.txt", "C.txt"]);
    for item in &items {
        let Json::Obj(fields) = item else { panic!() };
        let keys: BTreeSet<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            BTreeSet::from(["name", "href", "type", "size", "mtime"]),
            "{item:?}"
        );
    }
    let a = &items[1];
    assert_eq!(a.get("type").unwrap().str(), Some("file"));
    assert_eq!(a.get("size").unwrap().num(), Some(2.0));
    assert_eq!(
        a.get("mtime").unwrap().str(),
        Some(fixture::rfc3339(1_500_000_000).as_str())
    );
    let dir = &items[0];
    assert_eq!(dir.get("type").unwrap().str(), Some("dir"));
    assert_eq!(
        dir.get("mtime").unwrap().str(),
        Some(fixture::rfc3339(PAST_MTIME).as_str())
    );
    // Hidden entries are left out of JSON too.
    assert!(!r.text().contains(".hidden-in-list"));
    // Vary: Accept on both forms.
    assert_eq!(r.header("Vary"), Some("Accept"));
    assert_eq!(server.get("/list/", &[]).header("Vary"), Some("Accept"));
}

#[test]
fn s25_json_listing_of_hostile_names_is_valid_json() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.get("/", &[("Accept", "application/json")]);
    let items = json_listing(&r);
    let names: BTreeSet<String> = items
        .iter()
        .map(|i| i.get("name").unwrap().str().unwrap().to_string())
        .collect();
    for (i, n) in fixture::HOSTILE_NAMES.iter().enumerate() {
        let lossy = String::from_utf8_lossy(n).into_owned();
        assert!(names.contains(&lossy), "{i}: {lossy:?} not in {names:?}");
    }
    assert!(names.contains("crlf\r\nX-Injected: yes"));
    assert!(names.contains(".well-known"));
    assert!(!names.contains(".env"));
    assert!(!names.contains("link-out-file"));
    let big = items
        .iter()
        .find(|i| i.get("name").unwrap().str() == Some("big.bin"))
        .unwrap();
    assert_eq!(
        big.get("size").unwrap().num(),
        Some(fixture::BIG_LEN as f64)
    );
    let link = items
        .iter()
        .find(|i| i.get("name").unwrap().str() == Some("link-in-dir"))
        .unwrap();
    assert_eq!(link.get("type").unwrap().str(), Some("dir"));
}

#[test]
fn s25_listing_304_and_head_for_json() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let r = server.get(
        "/list/",
        &[
            ("Accept", "application/json"),
            ("If-Modified-Since", PAST_DATE),
        ],
    );
    assert_eq!(r.status, 304, "{r:?}");
    assert_eq!(r.header("Vary"), Some("Accept"));
    let get = server.get("/list/", &[("Accept", "application/json")]);
    let head = server.request("HEAD", "/list/", &[("Accept", "application/json")]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("Content-Type"), get.header("Content-Type"));
    assert_eq!(head.header("Content-Length"), get.header("Content-Length"));
}

#[test]
fn s23_big_listing_has_a_content_length_and_is_not_chunked() {
    let tree = Tree::new();
    for i in 0..1500 {
        common::write(
            &tree.root,
            format!("many/file-with-a-longish-name-{i:05}.txt").as_bytes(),
            b"",
        );
    }
    let server = tree.serve(&[]);
    for accept in ["text/html", "application/json"] {
        let r = server.get("/many/", &[("Accept", accept)]);
        assert_eq!(r.status, 200);
        assert!(r.body.len() > 64 * 1024, "{}", r.body.len());
        assert_eq!(
            r.header("Content-Length"),
            Some(r.body.len().to_string().as_str()),
            "{accept}"
        );
        assert!(!r.has("Transfer-Encoding"), "{accept}: chunked listing");
    }
    let r = server.get("/many/", &[]);
    assert_eq!(hrefs(&r.text()).len(), 1500);
}
