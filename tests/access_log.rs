//! The access log in every format, the client behind trusted proxies, and what stays out of
//! the log (docs/behaviour.md, "Access log", "Behind a proxy").

mod common;

use std::io::{Read, Write};
use std::net::Ipv4Addr;

use common::{connect_from, read_response, request_bytes, write, Server, TempDir};

fn site() -> TempDir {
    let dir = TempDir::new("access-log");
    write(dir.path(), b"a.txt", b"hello\n");
    write(dir.path(), b"big.bin", &common::bytes(8 << 20, 1));
    dir
}

/// Sends `request` from the local address `source` and reads the response.
fn from(server: &Server, source: Ipv4Addr, request: &[u8]) -> common::Response {
    let mut s = connect_from(server.addr, source).unwrap();
    s.write_all(request).unwrap();
    read_response(&mut std::io::BufReader::new(s), false).unwrap()
}

#[test]
fn common_and_combined_are_field_for_field_apache_and_nginx() {
    let dir = site();
    let ua = ("User-Agent", "Mozilla/5.0 \"quoted\"");
    let referer = ("Referer", "https://example.com/from");
    for format in ["common", "combined"] {
        let server = Server::start(dir.path(), &["--log-format", format]);
        server.get("/a.txt?x=1", &[ua, referer]);
        server.get("/missing", &[]);
        let line = server.log_line("/a.txt").expect("a log line");
        // 127.0.0.1 - - [01/Dec/2026:23:14:05 +0000] "GET /a.txt?x=1 HTTP/1.1" 200 6
        let (host, rest) = line.split_once(" - - [").expect(&line);
        assert_eq!(host, "127.0.0.1", "{line}");
        let (time, rest) = rest.split_once("] ").expect(&line);
        assert_eq!(time.len(), "01/Dec/2026:23:14:05 +0000".len(), "{line}");
        assert!(
            time.ends_with(" +0000") && time.as_bytes()[2] == b'/',
            "{line}"
        );
        let tail = match format {
            "common" => "\"GET /a.txt?x=1 HTTP/1.1\" 200 6".to_string(),
            _ => "\"GET /a.txt?x=1 HTTP/1.1\" 200 6 \"https://example.com/from\" \
                  \"Mozilla/5.0 \\x22quoted\\x22\""
                .to_string(),
        };
        assert_eq!(rest, tail, "{format}");
        let missing = server.log_line("/missing").unwrap();
        let end = if format == "common" {
            "404 14"
        } else {
            "404 14 \"-\" \"-\""
        };
        assert!(missing.ends_with(end), "{missing}");
    }
}

