//! The access log's line formats (`--log-format`).
//!
//! A line is written in two steps: [`begin`] when the response starts, with everything known
//! then, and [`finish`] when it has been sent (or given up on), which puts the bytes actually
//! sent, the time taken and whether it went out whole in the place the format gives them.
//!
//! - `default`: `2026-11-28T08:47:01.123Z 127.0.0.1:54321 "GET /a.txt HTTP/1.1" 200 1024
//!   0.152ms`, with ` incomplete` at the end of a response cut off;
//! - `common` and `combined`: Apache's and nginx's formats, field for field, so that log
//!   tools (GoAccess, AWStats, …) read them; the bytes sent are the only sign of a cut-off
//!   response there, as in Apache's and nginx's own logs;
//! - `json`: one object per line.
//!
//! Whatever a client sent is escaped so that it can't forge a line, a field or a terminal
//! escape: in the text formats bytes outside printable ASCII, `"` and `\` become `\xNN` (as
//! nginx writes them), in JSON `\u00NN`.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::timefmt;

/// A log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Time with milliseconds, client, request line, status, bytes, duration.
    Default,
    /// The Common Log Format.
    Common,
    /// The Combined Log Format: Common plus referer and user agent.
    Combined,
    /// One JSON object per line.
    Json,
}

/// What a line says about a request, known when its response starts.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// When the response started, since the epoch.
    pub time: Duration,
    /// The connection's peer.
    pub peer: SocketAddr,
    /// The client behind trusted proxies, when the request came through one.
    pub forwarded: Option<IpAddr>,
    /// The request line.
    pub request: RequestLine<'a>,
    /// The response status.
    pub status: u16,
    /// The `Host` field.
    pub host: Option<&'a str>,
    /// The `Referer` field.
    pub referer: Option<&'a str>,
    /// The `User-Agent` field.
    pub user_agent: Option<&'a str>,
}

/// A request line: parsed, or as received when it couldn't be.
#[derive(Debug, Clone, Copy)]
pub enum RequestLine<'a> {
    /// A request that was parsed.
    Parsed {
        /// The method.
        method: &'a str,
        /// The request target.
        target: &'a str,
        /// `(1, 1)` for HTTP/1.1.
        version: (u8, u8),
    },
    /// A request refused before it could be parsed (a malformed or oversized head, one too
    /// slow): its first line, possibly partial or not ASCII.
    Raw(&'a [u8]),
}

/// How the response ended.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// Body bytes written to the socket.
    pub bytes: u64,
    /// From the request's arrival to the end of its response.
    pub elapsed: Duration,
    /// Whether the whole response went out.
    pub complete: bool,
}

/// Writes the part of `entry`'s line known when the response starts into `out`; returns
/// where [`finish`] puts the outcome.
pub fn begin(format: Format, entry: &Entry<'_>, out: &mut Vec<u8>) -> usize {
    match format {
        Format::Default => begin_default(entry, out),
        Format::Common => begin_clf(entry, false, out),
        Format::Combined => begin_clf(entry, true, out),
        Format::Json => begin_json(entry, out),
    }
}

fn begin_default(entry: &Entry<'_>, out: &mut Vec<u8>) -> usize {
    push_time_ms(out, entry.time);
    out.push(b' ');
    match entry.forwarded {
        Some(ip) => push_ip(out, ip),
        None => push_peer(out, entry.peer),
    }
    out.extend_from_slice(b" \"");
    push_request_line(out, entry);
    out.extend_from_slice(b"\" ");
    push_decimal(out, u64::from(entry.status));
    out.push(b' ');
    out.len()
}

/// `host ident user [time] "request" status bytes`, and `"referer" "user agent"` when
/// `combined`: `ident` and `user` are always `-` (no identd, no authentication).
fn begin_clf(entry: &Entry<'_>, combined: bool, out: &mut Vec<u8>) -> usize {
    push_ip(out, client(entry));
    out.extend_from_slice(b" - - [");
    push_clf_time(out, entry.time);
    out.extend_from_slice(b"] \"");
    push_request_line(out, entry);
    out.extend_from_slice(b"\" ");
    push_decimal(out, u64::from(entry.status));
    out.push(b' ');
    let at = out.len();
    if combined {
        out.extend_from_slice(b" \"");
        push_text(out, entry.referer.unwrap_or("-").as_bytes());
        out.extend_from_slice(b"\" \"");
        push_text(out, entry.user_agent.unwrap_or("-").as_bytes());
        out.push(b'"');
    }
    at
}

