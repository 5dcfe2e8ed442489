//! The hostile fixture tree the spec tests run against, and helpers for the spec tests:
//! percent-encoding targets, raw heads, keep-alive connections, multipart parsing.
//!
//! Layout of `Tree::new()` (a scratch directory holding `root/`, served, and `outside/`, not):
//!
//! - names with a space, unicode (`café`, `日本`), a non-UTF-8 byte (`caf\xe9.txt`), a tab, `%`,
//!   `#`, `?`, `"`, `'`, `<script>`/`<img onerror>`, `&`, `\`, `:`, and a 255-byte name;
//! - directories `q?dir/`, `h#dir/`, `a:b/`, `sp ace/`, `sub/` (with `index.html`), `list/`;
//! - symlinks inside (file, dir), outside (file, dir), to `/etc/passwd`, dangling, a loop;
//!   an index and a sidecar that are symlinks out of the root;
//! - dotfiles `.env`, `.git/config`, `sub/.hidden`, and `.well-known/security.txt`;
//! - `empty.txt`, `big.bin` (3 MiB), sidecars `app.js.{br,zst,gz}`, `style.css.gz`, orphan
//!   `only.txt.gz`; `epoch.txt` (mtime 1 s) and `past.txt` (mtime 2020-09-13T12:26:40Z);
//! - extension-less `README` (text), `blob` (binary), `page` (HTML-looking);
//!   `app.mjs`, `mod.wasm`, `page.html`, `UPPER.HTML`; a FIFO `fifo`; `unreadable.txt` (mode 000).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{read_response, request_bytes, set_mtime, write, Response, Server, TempDir};

/// Size of `big.bin`.
pub const BIG_LEN: usize = 3 * 1024 * 1024;
/// Seed of `big.bin`'s bytes (`common::bytes(BIG_LEN, BIG_SEED)`).
pub const BIG_SEED: u64 = 7;
/// The content of `big.bin`, generated once per test binary.
pub fn big() -> &'static [u8] {
    static BIG: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BIG.get_or_init(|| super::bytes(BIG_LEN, BIG_SEED))
}
/// The mtime of `past.txt`, and its HTTP date.
pub const PAST_MTIME: u64 = 1_600_000_000;
pub const PAST_DATE: &str = "Sun, 13 Sep 2020 12:26:40 GMT";
/// Content of `hello.txt`.
pub const HELLO: &[u8] = b"hello, world\n";
/// Content of `sub/index.html`.
pub const SUB_INDEX: &[u8] = b"<!doctype html><title>sub</title>sub index\n";
/// Content of the file the outside symlinks point at (never to be served under `inside`).
pub const SECRET: &[u8] = b"outside secret\n";
/// Contents of the `app.js` family.
pub const APP_JS: &[u8] = b"console.log('identity representation of app.js');\n";
pub const APP_JS_BR: &[u8] = b"BR-FAKE-BYTES";
pub const APP_JS_ZST: &[u8] = b"ZSTD-FAKE-BYTES-0123";
pub const APP_JS_GZ: &[u8] = b"\x1f\x8bGZIP-FAKE-BYTES-ABCDEFGH";
pub const STYLE_CSS: &[u8] = b"body { color: black; }\n";
pub const STYLE_CSS_GZ: &[u8] = b"\x1f\x8bcss-gz";
pub const ONLY_GZ: &[u8] = b"\x1f\x8borphan";
/// The 255-byte name (the longest a Linux file system allows).
pub fn long_name() -> Vec<u8> {
    let mut name = vec![b'L'; 251];
    name.extend_from_slice(b".txt");
    name
}

/// Hostile file names at the root, each with content `content of <index>\n`.
pub const HOSTILE_NAMES: &[&[u8]] = &[
    b"with space.txt",
    "café.txt".as_bytes(),
    "日本.txt".as_bytes(),
    b"caf\xe9.txt",
    b"tab\there.txt",
    b"100%.txt",
    b"a#b.txt",
    b"what?.txt",
    b"quote\".txt",
    b"apos'.txt",
    b"<img src=x onerror=alert(1)>.txt",
    b"<script>alert(1)<\\script>.txt",
    b"a&b.txt",
    b"back\\slash.txt",
    b"a:b.txt",
    b"plus+semi;eq=.txt",
];

