//! Bodies (docs/behaviour.md, "Bodies"): bounded memory while streaming, and honest framing
//! when a file changes size under a transfer.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::fixture::{
    big, connect_small_window, head_field, is_huge_prefix, read_head, write_huge, Tree, BIG_LEN,
    HELLO,
};
use common::{request_bytes, Server};

/// 24 MiB: far more than the kernel buffers between the server and a small-window client.
const HUGE_COPIES: usize = 8;
const HUGE_LEN: usize = HUGE_COPIES * BIG_LEN;

/// Opens a small-window connection, sends a GET for `path` with `headers`, and reads the head.
fn start_download(
    server: &Server,
    path: &str,
    headers: &[(&str, &str)],
) -> (BufReader<TcpStream>, String) {
    let mut s = connect_small_window(server.addr);
    s.write_all(&request_bytes("GET", path.as_bytes(), headers))
        .unwrap();
    let mut r = BufReader::with_capacity(4096, s);
    let head = read_head(&mut r);
    (r, head)
}

/// Reads until EOF (or a reset); panics if the server neither sends nor closes for 10 s.
fn read_to_close(r: &mut BufReader<TcpStream>, into: &mut Vec<u8>) {
    let mut buf = [0u8; 65536];
    loop {
        match common::read_retrying(r, &mut buf) {
            Ok(0) => return,
            Ok(n) => into.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                panic!(
                    "no data and no close for 10 s after {} bytes: mis-framed",
                    into.len()
                )
            }
            // Reset: closed.
            Err(_) => return,
        }
    }
}

fn read_n(r: &mut BufReader<TcpStream>, n: usize, into: &mut Vec<u8>) {
    let start = into.len();
    into.resize(start + n, 0);
    r.read_exact(&mut into[start..]).unwrap();
}

/// Every byte received is the file's byte at that offset (nothing padded or invented).
fn assert_huge_prefix(body: &[u8]) {
    if !is_huge_prefix(body) {
        let first = (0..body.len())
            .find(|&i| body[i] != big()[i % BIG_LEN])
            .unwrap();
        let zeros = body[first..].iter().take_while(|&&b| b == 0).count();
        let after = first + zeros;
        let rest_ok = (after..body.len()).all(|i| body[i] == big()[i % BIG_LEN]);
        panic!(
            "{} bytes received; bytes {first}..{after} are zeros, not the file's; \
             the {} bytes after them are {}",
            body.len(),
            body.len() - after,
            if rest_ok {
                "the file's"
            } else {
                "not the file's either"
            }
        );
    }
}

fn rss_kib(server: &Server) -> u64 {
    server.proc_status("VmRSS")
}

// 44 ------------------------------------------------------------------------------------------

