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

use std::fmt::Write as _;
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
pub fn begin(format: Format, entry: &Entry<'_>, out: &mut String) -> usize {
    match format {
        Format::Default => begin_default(entry, out),
        Format::Common => begin_clf(entry, false, out),
        Format::Combined => begin_clf(entry, true, out),
        Format::Json => begin_json(entry, out),
    }
}

fn begin_default(entry: &Entry<'_>, out: &mut String) -> usize {
    push_time_ms(out, entry.time);
    out.push(' ');
    match entry.forwarded {
        Some(ip) => push_ip(out, ip),
        None => push_peer(out, entry.peer),
    }
    out.push_str(" \"");
    push_request_line(out, entry);
    let _ = write!(out, "\" {} ", entry.status);
    out.len()
}

/// `host ident user [time] "request" status bytes`, and `"referer" "user agent"` when
/// `combined`: `ident` and `user` are always `-` (no identd, no authentication).
fn begin_clf(entry: &Entry<'_>, combined: bool, out: &mut String) -> usize {
    push_ip(out, client(entry));
    out.push_str(" - - [");
    push_clf_time(out, entry.time);
    out.push_str("] \"");
    push_request_line(out, entry);
    let _ = write!(out, "\" {} ", entry.status);
    let at = out.len();
    if combined {
        out.push_str(" \"");
        push_text(out, entry.referer.unwrap_or("-").as_bytes());
        out.push_str("\" \"");
        push_text(out, entry.user_agent.unwrap_or("-").as_bytes());
        out.push('"');
    }
    at
}

fn begin_json(entry: &Entry<'_>, out: &mut String) -> usize {
    out.push_str("{\"time\":\"");
    push_time_ms(out, entry.time);
    out.push_str("\",\"client\":\"");
    push_ip(out, client(entry));
    out.push_str("\",\"peer\":\"");
    push_peer(out, entry.peer);
    out.push_str("\",");
    match entry.request {
        RequestLine::Parsed {
            method,
            target,
            version: (major, minor),
        } => {
            out.push_str("\"method\":");
            push_json(out, Some(method.as_bytes()));
            out.push_str(",\"target\":");
            push_json(out, Some(target.as_bytes()));
            let _ = write!(out, ",\"protocol\":\"HTTP/{major}.{minor}\"");
        }
        RequestLine::Raw(line) => {
            out.push_str("\"request_line\":");
            push_json(out, Some(line));
        }
    }
    let _ = write!(out, ",\"status\":{},\"host\":", entry.status);
    push_json(out, entry.host.map(str::as_bytes));
    out.push_str(",\"referer\":");
    push_json(out, entry.referer.map(str::as_bytes));
    out.push_str(",\"user_agent\":");
    push_json(out, entry.user_agent.map(str::as_bytes));
    out.push(',');
    out.len()
}

/// Puts `outcome` into a line [`begin`] wrote, at `at`, and ends the line.
pub fn finish(format: Format, line: &mut String, at: usize, outcome: Outcome) {
    let mut middle = String::with_capacity(48);
    match format {
        Format::Default => {
            let _ = write!(middle, "{} ", outcome.bytes);
            push_ms(&mut middle, outcome.elapsed);
            middle.push_str("ms");
            if !outcome.complete {
                middle.push_str(" incomplete");
            }
        }
        Format::Common | Format::Combined => {
            let _ = write!(middle, "{}", outcome.bytes);
        }
        Format::Json => {
            let _ = write!(middle, "\"bytes\":{},\"duration_ms\":", outcome.bytes);
            push_ms(&mut middle, outcome.elapsed);
            let _ = write!(middle, ",\"complete\":{}}}", outcome.complete);
        }
    }
    line.insert_str(at, &middle);
    line.push('\n');
}

/// The address to log as the client's: the one behind trusted proxies, else the peer's.
fn client(entry: &Entry<'_>) -> IpAddr {
    entry
        .forwarded
        .unwrap_or_else(|| crate::client_ip::canonical(entry.peer.ip()))
}

fn push_request_line(out: &mut String, entry: &Entry<'_>) {
    match entry.request {
        RequestLine::Parsed {
            method,
            target,
            version: (major, minor),
        } => {
            push_text(out, method.as_bytes());
            out.push(' ');
            push_text(out, target.as_bytes());
            let _ = write!(out, " HTTP/{major}.{minor}");
        }
        RequestLine::Raw(line) => push_text(out, line),
    }
}

/// `2026-11-28T08:47:01.123Z`.
fn push_time_ms(out: &mut String, time: Duration) {
    timefmt::push_rfc3339(out, time.as_secs(), Some(time.subsec_millis()));
}

/// `28/Nov/2026:08:47:01 +0000`, the Common Log Format's time (in UTC).
fn push_clf_time(out: &mut String, time: Duration) {
    timefmt::push_clf(out, time.as_secs());
}

/// Milliseconds with three decimals (`0.152`), without floats.
fn push_ms(out: &mut String, elapsed: Duration) {
    let micros = elapsed.as_micros();
    let _ = write!(out, "{}.{:03}", micros / 1000, micros % 1000);
}

/// An IP address, IPv4 clients of a dual-stack socket as IPv4.
fn push_ip(out: &mut String, ip: IpAddr) {
    let _ = write!(out, "{}", crate::client_ip::canonical(ip));
}

/// `address:port`, IPv4 clients of a dual-stack socket as IPv4.
fn push_peer(out: &mut String, peer: SocketAddr) {
    match crate::client_ip::canonical(peer.ip()) {
        IpAddr::V4(v4) => {
            let _ = write!(out, "{v4}:{}", peer.port());
        }
        IpAddr::V6(v6) => {
            let _ = write!(out, "[{v6}]:{}", peer.port());
        }
    }
}

/// `value` with bytes outside printable ASCII, `"` and `\` written as `\xNN`.
fn push_text(out: &mut String, value: &[u8]) {
    for &b in value {
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            out.push(b as char);
        } else {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
}

/// A JSON string (bytes outside printable ASCII as `\u00NN`), or `null`.
fn push_json(out: &mut String, value: Option<&[u8]>) {
    let Some(value) = value else {
        out.push_str("null");
        return;
    };
    out.push('"');
    for &b in value {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\u{b:04x}");
            }
        }
    }
    out.push('"');
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
        let mut out = String::new();
        let at = begin(format, entry, &mut out);
        finish(format, &mut out, at, outcome);
        out
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
