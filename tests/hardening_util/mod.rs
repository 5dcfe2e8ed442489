//! Helpers for the hardening tests (tests/hardening_*.rs): a fixture tree, clients that
//! misbehave on purpose, bounded waits, and readings of the server's /proc entries.
//!
//! Each test file declares `mod common;` and `mod hardening_util;`; this module builds on the
//! shared harness in tests/common (the real binary on 127.0.0.1, a raw HTTP/1.1 client).
#![allow(dead_code)]

use std::io::{BufReader, ErrorKind, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::common::{self, bin, read_response, request_bytes, Response, Server, TempDir};

/// Size of `/small.txt`.
pub const SMALL_LEN: usize = 1024;
/// Size of `/64k.bin`.
pub const MID_LEN: usize = 64 * 1024;
/// Size of `/big.bin`: far more than loopback socket buffers hold (tcp_wmem max is 4 MiB
/// here), so a client that doesn't read keeps the server's write blocked. Sparse on disk.
pub const BIG_LEN: u64 = 64 << 20;

/// A fixture tree: `/small.txt` (1 KiB), `/64k.bin` (64 KiB), `/big.bin` (64 MiB, sparse),
/// `/index.html`. Directories and files are world-readable (the NPROC test runs the server
/// as uid 65534).
pub fn fixture(tag: &str) -> TempDir {
    let dir = TempDir::new(&format!("hard-{tag}"));
    common::write(dir.path(), b"small.txt", &small_body());
    common::write(dir.path(), b"64k.bin", &common::bytes(MID_LEN, 64));
    common::write(dir.path(), b"index.html", b"<!doctype html><p>hi</p>\n");
    let big = std::fs::File::create(dir.path().join("big.bin")).unwrap();
    big.set_len(BIG_LEN).unwrap();
    world_readable(dir.path());
    dir
}

/// The content of `/small.txt`.
pub fn small_body() -> Vec<u8> {
    common::bytes(SMALL_LEN, 1)
}

fn world_readable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
}

/// Starts the binary under a wrapper (`prlimit …`, `setpriv …`) that execs it, so the
/// child's PID is the server's.
pub fn start_wrapped(wrapper: &[&str], root: &Path, args: &[&str]) -> Server {
    let mut cmd = Command::new(wrapper[0]);
    cmd.args(&wrapper[1..])
        .arg(bin())
        .args(["--bind", "127.0.0.1", "--port", "0"])
        .args(args)
        .arg(root);
    Server::spawn(cmd, &[])
}

/// What a client saw within a time limit.
#[derive(Debug)]
pub enum Outcome {
    /// A complete response.
    Response(Response),
    /// End of stream or a reset before a complete response.
    Closed,
    /// Nothing (or not a whole response) within the limit.
    Silent,
}