fn begin_json(entry: &Entry<'_>, out: &mut Vec<u8>) -> usize {
    out.extend_from_slice(b"{\"time\":\"");
    push_time_ms(out, entry.time);
    out.extend_from_slice(b"\",\"client\":\"");
    push_ip(out, client(entry));
    out.extend_from_slice(b"\",\"peer\":\"");
    push_peer(out, entry.peer);
    out.extend_from_slice(b"\",");
    push_json_request(out, entry);
    out.extend_from_slice(b",\"status\":");
    push_decimal(out, u64::from(entry.status));
    out.extend_from_slice(b",\"host\":");
    push_json(out, entry.host.map(str::as_bytes));
    out.extend_from_slice(b",\"referer\":");
    push_json(out, entry.referer.map(str::as_bytes));
    out.extend_from_slice(b",\"user_agent\":");
    push_json(out, entry.user_agent.map(str::as_bytes));
    out.push(b',');
    out.len()
}

/// Puts `outcome` into a line [`begin`] wrote, at `at`, and ends the line.
pub fn finish(format: Format, line: &mut Vec<u8>, at: usize, outcome: Outcome) {
    // Only `combined` has anything after the outcome: the others append it where they are,
    // without moving an empty tail about.
    let tail = if at < line.len() {
        line.split_off(at)
    } else {
        Vec::new()
    };
    match format {
        Format::Default => {
            push_decimal(line, outcome.bytes);
            line.push(b' ');
            push_ms(line, outcome.elapsed);
            line.extend_from_slice(b"ms");
            if !outcome.complete {
                line.extend_from_slice(b" incomplete");
            }
        }
        Format::Common | Format::Combined => push_decimal(line, outcome.bytes),
        Format::Json => {
            line.extend_from_slice(b"\"bytes\":");
            push_decimal(line, outcome.bytes);
            line.extend_from_slice(b",\"duration_ms\":");
            push_ms(line, outcome.elapsed);
            line.extend_from_slice(match outcome.complete {
                true => b",\"complete\":true}",
                false => b",\"complete\":false}",
            });
        }
    }
    line.extend_from_slice(&tail);
    line.push(b'\n');
}

/// The address to log as the client's: the one behind trusted proxies, else the peer's.
fn client(entry: &Entry<'_>) -> IpAddr {
    entry
        .forwarded
        .unwrap_or_else(|| crate::client_ip::canonical(entry.peer.ip()))
}

/// The request line as JSON members: its parts, or the line as it came if it didn't parse.
fn push_json_request(out: &mut Vec<u8>, entry: &Entry<'_>) {
    match entry.request {
        RequestLine::Parsed {
            method,
            target,
            version: (major, minor),
        } => {
            out.extend_from_slice(b"\"method\":");
            push_json(out, Some(method.as_bytes()));
            out.extend_from_slice(b",\"target\":");
            push_json(out, Some(target.as_bytes()));
            out.extend_from_slice(b",\"protocol\":\"HTTP/");
            out.extend_from_slice(&[b'0' + major % 10, b'.', b'0' + minor % 10, b'"']);
        }
        RequestLine::Raw(line) => {
            out.extend_from_slice(b"\"request_line\":");
            push_json(out, Some(line));
        }
    }
}

fn push_request_line(out: &mut Vec<u8>, entry: &Entry<'_>) {
    match entry.request {
        RequestLine::Parsed {
            method,
            target,
            version: (major, minor),
        } => {
            push_text(out, method.as_bytes());
            out.push(b' ');
            push_text(out, target.as_bytes());
            out.extend_from_slice(b" HTTP/");
            push_decimal(out, u64::from(major));
            out.push(b'.');
            push_decimal(out, u64::from(minor));
        }
        RequestLine::Raw(line) => push_text(out, line),
    }
}

thread_local! {
    /// The second last logged on this thread, formatted: most lines fall in the same second
    /// as the one before, and only their milliseconds need writing.
    static SECOND: std::cell::Cell<(u64, [u8; 24])> = const { std::cell::Cell::new((u64::MAX, [0; 24])) };
}

/// `2026-11-28T08:47:01.123Z`.
fn push_time_ms(out: &mut Vec<u8>, time: Duration) {
    let (secs, millis) = (time.as_secs(), time.subsec_millis());
    let (cached, mut text) = SECOND.get();
    if cached == secs {
        text[20] = b'0' + (millis / 100) as u8;
        text[21] = b'0' + (millis / 10 % 10) as u8;
        text[22] = b'0' + (millis % 10) as u8;
    } else {
        text = timefmt::rfc3339_millis(secs, millis);
        SECOND.set((secs, text));
    }
    out.extend_from_slice(&text);
}

