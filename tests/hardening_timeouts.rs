//! Timeouts (docs/behaviour.md, "Connections"): idle keep-alive timeout, request-head deadline, write
//! timeout. Each test runs the real server with short timeouts and measures, from the client's
//! side, when the server lets go; bounds are generous because CI shares two cores.

mod common;
mod hardening_util;

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{read_response, request_bytes, Server};
use hardening_util::*;

fn keep_alive_get(stream: &TcpStream, path: &str) -> common::Response {
    (&*stream)
        .write_all(&request_bytes("GET", path.as_bytes(), &[]))
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    read_response(&mut BufReader::new(stream), false).expect("a response")
}

#[test]
fn idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let root = fixture("idle");
    let server = Server::start(root.path(), &["--idle-timeout", "1s"]);
    let base_fds = baseline_fds(&server);

    // After one exchange, the connection is kept open…
    let s = server.connect();
    let r = keep_alive_get(&s, "/small.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection"), None, "{r:?}");
    // …and closed once it has been idle for about a second: not long before, not much after.
    let closed = wait_closed(&s, Duration::from_secs(6)).expect("idle connection never closed");
    assert!(
        closed >= Duration::from_millis(800),
        "closed after {closed:?}, before the 1 s idle timeout"
    );
    assert!(
        closed <= Duration::from_millis(2500),
        "closed after {closed:?} with a 1 s idle timeout"
    );

    // A connection that never sends a byte gets the same treatment, once the kernel hands it
    // over: the listener defers accepting a connection until its request arrives, for up to a
    // second (to its first SYN-ACK retransmission).
    let s = server.connect();
    let closed = wait_closed(&s, Duration::from_secs(6)).expect("silent connection never closed");
    assert!(
        (Duration::from_millis(800)..=Duration::from_millis(3500)).contains(&closed),
        "silent connection closed after {closed:?}"
    );
    // 20 idle connections at once are all let go, and the server's fds come back.
    let mut many = open_many(&server, 20, b"");
    for (i, s) in many.iter().enumerate() {
        assert!(
            wait_closed(s, Duration::from_secs(6)).is_some(),
            "idle connection {i} never closed"
        );
    }
    close_all(&mut many);
    let fds = fds_settle(&server, base_fds, Duration::from_secs(3));
    assert!(fds <= base_fds, "fds {fds} (baseline {base_fds})");
}

#[test]
fn each_request_restarts_the_idle_timer() {
    let root = fixture("idle-restart");
    let server = Server::start(root.path(), &["--idle-timeout", "2s"]);
    let s = server.connect();
    let started = Instant::now();
    // Four requests 1.2 s apart on one connection: 3.6 s in all, each gap under the timeout.
    for i in 0..4 {
        if i > 0 {
            thread::sleep(Duration::from_millis(1200));
        }
        let r = keep_alive_get(&s, "/small.txt");
        assert_eq!(r.status, 200, "request {i}");
        assert_eq!(r.body, small_body(), "request {i}");
    }
    assert!(started.elapsed() > Duration::from_secs(3));
}

/// Sends `bytes` one at a time, one every `interval`, on another thread, until told to stop or
/// a write fails.
fn dribble(stream: &TcpStream, bytes: Vec<u8>, interval: Duration) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = Arc::clone(&stop);
    let s = stream.try_clone().unwrap();
    thread::spawn(move || {
        for b in bytes {
            if stop2.load(Ordering::SeqCst) || (&s).write_all(&[b]).is_err() {
                return;
            }
            thread::sleep(interval);
        }
    });
    stop
}

#[test]
fn a_head_dribbled_one_byte_per_200ms_is_cut_off_at_the_head_timeout() {
    let root = fixture("head-deadline");
    let server = Server::start(root.path(), &["--head-timeout", "1s"]);
    let s = server.connect();
    let mut head = b"GET /small.txt HTTP/1.1\r\nHost: t\r\nX-Slow: ".to_vec();
    head.extend(std::iter::repeat_n(b'a', 200));
    let started = Instant::now();
    let stop = dribble(&s, head, Duration::from_millis(200));
    let seen = outcome(&s, Duration::from_secs(6), false);
    let took = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    match &seen {
        Outcome::Response(r) => {
            assert_eq!(r.status, 408, "{r:?}");
            assert_eq!(r.header("connection"), Some("close"), "{r:?}");
            assert_date_no_server(r, "408");
            // And the connection is closed after it.
            assert!(wait_closed(&s, Duration::from_secs(3)).is_some());
        }
        Outcome::Closed => {}
        Outcome::Silent => panic!("no 408 and no close within 6 s of a dribbled head"),
    }
    assert!(
        took >= Duration::from_millis(900),
        "cut off after {took:?}, before the 1 s head timeout ({seen:?})"
    );
    assert!(
        took <= Duration::from_millis(2000),
        "cut off after {took:?}: more than twice the 1 s head timeout"
    );
    // The server is fine afterwards.
    assert_served(&server, Duration::from_secs(2), "after a slow head");
}