pub fn hostile_content(i: usize) -> Vec<u8> {
    format!("content of {i}\n").into_bytes()
}

/// The fixture: `dir/root` is served, `dir/outside` is a sibling the symlinks escape to.
pub struct Tree {
    pub dir: TempDir,
    pub root: PathBuf,
    pub outside: PathBuf,
    /// Whether `unreadable.txt` really can't be read (false when running as root).
    pub unreadable_enforced: bool,
}

impl Tree {
    pub fn new() -> Tree {
        let dir = TempDir::new("spec");
        let root = dir.path().join("root");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        let unreadable_enforced = hostile_tree(&root, &outside);
        Tree {
            dir,
            root,
            outside,
            unreadable_enforced,
        }
    }

    /// A server that can't read `unreadable.txt`: the normal one when the tests don't run as
    /// root, else one started as nobody (65534) through `setpriv`; `None` if neither works.
    pub fn serve_unprivileged(&self, args: &[&str]) -> Option<Server> {
        if self.unreadable_enforced {
            return Some(self.serve(args));
        }
        let have_setpriv = Command::new("setpriv")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !have_setpriv {
            return None;
        }
        let mut cmd = Command::new("setpriv");
        cmd.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            super::bin(),
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
        ])
        .args(args)
        .arg(&self.root);
        Some(Server::spawn(cmd, &[]))
    }

    /// Starts a server on this tree's root.
    pub fn serve(&self, args: &[&str]) -> Server {
        Server::start(&self.root, args)
    }

    pub fn path(&self, rel: &[u8]) -> PathBuf {
        self.root.join(std::ffi::OsStr::from_bytes(rel))
    }

    /// Asserts that no file-system path of the fixture appears in `body`.
    pub fn assert_no_path(&self, body: &[u8]) {
        let text = String::from_utf8_lossy(body);
        for p in [self.dir.path(), &self.root, &self.outside] {
            let s = p.to_string_lossy();
            assert!(!text.contains(s.as_ref()), "body names a path: {text:?}");
        }
        assert!(!text.contains("/tmp"), "body names a path: {text:?}");
        assert!(!text.contains("hf-test"), "body names a path: {text:?}");
    }
}

impl Default for Tree {
    fn default() -> Self {
        Tree::new()
    }
}

