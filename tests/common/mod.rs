//! Test harness: the real binary on 127.0.0.1, a raw HTTP/1.1 client, and fixture trees.
//!
//! Every end-to-end test starts its own server process (`--port 0`, the port read from the
//! start-up line on stderr) on its own fixture directory, and talks to it over real TCP.
#![allow(dead_code)]

pub mod fixture;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The binary under test: the one cargo built for these tests, or the file named by
/// `HTTP_FILESERVER_TEST_BIN` (the same suite run against a cross-built binary, e.g. an
/// aarch64 build under qemu user emulation).
pub fn bin() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var("HTTP_FILESERVER_TEST_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_http-fileserver").to_string())
    })
}

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "hf-test-{}-{}-{}",
            tag,
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running server process, killed on drop.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// Lines the server wrote to stderr after its start-up line, as they come.
    pub stderr: mpsc::Receiver<String>,
    /// The lines taken from `stderr` so far by [`Server::stderr_line`].
    seen: std::sync::Mutex<Vec<String>>,
    stdout_path: Option<PathBuf>,
}

impl Server {
    /// Starts the binary serving `root` on 127.0.0.1 with the extra `args`.
    pub fn start(root: &Path, args: &[&str]) -> Server {
        Server::start_with(root, args, &[])
    }

    /// Like `start`, with environment variables set for the process.
    pub fn start_with(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(bin());
        cmd.args(["--bind", "127.0.0.1", "--port", "0"])
            .args(args)
            .arg(root);
        Server::spawn(cmd, env)
    }

    /// Spawns `cmd` (the binary with all its arguments) and waits for its start-up line.
    pub fn spawn(mut cmd: Command, env: &[(&str, &str)]) -> Server {
        static N: AtomicUsize = AtomicUsize::new(0);
        let stdout_path = std::env::temp_dir().join(format!(
            "hf-test-stdout-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let stdout = std::fs::File::create(&stdout_path).unwrap();
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server binary");
        let stderr = child.stderr.take().unwrap();
        let (addr, lines) = read_startup(stderr);
        let addr = match addr {
            Some(addr) => addr,
            None => {
                let _ = child.kill();
                let rest: Vec<String> = lines.try_iter().collect();
                panic!("server did not start: {rest:?}");
            }
        };
        Server {
            child,
            addr,
            stderr: lines,
            seen: Default::default(),
            stdout_path: Some(stdout_path),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A server already started by other means (a wrapper that starts it later), listening on
    /// `addr`, with its stderr's lines coming from `stderr`.
    pub fn attach(child: Child, addr: SocketAddr, stderr: mpsc::Receiver<String>) -> Server {
        Server {
            child,
            addr,
            stderr,
            seen: Default::default(),
            stdout_path: None,
        }
    }

    /// The first line the server wrote to stderr (after its start-up line) that contains
    /// `needle`, waiting up to 10 s for it: lines reach the test through a reader thread, a
    /// moment after the server wrote them.
    pub fn stderr_line(&self, needle: &str) -> Option<String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut seen = self.seen.lock().unwrap();
        loop {
            seen.extend(self.stderr.try_iter());
            if let Some(line) = seen.iter().find(|l| l.contains(needle)) {
                return Some(line.clone());
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => seen.push(line),
                Err(_) => return None,
            }
        }
    }

    /// Everything the server wrote to stdout (the access log) so far.
    pub fn stdout(&self) -> String {
        self.stdout_path
            .as_ref()
            .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned())
            .unwrap_or_default()
    }

    /// Stops the server (SIGTERM), waits for it to exit, and returns everything it wrote to
    /// stdout: the access log is flushed at exit, so nothing logged can still be on its way.
    pub fn stopped_stdout(mut self) -> String {
        self.signal("TERM");
        assert!(
            self.wait_exit(Duration::from_secs(10)).is_some(),
            "no exit within 10 s of SIGTERM"
        );
        self.stdout()
    }

    /// The first access log line containing `needle`, waiting up to 10 s for it: the log is
    /// written in batches, a few milliseconds after the response.
    pub fn log_line(&self, needle: &str) -> Option<String> {
        let find = || {
            let out = self.stdout();
            out.lines().find(|l| l.contains(needle)).map(str::to_string)
        };
        let mut found = None;
        wait_until(Duration::from_secs(10), || {
            found = find();
            found.is_some()
        });
        found
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// Sends raw request bytes on a new connection and reads one response.
    pub fn raw(&self, request: &[u8]) -> Response {
        raw_at(self.addr, request)
    }

    /// `GET path` with `headers` (name, value) on a new connection.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        self.request("GET", path, headers)
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        self.raw(&request_bytes(method, path.as_bytes(), headers))
    }

    /// Sends a signal to the process.
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args(["-s", signal, &self.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -s {signal}");
    }

    /// Waits up to `limit` for the process to exit; returns its exit code (None: signalled).
    pub fn wait_exit(&mut self, limit: Duration) -> Option<Option<i32>> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status.code());
            }
            thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// A field of /proc/PID/status, such as "Threads" or "VmRSS" (number only).
    pub fn proc_status(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc status"))
    }

    /// How many file descriptors the process has open.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .unwrap()
            .count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(p) = &self.stdout_path {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Reads stderr until the start-up line, then keeps forwarding lines to a channel.
fn read_startup(stderr: ChildStderr) -> (Option<SocketAddr>, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel();
    let (addr_tx, addr_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if !sent {
                if let Some(addr) = parse_serving_line(&line) {
                    let _ = addr_tx.send(Some(addr));
                    sent = true;
                    continue;
                }
            }
            let _ = tx.send(line);
        }
        if !sent {
            let _ = addr_tx.send(None);
        }
    });
    let addr = addr_rx.recv_timeout(Duration::from_secs(10)).ok().flatten();
    (addr, rx)
}

/// The address the server listens on, from its start-up line:
/// `http-fileserver: serving ROOT on http://ADDR/`, or `… (listening on ADDR…)` when the URL
/// names `localhost` or the socket came from a service manager.
pub fn parse_serving_line(line: &str) -> Option<SocketAddr> {
    if !line.contains("serving") {
        return None;
    }
    if let Some((_, rest)) = line.rsplit_once("(listening on ") {
        return rest.split([',', ')']).next()?.parse().ok();
    }
    let start = line.rfind("http://")? + "http://".len();
    line[start..].trim_end().trim_end_matches('/').parse().ok()
}

/// Connects to `addr` (IPv4) from the local address `source` (any of 127.0.0.0/8 is local on
/// loopback): clients on several addresses, as the server's per-address limits see them.
pub fn connect_from(addr: SocketAddr, source: std::net::Ipv4Addr) -> std::io::Result<TcpStream> {
    use std::os::unix::io::FromRawFd;
    let SocketAddr::V4(v4) = addr else {
        panic!("IPv4 only");
    };
    let sin = |ip: std::net::Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    let (local, remote) = (sin(source, 0), sin(*v4.ip(), v4.port()));
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket calls on a descriptor this function owns, with sockaddr_in values
    // that live across the calls; the descriptor is handed to TcpStream before any return.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let stream = TcpStream::from_raw_fd(fd);
        let ptr = |a: &libc::sockaddr_in| a as *const libc::sockaddr_in as *const libc::sockaddr;
        if libc::bind(fd, ptr(&local), len) != 0 || libc::connect(fd, ptr(&remote), len) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(stream)
    }
}

