//! The protocol layer (docs/behaviour.md, "Request heads"): HTTP/2 request lines get 505 with no
//! leak; Transfer-Encoding/Content-Length smuggling shapes get 400 and a close, and a smuggled
//! request is never answered; HTTP/1.1 without Host gets 400; unparseable request lines get 400
//! (at worst a prompt close), never a hang; a file body is exactly Content-Length bytes even if
//! the file changes underneath.

mod common;
mod hardening_util;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::{read_response, request_bytes, Server};
use hardening_util::*;

/// A request any valid connection may carry after a rejected one: it must never be answered.
const FOLLOW_UP: &[u8] = b"GET /small.txt?follow-up HTTP/1.1\r\nHost: t\r\n\r\n";

/// Sends `raw` (and a pipelined follow-up request) on one connection and asserts that exactly
/// one response comes back, with `status`, and that the connection is then closed.
fn assert_rejected(server: &Server, raw: &[u8], status: u16) {
    let what = String::from_utf8_lossy(raw).into_owned();
    let s = server.connect();
    let started = Instant::now();
    let mut bytes = raw.to_vec();
    bytes.extend_from_slice(FOLLOW_UP);
    // The server may close before reading everything; a failed write is fine.
    let _ = (&s).write_all(&bytes);
    let (responses, closed) = read_all_responses(&s, Duration::from_secs(5));
    let took = started.elapsed();
    assert!(closed, "{what:?}: connection not closed within 5 s");
    assert!(
        took <= Duration::from_secs(3),
        "{what:?}: took {took:?} to refuse"
    );
    match responses.as_slice() {
        [r] => {
            assert_eq!(r.status, status, "{what:?}: headers {:?}", r.headers);
            assert_eq!(r.header("connection"), Some("close"), "{what:?}");
            assert_date_no_server(r, &what);
        }
        // A reset can destroy the response; a close without an answer is the worst allowed.
        [] => eprintln!("{what:?}: closed without a response"),
        more => panic!(
            "{what:?}: {} responses, statuses {:?}",
            more.len(),
            more.iter().map(|r| r.status).collect::<Vec<_>>()
        ),
    }
}

fn server(tag: &str) -> (common::TempDir, Server) {
    let root = fixture(tag);
    let server = Server::start(root.path(), &[]);
    assert_served(&server, Duration::from_secs(2), "warm-up");
    (root, server)
}

#[test]
fn h2c_preface_gets_505_and_a_close_without_leaking() {
    let (_root, server) = server("h2c");
    let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    assert_rejected(&server, preface, 505);
    let base_threads = threads(&server);
    let base_fds = baseline_fds(&server);

    // 20 one after the other: the same parked thread serves them all.
    for i in 0..20 {
        let (seen, took) = exchange(&server, preface, Duration::from_secs(5));
        assert_eq!(
            seen.status(),
            Some(505),
            "preface {i}: {seen:?} after {took:?}"
        );
    }
    // 20 at once.
    let mut at_once = open_many(&server, 20, preface);
    for (i, s) in at_once.iter().enumerate() {
        assert_eq!(
            outcome(s, Duration::from_secs(5), false).status(),
            Some(505),
            "concurrent preface {i}"
        );
        assert!(wait_closed(s, Duration::from_secs(3)).is_some());
    }
    close_all(&mut at_once);
    let fds = fds_settle(&server, base_fds, Duration::from_secs(5));
    assert!(
        fds <= base_fds,
        "fds {fds} after 40 prefaces (baseline {base_fds})"
    );
    // Upstream leaked a deadlocked thread per preface; here at most the 20 concurrent
    // connections' threads remain, parked for reuse (they exit after 10 s idle).
    let t = threads(&server);
    assert!(
        t <= base_threads + 20 + poller_threads(),
        "Threads {t} (baseline {base_threads})"
    );
    // Reused, not leaked: 20 more sequential prefaces don't add threads.
    for _ in 0..20 {
        let (seen, _) = exchange(&server, preface, Duration::from_secs(5));
        assert_eq!(seen.status(), Some(505));
    }
    assert!(threads(&server) <= t, "threads grew on sequential prefaces");
    assert_served(&server, Duration::from_secs(1), "after h2c prefaces");
}