/// Builds the hostile tree under `root`, with link targets in `outside`. Returns whether the
/// mode-000 file is really unreadable (it isn't when the tests run as root).
pub fn hostile_tree(root: &Path, outside: &Path) -> bool {
    let w = |rel: &[u8], content: &[u8]| write(root, rel, content);

    w(b"hello.txt", HELLO);
    for (i, name) in HOSTILE_NAMES.iter().enumerate() {
        w(name, &hostile_content(i));
    }
    w(&long_name(), b"long name\n");

    // Directories with awkward names, each holding in.txt.
    for d in [&b"q?dir"[..], b"h#dir", b"a:b", b"sp ace", b"pct%dir"] {
        let mut rel = d.to_vec();
        rel.extend_from_slice(b"/in.txt");
        w(&rel, b"in\n");
    }
    w(b"sub/index.html", SUB_INDEX);
    w(b"sub/other.txt", b"other\n");
    w(b"sub/.hidden", b"hidden\n");
    w(b"sub/.well-known/x.txt", b"not at the root\n");
    w(b"sub/deeper/leaf.txt", b"leaf\n");
    w(b"list/b.txt", b"b\n");
    w(b"list/a.txt", b"a\n");
    w(b"list/C.txt", b"C\n");
    w(b"list/dir/x.txt", b"x\n");
    w(b"list/.hidden-in-list", b"hidden\n");
    // Names built to abuse redirects (docs/behaviour.md, "Redirects").
    for d in [
        &b"crlf\r\nX-Injected: yes"[..],
        b"evil.com",
        b"\\evil.com",
        b"\\\\evil.com",
        b"javascript:alert(1)",
        b"esc\x1b[31m",
    ] {
        let mut rel = d.to_vec();
        rel.extend_from_slice(b"/in.txt");
        w(&rel, b"in\n");
    }
    w(b"evil.com.txt", b"evil\n");
    // A directory whose index has a precompressed sidecar.
    w(b"idx-gz/index.html", b"<p>plain index</p>\n");
    w(b"idx-gz/index.html.gz", b"\x1f\x8bindex-gz");

    // Outside the root.
    write(outside, b"secret.txt", SECRET);
    write(outside, b"dir/inner.txt", SECRET);
    write(outside, b"index.html", b"<p>outside index</p>\n");
    write(outside, b"evil.js.gz", b"outside sidecar");

    // Symlinks.
    symlink("hello.txt", root.join("link-in-file")).unwrap();
    symlink("sub", root.join("link-in-dir")).unwrap();
    symlink(outside.join("secret.txt"), root.join("link-out-file")).unwrap();
    symlink(outside.join("dir"), root.join("link-out-dir")).unwrap();
    symlink("../outside/secret.txt", root.join("link-out-rel")).unwrap();
    symlink("/etc/passwd", root.join("passwd")).unwrap();
    symlink("does-not-exist", root.join("dangling")).unwrap();
    symlink("loop-b", root.join("loop-a")).unwrap();
    symlink("loop-a", root.join("loop-b")).unwrap();
    // A directory whose index is a link out of the root, and a sidecar that is one.
    std::fs::create_dir_all(root.join("idx-out")).unwrap();
    symlink(outside.join("index.html"), root.join("idx-out/index.html")).unwrap();
    w(b"idx-out/visible.txt", b"visible\n");
    w(b"lib.js", b"lib();\n");
    symlink(outside.join("evil.js.gz"), root.join("lib.js.gz")).unwrap();
    // A directory whose index is a link inside the root.
    std::fs::create_dir_all(root.join("idx-in")).unwrap();
    symlink("../sub/index.html", root.join("idx-in/index.html")).unwrap();

    // Dotfiles.
    w(b".env", b"SECRET=1\n");
    w(b".git/config", b"[core]\n");
    w(
        b".well-known/security.txt",
        b"Contact: mailto:security@example.com\n",
    );

    // Sizes.
    w(b"empty.txt", b"");
    w(b"big.bin", big());

    // Sidecars.
    w(b"app.js", APP_JS);
    w(b"app.js.br", APP_JS_BR);
    w(b"app.js.zst", APP_JS_ZST);
    w(b"app.js.gz", APP_JS_GZ);
    w(b"style.css", STYLE_CSS);
    w(b"style.css.gz", STYLE_CSS_GZ);
    w(b"only.txt.gz", ONLY_GZ);

    // Times.
    set_mtime(&w(b"epoch.txt", b"built by nix\n"), 1);
    set_mtime(&w(b"past.txt", b"from the past\n"), PAST_MTIME);
    set_mtime(
        &w(b"page.html", b"<!doctype html><p>page</p>\n"),
        PAST_MTIME,
    );

    // Types.
    w(b"README", b"just some plain text\nwith lines\n");
    let mut blob = b"\x00\x01\x02binary\xff\xfe".to_vec();
    blob.extend_from_slice(&super::bytes(600, 3));
    w(b"blob", &blob);
    w(
        b"page",
        b"<html><script>alert(document.domain)</script></html>\n",
    );
    w(b"app.mjs", b"export default 1;\n");
    w(b"mod.wasm", b"\x00asm\x01\x00\x00\x00");
    w(b"UPPER.HTML", b"<p>upper</p>\n");
    w(b"data.json", b"{}\n");
    w(b"UP.JS", b"up();\n");
    w(b"noext-empty", b"");
    w(
        b"evil.zzz",
        b"<!doctype html><html><script>alert(1)</script>\n",
    );
    set_mtime(&w(b"zero.txt", b"mtime 0\n"), 0);
    set_mtime(&w(b"two.txt", b"mtime 2\n"), 2);

    // A FIFO: opening it for reading would block forever.
    let ok = Command::new("mkfifo")
        .arg(root.join("fifo"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "mkfifo");

    // An unreadable file (readable anyway when running as root).
    let unreadable = w(b"unreadable.txt", b"no access\n");
    std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o000)).unwrap();
    let enforced = std::fs::read(&unreadable).is_err();

    // Directory mtimes last: creating entries moves them.
    set_mtime(&root.join("list"), PAST_MTIME);
    enforced
}

