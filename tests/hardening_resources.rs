//! The accept loop survives running out of file descriptors (upstream tiny_http's
//! accept thread ended at the first EMFILE and the process stayed up, deaf), and a failed
//! thread spawn refuses the connection instead of killing the process; when no thread can be
//! started at all, the process exits non-zero (core.rs SPAWN_FAILURE_GRACE, 10 s) rather than
//! stay alive but dead.
//!
//! Limits are set with util-linux `prlimit` (RLIMIT_NOFILE, RLIMIT_NPROC) and `setpriv` (to run
//! the server as uid 65534, since root ignores RLIMIT_NPROC); both exec the server, so the
//! child's PID is the server's. ECONNABORTED (a client resetting between SYN and accept) can't
//! be provoked reliably from user space on Linux without raw packets, so it isn't tested here;
//! the accept loop treats it like any other per-connection error (core.rs).

mod common;
mod hardening_util;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use common::{request_bytes, Server};
use hardening_util::*;

/// The server's RLIMIT_NOFILE in the EMFILE tests.
const NOFILE: usize = 64;

fn emfile_server(tag: &str) -> (common::TempDir, Server) {
    let root = fixture(tag);
    let limit = format!("--nofile={NOFILE}:{NOFILE}");
    let server = start_wrapped(
        &["prlimit", &limit, "--"],
        root.path(),
        &["--no-access-log"],
    );
    (root, server)
}

/// Connects and sends `GET /big.bin` without ever reading the body; returns the stream once
/// the response's status line has arrived, or `None` if it didn't within `limit`.
fn start_download(server: &Server, limit: Duration) -> (TcpStream, bool) {
    let s = TcpStream::connect_timeout(&server.addr, Duration::from_secs(5)).unwrap();
    (&s).write_all(&request_bytes("GET", b"/big.bin", &[]))
        .unwrap();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut line = String::new();
    let started = BufReader::with_capacity(64, &s)
        .read_line(&mut line)
        .is_ok()
        && line.starts_with("HTTP/1.1 200");
    (s, started)
}

#[test]
fn the_accept_loop_survives_running_out_of_file_descriptors() {
    let (_root, mut server) = emfile_server("emfile-busy");
    assert_served(&server, Duration::from_secs(2), "warm-up");
    let base_fds = baseline_fds(&server);

    // Downloads that never read hold a socket and a file each. Open them one by one until the
    // server can't take another: it has run out of descriptors.
    let mut held = Vec::new();
    let mut exhausted = false;
    for _ in 0..NOFILE {
        let (s, started) = start_download(&server, Duration::from_secs(2));
        held.push(s);
        if !started {
            exhausted = true;
            break;
        }
    }
    let peak = server.open_fds();
    eprintln!(
        "{} downloads held; server fds {peak} (limit {NOFILE})",
        held.len()
    );
    assert!(
        exhausted,
        "the server served {} downloads with {NOFILE} descriptors",
        held.len()
    );
    assert!(peak >= NOFILE - 4, "only {peak} fds open: not exhausted");
    assert!(alive(&mut server), "the server died of EMFILE");

    // Everyone leaves. Upstream's accept thread was gone by now; ours backs off and retries.
    close_all(&mut held);
    let started = Instant::now();
    let back = common::wait_until(Duration::from_secs(5), || {
        matches!(
            get(&server, "/small.txt", Duration::from_secs(2)).0,
            Outcome::Response(ref r) if r.status == 200
        )
    });
    assert!(
        back,
        "no fresh client served within 5 s after the descriptors were freed"
    );
    eprintln!("served again after {:?}", started.elapsed());
    assert_served(&server, Duration::from_secs(1), "after EMFILE");
    let fds = fds_settle(&server, base_fds + 2, Duration::from_secs(5));
    assert!(fds <= base_fds + 2, "fds {fds} (baseline {base_fds})");
    assert!(alive(&mut server));
}

#[test]
fn under_emfile_idle_connections_are_closed_to_make_room() {
    let (_root, mut server) = emfile_server("emfile-idle");
    assert_served(&server, Duration::from_secs(2), "warm-up");
    // Twice as many idle connections as the server has descriptors.
    let mut idle = open_many(&server, 2 * NOFILE, b"");
    let full = common::wait_until(Duration::from_secs(5), || server.open_fds() >= NOFILE - 4);
    assert!(full, "{} fds", server.open_fds());
    // A fresh client makes the accept loop close the longest-idle connection and retry. It
    // must not stall; it may get a 5xx if the file can't be opened for lack of descriptors.
    for i in 0..5 {
        let (seen, took) = get(&server, "/small.txt", Duration::from_secs(5));
        eprintln!(
            "fresh client {i} under EMFILE: {:?} after {took:?}",
            seen.status()
        );
        assert!(
            took <= Duration::from_secs(3),
            "fresh client {i} waited {took:?}: {seen:?}"
        );
        match seen {
            Outcome::Response(r) => assert!([200, 500, 503].contains(&r.status), "{r:?}"),
            Outcome::Closed => {}
            Outcome::Silent => panic!("fresh client {i} stalled under EMFILE"),
        }
    }
    assert!(alive(&mut server));
    close_all(&mut idle);
    let back = common::wait_until(Duration::from_secs(5), || {
        matches!(
            get(&server, "/small.txt", Duration::from_secs(2)).0,
            Outcome::Response(ref r) if r.status == 200
        )
    });
    assert!(back, "not served again after the idle connections closed");
}