#[test]
fn json_lines_carry_every_field() {
    let dir = site();
    let server = Server::start(dir.path(), &["--log-format", "json"]);
    server.get("/a.txt", &[("User-Agent", "a \"b\" \\c")]);
    let head = server.request("HEAD", "/a.txt", &[]);
    assert_eq!(head.status, 200);
    let line = server.log_line("\"GET\"").unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).expect(&line);
    assert_eq!(v["client"], "127.0.0.1");
    assert!(v["peer"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(v["method"], "GET");
    assert_eq!(v["target"], "/a.txt");
    assert_eq!(v["protocol"], "HTTP/1.1");
    assert_eq!(v["status"], 200);
    assert_eq!(v["bytes"], 6);
    assert_eq!(v["complete"], true);
    assert_eq!(v["user_agent"], "a \"b\" \\c");
    assert_eq!(v["host"], "test");
    assert_eq!(v["referer"], serde_json::Value::Null);
    assert!(v["duration_ms"].as_f64().unwrap() >= 0.0);
    let time = v["time"].as_str().unwrap();
    assert!(time.len() == 24 && time.ends_with('Z'), "{time}");
    // HEAD sends no body bytes.
    let head = server.log_line("\"HEAD\"").unwrap();
    let v: serde_json::Value = serde_json::from_str(&head).unwrap();
    assert_eq!(v["bytes"], 0);
}

#[test]
fn a_response_cut_off_is_logged_as_such() {
    let dir = site();
    for (format, mark) in [("default", " incomplete"), ("json", "\"complete\":false")] {
        let server = Server::start(dir.path(), &["--log-format", format]);
        let mut s = server.connect();
        s.write_all(&request_bytes("GET", b"/big.bin", &[]))
            .unwrap();
        // Take a little of the body, then go.
        let mut some = [0u8; 4096];
        let n = s.read(&mut some).unwrap();
        assert!(n > 0);
        drop(s);
        let line = server.log_line("/big.bin").expect("a log line");
        assert!(line.contains(mark), "{format}: {line}");
        let sent: u64 = match format {
            "json" => {
                let v: serde_json::Value = serde_json::from_str(&line).unwrap();
                v["bytes"].as_u64().unwrap()
            }
            _ => line.split(' ').nth(5).unwrap().parse().expect(&line),
        };
        assert!(sent < 8 << 20, "{format}: {line}");
    }
}

#[test]
fn the_client_behind_a_trusted_proxy_is_logged_and_spoofing_is_not() {
    let dir = site();
    let server = Server::start(
        dir.path(),
        &["--log-format", "json", "--trusted-proxy", "127.0.0.1/32"],
    );
    let client_of = |source: Ipv4Addr, tag: &str, headers: &[(&str, &str)]| {
        let target = format!("/a.txt?{tag}");
        let r = from(
            &server,
            source,
            &request_bytes("GET", target.as_bytes(), headers),
        );
        assert_eq!(r.status, 200);
        let line = server.log_line(&format!("?{tag}\"")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        v["client"].as_str().unwrap().to_string()
    };
    let proxy = Ipv4Addr::LOCALHOST;
    let xff = |v| [("X-Forwarded-For", v)];
    assert_eq!(client_of(proxy, "one", &xff("203.0.113.7")), "203.0.113.7");
    let forwarded = [("Forwarded", "for=\"[2001:db8::7]:4711\";proto=https")];
    assert_eq!(client_of(proxy, "rfc", &forwarded), "2001:db8::7");
    // Entries a client wrote itself sit left of the one the proxy appended.
    let chain = xff("1.2.3.4, 203.0.113.7");
    assert_eq!(client_of(proxy, "chain", &chain), "203.0.113.7");
    // A header the proxy passed on untouched disagrees with the one it wrote: the proxy.
    let both = [
        ("X-Forwarded-For", "203.0.113.7"),
        ("Forwarded", "for=1.2.3.4"),
    ];
    assert_eq!(client_of(proxy, "both", &both), "127.0.0.1");
    // From a peer that isn't trusted, the headers count for nothing.
    let other = Ipv4Addr::new(127, 0, 0, 2);
    assert_eq!(client_of(other, "direct", &xff("1.2.3.4")), "127.0.0.2");
    let forged = [("Forwarded", "for=1.2.3.4")];
    assert_eq!(client_of(other, "direct-rfc", &forged), "127.0.0.2");
    // Without --trusted-proxy, never.
    let plain = Server::start(dir.path(), &["--log-format", "combined"]);
    plain.get("/a.txt?plain", &[("X-Forwarded-For", "1.2.3.4")]);
    let line = plain.log_line("?plain").unwrap();
    assert!(line.starts_with("127.0.0.1 "), "{line}");
}

#[test]
fn a_trusted_proxy_is_not_held_to_the_per_address_limit() {
    let dir = site();
    let server = Server::start(
        dir.path(),
        &[
            "--max-connections-per-ip",
            "2",
            "--trusted-proxy",
            "127.0.0.1",
        ],
    );
    // Six keep-alive connections from one address, one request each, then a second request
    // on each: how many are still open and served.
    let kept = |source: Ipv4Addr| {
        let ask = |s: &std::net::TcpStream| {
            let mut w = s;
            w.write_all(&request_bytes("GET", b"/a.txt", &[])).ok()?;
            let r = read_response(&mut std::io::BufReader::new(s), false).ok()?;
            (r.status == 200).then_some(())
        };
        let conns: Vec<_> = (0..6)
            .map(|_| {
                let s = connect_from(server.addr, source).unwrap();
                s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
                    .unwrap();
                let _ = ask(&s);
                s
            })
            .collect();
        conns.iter().filter(|s| ask(s).is_some()).count()
    };
    assert_eq!(kept(Ipv4Addr::LOCALHOST), 6, "the proxy's connections");
    assert_eq!(kept(Ipv4Addr::new(127, 0, 0, 2)), 2, "another address's");
}

#[test]
fn health_probes_stay_out_of_the_log() {
    let dir = site();
    let server = Server::start(dir.path(), &["--health-path", "/healthz"]);
    assert_eq!(server.get("/healthz", &[]).status, 200);
    // What `http-fileserver healthcheck` sends.
    let probe = request_bytes(
        "OPTIONS",
        b"*",
        &[("User-Agent", "http-fileserver-healthcheck")],
    );
    assert_eq!(server.raw(&probe).status, 204);
    let out = std::process::Command::new(common::bin())
        .args(["healthcheck", "--bind", "127.0.0.1", "--port"])
        .arg(server.addr.port().to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // Other OPTIONS * are logged. Every line is out once the server has exited (requests on
    // other connections may be logged in another order than they were answered).
    assert_eq!(server.raw(&request_bytes("OPTIONS", b"*", &[])).status, 204);
    let log = server.stopped_stdout();
    assert!(!log.contains("healthz"), "{log}");
    assert_eq!(log.matches("\"OPTIONS * HTTP/1.1\"").count(), 1, "{log}");
}
