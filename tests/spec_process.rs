//! The process and its configuration (docs/behaviour.md, "Process and configuration";
//! shutdown is in lifecycle.rs),
//! on the real binary. The command-line basics (help, version, bad values, missing root) are
//! in tests/cli.rs.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::symlink;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::fixture::{self, Tree, HELLO, SECRET};
use common::{bin, request_bytes, wait_until, Server};

/// Starts the binary with exactly `args` (no implicit --bind/--port) and `env`.
fn spawn_exact(args: &[&str], env: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(bin());
    cmd.args(args).env_remove("PORT");
    for k in [
        "HTTP_FILESERVER_ROOT",
        "HTTP_FILESERVER_BIND",
        "HTTP_FILESERVER_NO_LISTING",
        "HTTP_FILESERVER_DOTFILES",
        "HTTP_FILESERVER_SYMLINKS",
        "HTTP_FILESERVER_HEADERS",
        "HTTP_FILESERVER_NO_ACCESS_LOG",
    ] {
        cmd.env_remove(k);
    }
    Server::spawn(cmd, env)
}

fn get_at(addr: SocketAddr, path: &str) -> common::Response {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&request_bytes("GET", path.as_bytes(), &[]))
        .unwrap();
    common::read_response(&mut BufReader::new(s), false).unwrap()
}

/// The first stderr line of the binary run with `args` (the start-up line), then kills it.
fn startup_line(args: &[&str]) -> String {
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    line
}

// 1 -------------------------------------------------------------------------------------------

#[test]
fn s1_no_arguments_serves_public_on_8080_on_all_interfaces() {
    let dir = common::TempDir::new("default");
    common::write(dir.path(), b"public/hello.txt", HELLO);
    if TcpListener::bind((Ipv4Addr::UNSPECIFIED, 8080)).is_err() {
        fixture::skip("port 8080 is in use here");
        return;
    }
    let mut cmd = Command::new(bin());
    cmd.current_dir(dir.path()).env_remove("PORT");
    for k in ["HTTP_FILESERVER_ROOT", "HTTP_FILESERVER_BIND"] {
        cmd.env_remove(k);
    }
    let server = Server::spawn(cmd, &[]);
    assert_eq!(server.addr.port(), 8080);
    assert!(server.addr.ip().is_unspecified(), "{}", server.addr);
    let r = get_at(SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)), "/hello.txt");
    assert_eq!(r.body, HELLO);
}

// 2 -------------------------------------------------------------------------------------------

#[test]
fn s2_every_option_by_flag() {
    let tree = Tree::new();
    let server = tree.serve(&[
        "--no-listing",
        "--dotfiles",
        "allow",
        "--symlinks",
        "any",
        "--header",
        "X-A: one",
        "--header",
        "X-B: two",
        "--no-access-log",
        "--max-connections",
        "16",
        "--threads",
        "2",
        "--idle-timeout",
        "2s",
        "--head-timeout",
        "500ms",
        "--write-timeout",
        "1m",
        "--shutdown-grace",
        "1",
    ]);
    assert_eq!(server.get("/list/", &[]).status, 404);
    assert_eq!(server.get("/.env", &[]).status, 200);
    assert_eq!(server.get("/link-out-file", &[]).body, SECRET);
    let r = server.get("/hello.txt", &[]);
    assert_eq!(r.header("X-A"), Some("one"));
    assert_eq!(r.header("X-B"), Some("two"));
    assert_eq!(
        server.stopped_stdout(),
        "",
        "access log despite --no-access-log"
    );
}

