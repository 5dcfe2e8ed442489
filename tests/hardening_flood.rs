//! The connection and thread budget (docs/behaviour.md, "Connections"): with the default
//! settings, 1,000
//! idle connections plus 50 slowloris connections don't keep a fresh client waiting more than
//! 3 s, and threads stay bounded; with `--max-connections 64`, a connection past the cap gets a
//! 503, a prompt close, or (when an idle or slow connection can be evicted) its answer — never
//! a stall. Threads stay within the cap plus a few, also under a burst of connects at the cap,
//! and the flood requirement also holds under the common soft fd limit of 1024.

mod common;
mod hardening_util;

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::{request_bytes, Server};
use hardening_util::*;

/// Threads the server runs besides connection threads (main, accept, signals, watch, access
/// log) plus a little slack for threads that are finishing.
const OVERHEAD_THREADS: u64 = 16;

#[test]
fn defaults_hold_up_under_1000_idle_and_50_slowloris_connections() {
    let nofile = raise_nofile(4096);
    assert!(
        nofile >= 2200,
        "RLIMIT_NOFILE of the test process is {nofile}: need 1,050 client sockets and the server's"
    );
    let root = fixture("flood");
    // Default limits and timeouts: max 1024 connections, 15 s idle, 10 s head.
    let server = Server::start(root.path(), &["--no-access-log"]);
    assert_served(&server, Duration::from_secs(2), "warm-up");
    let base_threads = threads(&server);
    let base_fds = baseline_fds(&server);

    let started = Instant::now();
    let mut idle = open_many(&server, 1000, b"");
    let slow = Dribbler::start(&server, 50, Duration::from_secs(1));
    // The server takes them in: a descriptor each (and a thread for each slow head), up to
    // its cap of 1024.
    let taken = common::wait_until(Duration::from_secs(10), || {
        server.open_fds() >= base_fds + 1000
    });
    assert!(
        taken,
        "the server never held the flood (fds {})",
        server.open_fds()
    );
    eprintln!(
        "flood held after {:?}: Threads {}, fds {}, VmRSS {} KiB",
        started.elapsed(),
        threads(&server),
        server.open_fds(),
        rss_kib(&server)
    );

    // For about 4 s (before the 10 s head timeout frees the slowloris connections), fresh
    // clients keep coming; each must get its file within 3 s.
    let mut worst = Duration::ZERO;
    let mut max_threads = 0;
    let hold = Instant::now();
    let mut fresh = 0;
    while hold.elapsed() < Duration::from_secs(4) {
        let took = assert_served(
            &server,
            Duration::from_secs(3),
            "fresh client during the flood",
        );
        worst = worst.max(took);
        fresh += 1;
        let t = threads(&server);
        max_threads = max_threads.max(t);
        assert!(
            t <= 1024 + OVERHEAD_THREADS,
            "{t} threads with a cap of 1024 connections"
        );
        assert!(server.open_fds() <= 1024 + 16, "{} fds", server.open_fds());
        thread::sleep(Duration::from_millis(250));
    }
    eprintln!("{fresh} fresh clients, slowest {worst:?}, max Threads {max_threads}");
    // The slowloris connections were still being held the whole time (the server closes idle
    // connections first to make room).
    assert_eq!(slow.alive(), 50, "slowloris connections dropped early");
    assert!(
        slow.sent.load(std::sync::atomic::Ordering::SeqCst) >= 50 * 4,
        "the slowloris connections kept sending"
    );

    // Let go: the connections' fds are released at once, the parked threads within the pool's
    // 10 s idle lifetime.
    drop(slow);
    close_all(&mut idle);
    let fds = fds_settle(&server, base_fds + 2, Duration::from_secs(5));
    assert!(
        fds <= base_fds + 2,
        "fds {fds} after the flood (baseline {base_fds})"
    );
    let t = threads_settle(
        &server,
        base_threads + poller_threads(),
        Duration::from_secs(14),
    );
    assert!(
        t <= base_threads + poller_threads(),
        "Threads {t} 14 s after the flood (baseline {base_threads})"
    );
    assert_served(&server, Duration::from_secs(2), "after the flood");
}

fn cap_server(tag: &str) -> (common::TempDir, Server) {
    let root = fixture(tag);
    let server = Server::start(root.path(), &["--max-connections", "64", "--no-access-log"]);
    assert_served(&server, Duration::from_secs(2), "warm-up");
    (root, server)
}