#[test]
fn s44_memory_does_not_grow_with_file_size_or_a_slow_client() {
    let tree = Tree::new();
    write_huge(&tree.root, b"huge.bin", HUGE_COPIES);
    let server = tree.serve(&["--no-access-log"]);
    // Warm up: a connection thread, a file response, a range.
    for _ in 0..2 {
        assert_eq!(server.get("/hello.txt", &[]).body, HELLO);
        assert_eq!(
            server.get("/big.bin", &[("Range", "bytes=0-9")]).status,
            206
        );
    }
    let baseline = rss_kib(&server);
    let (mut r, head) = start_download(&server, "/huge.bin", &[]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(
        head_field(&head, "Content-Length"),
        Some(HUGE_LEN.to_string().as_str())
    );
    let mut body = Vec::with_capacity(HUGE_LEN);
    let mut peak = baseline;
    // Slow: a little at a time, sampling the server's memory while it waits on us.
    while body.len() < HUGE_LEN {
        let n = (HUGE_LEN - body.len()).min(if body.len() < 1 << 20 { 65536 } else { 1 << 20 });
        read_n(&mut r, n, &mut body);
        if body.len() < 1 << 20 {
            std::thread::sleep(Duration::from_millis(5));
        }
        peak = peak.max(rss_kib(&server));
    }
    assert!(is_huge_prefix(&body), "body differs");
    let growth = peak.saturating_sub(baseline);
    eprintln!("RSS baseline {baseline} KiB, peak {peak} KiB during a 24 MiB download");
    // Well under the file size (24 MiB): buffers and a thread, nothing proportional.
    assert!(
        growth < 6 * 1024,
        "RSS grew by {growth} KiB while sending a {} KiB file",
        HUGE_LEN / 1024
    );
}

#[test]
fn s44_memory_does_not_grow_with_range_count() {
    let tree = Tree::new();
    write_huge(&tree.root, b"huge.bin", HUGE_COPIES);
    let server = tree.serve(&["--no-access-log"]);
    for _ in 0..2 {
        assert_eq!(
            server
                .get("/big.bin", &[("Range", "bytes=0-9,20-29")])
                .status,
            206
        );
    }
    let baseline = rss_kib(&server);
    // 32 ranges of 700 KiB: 22.4 MiB of parts.
    let part = 700 * 1024;
    let spec = (0..32)
        .map(|i| format!("{}-{}", i * (part + 1000), i * (part + 1000) + part - 1))
        .collect::<Vec<_>>()
        .join(",");
    let (mut r, head) =
        start_download(&server, "/huge.bin", &[("Range", &format!("bytes={spec}"))]);
    assert!(head.starts_with("HTTP/1.1 206"), "{head}");
    let len: usize = head_field(&head, "Content-Length")
        .unwrap()
        .parse()
        .unwrap();
    assert!(len > 32 * part);
    let mut body = Vec::with_capacity(len);
    let mut peak = baseline;
    while body.len() < len {
        let n = (len - body.len()).min(1 << 20);
        read_n(&mut r, n, &mut body);
        peak = peak.max(rss_kib(&server));
    }
    let growth = peak.saturating_sub(baseline);
    eprintln!("RSS baseline {baseline} KiB, peak {peak} KiB during a 32-part download");
    assert!(growth < 6 * 1024, "RSS grew by {growth} KiB for 32 ranges");
}

#[test]
fn s44_stalled_clients_do_not_pin_file_sized_memory() {
    let tree = Tree::new();
    write_huge(&tree.root, b"huge.bin", HUGE_COPIES);
    let server = tree.serve(&["--no-access-log"]);
    assert_eq!(server.get("/hello.txt", &[]).body, HELLO);
    let baseline = rss_kib(&server);
    // Four clients that read their heads and then stop reading.
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let (r, head) = start_download(&server, "/huge.bin", &[]);
        assert!(head.starts_with("HTTP/1.1 200"));
        stalled.push(r);
    }
    // Let the server fill whatever buffers it will.
    let mut peak = baseline;
    let until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < until {
        peak = peak.max(rss_kib(&server));
        std::thread::sleep(Duration::from_millis(20));
    }
    let growth = peak.saturating_sub(baseline);
    eprintln!("RSS baseline {baseline} KiB, peak {peak} KiB with 4 stalled 24 MiB downloads");
    assert!(
        growth < 12 * 1024,
        "RSS grew by {growth} KiB with 4 stalled clients of a 24 MiB file"
    );
    // The server still answers others meanwhile.
    assert_eq!(server.get("/hello.txt", &[]).body, HELLO);
    drop(stalled);
}

// 45 ------------------------------------------------------------------------------------------

#[test]
fn s45_file_shrinking_mid_transfer_closes_the_connection() {
    let tree = Tree::new();
    let path = write_huge(&tree.root, b"huge.bin", HUGE_COPIES);
    let server = tree.serve(&[]);
    let (mut r, head) = start_download(&server, "/huge.bin", &[]);
    assert_eq!(
        head_field(&head, "Content-Length"),
        Some(HUGE_LEN.to_string().as_str())
    );
    let mut body = Vec::new();
    read_n(&mut r, 65536, &mut body);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    read_to_close(&mut r, &mut body);
    assert!(
        body.len() < HUGE_LEN,
        "all {HUGE_LEN} bytes arrived after the file shrank to 1 MiB: padded"
    );
    // What remains of the file is what was sent. Past the new end, bytes already handed to
    // the socket by sendfile(2) reference page-cache pages the truncation dropped, and may
    // arrive as zeros (Go and nginx behave the same): the body is cut short, so the client
    // knows the transfer failed, but those bytes aren't checked.
    assert_huge_prefix(&body[..body.len().min(1 << 20)]);
    // The server is fine afterwards.
    assert_eq!(server.get("/hello.txt", &[]).body, HELLO);
}