#[test]
fn s2_every_option_by_environment() {
    let tree = Tree::new();
    let root = tree.root.to_str().unwrap().to_string();
    let server = spawn_exact(
        &[],
        &[
            ("HTTP_FILESERVER_ROOT", &root),
            ("PORT", "0"),
            ("HTTP_FILESERVER_BIND", "127.0.0.1"),
            ("HTTP_FILESERVER_NO_LISTING", "1"),
            ("HTTP_FILESERVER_DOTFILES", "allow"),
            ("HTTP_FILESERVER_SYMLINKS", "any"),
            ("HTTP_FILESERVER_HEADERS", "X-A: one\nX-B: two"),
            ("HTTP_FILESERVER_NO_ACCESS_LOG", "1"),
            ("HTTP_FILESERVER_MAX_CONNECTIONS", "16"),
            ("HTTP_FILESERVER_THREADS", "2"),
            ("HTTP_FILESERVER_IDLE_TIMEOUT", "2s"),
            ("HTTP_FILESERVER_HEAD_TIMEOUT", "500ms"),
            ("HTTP_FILESERVER_WRITE_TIMEOUT", "1m"),
            ("HTTP_FILESERVER_SHUTDOWN_GRACE", "1s"),
        ],
    );
    assert_eq!(server.addr.ip(), Ipv4Addr::LOCALHOST);
    assert_eq!(server.get("/list/", &[]).status, 404);
    assert_eq!(server.get("/.env", &[]).status, 200);
    assert_eq!(server.get("/link-out-file", &[]).body, SECRET);
    let r = server.get("/hello.txt", &[]);
    assert_eq!(r.header("X-A"), Some("one"));
    assert_eq!(r.header("X-B"), Some("two"));
    assert_eq!(server.stopped_stdout(), "");
}

#[test]
fn s2_boolean_environment_values() {
    let tree = Tree::new();
    for (v, listing) in [
        ("1", false),
        ("true", false),
        ("yes", false),
        ("on", false),
        ("0", true),
        ("false", true),
        ("no", true),
        ("off", true),
    ] {
        let server = Server::start_with(&tree.root, &[], &[("HTTP_FILESERVER_NO_LISTING", v)]);
        let expect = if listing { 200 } else { 404 };
        assert_eq!(
            server.get("/list/", &[]).status,
            expect,
            "HTTP_FILESERVER_NO_LISTING={v}"
        );
    }
}

#[test]
fn s2_flags_beat_environment_variables() {
    let tree = Tree::new();
    // --no-listing beats NO_LISTING=0.
    let server = Server::start_with(
        &tree.root,
        &["--no-listing"],
        &[("HTTP_FILESERVER_NO_LISTING", "0")],
    );
    assert_eq!(server.get("/list/", &[]).status, 404);
    // --no-access-log beats NO_ACCESS_LOG=0.
    let server = Server::start_with(
        &tree.root,
        &["--no-access-log"],
        &[("HTTP_FILESERVER_NO_ACCESS_LOG", "0")],
    );
    server.get("/hello.txt", &[]);
    assert_eq!(server.stopped_stdout(), "");
    // --port beats PORT (which names a port that is taken).
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let server = Server::start_with(&tree.root, &[], &[("PORT", &port)]);
    assert_ne!(server.addr.port().to_string(), port);
    assert_eq!(server.get("/hello.txt", &[]).body, HELLO);
    // --bind beats HTTP_FILESERVER_BIND.
    let server = Server::start_with(&tree.root, &[], &[("HTTP_FILESERVER_BIND", "::1")]);
    assert_eq!(server.addr.ip(), Ipv4Addr::LOCALHOST);
    // The positional root beats HTTP_FILESERVER_ROOT.
    let other = common::TempDir::new("other-root");
    common::write(other.path(), b"hello.txt", b"the wrong root\n");
    let server = Server::start_with(
        &tree.root,
        &[],
        &[("HTTP_FILESERVER_ROOT", other.path().to_str().unwrap())],
    );
    assert_eq!(server.get("/hello.txt", &[]).body, HELLO);
    // --header with HTTP_FILESERVER_HEADERS naming the same field: the flag's value.
    let server = Server::start_with(
        &tree.root,
        &["--header", "X-Who: flag"],
        &[("HTTP_FILESERVER_HEADERS", "X-Who: env")],
    );
    assert_eq!(server.get("/hello.txt", &[]).header("X-Who"), Some("flag"));
}