#[test]
fn http_2_and_other_versions_in_a_request_line_get_505() {
    let (_root, server) = server("h2");
    assert_rejected(&server, b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505);
    assert_rejected(&server, b"GET /small.txt HTTP/3.0\r\nHost: t\r\n\r\n", 505);
    // HTTP/1.0 and HTTP/1.1 are served.
    let (seen, _) = exchange(
        &server,
        b"GET /small.txt HTTP/1.0\r\n\r\n",
        Duration::from_secs(5),
    );
    assert_eq!(seen.status(), Some(200));
}

#[test]
fn transfer_encoding_with_content_length_gets_400_and_a_close() {
    let (_root, server) = server("te-cl");
    assert_rejected(
        &server,
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        400,
    );
    assert_rejected(
        &server,
        b"GET /small.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    );
}

#[test]
fn transfer_encodings_other_than_exactly_chunked_get_400_and_a_close() {
    let (_root, server) = server("te-shapes");
    for head in [
        "Transfer-Encoding: gzip, chunked\r\n",
        "Transfer-Encoding: chunked, chunked\r\n",
        "Transfer-Encoding: xchunked\r\n",
        "Transfer-Encoding: chunked-false\r\n",
        "Transfer-Encoding: identity\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
        // Whitespace before the colon (RFC 9112 §5.1: MUST 400).
        "Transfer-Encoding : chunked\r\n",
        "Transfer-Encoding\t: chunked\r\n",
        // Obsolete line folding (RFC 9112 §5.2), in a framing field and elsewhere.
        "Transfer-Encoding:\r\n chunked\r\n",
        "X-Folded: a\r\n\tb\r\n",
        // A control byte where a proxy might see something else.
        "Transfer-Encoding: \x0bchunked\r\n",
    ] {
        let raw = format!("POST /small.txt HTTP/1.1\r\nHost: t\r\n{head}\r\n0\r\n\r\n");
        assert_rejected(&server, raw.as_bytes(), 400);
    }
    // Transfer-Encoding in an HTTP/1.0 request: framing is faulty (RFC 9112 §6.1).
    assert_rejected(
        &server,
        b"POST /small.txt HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    );
    // Content-Length shapes that disagree or don't parse.
    for cl in [
        "Content-Length: 5\r\nContent-Length: 6\r\n",
        "Content-Length: 5, 6\r\n",
        "Content-Length: +5\r\n",
        "Content-Length: -1\r\n",
        "Content-Length: 0x10\r\n",
        "Content-Length: 99999999999999999999999\r\n",
    ] {
        let raw = format!("POST /small.txt HTTP/1.1\r\nHost: t\r\n{cl}\r\n");
        assert_rejected(&server, raw.as_bytes(), 400);
    }
    // Exactly `chunked` is fine.
    let (seen, _) = exchange(
        &server,
        b"GET /small.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        Duration::from_secs(5),
    );
    assert_eq!(seen.status(), Some(200), "{seen:?}");
}

#[test]
fn a_smuggled_request_is_never_answered() {
    let (_root, server) = server("smuggle");
    let smuggled = b"GET /small.txt?smuggled HTTP/1.1\r\nHost: t\r\n\r\n";
    // CL.TE: a front end using Content-Length forwards it all; one using chunked sees a second
    // request after `0\r\n\r\n`.
    let mut body = b"0\r\n\r\n".to_vec();
    body.extend_from_slice(smuggled);
    let cl_te = [
        format!(
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
            body.len()
        ),
        format!(
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\nContent-Length: {}\r\n\r\n",
            body.len()
        ),
        format!(
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\nTransfer-Encoding: xchunked\r\n\r\n",
            body.len()
        ),
    ];
    // TE.CL: the chunk holds the smuggled request; a server using Content-Length: 4 would read
    // the chunk size line only and take the chunk data for a second request.
    let chunk = format!("{:x}\r\n", smuggled.len());
    let mut te_cl_body = chunk.clone().into_bytes();
    te_cl_body.extend_from_slice(smuggled);
    te_cl_body.extend_from_slice(b"\r\n0\r\n\r\n");
    let te_cl = format!(
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
        chunk.len()
    );
    let mut attempts: Vec<Vec<u8>> = cl_te
        .iter()
        .map(|h| [h.as_bytes(), &body].concat())
        .collect();
    attempts.push([te_cl.as_bytes(), &te_cl_body].concat());
    for attempt in &attempts {
        let what = String::from_utf8_lossy(attempt).into_owned();
        let s = server.connect();
        let _ = (&s).write_all(attempt);
        let (responses, closed) = read_all_responses(&s, Duration::from_secs(5));
        assert!(closed, "{what:?}: not closed");
        assert!(responses.len() <= 1, "{what:?}: {responses:?}");
        for r in &responses {
            assert_eq!(r.status, 400, "{what:?}: {r:?}");
        }
    }
    // Every line is out once the server has exited (requests on other connections may be
    // logged in another order than they were answered).
    let log = server.stopped_stdout();
    assert!(
        !log.contains("smuggled"),
        "the access log shows a smuggled request:\n{log}"
    );
}

#[test]
fn host_is_required_in_http_1_1() {
    let (_root, server) = server("host");
    assert_rejected(&server, b"GET /small.txt HTTP/1.1\r\n\r\n", 400);
    // RFC 9112 §3.2: more than one Host is a 400 as well.
    assert_rejected(
        &server,
        b"GET /small.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        400,
    );
    // HTTP/1.0 doesn't need one.
    let (seen, _) = exchange(
        &server,
        b"GET /small.txt HTTP/1.0\r\n\r\n",
        Duration::from_secs(5),
    );
    assert_eq!(seen.status(), Some(200));
}

#[test]
fn unparseable_request_lines_get_400_or_a_prompt_close() {
    // Default timeouts (head 10 s): a prompt answer can't be the head timeout firing.
    let (_root, server) = server("garbage");
    let cases: &[&[u8]] = &[
        b"GET /caf\xe9 HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /\xff\xfe HTTP/1.1\r\nHost: t\r\n\r\n",
        b"\xff\xfe\xfd\xfc\r\n\r\n",
        b"hello world\r\n\r\n",
        b"GET\t/small.txt\tHTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /small.txt\r\nHost: t\r\n\r\n",
        b"GET /small.txt\r\n\r\n",
        b"GET  /small.txt HTTP/1.1\r\nHost: t\r\n\r\n",
        b" GET /small.txt HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /small.txt HTTP/1.1 extra\r\nHost: t\r\n\r\n",
        b"GET /small.txt HTTP/1.x\r\nHost: t\r\n\r\n",
        b"GET /small.txt http/1.1\r\nHost: t\r\n\r\n",
        b"G\x00T /small.txt HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /sm\x00all.txt HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /small.txt HTTP/1.1\r\nHost: t\r\nNoColon\r\n\r\n",
        b"GET /small.txt HTTP/1.1\r\nHost: t\r\n: empty-name\r\n\r\n",
        b"GET /small.txt HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n",
    ];
    for raw in cases {
        assert_rejected(&server, raw, 400);
    }
    assert_served(&server, Duration::from_secs(1), "after garbage");
}

#[test]
fn a_version_without_a_minor_digit_gets_400() {
    // RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT. "HTTP/1" is not a version a
    // request line can carry (an unparseable request line gets 400); the head parser reads it as
    // HTTP/1.0 (head.rs, parse_version), so a proxy and this server could disagree on the
    // request's keep-alive and Host rules.
    let (_root, server) = server("version");
    assert_rejected(&server, b"GET /small.txt HTTP/1\r\nHost: t\r\n\r\n", 400);
    assert_rejected(&server, b"GET /small.txt HTTP/1.\r\nHost: t\r\n\r\n", 400);
    assert_rejected(&server, b"GET /small.txt HTTP/11\r\nHost: t\r\n\r\n", 400);
    // A higher minor version is processed as HTTP/1.1 (RFC 9110 §2.5).
    let (seen, _) = exchange(
        &server,
        b"GET /small.txt HTTP/1.9\r\nHost: t\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    );
    assert_eq!(seen.status(), Some(200), "{seen:?}");
}

#[test]
fn a_tls_client_hello_on_the_plain_port_gets_400_or_a_prompt_close() {
    // The most common garbage a plain-HTTP port sees: a TLS handshake. Its first byte (0x16)
    // can't start a method, so the server knows at once that no request line is coming; it has
    // no LF, so waiting for the end of the line means waiting for the head timeout (10 s).
    // The head timeout is shortened to 5 s to keep the test short; the answer must come well
    // before it.
    let root = fixture("tls");
    let server = Server::start(root.path(), &["--head-timeout", "5s"]);
    let mut hello = vec![
        0x16, 0x03, 0x01, 0x00, 0xc4, 0x01, 0x00, 0x00, 0xc0, 0x03, 0x03,
    ];
    hello.extend((0..32u8).map(|i| i.wrapping_mul(7).wrapping_add(0x20)));
    hello.extend_from_slice(&[0x00, 0x00, 0x04, 0x13, 0x01, 0x13, 0x02, 0x01, 0x00]);
    hello.extend(std::iter::repeat_n(0x00u8, 150));
    assert!(!hello.contains(&b'\n'));
    let (seen, took) = exchange(&server, &hello, Duration::from_secs(8));
    eprintln!("TLS ClientHello: {:?} after {took:?}", seen.status());
    assert!(
        !matches!(seen, Outcome::Silent),
        "no answer and no close within 8 s"
    );
    assert!(
        took <= Duration::from_secs(2),
        "a TLS ClientHello was answered only after {took:?} ({:?}): the head timeout, not at once",
        seen.status()
    );
    if let Outcome::Response(r) = &seen {
        assert_eq!(r.status, 400, "{r:?}");
    }
}

#[test]
fn lone_lf_line_ends_are_accepted() {
    let (_root, server) = server("lf");
    let (seen, _) = exchange(
        &server,
        b"GET /small.txt HTTP/1.1\nHost: t\nConnection: close\n\n",
        Duration::from_secs(5),
    );
    match seen {
        Outcome::Response(r) => {
            assert_eq!(r.status, 200);
            assert_eq!(r.body, small_body());
        }
        other => panic!("LF-only head: {other:?}"),
    }
    // Leading empty lines before a request (RFC 9112 §2.2) are skipped.
    let (seen, _) = exchange(
        &server,
        b"\r\n\nGET /small.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    );
    assert_eq!(seen.status(), Some(200), "{seen:?}");
}

#[test]
fn a_bare_cr_in_the_head_gets_400() {
    let (_root, server) = server("cr");
    assert_rejected(
        &server,
        b"GET /small.txt HTTP/1.1\r\nHost: t\r\nX-A: a\rb\r\n\r\n",
        400,
    );
    assert_rejected(&server, b"GET /small.txt HTTP/1.1\rHost: t\r\n\r\n", 400);
    assert_rejected(
        &server,
        b"GET /small.txt HTTP/1.1\r\nHost: t\r\n\r\r\n",
        400,
    );
}

#[test]
fn absolute_form_and_options_asterisk() {
    // Absolute-form targets and `OPTIONS *` (docs/behaviour.md, "From target to path").
    let (_root, server) = server("abs");
    let (seen, _) = exchange(
        &server,
        b"GET http://example.com/small.txt HTTP/1.1\r\nHost: example.com\r\n\r\n",
        Duration::from_secs(5),
    );
    match seen {
        Outcome::Response(r) => {
            assert_eq!(r.status, 200);
            assert_eq!(r.body, small_body());
        }
        other => panic!("absolute form: {other:?}"),
    }
    let (seen, _) = exchange(
        &server,
        b"OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n",
        Duration::from_secs(5),
    );
    match seen {
        Outcome::Response(r) => {
            assert_eq!(r.status, 204);
            assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
        }
        other => panic!("OPTIONS *: {other:?}"),
    }
}

#[test]
fn every_response_has_date_and_no_server_header() {
    // `Date` and no `Server`, over responses the application writes and those the protocol layer writes.
    let (_root, server) = server("date");
    let cases: &[(&[u8], u16)] = &[
        (b"GET /small.txt HTTP/1.1\r\nHost: t\r\n\r\n", 200),
        (b"HEAD /small.txt HTTP/1.1\r\nHost: t\r\n\r\n", 200),
        (b"GET /nope HTTP/1.1\r\nHost: t\r\n\r\n", 404),
        (b"DELETE /small.txt HTTP/1.1\r\nHost: t\r\n\r\n", 405),
        (b"OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n", 204),
        (b"GET /small.txt HTTP/1.0\r\n\r\n", 200),
        (b"GET /small.txt HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505),
    ];
    for (raw, status) in cases {
        let (seen, _) = exchange(&server, raw, Duration::from_secs(5));
        match seen {
            Outcome::Response(r) => {
                assert_eq!(r.status, *status, "{:?}", String::from_utf8_lossy(raw));
                assert_date_no_server(&r, &String::from_utf8_lossy(raw));
            }
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(raw)),
        }
    }
}

/// Reads a response head from `r`; returns its Content-Length.
fn read_head_only(r: &mut impl BufRead) -> u64 {
    let mut status = String::new();
    r.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status:?}");
    let mut len = None;
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').unwrap();
        assert!(!k.eq_ignore_ascii_case("transfer-encoding"), "chunked file");
        if k.eq_ignore_ascii_case("content-length") {
            len = Some(v.trim().parse().unwrap());
        }
    }
    len.expect("a Content-Length")
}

#[test]
fn a_file_that_grows_mid_response_keeps_keep_alive_framing_intact() {
    let (root, server) = server("grow");
    // 64 MiB of zeros (sparse): more than the socket buffers, so most of it is sent after the
    // file has grown.
    let path = root.path().join("grow.bin");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(BIG_LEN)
        .unwrap();
    let s = server.connect();
    (&s).write_all(&request_bytes("GET", b"/grow.bin", &[]))
        .unwrap();
    let mut r = BufReader::new(&s);
    let len = read_head_only(&mut r);
    assert_eq!(len, BIG_LEN);
    thread::sleep(Duration::from_millis(200));
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(&vec![b'Z'; 1 << 20]).unwrap();
    drop(f);
    // Exactly Content-Length bytes, all from the original content…
    let mut left = len;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let n = common::read_retrying(&mut r, &mut buf[..left.min(1 << 20) as usize]).unwrap();
        assert!(n > 0, "body ended {left} bytes early");
        assert!(
            buf[..n].iter().all(|&b| b == 0),
            "bytes past the old end sent"
        );
        left -= n as u64;
    }
    // …and the next response on the connection parses.
    (&s).write_all(&request_bytes("GET", b"/small.txt", &[]))
        .unwrap();
    let next = read_response(&mut r, false).expect("a second response");
    assert_eq!(next.status, 200);
    assert_eq!(next.body, small_body());
}

#[test]
fn a_file_that_shrinks_mid_response_closes_the_connection_unpadded() {
    let (root, server) = server("shrink");
    let path = root.path().join("shrink.bin");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(BIG_LEN)
        .unwrap();
    let s = server.connect();
    (&s).write_all(&request_bytes("GET", b"/shrink.bin", &[]))
        .unwrap();
    let mut r = BufReader::new(&s);
    let len = read_head_only(&mut r);
    thread::sleep(Duration::from_millis(200));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    let started = Instant::now();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    let ended = loop {
        match common::read_retrying(&mut r, &mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                assert!(buf[..n].iter().all(|&b| b == 0), "padding or garbage sent");
                got += n as u64;
            }
            Err(e) => break Err(e),
        }
    };
    let took = started.elapsed();
    assert!(
        ended.is_ok()
            || !matches!(
                ended.as_ref().unwrap_err().kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        "the connection hung after the file shrank ({got} of {len} bytes): {ended:?}"
    );
    assert!(
        got < len,
        "received {got} bytes: the full Content-Length of a truncated file"
    );
    assert!(took <= Duration::from_secs(3), "closed only after {took:?}");
    // The server is fine.
    assert_served(&server, Duration::from_secs(2), "after a truncated file");
    drop(r);
    let _ = TcpStream::shutdown(&s, std::net::Shutdown::Both);
}

#[test]
fn a_head_sent_one_byte_per_read_is_parsed() {
    // The end of a head may straddle reads ("\r\n\r" then "\n"); the parser resumes its scan
    // where it left off (client.rs read_head, head.rs find_end).
    let (_root, server) = server("bytewise");
    for raw in [
        &b"GET /small.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"[..],
        &b"GET /small.txt HTTP/1.1\nHost: t\nConnection: close\n\n"[..],
        &b"\r\nGET /small.txt HTTP/1.1\r\nHost: t\r\nConnection: close\n\r\n"[..],
    ] {
        let s = server.connect();
        s.set_nodelay(true).unwrap();
        for &b in raw {
            (&s).write_all(&[b]).unwrap();
            thread::sleep(Duration::from_millis(3));
        }
        match outcome(&s, Duration::from_secs(5), false) {
            Outcome::Response(r) => {
                assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(raw));
                assert_eq!(r.body, small_body());
            }
            other => panic!("{:?} byte by byte: {other:?}", String::from_utf8_lossy(raw)),
        }
    }
}