#[test]
fn s45_file_shrinking_to_nothing_mid_transfer_closes_the_connection() {
    let tree = Tree::new();
    let path = write_huge(&tree.root, b"huge.bin", HUGE_COPIES);
    let server = tree.serve(&[]);
    let (mut r, _head) = start_download(&server, "/huge.bin", &[]);
    let mut body = Vec::new();
    read_n(&mut r, 1000, &mut body);
    std::fs::write(&path, b"").unwrap();
    read_to_close(&mut r, &mut body);
    assert!(body.len() < HUGE_LEN);
    // Only the bytes read before the truncation are known to be the file's (see above).
    assert_huge_prefix(&body[..1000]);
}

#[test]
fn s45_multipart_body_of_a_shrinking_file_closes_the_connection() {
    let tree = Tree::new();
    let path = write_huge(&tree.root, b"huge.bin", HUGE_COPIES);
    let server = tree.serve(&[]);
    let mib = 1 << 20;
    let spec = format!("bytes=0-{},{}-{}", 10 * mib - 1, 12 * mib, 22 * mib - 1);
    let (mut r, head) = start_download(&server, "/huge.bin", &[("Range", &spec)]);
    assert!(head.starts_with("HTTP/1.1 206"), "{head}");
    let len: usize = head_field(&head, "Content-Length")
        .unwrap()
        .parse()
        .unwrap();
    let mut body = Vec::new();
    read_n(&mut r, 65536, &mut body);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(mib as u64)
        .unwrap();
    read_to_close(&mut r, &mut body);
    assert!(
        body.len() < len,
        "the whole {len}-byte multipart body arrived after the file shrank"
    );
}

#[test]
fn s45_file_growing_mid_transfer_sends_exactly_the_announced_length() {
    let tree = Tree::new();
    let path = write_huge(&tree.root, b"huge.bin", HUGE_COPIES);
    let server = tree.serve(&[]);
    let (mut r, head) = start_download(&server, "/huge.bin", &[]);
    assert_eq!(
        head_field(&head, "Content-Length"),
        Some(HUGE_LEN.to_string().as_str())
    );
    let mut body = Vec::new();
    read_n(&mut r, 65536, &mut body);
    // Append 1 MiB of something else.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(&vec![b'#'; 1 << 20]).unwrap();
    drop(f);
    read_n(&mut r, HUGE_LEN - body.len(), &mut body);
    assert!(is_huge_prefix(&body), "the announced bytes differ");
    // The next response on the same connection starts right after: nothing extra was sent.
    r.get_mut()
        .write_all(&request_bytes("GET", b"/hello.txt", &[]))
        .unwrap();
    let next = common::read_response(&mut r, false).expect("the next response");
    assert_eq!(next.status, 200, "{next:?}");
    assert_eq!(next.body, HELLO);
}

#[test]
fn s45_big_responses_on_one_connection_stay_in_sync() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let mut c = common::fixture::Conn::new(&server);
    let r = c.get("/big.bin", &[]);
    assert!(r.body == big());
    let r = c.get("/big.bin", &[("Range", "bytes=0-0,-1")]);
    assert_eq!(r.status, 206);
    let r = c.head("/big.bin", &[]);
    assert_eq!(r.status, 200);
    let r = c.get("/hello.txt", &[]);
    assert_eq!(r.body, HELLO);
    let mut line = String::new();
    c.reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    // Nothing unasked-for follows.
    assert!(
        c.reader.read_line(&mut line).is_err() || line.is_empty(),
        "{line:?}"
    );
}