// 3 -------------------------------------------------------------------------------------------

#[test]
fn s3_root_is_canonicalised_once_at_start_up() {
    let tree = Tree::new();
    let link = tree.dir.path().join("current");
    symlink(&tree.root, &link).unwrap();
    // The start-up line names the canonical root.
    let roundabout = format!("{}/../root/./", tree.root.display());
    let line = startup_line(&["--bind", "127.0.0.1", "--port", "0", &roundabout]);
    let canonical = std::fs::canonicalize(&tree.root).unwrap();
    assert!(
        line.contains(&format!("serving {} on http://", canonical.display())),
        "{line}"
    );
    let line = startup_line(&["--bind", "127.0.0.1", "--port", "0", link.to_str().unwrap()]);
    assert!(
        line.contains(&format!("serving {} on http://", canonical.display())),
        "{line}"
    );
    // Re-pointing the link after start-up changes nothing: the root was resolved once.
    let server = Server::start(&link, &[]);
    assert_eq!(server.get("/hello.txt", &[]).body, HELLO);
    std::fs::remove_file(&link).unwrap();
    symlink(&tree.outside, &link).unwrap();
    assert_eq!(server.get("/hello.txt", &[]).body, HELLO);
    assert_eq!(server.get("/secret.txt", &[]).status, 404);
}

#[test]
fn s3_bad_root_exits_non_zero_with_one_line() {
    let tree = Tree::new();
    for root in [
        tree.dir.path().join("missing"),
        tree.path(b"hello.txt"),
        tree.path(b"dangling"),
    ] {
        let out = Command::new(bin())
            .args(["--bind", "127.0.0.1", "--port", "0"])
            .arg(&root)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", root.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err:?}");
        assert!(err.starts_with("http-fileserver: "), "{err:?}");
        assert!(out.stdout.is_empty());
    }
}

// 4 -------------------------------------------------------------------------------------------

#[test]
fn s4_default_bind_is_dual_stack() {
    let tree = Tree::new();
    let server = spawn_exact(&["--port", "0", tree.root.to_str().unwrap()], &[]);
    let port = server.addr.port();
    assert!(server.addr.ip().is_unspecified(), "{}", server.addr);
    let r = get_at(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), "/hello.txt");
    assert_eq!(r.body, HELLO, "over IPv4");
    if TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_err() {
        fixture::skip("no IPv6 loopback here: the dual-stack half can't be checked");
        return;
    }
    assert!(
        server.addr.is_ipv6(),
        "bound {} although IPv6 works",
        server.addr
    );
    let r = get_at(SocketAddr::from((Ipv6Addr::LOCALHOST, port)), "/hello.txt");
    assert_eq!(r.body, HELLO, "over IPv6");
}

// 5 -------------------------------------------------------------------------------------------

/// Runs `healthcheck` with `args`/`env`; returns (exit code, stderr, elapsed). Kills it after
/// 10 s.
fn healthcheck(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, Duration) {
    let mut cmd = Command::new(bin());
    cmd.arg("healthcheck")
        .args(args)
        .env_remove("PORT")
        .env_remove("HTTP_FILESERVER_BIND")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("healthcheck still running after 10 s");
        }
        thread::sleep(Duration::from_millis(10));
    };
    let elapsed = started.elapsed();
    (code, reader.join().unwrap(), elapsed)
}