/// `28/Nov/2026:08:47:01 +0000`, the Common Log Format's time (in UTC).
fn push_clf_time(out: &mut Vec<u8>, time: Duration) {
    out.extend_from_slice(&timefmt::clf(time.as_secs()));
}

// Numbers and addresses are written digit by digit rather than through `fmt`, which took a
// third of the instructions of logging a request.

/// `n` in decimal.
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    // Most numbers in a line are below 1,000 (address octets, the status, the version, short
    // bodies): those are written as one array of known length, which compiles to a store
    // or two (callgrind: 60 instructions a number down to 20).
    let digit = |n: u64| b'0' + (n % 10) as u8;
    match n {
        0..=9 => return out.push(digit(n)),
        10..=99 => return out.extend_from_slice(&[digit(n / 10), digit(n)]),
        100..=999 => return out.extend_from_slice(&[digit(n / 100), digit(n / 10), digit(n)]),
        _ => {}
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    push_short(out, &digits[at..]);
}

/// Appends `bytes`; short slices byte by byte rather than by musl's `memcpy`,
/// whose `rep movs` costs some 50 cycles however few bytes it moves (perf: `memcpy` called
/// for the log line's dozen short pieces was a tenth of the server's CPU time).
#[inline]
fn push_short(out: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.len() > 32 {
        out.extend_from_slice(bytes);
        return;
    }
    out.reserve(bytes.len());
    for &b in bytes {
        out.push(b);
    }
}

/// Milliseconds with three decimals (`0.152`), without floats.
fn push_ms(out: &mut Vec<u8>, elapsed: Duration) {
    let micros = elapsed.as_micros().min(u128::from(u64::MAX)) as u64;
    push_decimal(out, micros / 1000);
    let frac = micros % 1000;
    let digits = [
        b'.',
        b'0' + (frac / 100) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
    ];
    out.extend_from_slice(&digits);
}

/// An IP address, IPv4 clients of a dual-stack socket as IPv4.
fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match crate::client_ip::canonical(ip) {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                push_decimal(out, u64::from(octet));
            }
        }
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

/// `address:port`, IPv4 clients of a dual-stack socket as IPv4.
fn push_peer(out: &mut Vec<u8>, peer: SocketAddr) {
    let ip = crate::client_ip::canonical(peer.ip());
    if ip.is_ipv6() {
        out.push(b'[');
    }
    push_ip(out, ip);
    if ip.is_ipv6() {
        out.push(b']');
    }
    out.push(b':');
    push_decimal(out, u64::from(peer.port()));
}

/// `value` with bytes outside printable ASCII, `"` and `\` written as `\xNN`.
fn push_text(out: &mut Vec<u8>, mut value: &[u8]) {
    let plain = |b: &u8| (0x20..0x7f).contains(b) && *b != b'"' && *b != b'\\';
    while !value.is_empty() {
        // Runs of plain bytes (usually the whole value) are copied at once.
        let run = value.iter().position(|b| !plain(b)).unwrap_or(value.len());
        push_short(out, &value[..run]);
        if let Some(&b) = value.get(run) {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            let escaped = [
                b'\\',
                b'x',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ];
            out.extend_from_slice(&escaped);
            value = &value[run + 1..];
        } else {
            break;
        }
    }
}