/// A connection past the cap gets 503 or a prompt close; asserts it and returns which.
fn assert_refused_promptly(server: &Server, context: &str) -> Option<u16> {
    let (seen, took) = get(server, "/small.txt", Duration::from_secs(5));
    assert!(
        took <= Duration::from_secs(2),
        "{context}: waited {took:?} ({seen:?})"
    );
    match seen {
        Outcome::Response(r) => {
            assert_eq!(r.status, 503, "{context}: {r:?}");
            assert_date_no_server(&r, context);
            Some(503)
        }
        Outcome::Closed => None,
        Outcome::Silent => panic!("{context}: the server stalled"),
    }
}

#[test]
fn past_the_cap_fresh_downloads_are_kept_and_stalled_ones_make_room() {
    let (_root, server) = cap_server("cap-busy");
    let base_fds = baseline_fds(&server);
    // 64 downloads of a 64 MiB file that the clients don't read: every connection is in the
    // middle of a response, and none is idle.
    let request = request_bytes("GET", b"/big.bin", &[]);
    let mut busy = open_many(&server, 64, &request);
    // Each holds a socket and an open file on the server.
    let all_busy = common::wait_until(Duration::from_secs(10), || {
        server.open_fds() >= base_fds + 128
    });
    assert!(all_busy, "only {} fds", server.open_fds());
    let stalled = Instant::now();
    // While their clients have taken bytes within the last few seconds they aren't closed:
    // a new connection gets 503 or a prompt close. (On a machine so slow that this comes
    // late, the next part applies instead.)
    let mut statuses = Vec::new();
    while statuses.len() < 5 && stalled.elapsed() < Duration::from_millis(1500) {
        statuses.push(assert_refused_promptly(
            &server,
            &format!("connection {}", 65 + statuses.len()),
        ));
    }
    eprintln!("past the cap, downloads fresh: {statuses:?}");
    if !statuses.is_empty() {
        assert!(
            statuses.contains(&Some(503)),
            "no 503 at all past the cap: {statuses:?}"
        );
        for (i, s) in busy.iter().enumerate() {
            s.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
            let mut b = [0u8; 1];
            assert!(
                std::io::Read::read(&mut &*s, &mut b).is_ok_and(|n| n == 1),
                "busy connection {i} was closed"
            );
        }
    }
    // Once a client has taken nothing for 3 s, its download may go to make room: a fresh
    // client is served, at once.
    let wait = Duration::from_millis(3500).saturating_sub(stalled.elapsed());
    thread::sleep(wait);
    for i in 0..3 {
        assert_served(
            &server,
            Duration::from_secs(1),
            &format!("fresh client {i} with stalled downloads at the cap"),
        );
    }
    let t = threads(&server);
    assert!(t <= 64 + OVERHEAD_THREADS, "{t} threads with a cap of 64");
    close_all(&mut busy);
    assert_served(
        &server,
        Duration::from_secs(3),
        "after the busy connections closed",
    );
    let fds = fds_settle(&server, base_fds + 2, Duration::from_secs(5));
    assert!(fds <= base_fds + 2, "fds {fds} (baseline {base_fds})");
}

#[test]
fn past_the_cap_idle_connections_make_room() {
    let (_root, server) = cap_server("cap-idle");
    let base_fds = baseline_fds(&server);
    // 64 keep-alive connections, each idle after one exchange.
    let mut idle = open_many(&server, 64, &request_bytes("GET", b"/small.txt", &[]));
    for (i, s) in idle.iter().enumerate() {
        match outcome(s, Duration::from_secs(5), false) {
            Outcome::Response(r) => assert_eq!(r.status, 200, "connection {i}"),
            other => panic!("connection {i}: {other:?}"),
        }
    }
    // A new connection makes the server close the one idle the longest (vendor Settings:
    // "At the cap, the connection idle the longest is closed to make room").
    for i in 0..5 {
        assert_served(
            &server,
            Duration::from_secs(2),
            &format!("fresh client {i}"),
        );
    }
    let t = threads(&server);
    assert!(t <= 64 + OVERHEAD_THREADS, "{t} threads with a cap of 64");
    let closed = idle
        .iter()
        .filter(|s| wait_closed(s, Duration::from_millis(20)).is_some())
        .count();
    assert!(
        (1..=10).contains(&closed),
        "{closed} idle connections closed to make room for 5"
    );
    close_all(&mut idle);
    let fds = fds_settle(&server, base_fds + 2, Duration::from_secs(3));
    assert!(fds <= base_fds + 2, "fds {fds} (baseline {base_fds})");
}