impl Outcome {
    pub fn status(&self) -> Option<u16> {
        match self {
            Outcome::Response(r) => Some(r.status),
            _ => None,
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Reads one response from `stream`, waiting at most `limit` per read.
pub fn outcome(stream: &TcpStream, limit: Duration, head_only: bool) -> Outcome {
    stream.set_read_timeout(Some(limit)).unwrap();
    match read_response(&mut BufReader::new(stream), head_only) {
        Ok(r) => Outcome::Response(r),
        Err(e) if is_timeout(&e) => Outcome::Silent,
        Err(_) => Outcome::Closed,
    }
}

/// Sends `request` on a new connection and reports what came back within `limit`, and when.
pub fn exchange(server: &Server, request: &[u8], limit: Duration) -> (Outcome, Duration) {
    let started = Instant::now();
    let stream = match TcpStream::connect_timeout(&server.addr, limit) {
        Ok(s) => s,
        Err(_) => return (Outcome::Silent, started.elapsed()),
    };
    stream.set_write_timeout(Some(limit)).unwrap();
    if (&stream).write_all(request).is_err() {
        // The server may already have answered and closed (a rejected head).
        return (
            outcome(&stream, limit, false).or_closed(),
            started.elapsed(),
        );
    }
    let seen = outcome(&stream, limit, request.starts_with(b"HEAD "));
    (seen, started.elapsed())
}

impl Outcome {
    fn or_closed(self) -> Outcome {
        match self {
            Outcome::Silent => Outcome::Closed,
            other => other,
        }
    }
}

/// `GET path` with `Connection: close` on a new connection; the outcome and how long it took.
pub fn get(server: &Server, path: &str, limit: Duration) -> (Outcome, Duration) {
    let request = request_bytes("GET", path.as_bytes(), &[("Connection", "close")]);
    exchange(server, &request, limit)
}

/// Asserts that a fresh client gets `/small.txt`, complete and correct, within `limit`.
pub fn assert_served(server: &Server, limit: Duration, context: &str) -> Duration {
    let (seen, took) = get(server, "/small.txt", limit + Duration::from_secs(2));
    match seen {
        Outcome::Response(r) if r.status == 200 => {
            assert_eq!(r.body, small_body(), "{context}: wrong body");
        }
        other => panic!("{context}: a fresh client got {other:?} after {took:?}"),
    }
    assert!(
        took <= limit,
        "{context}: a fresh client waited {took:?} (limit {limit:?})"
    );
    took
}

/// Waits until the peer closes `stream` (EOF or reset), discarding what it sends. Returns
/// how long that took, or `None` if it was still open after `limit`.
pub fn wait_closed(stream: &TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut sink = [0u8; 64 * 1024];
    loop {
        let left = limit.checked_sub(started.elapsed())?;
        if left.is_zero() {
            return None;
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match common::read_retrying(&mut &*stream, &mut sink) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => {}
            Err(e) if is_timeout(&e) => return None,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Some(started.elapsed()),
        }
    }
}

/// Reads and parses the responses on `stream` until it closes (or `limit` passes between two
/// reads): everything the server sent on a connection.
pub fn read_all_responses(stream: &TcpStream, limit: Duration) -> (Vec<Response>, bool) {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut reader = BufReader::new(stream);
    let mut responses = Vec::new();
    loop {
        match read_response(&mut reader, false) {
            Ok(r) => responses.push(r),
            Err(e) if is_timeout(&e) => return (responses, false),
            Err(_) => return (responses, true),
        }
    }
}

/// The local address of the `i`-th of many clients: spread over 127.0.0.2 to 127.0.0.9, as a
/// crowd of clients would be, so that the per-address limit (a quarter of the connection cap
/// by default) doesn't decide tests about the cap itself. Fresh clients come from 127.0.0.1.
pub fn crowd_address(i: usize) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::new(127, 0, 0, 2 + (i % 8) as u8)
}

/// Opens `n` connections to the server from the crowd's addresses, each sending `prefix`
/// (possibly nothing).
pub fn open_many(server: &Server, n: usize, prefix: &[u8]) -> Vec<TcpStream> {
    (0..n)
        .map(|i| {
            let s = common::connect_from(server.addr, crowd_address(i))
                .unwrap_or_else(|e| panic!("connection {i}: {e}"));
            s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
            if !prefix.is_empty() {
                (&s).write_all(prefix).unwrap();
            }
            s
        })
        .collect()
}

/// Slowloris: connections that send a request head one byte at a time, one byte per
/// `interval` on each, and never finish it.
pub struct Dribbler {
    stop: Arc<AtomicBool>,
    alive: Arc<AtomicUsize>,
    /// Bytes sent, over all connections.
    pub sent: Arc<AtomicUsize>,
    handle: Option<JoinHandle<()>>,
}

impl Dribbler {
    pub fn start(server: &Server, n: usize, interval: Duration) -> Dribbler {
        let streams = open_many(server, n, b"");
        let stop = Arc::new(AtomicBool::new(false));
        let alive = Arc::new(AtomicUsize::new(n));
        let sent = Arc::new(AtomicUsize::new(0));
        let (stop2, alive2, sent2) = (stop.clone(), alive.clone(), sent.clone());
        let handle = thread::spawn(move || {
            let head = b"GET /small.txt HTTP/1.1\r\nHost: t\r\nX-Slow: ";
            let mut streams: Vec<Option<TcpStream>> = streams.into_iter().map(Some).collect();
            let mut i = 0usize;
            while !stop2.load(Ordering::SeqCst) {
                let byte = head.get(i).copied().unwrap_or(b'a');
                for slot in streams.iter_mut() {
                    let Some(s) = slot else { continue };
                    if (&*s).write_all(&[byte]).is_err() {
                        *slot = None;
                        alive2.fetch_sub(1, Ordering::SeqCst);
                    } else {
                        sent2.fetch_add(1, Ordering::SeqCst);
                    }
                }
                i += 1;
                let until = Instant::now() + interval;
                while Instant::now() < until && !stop2.load(Ordering::SeqCst) {
                    thread::sleep(Duration::from_millis(10));
                }
            }
        });
        Dribbler {
            stop,
            alive,
            sent,
            handle: Some(handle),
        }
    }

    /// Connections on which the last write still succeeded.
    pub fn alive(&self) -> usize {
        self.alive.load(Ordering::SeqCst)
    }
}

impl Drop for Dribbler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Closes every stream (both directions) and drops them.
pub fn close_all(streams: &mut Vec<TcpStream>) {
    for s in streams.iter() {
        let _ = s.shutdown(Shutdown::Both);
    }
    streams.clear();
}

/// Number of threads of the server process.
pub fn threads(server: &Server) -> u64 {
    server.proc_status("Threads")
}

/// Threads that take ready connections when none is waiting for its client: one per CPU the
/// server may use (it runs with this process's affinity), started as connections come.
pub fn poller_threads() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

/// Resident memory of the server process, in KiB.
pub fn rss_kib(server: &Server) -> u64 {
    server.proc_status("VmRSS")
}

/// Whether the server process is still running (not exited, not a zombie).
pub fn alive(server: &mut Server) -> bool {
    server.child.try_wait().unwrap().is_none()
}

/// The server's fd count once it has settled (connections just answered may take a moment to
/// be closed): the lowest of readings 50 ms apart over up to a second, stopping early once
/// three readings agree.
pub fn baseline_fds(server: &Server) -> usize {
    let mut low = server.open_fds();
    let mut same = 0;
    for _ in 0..20 {
        thread::sleep(Duration::from_millis(50));
        let now = server.open_fds();
        if now == low {
            same += 1;
            if same == 3 {
                break;
            }
        } else {
            same = 0;
            low = low.min(now);
        }
    }
    low
}

/// Waits up to `limit` for the server's fd count to drop to at most `at_most`; returns the
/// last count seen.
pub fn fds_settle(server: &Server, at_most: usize, limit: Duration) -> usize {
    let mut last = server.open_fds();
    common::wait_until(limit, || {
        last = server.open_fds();
        last <= at_most
    });
    last
}

/// Waits up to `limit` for the server's thread count to drop to at most `at_most`; returns
/// the last count seen.
pub fn threads_settle(server: &Server, at_most: u64, limit: Duration) -> u64 {
    let mut last = threads(server);
    common::wait_until(limit, || {
        last = threads(server);
        last <= at_most
    });
    last
}

/// The soft and hard RLIMIT_NOFILE of this test process.
pub fn nofile_limits() -> (u64, u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let mut nums = line["Max open files".len()..]
        .split_whitespace()
        .map(|v| v.parse::<u64>().unwrap_or(u64::MAX));
    (nums.next().unwrap(), nums.next().unwrap())
}

/// Raises this test process's soft RLIMIT_NOFILE to at least `want` (as far as the hard limit
/// allows), with prlimit(1) on our own PID: no unsafe code needed. Returns the soft limit.
pub fn raise_nofile(want: u64) -> u64 {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (soft, hard) = nofile_limits();
    if soft >= want {
        return soft;
    }
    let target = want.min(hard);
    let _ = Command::new("prlimit")
        .arg("--pid")
        .arg(std::process::id().to_string())
        .arg(format!("--nofile={target}:{hard}"))
        .status();
    nofile_limits().0
}

/// Whether this process runs as root (needed to switch the server to another uid).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next().map(|u| u == "0"))
        .unwrap_or(false)
}

/// Whether a program can be run (it exists on PATH).
pub fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}

/// Asserts what every response carries (docs/behaviour.md, "Request heads"): `Date`, no
/// `Server`.
pub fn assert_date_no_server(r: &Response, context: &str) {
    assert!(r.has("date"), "{context}: no Date header in {r:?}");
    assert!(!r.has("server"), "{context}: a Server header in {r:?}");
}
