//! Slow readers, unsent request bodies, `Expect: 100-continue` without a body, and
//! non-reading pipeliners cannot stall other clients. Upstream tiny_http had its `recv()`
//! workers write responses and drain bodies, so N such clients stopped a server with N workers.
//! Here 20 of each (more than the 2 cores) are held while fresh clients must be served at once;
//! afterwards the server's fds return to the baseline and its threads stay bounded.

mod common;
mod hardening_util;

use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use common::{request_bytes, Server};
use hardening_util::*;

/// How many of each kind of abusive client are held.
const N: usize = 20;
/// How long a fresh client may wait while they are held.
const PROMPT: Duration = Duration::from_secs(1);

/// Starts a server with default limits, holds the connections `hold` opens, and checks that
/// fresh clients are served promptly meanwhile and that resources come back afterwards.
fn assert_no_stall(tag: &str, hold: impl FnOnce(&Server) -> Vec<TcpStream>) {
    assert_no_stall_with(tag, &[], hold)
}

/// [`assert_no_stall`] with extra server arguments.
fn assert_no_stall_with(tag: &str, args: &[&str], hold: impl FnOnce(&Server) -> Vec<TcpStream>) {
    let root = fixture(tag);
    let mut all_args = vec!["--no-access-log"];
    all_args.extend_from_slice(args);
    let server = Server::start(root.path(), &all_args);
    assert_served(&server, Duration::from_secs(2), "warm-up");
    let base_fds = baseline_fds(&server);
    let base_threads = threads(&server);

    let mut held = hold(&server);
    let n = held.len() as u64;
    // Let the server get properly stuck on them. (There is no one condition to wait for:
    // depending on the kind, a held connection is still open or answered and closed.)
    thread::sleep(Duration::from_millis(300));
    for i in 0..10 {
        assert_served(&server, PROMPT, &format!("{tag}: fresh client {i}"));
    }
    let t = threads(&server);
    assert!(
        t <= base_threads + n + 4 + poller_threads(),
        "{tag}: {t} threads for {n} held connections (baseline {base_threads})"
    );
    let rss = rss_kib(&server);
    assert!(rss < 64 * 1024, "{tag}: VmRSS {rss} KiB");

    close_all(&mut held);
    let fds = fds_settle(&server, base_fds + 2, Duration::from_secs(5));
    assert!(
        fds <= base_fds + 2,
        "{tag}: fds {fds} (baseline {base_fds})"
    );
    // Threads of finished connections park for up to 10 s before exiting: bound, don't wait.
    let t = threads(&server);
    assert!(
        t <= base_threads + n + poller_threads(),
        "{tag}: {t} threads after closing"
    );
    assert_served(&server, PROMPT, &format!("{tag}: after closing"));
}

fn slow_readers(server: &Server) -> Vec<TcpStream> {
    // A 64 MiB download each, never read: the server's send blocks on every one of them.
    open_many(server, N, &request_bytes("GET", b"/big.bin", &[]))
}

fn unsent_bodies(server: &Server) -> Vec<TcpStream> {
    let cl = [("Content-Length", "100000")];
    let mut held = open_many(server, N / 2, &request_bytes("POST", b"/small.txt", &cl));
    held.extend(open_many(
        server,
        N / 2,
        &request_bytes("GET", b"/small.txt", &cl),
    ));
    held
}

fn expect_continue(server: &Server) -> Vec<TcpStream> {
    let h = [("Content-Length", "100000"), ("Expect", "100-continue")];
    let mut held = open_many(server, N / 2, &request_bytes("PUT", b"/small.txt", &h));
    held.extend(open_many(
        server,
        N / 2,
        &request_bytes("GET", b"/small.txt", &h),
    ));
    held
}

fn pipeliners(server: &Server) -> Vec<TcpStream> {
    // 200 pipelined GETs of a 64 KiB file on each connection, and no reading.
    let one = request_bytes("GET", b"/64k.bin", &[]);
    let all: Vec<u8> = one.iter().copied().cycle().take(one.len() * 200).collect();
    open_many(server, N, &all)
}

#[test]
fn slow_readers_cannot_stall_other_clients() {
    assert_no_stall("slow-readers", slow_readers);
}

#[test]
fn unsent_request_bodies_cannot_stall_other_clients() {
    assert_no_stall("unsent-bodies", unsent_bodies);
}

#[test]
fn expect_100_continue_without_a_body_cannot_stall_other_clients() {
    assert_no_stall("expect-continue", expect_continue);
}

#[test]
fn non_reading_pipeliners_cannot_stall_other_clients() {
    assert_no_stall("pipeliners", pipeliners);
}

#[test]
fn all_four_kinds_at_once_cannot_stall_other_clients() {
    assert_no_stall("all-kinds", |server| {
        let mut held = slow_readers(server);
        held.extend(unsent_bodies(server));
        held.extend(expect_continue(server));
        held.extend(pipeliners(server));
        held
    });
}

#[test]
fn with_one_serving_thread_the_four_kinds_still_cannot_stall_other_clients() {
    // Every held connection takes the one thread that serves ready connections in turn; it
    // must hand that job to another thread before it waits for the client.
    assert_no_stall_with("one-thread", &["--threads", "1"], |server| {
        let mut held = slow_readers(server);
        held.extend(unsent_bodies(server));
        held.extend(expect_continue(server));
        held.extend(pipeliners(server));
        held
    });
}

#[test]
fn a_non_reading_pipeliner_gets_its_responses_in_order_once_it_reads() {
    // Not a stall test: the 200 pipelined requests are answered correctly, in order, when the
    // client finally reads (framing survives back-pressure).
    let root = fixture("pipeline-order");
    let server = Server::start(root.path(), &["--no-access-log"]);
    let mut all = Vec::new();
    for i in 0..200 {
        let path = if i % 2 == 0 { "/64k.bin" } else { "/small.txt" };
        all.extend(request_bytes("GET", path.as_bytes(), &[]));
    }
    all.extend(request_bytes(
        "GET",
        b"/small.txt",
        &[("Connection", "close")],
    ));
    let s = open_many(&server, 1, &all).pop().unwrap();
    thread::sleep(Duration::from_millis(500));
    let (responses, closed) = read_all_responses(&s, Duration::from_secs(10));
    assert!(closed, "the connection stayed open after Connection: close");
    assert_eq!(responses.len(), 201);
    let mid = common::bytes(MID_LEN, 64);
    for (i, r) in responses.iter().enumerate() {
        assert_eq!(r.status, 200, "response {i}");
        let want = if i % 2 == 0 && i < 200 {
            &mid
        } else {
            &small_body()
        };
        assert!(r.body == *want, "response {i}: wrong body");
    }
}