/// Tests that run the server as uid 65534 share that user's RLIMIT_NPROC count: one at a time.
static NOBODY: Mutex<()> = Mutex::new(());

fn can_switch_user() -> bool {
    if !is_root() || !have("setpriv") || !have("prlimit") {
        eprintln!("skipped: needs root, setpriv and prlimit to run the server as uid 65534");
        return false;
    }
    true
}

/// Threads the server runs with no connection (measured, since it may change).
fn idle_threads(root: &std::path::Path) -> u64 {
    let server = start_wrapped(
        &[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ],
        root,
        &[],
    );
    // Every fixed thread runs before the start-up line is printed.
    threads(&server)
}

fn nproc_server(root: &std::path::Path, nproc: u64) -> Server {
    let limit = format!("--nproc={nproc}:{nproc}");
    start_wrapped(
        &[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "prlimit",
            &limit,
            "--",
        ],
        root,
        &[],
    )
}

#[test]
fn a_failed_thread_spawn_refuses_the_connection_and_the_server_recovers() {
    let _one = NOBODY.lock().unwrap_or_else(|e| e.into_inner());
    if !can_switch_user() {
        return;
    }
    let root = fixture("nproc");
    let base = idle_threads(root.path());
    // Room for exactly 4 connection threads.
    let mut server = nproc_server(root.path(), base + 4);

    // Four connections that each hold a thread: it waits for the rest of their head.
    let first_half = b"GET /small.txt HTTP/1.1\r\nHost: x\r\n";
    let mut held = open_many(&server, 4, first_half);
    let all_held = common::wait_until(Duration::from_secs(3), || threads(&server) >= base + 4);
    assert!(all_held, "Threads {} (baseline {base})", threads(&server));
    // More connections than threads can serve: refused at once, and the process lives on.
    let mut statuses = Vec::new();
    for i in 0..8 {
        let (seen, took) = get(&server, "/small.txt", Duration::from_secs(5));
        assert!(
            took <= Duration::from_secs(2),
            "connection {} waited {took:?}: {seen:?}",
            5 + i
        );
        statuses.push(seen.status());
        match seen {
            Outcome::Response(r) => {
                assert_eq!(r.status, 503, "{r:?}");
                assert_date_no_server(&r, "503");
            }
            Outcome::Closed => {}
            Outcome::Silent => panic!("connection {} stalled", 5 + i),
        }
        assert!(
            alive(&mut server),
            "the server died when a thread spawn failed"
        );
    }
    eprintln!("past the thread limit: {statuses:?}");
    assert!(threads(&server) <= base + 4);
    // The held connections still work: their heads end, and they are answered.
    for (i, s) in held.iter().enumerate() {
        (&*s).write_all(b"\r\n").unwrap();
        assert_eq!(
            outcome(s, Duration::from_secs(5), false).status(),
            Some(200),
            "held connection {i}"
        );
    }
    // Once they close, their threads serve fresh clients again.
    close_all(&mut held);
    for i in 0..10 {
        assert_served(
            &server,
            Duration::from_secs(2),
            &format!("fresh client {i}"),
        );
    }
    assert!(alive(&mut server));
}

#[test]
fn with_no_thread_to_start_at_all_the_server_exits_non_zero() {
    let _one = NOBODY.lock().unwrap_or_else(|e| e.into_inner());
    if !can_switch_user() {
        return;
    }
    let root = fixture("nproc-zero");
    let base = idle_threads(root.path());
    // Not one connection thread can start: the server can serve nothing, and after refusing
    // connections for SPAWN_FAILURE_GRACE (10 s) it must exit non-zero (so that a container
    // restarts) — not stay alive but dead.
    let mut server = nproc_server(root.path(), base);
    thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let mut exit = None;
    let mut refused = 0;
    while started.elapsed() < Duration::from_secs(20) {
        if let Some(status) = server.child.try_wait().unwrap() {
            exit = Some(status);
            break;
        }
        let (seen, took) = get(&server, "/small.txt", Duration::from_secs(3));
        match seen {
            Outcome::Response(r) => assert_eq!(r.status, 503, "{r:?}"),
            Outcome::Closed => {}
            Outcome::Silent => {
                // Only acceptable once the process is on its way out.
                thread::sleep(Duration::from_millis(200));
                assert!(
                    !alive(&mut server),
                    "connection stalled while the server is up"
                );
            }
        }
        assert!(took <= Duration::from_secs(3), "waited {took:?}");
        refused += 1;
        thread::sleep(Duration::from_millis(250));
    }
    let took = started.elapsed();
    let status = exit.expect("the server neither served nor exited within 20 s");
    eprintln!("exited {status:?} after {took:?} and {refused} refused connections");
    assert!(!status.success(), "exit status {status:?}");
    assert_eq!(
        status.code(),
        Some(1),
        "expected a clean exit 1, not a crash: {status:?}"
    );
    assert!(
        took >= Duration::from_secs(9),
        "exited after {took:?}, before the 10 s grace"
    );
    let lines: Vec<String> = server.stderr.try_iter().collect();
    assert!(
        lines.iter().any(|l| l.starts_with("http-fileserver: ")),
        "no explanation on stderr: {lines:?}"
    );
}