#[test]
fn past_the_cap_young_slowloris_heads_get_503_or_close_and_old_ones_make_room() {
    let (_root, server) = cap_server("cap-slow");
    let base_fds = baseline_fds(&server);
    // 64 connections that start a head and keep dribbling it, one byte per 200 ms.
    let slow = Dribbler::start(&server, 64, Duration::from_millis(200));
    common::wait_until(Duration::from_secs(2), || threads(&server) >= 64);
    // While the heads are younger than a second, nothing can be evicted (an idle connection
    // might, if a thread hasn't read its first byte yet): a 503, a close, or the file — at once.
    let (seen, took) = get(&server, "/small.txt", Duration::from_secs(5));
    assert!(took <= Duration::from_secs(2), "waited {took:?}: {seen:?}");
    match &seen {
        Outcome::Response(r) => assert!([200, 503].contains(&r.status), "{r:?}"),
        Outcome::Closed => {}
        Outcome::Silent => panic!("stalled past the cap"),
    }
    eprintln!("young heads: {:?} after {took:?}", seen.status());
    // Once they have been dribbling for over a second, a fresh client evicts one and is served.
    thread::sleep(Duration::from_millis(1500));
    for i in 0..3 {
        assert_served(
            &server,
            Duration::from_secs(2),
            &format!("fresh client {i}"),
        );
    }
    let t = threads(&server);
    assert!(t <= 64 + OVERHEAD_THREADS, "{t} threads with a cap of 64");
    drop(slow);
    let fds = fds_settle(&server, base_fds + 2, Duration::from_secs(3));
    assert!(fds <= base_fds + 2, "fds {fds} (baseline {base_fds})");
}

#[test]
fn a_burst_of_connects_is_served() {
    // Upstream's TaskPool race left some of a burst of accepted connections without a thread.
    let root = fixture("burst");
    let server = Server::start(root.path(), &["--no-access-log"]);
    for round in 0..5 {
        let request = request_bytes("GET", b"/small.txt", &[("Connection", "close")]);
        let streams = open_many(&server, 60, &request);
        for (i, s) in streams.iter().enumerate() {
            match outcome(s, Duration::from_secs(3), false) {
                Outcome::Response(r) => assert_eq!(r.status, 200, "round {round}, {i}"),
                other => panic!("round {round}, connection {i} of a burst: {other:?}"),
            }
        }
    }
}

#[test]
fn a_burst_of_connects_at_the_cap_does_not_grow_threads_past_it() {
    // At the cap, every new connection evicts an idle one. Idle connections hold no thread,
    // and evicting one must not start any: threads stay within the cap however many
    // connections come and go.
    let (_root, server) = cap_server("cap-burst");
    let base_fds = baseline_fds(&server);
    let mut idle = open_many(&server, 64, b"");
    common::wait_until(Duration::from_secs(2), || {
        server.open_fds() >= base_fds + 64
    });
    let pid = server.pid();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = {
        let (done, peak) = (done.clone(), peak.clone());
        thread::spawn(move || {
            use std::sync::atomic::Ordering::SeqCst;
            while !done.load(SeqCst) {
                if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                    let t = status
                        .lines()
                        .find_map(|l| l.strip_prefix("Threads:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    peak.fetch_max(t, SeqCst);
                }
                thread::sleep(Duration::from_millis(2));
            }
        })
    };
    // 500 connections as fast as we can open them, each idle: each evicts the oldest.
    let mut burst = open_many(&server, 500, b"");
    thread::sleep(Duration::from_millis(500));
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    sampler.join().unwrap();
    let after = threads(&server);
    let peak = peak.load(std::sync::atomic::Ordering::SeqCst);
    eprintln!("burst at the cap: peak Threads {peak}, after {after}");
    assert_served(&server, Duration::from_secs(2), "after the burst");
    close_all(&mut burst);
    close_all(&mut idle);
    assert!(
        peak <= 64 + OVERHEAD_THREADS,
        "peak {peak} threads with --max-connections 64 (after the burst: {after})"
    );
}

#[test]
fn the_flood_requirement_holds_under_the_usual_soft_fd_limit_of_1024() {
    // Most Linux hosts and systemd services start processes with a soft RLIMIT_NOFILE of 1024
    // (and a much higher hard limit). With the default cap of 1024 connections, a flood of
    // 1,000 idle and 50 slowloris connections then exhausts descriptors before the cap is reached:
    // the accept loop evicts an idle connection to accept the fresh one, but no descriptor is
    // left to open the file. A fresh client must still get its file (raise the soft limit to
    // the hard one at start-up, as Go does, or keep the cap below the descriptor limit).
    let nofile = raise_nofile(4096);
    assert!(
        nofile >= 2200,
        "RLIMIT_NOFILE of the test process is {nofile}"
    );
    let (_, hard) = nofile_limits();
    if hard < 4096 {
        eprintln!("skipped: the hard RLIMIT_NOFILE ({hard}) leaves no room above 1024");
        return;
    }
    let root = fixture("flood-1024");
    let limit = format!("--nofile=1024:{hard}");
    let server = start_wrapped(
        &["prlimit", &limit, "--"],
        root.path(),
        &["--no-access-log"],
    );
    assert_served(&server, Duration::from_secs(2), "warm-up");
    let base_fds = baseline_fds(&server);
    let mut idle = open_many(&server, 1000, b"");
    let slow = Dribbler::start(&server, 50, Duration::from_secs(1));
    common::wait_until(Duration::from_secs(10), || {
        server.open_fds() >= (base_fds + 1000).min(1000)
    });
    thread::sleep(Duration::from_millis(500));
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (seen, took) = get(&server, "/small.txt", Duration::from_secs(5));
        statuses.push((seen.status(), took));
    }
    eprintln!(
        "under a soft limit of 1024 fds: {statuses:?}; server fds {}",
        server.open_fds()
    );
    drop(slow);
    close_all(&mut idle);
    for (status, took) in &statuses {
        assert_eq!(
            *status,
            Some(200),
            "a fresh client got {status:?} after {took:?} during the flood under a soft \
             RLIMIT_NOFILE of 1024 (all: {statuses:?})"
        );
        assert!(*took <= Duration::from_secs(3));
    }
}

