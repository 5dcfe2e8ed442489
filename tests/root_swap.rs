//! A root that is a symlink swapped to a new tree is followed within a second, and no
//! response mixes the two trees (docs/behaviour.md, "What may be served").

mod common;

use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{write, Server, TempDir};

/// Two releases: in `one`, /docs/ has an index page; in `two` it has none, so it is listed.
fn releases(dir: &Path) {
    write(dir, b"releases/one/version.txt", b"one\n");
    write(
        dir,
        b"releases/one/docs/index.html",
        b"<p>docs of one</p>\n",
    );
    write(dir, b"releases/one/docs/one-a.txt", b"a\n");
    write(dir, b"releases/two/version.txt", b"two\n");
    write(dir, b"releases/two/docs/two-a.txt", b"a\n");
    write(dir, b"releases/two/docs/two-b.txt", b"b\n");
}

/// Points `dir/current` at `releases/NAME` in one step, as deploy tools do: a new link,
/// renamed over the old one.
fn point(dir: &Path, name: &str) {
    let next = dir.join("current.next");
    let _ = std::fs::remove_file(&next);
    symlink(Path::new("releases").join(name), &next).unwrap();
    std::fs::rename(&next, dir.join("current")).unwrap();
}

#[test]
fn a_swapped_root_is_served_within_a_second() {
    let dir = TempDir::new("swap");
    releases(dir.path());
    point(dir.path(), "one");
    let server = Server::start(&dir.path().join("current"), &[]);
    assert_eq!(server.get("/version.txt", &[]).body, b"one\n");
    point(dir.path(), "two");
    let swapped = Instant::now();
    let mut seen = Vec::new();
    while swapped.elapsed() < Duration::from_secs(3) {
        seen = server.get("/version.txt", &[]).body;
        if seen == b"two\n" {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let took = swapped.elapsed();
    assert_eq!(seen, b"two\n", "still the old tree after {took:?}");
    // A second of checking, plus the requests' own time on a busy machine.
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    let line = server
        .stderr_line("now names")
        .expect("a line about the new root");
    assert!(line.contains("releases/two"), "{line}");
    // And back.
    point(dir.path(), "one");
    let back = common::wait_until(Duration::from_secs(3), || {
        server.get("/version.txt", &[]).body == b"one\n"
    });
    assert!(back);
}

#[test]
fn no_response_mixes_two_trees_while_the_root_is_swapped() {
    let dir = TempDir::new("swap-loop");
    releases(dir.path());
    point(dir.path(), "one");
    let server = Server::start(&dir.path().join("current"), &["--no-access-log"]);
    let stop = AtomicBool::new(false);
    let (mut ones, mut twos) = (0u32, 0u32);
    thread::scope(|s| {
        // Swaps every few milliseconds, each burst ending on one tree held for longer than
        // the server's second between looks, so that both trees are served for sure.
        s.spawn(|| {
            let mut hold = "two";
            while !stop.load(Ordering::Relaxed) {
                for flip in 0..40 {
                    point(dir.path(), if flip % 2 == 0 { "one" } else { "two" });
                    thread::sleep(Duration::from_millis(7));
                }
                point(dir.path(), hold);
                hold = if hold == "two" { "one" } else { "two" };
                let held = Instant::now();
                while held.elapsed() < Duration::from_millis(1300) && !stop.load(Ordering::Relaxed)
                {
                    thread::sleep(Duration::from_millis(10));
                }
            }
        });
        // Until both trees have been served, and for at least 4 s (at most 20).
        let started = Instant::now();
        let go_on = |ones: u32, twos: u32| {
            let elapsed = started.elapsed();
            elapsed < Duration::from_secs(20)
                && (ones == 0 || twos == 0 || elapsed < Duration::from_secs(4))
        };
        while go_on(ones, twos) {
            let r = server.get("/docs/", &[]);
            assert_eq!(r.status, 200, "{r:?}");
            let text = r.text();
            if text.contains("docs of one") {
                ones += 1;
            } else {
                // tree two's listing: its own files only, never tree one's (which has an
                // index page, so its /docs/ is never listed at all).
                assert!(
                    text.contains("two-a.txt") && text.contains("two-b.txt"),
                    "{text}"
                );
                assert!(
                    !text.contains("one-a.txt") && !text.contains("index.html"),
                    "{text}"
                );
                twos += 1;
            }
            let v = server.get("/version.txt", &[]);
            assert_eq!(v.status, 200);
            assert!(v.body == b"one\n" || v.body == b"two\n");
        }
        stop.store(true, Ordering::Relaxed);
    });
    eprintln!("{ones} responses from tree one, {twos} from tree two");
    assert!(ones > 0 && twos > 0, "the swaps were never seen");
}
