//! The head size cap (docs/behaviour.md, "Request heads"): a 1 MiB header line or request line gets 431/414
//! or a prompt close, memory stays bounded, the server stays up; too many fields get 431.

mod common;
mod hardening_util;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use common::{request_bytes, Server};
use hardening_util::*;

const MIB: usize = 1 << 20;
/// The memory bound for the server under a header bomb.
const RSS_LIMIT_KIB: u64 = 64 * 1024;

/// Sends `request` from another thread (the server may stop reading it half-way) and reads
/// the answer on this one. Returns the outcome and how long it took.
fn bomb(addr: SocketAddr, request: Vec<u8>) -> (Outcome, Duration) {
    let started = Instant::now();
    let s = TcpStream::connect(addr).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    let writer = s.try_clone().unwrap();
    let sender = thread::spawn(move || {
        let _ = (&writer).write_all(&request);
    });
    let seen = outcome(&s, Duration::from_secs(5), false);
    let took = started.elapsed();
    drop(s);
    let _ = sender.join();
    (seen, took)
}

fn assert_refused(seen: &Outcome, took: Duration, status: u16, what: &str) {
    eprintln!("{what}: status {:?} after {took:?}", seen.status());
    match seen {
        Outcome::Response(r) => {
            assert_eq!(r.status, status, "{what}: {r:?}");
            assert_eq!(r.header("connection"), Some("close"), "{what}: {r:?}");
            assert_date_no_server(r, what);
        }
        Outcome::Closed => {}
        Outcome::Silent => panic!("{what}: neither {status} nor a close within 5 s"),
    }
    assert!(
        took <= Duration::from_secs(3),
        "{what}: refused only after {took:?}"
    );
}

fn huge_header_line() -> Vec<u8> {
    let mut r = b"GET /small.txt HTTP/1.1\r\nHost: t\r\nX-Bomb: ".to_vec();
    r.extend(std::iter::repeat_n(b'a', MIB));
    r.extend_from_slice(b"\r\n\r\n");
    r
}

fn huge_request_line() -> Vec<u8> {
    let mut r = b"GET /".to_vec();
    r.extend(std::iter::repeat_n(b'a', MIB));
    r.extend_from_slice(b" HTTP/1.1\r\nHost: t\r\n\r\n");
    r
}

#[test]
fn a_1_mib_header_line_gets_431_or_a_prompt_close() {
    let root = fixture("bomb-header");
    let server = Server::start(root.path(), &[]);
    let (seen, took) = bomb(server.addr, huge_header_line());
    assert_refused(&seen, took, 431, "1 MiB header line");
    assert!(rss_kib(&server) < RSS_LIMIT_KIB);
    assert_served(&server, Duration::from_secs(2), "after a header bomb");
}

#[test]
fn a_1_mib_request_line_gets_414_or_a_prompt_close() {
    let root = fixture("bomb-line");
    let server = Server::start(root.path(), &[]);
    let (seen, took) = bomb(server.addr, huge_request_line());
    assert_refused(&seen, took, 414, "1 MiB request line");
    assert!(rss_kib(&server) < RSS_LIMIT_KIB);
    assert_served(&server, Duration::from_secs(2), "after a request-line bomb");
}

#[test]
fn many_concurrent_head_bombs_keep_rss_under_64_mib() {
    let root = fixture("bomb-many");
    let server = Server::start(root.path(), &["--no-access-log"]);
    assert_served(&server, Duration::from_secs(2), "warm-up");
    let base_fds = baseline_fds(&server);
    let base_threads = threads(&server);
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    // A sampler watches VmRSS while 40 clients each push 1 MiB heads (20 of each kind).
    let pid = server.pid();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        thread::spawn(move || {
            use std::sync::atomic::Ordering::SeqCst;
            while !done.load(SeqCst) {
                if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                    let rss = status
                        .lines()
                        .find_map(|l| l.strip_prefix("VmRSS:"))
                        .and_then(|v| v.split_whitespace().next()?.parse().ok())
                        .unwrap_or(0);
                    peak.fetch_max(rss, SeqCst);
                }
                thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let addr = server.addr;
    thread::scope(|scope| {
        let handles: Vec<_> = (0..40)
            .map(|i| {
                scope.spawn(move || {
                    let request = if i % 2 == 0 {
                        huge_header_line()
                    } else {
                        huge_request_line()
                    };
                    bomb(addr, request)
                })
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            let (seen, took) = h.join().unwrap();
            let status = if i % 2 == 0 { 431 } else { 414 };
            assert!(
                !matches!(seen, Outcome::Silent),
                "bomb {i}: no answer and no close"
            );
            if let Outcome::Response(r) = &seen {
                assert_eq!(r.status, status, "bomb {i}");
            }
            assert!(took <= Duration::from_secs(5), "bomb {i} took {took:?}");
        }
    });
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    sampler.join().unwrap();
    let peak = peak.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        peak > 0 && peak < RSS_LIMIT_KIB,
        "peak VmRSS {peak} KiB under 40 concurrent 1 MiB heads"
    );
    assert_served(&server, Duration::from_secs(2), "after 40 head bombs");
    let fds = fds_settle(&server, base_fds + 2, Duration::from_secs(3));
    assert!(fds <= base_fds + 2, "fds {fds} (baseline {base_fds})");
    let t = threads(&server);
    assert!(
        t <= base_threads + 40 + poller_threads(),
        "Threads {t} (baseline {base_threads})"
    );
    let rss = rss_kib(&server);
    assert!(rss < RSS_LIMIT_KIB, "VmRSS {rss} KiB after the bombs");
}

#[test]
fn more_than_100_header_fields_get_431() {
    let root = fixture("fields");
    let server = Server::start(root.path(), &[]);
    let fields: Vec<(String, String)> = (0..150)
        .map(|i| (format!("X-F{i}"), "v".to_string()))
        .collect();
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let request = request_bytes("GET", b"/small.txt", &refs);
    assert!(request.len() < 4096, "the head itself is small");
    let (seen, took) = exchange(&server, &request, Duration::from_secs(5));
    match seen {
        Outcome::Response(r) => {
            assert_eq!(r.status, 431, "{r:?}");
            assert_date_no_server(&r, "431");
        }
        other => panic!("150 header fields got {other:?} after {took:?}"),
    }
    // A head with a realistic number of fields is served.
    let request = request_bytes("GET", b"/small.txt", &refs[..50]);
    let (seen, _) = exchange(&server, &request, Duration::from_secs(5));
    assert_eq!(seen.status(), Some(200), "50 header fields");
}

#[test]
fn a_head_just_over_16_kib_in_many_small_fields_is_refused() {
    // The size cap applies to the whole head, not only to one line.
    let root = fixture("many-lines");
    let server = Server::start(root.path(), &[]);
    let value = "v".repeat(400);
    let fields: Vec<(String, String)> = (0..60)
        .map(|i| (format!("X-F{i}"), value.clone()))
        .collect();
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let request = request_bytes("GET", b"/small.txt", &refs);
    assert!(request.len() > 20 * 1024);
    let (seen, took) = bomb(server.addr, request);
    assert_refused(&seen, took, 431, "24 KiB head in 60 fields");
}