#[test]
fn idle_keep_alive_connections_hold_no_thread() {
    // Between requests a connection waits in the epoll set, not on a thread: 500 keep-alive
    // connections that have each been answered, and now wait, add no thread; each is still
    // served when it sends its next request.
    let root = fixture("idle-threads");
    let server = Server::start(root.path(), &["--no-access-log"]);
    assert_served(&server, Duration::from_secs(2), "warm-up");
    let base_threads = threads(&server);
    let request = request_bytes("GET", b"/small.txt", &[]);
    let held = open_many(&server, 500, &request);
    for round in 0..2 {
        for (i, s) in held.iter().enumerate() {
            if round > 0 {
                (&*s).write_all(&request).unwrap();
            }
            match outcome(s, Duration::from_secs(5), false) {
                Outcome::Response(r) => assert_eq!(r.status, 200, "round {round}, {i}"),
                other => panic!("round {round}, connection {i}: {other:?}"),
            }
        }
        let t = threads(&server);
        eprintln!("round {round}: 500 idle keep-alive connections, Threads {t}");
        assert!(
            t <= base_threads + poller_threads(),
            "Threads {t} for 500 idle connections (baseline {base_threads})"
        );
    }
}

#[test]
fn a_connection_holds_no_descriptor_until_its_request_arrives() {
    // HTTP clients speak first, so the server has the kernel accept a connection only once its
    // request has arrived: 50 connections that have sent nothing yet cost no descriptor while
    // a fresh client is served, and each is answered once it sends its request.
    let root = fixture("deferred-accept");
    let server = Server::start(root.path(), &["--no-access-log"]);
    assert_served(&server, Duration::from_secs(2), "warm-up");
    let base = baseline_fds(&server);
    let silent: Vec<TcpStream> = (0..50).map(|_| server.connect()).collect();
    // Connected after the silent ones: by the time it is answered the server has accepted
    // every connection the kernel had ready for it, the silent ones too if they were.
    assert_served(
        &server,
        Duration::from_secs(2),
        "beside 50 silent connections",
    );
    let fds = fds_settle(&server, base, Duration::from_secs(2));
    assert!(
        fds <= base,
        "{fds} descriptors with 50 connections that sent nothing (baseline {base})"
    );
    let request = request_bytes("GET", b"/small.txt", &[("Connection", "close")]);
    for (i, s) in silent.iter().enumerate() {
        (&*s).write_all(&request).unwrap();
        match outcome(s, Duration::from_secs(5), false) {
            Outcome::Response(r) => assert_eq!(r.status, 200, "connection {i}"),
            other => panic!("connection {i}, after its request: {other:?}"),
        }
    }
}