#[test]
fn twenty_slowloris_heads_are_all_cut_off_and_release_their_resources() {
    let root = fixture("head-many");
    let server = Server::start(root.path(), &["--head-timeout", "1s", "--no-access-log"]);
    assert_served(&server, Duration::from_secs(2), "warm-up");
    let base_fds = baseline_fds(&server);
    let base_threads = threads(&server);
    let slow = Dribbler::start(&server, 20, Duration::from_millis(200));
    // Within twice the head timeout every one of them is cut off (a write fails once the
    // server has closed; allow a few more intervals for that to show).
    let all_cut = common::wait_until(Duration::from_secs(4), || slow.alive() == 0);
    assert!(all_cut, "{} slowloris connections still open", slow.alive());
    drop(slow);
    let fds = fds_settle(&server, base_fds, Duration::from_secs(3));
    assert!(fds <= base_fds, "fds {fds} (baseline {base_fds})");
    // A thread for each slow head, plus the pollers.
    let t = threads(&server);
    assert!(
        t <= base_threads + 20 + poller_threads(),
        "Threads {t} (baseline {base_threads})"
    );
    assert_served(&server, Duration::from_secs(1), "after 20 slow heads");
}

#[test]
fn a_slow_but_timely_head_is_served() {
    let root = fixture("head-ok");
    let server = Server::start(root.path(), &["--head-timeout", "1s"]);
    let s = server.connect();
    (&s).write_all(b"GET /small.txt HTTP/1.1\r\n").unwrap();
    thread::sleep(Duration::from_millis(300));
    (&s).write_all(b"Host: t\r\n").unwrap();
    thread::sleep(Duration::from_millis(300));
    (&s).write_all(b"\r\n").unwrap();
    match outcome(&s, Duration::from_secs(5), false) {
        Outcome::Response(r) => {
            assert_eq!(r.status, 200);
            assert_eq!(r.body, small_body());
        }
        other => panic!("a head sent within the deadline got {other:?}"),
    }
}

#[test]
fn a_client_that_never_reads_is_dropped_after_the_write_timeout() {
    let root = fixture("write-timeout");
    let server = Server::start(root.path(), &["--write-timeout", "1s", "--no-access-log"]);
    assert_served(&server, Duration::from_secs(2), "warm-up");
    let base_fds = baseline_fds(&server);

    // A 64 MiB download that the client never reads: the server's send blocks once the socket
    // buffers are full (a few MiB on loopback).
    let stalled = server.connect();
    let started = Instant::now();
    (&stalled)
        .write_all(&request_bytes("GET", b"/big.bin", &[]))
        .unwrap();
    // While the server is stuck on it, other clients are served.
    for i in 0..5 {
        assert_served(&server, Duration::from_secs(1), &format!("client {i}"));
    }
    // The server holds the socket and the open file until the write timeout hits.
    assert!(
        server.open_fds() >= base_fds + 2,
        "the server should still hold the stalled download ({} fds, baseline {base_fds})",
        server.open_fds()
    );
    let dropped = common::wait_until(Duration::from_secs(8), || server.open_fds() <= base_fds);
    let took = started.elapsed();
    assert!(dropped, "the stalled download was never dropped");
    assert!(
        took >= Duration::from_millis(900),
        "dropped after {took:?}, before the 1 s write timeout"
    );
    assert!(
        took <= Duration::from_secs(5),
        "dropped {took:?} after the request with a 1 s write timeout"
    );
    // The client sees a truncated response and then the end of the stream, never the whole file.
    let mut got = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    stalled
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    loop {
        match std::io::Read::read(&mut &stalled, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n as u64,
        }
    }
    assert!(
        got < BIG_LEN,
        "the dropped client received {got} bytes, the whole file"
    );
    assert_served(&server, Duration::from_secs(2), "after the drop");
}

#[test]
fn timeouts_can_be_set_from_the_environment() {
    // Each limit is a flag and an environment variable.
    let root = fixture("env");
    let server = Server::start_with(
        root.path(),
        &[],
        &[
            ("HTTP_FILESERVER_IDLE_TIMEOUT", "1s"),
            ("HTTP_FILESERVER_HEAD_TIMEOUT", "1500ms"),
        ],
    );
    let s = server.connect();
    let closed = wait_closed(&s, Duration::from_secs(6)).expect("never closed");
    assert!(
        (Duration::from_millis(800)..=Duration::from_millis(2500)).contains(&closed),
        "idle connection closed after {closed:?} with HTTP_FILESERVER_IDLE_TIMEOUT=1s"
    );
    let s = server.connect();
    (&s).write_all(b"GET /small.txt HTTP/1.1\r\n").unwrap();
    let started = Instant::now();
    let seen = outcome(&s, Duration::from_secs(6), false);
    let took = started.elapsed();
    assert!(
        matches!(seen.status(), Some(408) | None) && !matches!(seen, Outcome::Silent),
        "{seen:?}"
    );
    assert!(
        (Duration::from_millis(1300)..=Duration::from_millis(3000)).contains(&took),
        "a stalled head was cut off after {took:?} with HTTP_FILESERVER_HEAD_TIMEOUT=1500ms"
    );
}