/// Percent-encodes every byte except RFC 3986 unreserved ones and `/`: a canonical target
/// for a relative path of bytes.
pub fn enc(path: &[u8]) -> String {
    let mut out = String::new();
    for &b in path {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `/` + `enc(name)`.
pub fn target(name: &[u8]) -> String {
    format!("/{}", enc(name))
}

/// Sends `request` on a new connection and returns the raw bytes of the response head
/// (through the empty line), plus whatever followed it until the server closed or 200 ms of
/// silence (send `Connection: close` to make it quick).
pub fn raw_head(server: &Server, request: &[u8]) -> (String, Vec<u8>) {
    let mut s = server.connect();
    s.write_all(request).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            break end + 4;
        }
        let n = super::read_retrying(&mut s, &mut chunk).expect("read a response head");
        assert!(n > 0, "closed before a whole head: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    };
    // Anything after the head (there should be nothing for 304/HEAD): give it a moment.
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut rest = buf.split_off(end);
    while let Ok(n) = super::read_retrying(&mut s, &mut chunk) {
        if n == 0 {
            break;
        }
        rest.extend_from_slice(&chunk[..n]);
    }
    (String::from_utf8_lossy(&buf).into_owned(), rest)
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A keep-alive connection: send requests, read responses one at a time.
pub struct Conn {
    pub reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn new(server: &Server) -> Conn {
        Conn {
            reader: BufReader::new(server.connect()),
        }
    }

    pub fn send(&mut self, request: &[u8]) {
        self.reader.get_mut().write_all(request).unwrap();
    }

    pub fn read(&mut self, head_only: bool) -> Response {
        read_response(&mut self.reader, head_only).expect("a response")
    }

    pub fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> Response {
        self.send(&request_bytes("GET", path.as_bytes(), headers));
        self.read(false)
    }

    pub fn head(&mut self, path: &str, headers: &[(&str, &str)]) -> Response {
        self.send(&request_bytes("HEAD", path.as_bytes(), headers));
        self.read(true)
    }

    /// Whether the server has closed the connection (EOF within `wait`).
    pub fn closed_within(&mut self, wait: Duration) -> bool {
        self.reader.get_ref().set_read_timeout(Some(wait)).unwrap();
        let mut b = [0u8; 1];
        match super::read_retrying(&mut self.reader, &mut b) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        }
    }
}

/// One part of a multipart/byteranges body.
#[derive(Debug)]
pub struct Part {
    pub content_type: String,
    pub content_range: String,
    pub body: Vec<u8>,
}

/// The boundary of a `multipart/byteranges; boundary=…` Content-Type.
pub fn boundary_of(content_type: &str) -> String {
    let (mt, params) = content_type.split_once(';').expect("parameters");
    assert_eq!(mt.trim(), "multipart/byteranges");
    let b = params
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .expect("a boundary parameter");
    b.trim_matches('"').to_string()
}

/// Parses a multipart/byteranges body strictly (RFC 2046 / RFC 9110 §14.6).
pub fn parse_multipart(body: &[u8], boundary: &str) -> Vec<Part> {
    let delim = format!("--{boundary}");
    let mut parts = Vec::new();
    // The body may start with a preamble; ours starts with the first delimiter.
    let mut pos = find(body, delim.as_bytes()).expect("first delimiter");
    loop {
        pos += delim.len();
        if body[pos..].starts_with(b"--") {
            // Close delimiter; allow only CRLF epilogue.
            let rest = &body[pos + 2..];
            assert!(rest == b"\r\n" || rest.is_empty(), "epilogue {rest:?}");
            break;
        }
        assert!(body[pos..].starts_with(b"\r\n"), "CRLF after delimiter");
        pos += 2;
        let head_end = pos + find(&body[pos..], b"\r\n\r\n").expect("part head end");
        let head = std::str::from_utf8(&body[pos..head_end]).unwrap();
        let mut content_type = String::new();
        let mut content_range = String::new();
        for line in head.split("\r\n") {
            let (k, v) = line.split_once(':').expect("part header");
            if k.eq_ignore_ascii_case("content-type") {
                content_type = v.trim().to_string();
            } else if k.eq_ignore_ascii_case("content-range") {
                content_range = v.trim().to_string();
            }
        }
        let data_start = head_end + 4;
        // The part's length from its Content-Range, then CRLF and the next delimiter.
        let (a, b) = range_bounds(&content_range);
        let len = (b - a + 1) as usize;
        let data = body[data_start..data_start + len].to_vec();
        let after = data_start + len;
        assert!(
            body[after..].starts_with(format!("\r\n{delim}").as_bytes()),
            "delimiter after part"
        );
        pos = after + 2;
        parts.push(Part {
            content_type,
            content_range,
            body: data,
        });
    }
    parts
}

/// `bytes a-b/N` → (a, b).
pub fn range_bounds(content_range: &str) -> (u64, u64) {
    let spec = content_range
        .strip_prefix("bytes ")
        .expect("bytes unit")
        .split('/')
        .next()
        .unwrap();
    let (a, b) = spec.split_once('-').unwrap();
    (a.parse().unwrap(), b.parse().unwrap())
}

/// The HTTP date of `secs` after the epoch (IMF-fixdate), computed without a library.
pub fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86400;
    let rem = secs % 86400;
    let (y, m, d) = civil(days);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Asserts the common headers of every response: `Date` present, no `Server`, and nosniff.
pub fn assert_common(r: &Response) {
    assert!(r.has("Date"), "no Date: {r:?}");
    assert!(!r.has("Server"), "a Server header: {r:?}");
    assert_eq!(r.header("X-Content-Type-Options"), Some("nosniff"), "{r:?}");
}

/// Prints a note when an assertion is skipped (visible with `--nocapture`).
pub fn skip(why: &str) {
    eprintln!("note: skipped: {why}");
}

/// `secs` after the epoch as RFC 3339 UTC without fraction (`2020-09-13T12:26:40Z`).
pub fn rfc3339(secs: u64) -> String {
    let (y, m, d) = civil(secs / 86400);
    let rem = secs % 86400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Days since the epoch → (year, month, day) (Howard Hinnant's algorithm).
fn civil(days: u64) -> (i64, i64, i64) {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Seconds since the epoch now.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Connects to `addr` (IPv4) with a tiny receive buffer, so that the server can't push a big
/// body into the kernel ahead of the reader: what it sends stays "in flight".
pub fn connect_small_window(addr: std::net::SocketAddr) -> TcpStream {
    use std::os::unix::io::FromRawFd;
    let std::net::SocketAddr::V4(v4) = addr else {
        panic!("IPv4 only");
    };
    // SAFETY: plain socket calls on a descriptor we own; it is handed to TcpStream at the end.
    let stream = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket");
        let size: libc::c_int = 4096;
        let rc = libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &size as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        assert_eq!(rc, 0, "SO_RCVBUF");
        let sin = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: v4.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*v4.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let rc = libc::connect(
            fd,
            &sin as *const libc::sockaddr_in as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        let stream = TcpStream::from_raw_fd(fd);
        assert_eq!(rc, 0, "connect: {}", std::io::Error::last_os_error());
        stream
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Writes a file of `copies` × `big()` (24 MiB for 8) and returns its path; byte `i` of it is
/// `big()[i % BIG_LEN]`.
pub fn write_huge(root: &Path, rel: &[u8], copies: usize) -> PathBuf {
    let path = root.join(std::ffi::OsStr::from_bytes(rel));
    let mut f = std::fs::File::create(&path).unwrap();
    for _ in 0..copies {
        f.write_all(big()).unwrap();
    }
    path
}

/// Whether `got` is a prefix of the file made by `write_huge`.
pub fn is_huge_prefix(got: &[u8]) -> bool {
    got.chunks(BIG_LEN).all(|c| c == &big()[..c.len()])
}

/// Reads the head of a response from `r` (through the empty line); returns it as text.
pub fn read_head<R: BufRead>(r: &mut R) -> String {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line).expect("read a head line");
        assert!(n > 0, "closed in the head: {head:?}");
        head.push_str(&line);
        if line == "\r\n" || line == "\n" {
            return head;
        }
    }
}

/// The value of header `name` in a raw head.
pub fn head_field<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// A minimal JSON value, for checking JSON listings without a dependency.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn num(&self) -> Option<f64> {
        match self {
            Json::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// Parses a whole document (trailing whitespace allowed); panics with the position on
    /// malformed input.
    pub fn parse(text: &str) -> Json {
        let b = text.as_bytes();
        let mut i = 0;
        let v = json_value(b, &mut i);
        json_ws(b, &mut i);
        assert_eq!(i, b.len(), "trailing bytes after JSON at {i}");
        v
    }
}

fn json_ws(b: &[u8], i: &mut usize) {
    while *i < b.len() && b" \t\r\n".contains(&b[*i]) {
        *i += 1;
    }
}

fn json_value(b: &[u8], i: &mut usize) -> Json {
    json_ws(b, i);
    match b.get(*i).copied() {
        Some(b'{') => {
            *i += 1;
            let mut fields = Vec::new();
            json_ws(b, i);
            if b.get(*i) == Some(&b'}') {
                *i += 1;
                return Json::Obj(fields);
            }
            loop {
                json_ws(b, i);
                let Json::Str(k) = json_value(b, i) else {
                    panic!("object key at {i}");
                };
                json_ws(b, i);
                assert_eq!(b.get(*i), Some(&b':'), "colon at {i}");
                *i += 1;
                let v = json_value(b, i);
                fields.push((k, v));
                json_ws(b, i);
                match b.get(*i) {
                    Some(b',') => *i += 1,
                    Some(b'}') => {
                        *i += 1;
                        return Json::Obj(fields);
                    }
                    _ => panic!("object at {i}"),
                }
            }
        }
        Some(b'[') => {
            *i += 1;
            let mut items = Vec::new();
            json_ws(b, i);
            if b.get(*i) == Some(&b']') {
                *i += 1;
                return Json::Arr(items);
            }
            loop {
                items.push(json_value(b, i));
                json_ws(b, i);
                match b.get(*i) {
                    Some(b',') => *i += 1,
                    Some(b']') => {
                        *i += 1;
                        return Json::Arr(items);
                    }
                    _ => panic!("array at {i}"),
                }
            }
        }
        Some(b'"') => {
            *i += 1;
            let mut out: Vec<u16> = Vec::new();
            let mut s = String::new();
            loop {
                let c = *b.get(*i).expect("unterminated string");
                match c {
                    b'"' => {
                        *i += 1;
                        return Json::Str(s);
                    }
                    b'\\' => {
                        let e = b[*i + 1];
                        *i += 2;
                        let simple = match e {
                            b'"' => Some('"'),
                            b'\\' => Some('\\'),
                            b'/' => Some('/'),
                            b'b' => Some('\u{8}'),
                            b'f' => Some('\u{c}'),
                            b'n' => Some('\n'),
                            b'r' => Some('\r'),
                            b't' => Some('\t'),
                            b'u' => None,
                            _ => panic!("bad escape at {i}"),
                        };
                        match simple {
                            Some(c) => s.push(c),
                            None => {
                                let hex = std::str::from_utf8(&b[*i..*i + 4]).unwrap();
                                out.push(u16::from_str_radix(hex, 16).expect("\\u hex"));
                                *i += 4;
                                // Surrogate pairs arrive as two \u escapes.
                                if !(0xD800..0xDC00).contains(out.last().unwrap()) {
                                    s.push_str(&String::from_utf16(&out).expect("UTF-16"));
                                    out.clear();
                                }
                            }
                        }
                    }
                    c if c < 0x20 => panic!("raw control byte {c:#x} in a JSON string at {i}"),
                    _ => {
                        // Copy one UTF-8 character.
                        let len = match c {
                            0x00..=0x7f => 1,
                            0xc0..=0xdf => 2,
                            0xe0..=0xef => 3,
                            _ => 4,
                        };
                        s.push_str(std::str::from_utf8(&b[*i..*i + len]).expect("UTF-8"));
                        *i += len;
                    }
                }
            }
        }
        Some(b't') if b[*i..].starts_with(b"true") => {
            *i += 4;
            Json::Bool(true)
        }
        Some(b'f') if b[*i..].starts_with(b"false") => {
            *i += 5;
            Json::Bool(false)
        }
        Some(b'n') if b[*i..].starts_with(b"null") => {
            *i += 4;
            Json::Null
        }
        Some(c) if c == b'-' || c.is_ascii_digit() => {
            let start = *i;
            while *i < b.len() && (b[*i].is_ascii_digit() || b"+-.eE".contains(&b[*i])) {
                *i += 1;
            }
            let n = std::str::from_utf8(&b[start..*i]).unwrap();
            Json::Num(n.parse().expect("number"))
        }
        other => panic!("unexpected {other:?} at {i}"),
    }
}