/// A fake server on 127.0.0.1 that answers each connection's first request with `answer`
/// (or holds it open, answering nothing, if `answer` is None) until the returned sender drops.
fn fake_server(answer: Option<&'static [u8]>) -> (u16, mpsc::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let (stop, stopped) = mpsc::channel::<()>();
    thread::spawn(move || {
        let mut held = Vec::new();
        loop {
            match stopped.try_recv() {
                Err(mpsc::TryRecvError::Empty) => {}
                _ => return,
            }
            match listener.accept() {
                Ok((mut s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    if let Some(answer) = answer {
                        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                        let mut buf = [0u8; 1024];
                        let _ = common::read_retrying(&mut s, &mut buf);
                        let _ = s.write_all(answer);
                    }
                    held.push(s);
                }
                Err(_) => thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    (port, stop)
}

#[test]
fn s5_healthcheck_against_a_running_server_exits_0() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let port = server.addr.port().to_string();
    let (code, err, took) = healthcheck(&["--port", &port], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(took < Duration::from_secs(2));
    let (code, err, _) = healthcheck(&["--bind", "127.0.0.1", "--port", &port], &[]);
    assert_eq!(code, Some(0), "{err}");
    let (code, err, _) = healthcheck(&["-p", &port], &[]);
    assert_eq!(code, Some(0), "{err}");
    // Port from the environment, as in the image (`PORT` set, no flags).
    let (code, err, _) = healthcheck(&[], &[("PORT", &port)]);
    assert_eq!(code, Some(0), "{err}");
    // The same options as the server: other flags are accepted and ignored.
    let (code, err, _) = healthcheck(
        &["--port", &port, "--no-listing", "--dotfiles", "allow"],
        &[("HTTP_FILESERVER_SYMLINKS", "any")],
    );
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn s5_healthcheck_against_a_closed_port_exits_1_promptly() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (code, err, took) = healthcheck(&["--port", &port.to_string()], &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.starts_with("http-fileserver: "), "{err:?}");
}

#[test]
fn s5_healthcheck_against_a_silent_listener_exits_1_in_about_2_s() {
    let (port, _stop) = fake_server(None);
    let (code, err, took) = healthcheck(&["--port", &port.to_string()], &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(took < Duration::from_millis(3000), "took {took:?}");
    assert!(
        took >= Duration::from_millis(1500),
        "gave up after only {took:?}"
    );
    assert_eq!(err.lines().count(), 1, "{err:?}");
}

#[test]
fn s5_healthcheck_exit_code_follows_the_status() {
    for (answer, expect) in [
        (&b"HTTP/1.1 204 No Content\r\n\r\n"[..], 0),
        (b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 0),
        (b"HTTP/1.0 499 Whatever\r\n\r\n", 0),
        (b"HTTP/1.1 500 Internal Server Error\r\n\r\n", 1),
        (b"HTTP/1.1 503 Service Unavailable\r\n\r\n", 1),
        (b"SSH-2.0-OpenSSH_9.6\r\n", 1),
        (b"", 1),
    ] {
        let (port, _stop) = fake_server(Some(answer));
        let (code, err, took) = healthcheck(&["--port", &port.to_string()], &[]);
        assert_eq!(
            code,
            Some(expect),
            "{:?}: {err}",
            String::from_utf8_lossy(answer)
        );
        assert!(took < Duration::from_millis(3000));
    }
}

// 7 -------------------------------------------------------------------------------------------

/// A parsed access log line.
#[derive(Debug)]
struct LogLine {
    time: String,
    remote: String,
    method: String,
    target: String,
    version: String,
    status: u16,
    bytes: u64,
    ms: f64,
}

fn parse_log(line: &str) -> LogLine {
    let (time, rest) = line.split_once(' ').expect(line);
    let (remote, rest) = rest.split_once(' ').expect(line);
    let rest = rest.strip_prefix('"').expect(line);
    let (request, rest) = rest.split_once('"').expect(line);
    let mut req = request.split(' ');
    let (method, target, version) = (
        req.next().unwrap().to_string(),
        req.next().expect(line).to_string(),
        req.next().expect(line).to_string(),
    );
    assert!(req.next().is_none(), "{line}");
    let mut tail = rest.trim_start().split(' ');
    let status = tail.next().unwrap().parse().expect(line);
    let bytes = tail.next().expect(line).parse().expect(line);
    let ms = tail
        .next()
        .expect(line)
        .strip_suffix("ms")
        .expect(line)
        .parse()
        .expect(line);
    assert!(tail.next().is_none(), "{line}");
    LogLine {
        time: time.to_string(),
        remote: remote.to_string(),
        method,
        target,
        version,
        status,
        bytes,
        ms,
    }
}

fn log_lines(server: &Server, n: usize) -> Vec<String> {
    let ok = wait_until(Duration::from_secs(3), || {
        server.stdout().lines().count() >= n
    });
    let out = server.stdout();
    assert!(ok, "expected {n} log lines, got:\n{out}");
    out.lines().map(str::to_string).collect()
}

#[test]
fn s7_one_line_per_request_with_every_field() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    let before = fixture::now_secs();
    let mut c = fixture::Conn::new(&server);
    let local = c.reader.get_ref().local_addr().unwrap();
    let etag = c.get("/past.txt", &[]).header("ETag").unwrap().to_string();
    let expected = [
        ("GET", "/hello.txt?q=1", vec![], 200, HELLO.len() as u64),
        ("HEAD", "/big.bin", vec![], 200, 0),
        ("GET", "/past.txt", vec![("Range", "bytes=0-3")], 206, 4),
        (
            "GET",
            "/past.txt",
            vec![("If-None-Match", etag.as_str())],
            304,
            0,
        ),
        ("GET", "/sub", vec![], 301, 0),
        ("DELETE", "/hello.txt", vec![], 405, u64::MAX),
        ("GET", "/missing", vec![], 404, u64::MAX),
    ];
    let mut sizes = vec![14];
    for (m, p, h, _, _) in &expected {
        c.send(&request_bytes(m, p.as_bytes(), h));
        let r = c.read(*m == "HEAD");
        sizes.push(r.body.len() as u64);
    }
    let after = fixture::now_secs();
    let lines = log_lines(&server, expected.len() + 1);
    assert_eq!(lines.len(), expected.len() + 1, "{lines:#?}");
    let first = parse_log(&lines[0]);
    assert_eq!(
        (first.method.as_str(), first.target.as_str()),
        ("GET", "/past.txt")
    );
    for (i, (line, (m, p, _, status, bytes))) in lines[1..].iter().zip(&expected).enumerate() {
        let l = parse_log(line);
        assert_eq!(l.method, *m, "{line}");
        assert_eq!(l.target, *p, "{line}");
        assert_eq!(l.version, "HTTP/1.1", "{line}");
        assert_eq!(l.status, *status, "{line}");
        let bytes = if *bytes == u64::MAX {
            sizes[i + 1]
        } else {
            *bytes
        };
        assert_eq!(l.bytes, bytes, "{line}");
        assert_eq!(l.remote, local.to_string(), "{line}");
        assert!(l.ms >= 0.0 && l.ms < 10_000.0, "{line}");
        // `YYYY-MM-DDTHH:MM:SS.mmmZ`, UTC, between before and after.
        assert_eq!(l.time.len(), 24, "{line}");
        assert!(
            l.time.ends_with('Z') && l.time.as_bytes()[19] == b'.',
            "{line}"
        );
        let secs = &l.time[..19];
        let lo = fixture::rfc3339(before.saturating_sub(1));
        let hi = fixture::rfc3339(after + 1);
        assert!(
            secs >= &lo[..19] && secs <= &hi[..19],
            "{line}: not between {lo} and {hi}"
        );
    }
}

#[test]
fn s7_log_escapes_quotes_backslashes_and_keeps_the_raw_target() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    // A raw ESC and a raw non-ASCII byte: refused by the parser (400); if logged at all,
    // escaped.
    for raw in [
        &b"GET /esc\x1b[31m HTTP/1.1\r\nHost: t\r\n\r\n"[..],
        b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: t\r\n\r\n",
    ] {
        assert_eq!(server.raw(raw).status, 400);
    }
    server.raw(b"GET /a\"b\\c HTTP/1.1\r\nHost: t\r\n\r\n");
    server.raw(b"GET /x%1b%0d%0a%22 HTTP/1.1\r\nHost: t\r\n\r\n");
    server.raw(b"GET http://h/\"q\" HTTP/1.0\r\n\r\n");
    // Every line, the two refused requests' too (they may come in any order): wait for the
    // three that must be there.
    for needle in ["/a\\x22b", "/x%1b", "http://h/"] {
        server.log_line(needle).expect(needle);
    }
    let lines = log_lines(&server, 3);
    let out = server.stdout();
    assert!(
        out.bytes().all(|b| b == b'\n' || (0x20..0x7f).contains(&b)),
        "raw control or non-ASCII bytes in the log: {out:?}"
    );
    let mut targets: Vec<String> = lines
        .iter()
        .map(|l| parse_log(l).target)
        .filter(|t| !t.starts_with("/esc") && !t.starts_with("/caf"))
        .collect();
    targets.sort();
    let mut expected = vec![
        "/a\\x22b\\x5Cc".to_string(),
        "/x%1b%0d%0a%22".to_string(),
        "http://h/\\x22q\\x22".to_string(),
    ];
    expected.sort();
    assert_eq!(targets, expected, "{out}");
    assert!(out.contains(" HTTP/1.0\" "), "{out}");
}

#[test]
fn s7_start_up_goes_to_stderr_and_stdout_holds_only_log_lines() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    for p in ["/hello.txt", "/%zz", "/.env"] {
        server.get(p, &[]);
    }
    let lines = log_lines(&server, 3);
    assert_eq!(lines.len(), 3);
    for l in &lines {
        assert!(!l.contains("serving"), "{l}");
        parse_log(l);
    }
    // Each line is written when its response has gone out, by whichever thread sent it: lines
    // of requests on different connections may come in either order.
    let bad = lines
        .iter()
        .map(|l| parse_log(l))
        .find(|l| l.target == "/%zz")
        .expect("a line for /%zz");
    assert_eq!(bad.status, 400);
}

#[test]
fn s7_logging_can_be_turned_off() {
    let tree = Tree::new();
    for (args, env) in [
        (&["--no-access-log"][..], &[][..]),
        (&[], &[("HTTP_FILESERVER_NO_ACCESS_LOG", "1")][..]),
        (&[], &[("HTTP_FILESERVER_NO_ACCESS_LOG", "true")][..]),
    ] {
        let server = Server::start_with(&tree.root, args, env);
        for _ in 0..3 {
            assert_eq!(server.get("/hello.txt", &[]).body, HELLO);
        }
        server.get("/missing", &[]);
        thread::sleep(Duration::from_millis(150));
        assert_eq!(server.stdout(), "", "{args:?} {env:?}");
    }
    // And on again with a false value.
    let server = Server::start_with(&tree.root, &[], &[("HTTP_FILESERVER_NO_ACCESS_LOG", "0")]);
    server.get("/hello.txt", &[]);
    assert_eq!(log_lines(&server, 1).len(), 1);
}

#[test]
fn s7_requests_refused_by_the_protocol_layer_are_logged_too() {
    let tree = Tree::new();
    let server = tree.serve(&[]);
    // A request without Host is still a request, answered 400: operators need to see those.
    assert_eq!(server.raw(b"GET /nohost HTTP/1.1\r\n\r\n").status, 400);
    let lines = log_lines(&server, 1);
    let l = parse_log(&lines[0]);
    assert_eq!(l.status, 400, "{lines:?}");
    assert_eq!(l.target, "/nohost", "{lines:?}");
}