/// A JSON string (bytes outside printable ASCII as `\u00NN`), or `null`.
fn push_json(out: &mut Vec<u8>, value: Option<&[u8]>) {
    let Some(value) = value else {
        out.extend_from_slice(b"null");
        return;
    };
    out.push(b'"');
    for &b in value {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x20..=0x7e => out.push(b),
            _ => {
                let _ = write!(out, "\\u{b:04x}");
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry<'static> {
        Entry {
            // 2026-11-28T08:47:01.123Z
            time: Duration::from_millis(1_795_855_621_123),
            peer: "[::ffff:10.0.0.2]:54321".parse().unwrap(),
            forwarded: None,
            request: RequestLine::Parsed {
                method: "GET",
                target: "/a \"b\".txt",
                version: (1, 1),
            },
            status: 200,
            host: Some("example.com"),
            referer: None,
            user_agent: Some("curl/8.5.0\u{1b}[31m"),
        }
    }

    const DONE: Outcome = Outcome {
        bytes: 1024,
        elapsed: Duration::from_micros(152),
        complete: true,
    };

    fn line(format: Format, entry: &Entry<'_>, outcome: Outcome) -> String {
        let mut out = Vec::new();
        let at = begin(format, entry, &mut out);
        finish(format, &mut out, at, outcome);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn addresses_and_numbers() {
        let mut s = Vec::new();
        push_peer(&mut s, "[::ffff:10.0.0.1]:80".parse().unwrap());
        s.push(b' ');
        push_peer(&mut s, "[2001:db8::1]:65535".parse().unwrap());
        s.push(b' ');
        push_ip(&mut s, "255.0.10.1".parse().unwrap());
        s.push(b' ');
        push_decimal(&mut s, 0);
        s.push(b' ');
        push_decimal(&mut s, u64::MAX);
        s.push(b' ');
        push_ms(&mut s, Duration::from_micros(12_345_006));
        assert_eq!(
            String::from_utf8(s).unwrap(),
            "10.0.0.1:80 [2001:db8::1]:65535 255.0.10.1 0 18446744073709551615 12345.006"
        );
    }

    #[test]
    fn decimals_on_both_sides_of_every_short_form() {
        for n in [1, 9, 10, 42, 99, 100, 404, 999, 1000, 65535, 1 << 40] {
            let mut s = Vec::new();
            push_decimal(&mut s, n);
            assert_eq!(s, n.to_string().as_bytes());
        }
    }

    #[test]
    fn default_format() {
        assert_eq!(
            line(Format::Default, &entry(), DONE),
            "2026-11-28T08:47:01.123Z 10.0.0.2:54321 \"GET /a \\x22b\\x22.txt HTTP/1.1\" 200 \
             1024 0.152ms\n"
        );
        let cut = Outcome {
            complete: false,
            ..DONE
        };
        assert!(line(Format::Default, &entry(), cut).ends_with(" 1024 0.152ms incomplete\n"));
        let proxied = Entry {
            forwarded: Some("203.0.113.7".parse().unwrap()),
            ..entry()
        };
        assert!(line(Format::Default, &proxied, DONE)
            .starts_with("2026-11-28T08:47:01.123Z 203.0.113.7 \""));
    }

    #[test]
    fn common_and_combined_as_apache_and_nginx_write_them() {
        assert_eq!(
            line(Format::Common, &entry(), DONE),
            "10.0.0.2 - - [28/Nov/2026:08:47:01 +0000] \"GET /a \\x22b\\x22.txt HTTP/1.1\" 200 \
             1024\n"
        );
        assert_eq!(
            line(Format::Combined, &entry(), DONE),
            "10.0.0.2 - - [28/Nov/2026:08:47:01 +0000] \"GET /a \\x22b\\x22.txt HTTP/1.1\" 200 \
             1024 \"-\" \"curl/8.5.0\\x1B[31m\"\n"
        );
    }

    #[test]
    fn json_format() {
        let proxied = Entry {
            forwarded: Some("2001:db8::7".parse().unwrap()),
            ..entry()
        };
        assert_eq!(
            line(Format::Json, &proxied, DONE),
            "{\"time\":\"2026-11-28T08:47:01.123Z\",\"client\":\"2001:db8::7\",\"peer\":\
             \"10.0.0.2:54321\",\"method\":\"GET\",\"target\":\"/a \\\"b\\\".txt\",\
             \"protocol\":\"HTTP/1.1\",\"status\":200,\"host\":\"example.com\",\
             \"referer\":null,\"user_agent\":\"curl/8.5.0\\u001b[31m\",\"bytes\":1024,\
             \"duration_ms\":0.152,\"complete\":true}\n"
        );
    }

    #[test]
    fn rejected_requests_show_the_raw_request_line() {
        let rejected = Entry {
            peer: "127.0.0.1:9".parse().unwrap(),
            request: RequestLine::Raw(b"BREW /pot HTCPCP/1.0\xff"),
            status: 400,
            host: None,
            user_agent: None,
            ..entry()
        };
        let outcome = Outcome { bytes: 0, ..DONE };
        assert_eq!(
            line(Format::Combined, &rejected, outcome),
            "127.0.0.1 - - [28/Nov/2026:08:47:01 +0000] \"BREW /pot HTCPCP/1.0\\xFF\" 400 0 \
             \"-\" \"-\"\n"
        );
        assert_eq!(
            line(Format::Default, &rejected, outcome),
            "2026-11-28T08:47:01.123Z 127.0.0.1:9 \"BREW /pot HTCPCP/1.0\\xFF\" 400 0 0.152ms\n"
        );
        let out = line(Format::Json, &rejected, outcome);
        assert!(
            out.contains("\"request_line\":\"BREW /pot HTCPCP/1.0\\u00ff\",\"status\":400,"),
            "{out}"
        );
    }
}