/// Sends raw request bytes on a new connection to `addr` and reads one response (for threads
/// that can't share the `Server`).
pub fn raw_at(addr: SocketAddr, request: &[u8]) -> Response {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    read_response(&mut BufReader::new(s), request.starts_with(b"HEAD ")).expect("a response")
}

/// The bytes of a request with a Host header.
pub fn request_bytes(method: &str, target: &[u8], headers: &[(&str, &str)]) -> Vec<u8> {
    let mut r = Vec::new();
    r.extend_from_slice(method.as_bytes());
    r.push(b' ');
    r.extend_from_slice(target);
    r.extend_from_slice(b" HTTP/1.1\r\nHost: test\r\n");
    for (k, v) in headers {
        r.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    r.extend_from_slice(b"\r\n");
    r
}

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub version: String,
    /// Header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The value of the only field called `name` (case-insensitive); panics if repeated.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut found = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str());
        let first = found.next();
        assert!(found.next().is_none(), "header {name} sent twice");
        first
    }

    pub fn has(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header_map(&self) -> HashMap<String, String> {
        self.headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect()
    }
}

/// Reads one response: the head, then a body delimited by Content-Length, by chunked
/// encoding (decoded), or by the end of the stream. `head_only` for answers to HEAD.
pub fn read_response<R: BufRead>(r: &mut R, head_only: bool) -> std::io::Result<Response> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed before a response",
        ));
    }
    let mut parts = line.trim_end().splitn(3, ' ');
    let version = parts.next().unwrap_or("").to_string();
    let status: u16 = parts.next().and_then(|s| s.parse().ok()).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("bad status line {line:?}"),
        )
    })?;
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h)?;
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap_or((h, ""));
        headers.push((k.to_string(), v.trim().to_string()));
    }
    let mut resp = Response {
        status,
        version,
        headers,
        body: Vec::new(),
    };
    let no_body = head_only || status == 204 || status == 304 || (100..200).contains(&status);
    if no_body {
        return Ok(resp);
    }
    let chunked = resp.headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                let mut end = String::new();
                r.read_line(&mut end)?;
                break;
            }
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            resp.body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(len) = resp.header("content-length") {
        let len: usize = len.parse().unwrap();
        resp.body = vec![0; len];
        r.read_exact(&mut resp.body)?;
    } else {
        r.read_to_end(&mut resp.body)?;
    }
    Ok(resp)
}

/// `read`, retried when a signal interrupts it, as `read_line` and `read_exact` already are: a
/// bare read in a test would otherwise take EINTR for the server closing the connection.
pub fn read_retrying(r: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Writes a file, creating parent directories.
pub fn write(root: &Path, rel: &[u8], content: &[u8]) -> PathBuf {
    let path = root.join(std::ffi::OsStr::from_bytes(rel));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, content).unwrap();
    path
}

/// Sets a file's mtime (seconds since the epoch) with `touch`.
pub fn set_mtime(path: &Path, secs: u64) {
    let ok = Command::new("touch")
        .arg("-m")
        .arg("-d")
        .arg(format!("@{secs}"))
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

/// Polls `f` every 20 ms until it returns true or `limit` passes.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Deterministic pseudo-random bytes.
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
