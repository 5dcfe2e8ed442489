//! Request-head parsing (vendor/tiny_http/src/head.rs), through the hidden entry point
//! `tiny_http::__fuzz::parse_head`, which runs it the way a connection does: skip leading empty
//! lines, find the end of the head, parse it (at most 100 fields).
//!
//! Beyond "no panic", an oracle written independently of the parser checks that every head it
//! accepts obeys the rules of docs/behaviour.md, "Request heads": an HTTP/1.1 head has exactly one
//! `Host`; no accepted head has both `Transfer-Encoding` and `Content-Length`, more than one
//! `Transfer-Encoding`, or one other than `chunked`; the request line is three SP-separated
//! parts with an HTTP/1.x version; no field line is folded, has whitespace before its colon,
//! or holds a CR or NUL.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let accepted = tiny_http::__fuzz::parse_head(data);
    if accepted {
        check_accepted(data);
    }
});

/// The lines of the head the parser looked at: after leading empty lines, up to the first
/// empty line, with LF or CRLF removed.
fn head_lines(data: &[u8]) -> Vec<&[u8]> {
    let mut rest = data;
    loop {
        match rest {
            [b'\n', tail @ ..] => rest = tail,
            [b'\r', b'\n', tail @ ..] => rest = tail,
            _ => break,
        }
    }
    let mut lines = Vec::new();
    for line in rest.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return lines;
        }
        lines.push(line);
    }
    panic!(
        "parse_head accepted a head without an empty line: {:?}",
        String::from_utf8_lossy(data)
    );
}

fn check_accepted(data: &[u8]) {
    let shown = || String::from_utf8_lossy(data).into_owned();
    let lines = head_lines(data);
    let (request_line, fields) = lines
        .split_first()
        .expect("an accepted head has a request line");

    let parts: Vec<&[u8]> = request_line.split(|&b| b == b' ').collect();
    assert_eq!(
        parts.len(),
        3,
        "request line not three parts: {:?}",
        shown()
    );
    assert!(
        !parts[0].is_empty() && !parts[1].is_empty(),
        "empty method or target: {:?}",
        shown()
    );
    let version = parts[2];
    assert!(
        version.starts_with(b"HTTP/1"),
        "accepted version {:?}",
        shown()
    );
    // RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT.
    let minor = match version {
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', minor] if minor.is_ascii_digit() => minor - b'0',
        _ => panic!("accepted malformed version: {:?}", shown()),
    };
    assert!(
        parts[1].iter().all(|&b| (0x21..0x7f).contains(&b)),
        "control, space or non-ASCII byte in an accepted target: {:?}",
        shown()
    );
    let http11 = minor >= 1;

    let mut host = 0;
    let mut te = Vec::new();
    let mut cl = 0;
    for field in fields {
        assert!(
            !matches!(field[0], b' ' | b'\t'),
            "folded line accepted: {:?}",
            shown()
        );
        assert!(!field.contains(&b'\r'), "bare CR accepted: {:?}", shown());
        assert!(!field.contains(&0), "NUL accepted: {:?}", shown());
        let colon = field
            .iter()
            .position(|&b| b == b':')
            .expect("field without a colon accepted");
        let name = &field[..colon];
        assert!(
            !name.is_empty() && !name.iter().any(|b| b.is_ascii_whitespace()),
            "malformed field name accepted: {:?}",
            shown()
        );
        let value = trim(&field[colon + 1..]);
        if name.eq_ignore_ascii_case(b"host") {
            host += 1;
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            te.push(value);
        } else if name.eq_ignore_ascii_case(b"content-length") {
            cl += 1;
        }
    }
    if http11 {
        assert_eq!(
            host,
            1,
            "HTTP/1.1 head accepted with {host} Host fields: {:?}",
            shown()
        );
    } else {
        assert!(host <= 1, "{host} Host fields accepted: {:?}", shown());
    }
    if !te.is_empty() {
        assert_eq!(
            cl,
            0,
            "Transfer-Encoding and Content-Length accepted: {:?}",
            shown()
        );
        assert_eq!(
            te.len(),
            1,
            "several Transfer-Encoding fields accepted: {:?}",
            shown()
        );
        assert!(
            te[0].eq_ignore_ascii_case(b"chunked"),
            "Transfer-Encoding other than chunked accepted: {:?}",
            shown()
        );
        assert!(
            http11,
            "Transfer-Encoding accepted in HTTP/1.0: {:?}",
            shown()
        );
    }
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}