#[test]
fn a_request_that_arrives_while_the_last_one_is_served_is_answered() {
    // A connection waiting for its next request stays registered in the epoll set, edge-
    // triggered: the bytes of a request that arrive while a thread is still serving the last
    // one make their event then, and another thread may take it and find the connection busy,
    // or take it in a batch and hand it back because it must wait itself (a large listing
    // does). The request must be answered all the same. Eight clients at once, each sending
    // a request for a listing of 5,000 entries (some milliseconds of work) and, a millisecond
    // later, while it is listed, one for a small file. The sleep only shapes the timing: a
    // round that misses the window tests nothing, and none fails.
    let root = fixture("busy-event");
    let big = root.path().join("big");
    std::fs::create_dir(&big).unwrap();
    for i in 0..5000 {
        std::fs::write(big.join(format!("entry-{i:05}")), b"").unwrap();
    }
    let server = Server::start(root.path(), &["--no-access-log", "--threads", "4"]);
    let listing = request_bytes("GET", b"/big/", &[]);
    let small = request_bytes("GET", b"/small.txt", &[]);
    let streams: Vec<TcpStream> = (0..8).map(|_| server.connect()).collect();
    thread::scope(|scope| {
        for (client, s) in streams.iter().enumerate() {
            let (listing, small) = (&listing, &small);
            scope.spawn(move || {
                s.set_nodelay(true).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut reader = BufReader::new(s);
                for round in 0..20 {
                    (&*s).write_all(listing).unwrap();
                    thread::sleep(Duration::from_millis(1));
                    (&*s).write_all(small).unwrap();
                    for (n, want) in [(0, None), (1, Some(small_body()))] {
                        let at = format!("client {client}, round {round}, response {n}");
                        let r = common::read_response(&mut reader, false)
                            .unwrap_or_else(|e| panic!("{at}: {e}"));
                        assert_eq!(r.status, 200, "{at}");
                        if let Some(body) = want {
                            assert_eq!(r.body, body, "{at}");
                        }
                    }
                }
            });
        }
    });
}

#[test]
fn pipelined_requests_beyond_one_read_are_all_answered() {
    // 64 requests of exactly 128 bytes in one write: the server's first read takes the first
    // 2,048 bytes (its read buffer) and answers 16 requests from them with its buffer then
    // empty, while the rest wait in the socket and make no new event (the registration is
    // edge-triggered). Every request must be answered.
    let root = fixture("pipelined-beyond-read");
    let server = Server::start(root.path(), &["--no-access-log"]);
    let base = request_bytes("GET", b"/small.txt", &[("X-Pad", "")]);
    let pad = "p".repeat(128 - base.len());
    let one = request_bytes("GET", b"/small.txt", &[("X-Pad", &pad)]);
    assert_eq!(one.len(), 128);
    let s = server.connect();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    (&s).write_all(&one.repeat(64)).unwrap();
    let mut reader = BufReader::new(&s);
    for n in 0..64 {
        let r = common::read_response(&mut reader, false)
            .unwrap_or_else(|e| panic!("response {n} of 64: {e}"));
        assert_eq!(r.status, 200, "response {n}");
        assert_eq!(r.body, small_body(), "response {n}");
    }
}

/// Opens 20 keep-alive connections, each answered once, and returns how many threads the
/// server gained since it started (none of the connections waits for its client, so the
/// count is the threads that serve ready connections).
fn serving_threads(server: &Server) -> u64 {
    // Every fixed thread runs before the start-up line is printed.
    let before = threads(server);
    let request = request_bytes("GET", b"/small.txt", &[]);
    let held = open_many(server, 20, &request);
    for (i, s) in held.iter().enumerate() {
        assert_eq!(
            outcome(s, Duration::from_secs(5), false).status(),
            Some(200),
            "connection {i}"
        );
    }
    threads(server) - before
}

#[test]
fn threads_sets_how_many_threads_serve_ready_connections() {
    let root = fixture("threads");
    for n in [1u64, 3] {
        let server = Server::start(root.path(), &["--threads", &n.to_string()]);
        assert_eq!(serving_threads(&server), n, "--threads {n}");
        let server = Server::start_with(
            root.path(),
            &[],
            &[("HTTP_FILESERVER_THREADS", &n.to_string())],
        );
        assert_eq!(serving_threads(&server), n, "HTTP_FILESERVER_THREADS={n}");
    }
    let server = Server::start(root.path(), &[]);
    assert_eq!(serving_threads(&server), poller_threads(), "default");
}
