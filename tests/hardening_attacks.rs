//! The holes an outside attack on the server found, each attempted again: a directory swapped
//! for a symlink while it is listed, downloads that stall at the connection cap, listings of
//! huge directories that clients don't read, dotfiles reached through symlinks, outside FIFOs
//! opened before being refused, zombies under PID 1, and a start-up line printed before the
//! server was fully started (docs/behaviour.md, "What may be served", "Connections",
//! "Directories: index files and listings", "Process and configuration").

mod common;
mod hardening_util;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::symlink;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use common::fixture::{connect_small_window, Json};
use common::{connect_from, request_bytes, wait_until, write, Server, TempDir};
use hardening_util::*;

/// A root with `swap/` (holding `inside.txt`) and, outside it, a directory holding
/// `OUTSIDE-SECRET.txt`.
fn swap_tree() -> (TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = TempDir::new("swap");
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    write(&root, b"swap/inside.txt", b"in\n");
    write(&outside, b"OUTSIDE-SECRET.txt", b"secret\n");
    (dir, root, outside)
}

#[test]
fn a_listing_never_shows_a_directory_swapped_in_through_a_symlink() {
    let (_dir, root, outside) = swap_tree();
    for symlinks in ["inside", "deny"] {
        let server = Server::start(&root, &["--no-access-log", "--symlinks", symlinks]);
        // Swap `swap/` with a symlink to the outside directory, and back, as fast as possible.
        let stop = Arc::new(AtomicBool::new(false));
        let swaps = Arc::new(AtomicUsize::new(0));
        let swapper = {
            let (stop, swaps, root) = (stop.clone(), swaps.clone(), root.clone());
            let outside = outside.clone();
            thread::spawn(move || {
                let (swap, parked) = (root.join("swap"), root.join("swap-parked"));
                while !stop.load(Ordering::SeqCst) {
                    std::fs::rename(&swap, &parked).unwrap();
                    symlink(&outside, &swap).unwrap();
                    std::fs::remove_file(&swap).unwrap();
                    std::fs::rename(&parked, &swap).unwrap();
                    swaps.fetch_add(1, Ordering::SeqCst);
                    // Leave the real directory in place a moment: requests find it, open it,
                    // and are listing it when the next swap comes.
                    thread::sleep(Duration::from_micros(300));
                }
            })
        };
        let (mut leaked, mut listed) = (0, 0);
        for i in 0..1500 {
            let accept = if i % 2 == 0 {
                "text/html"
            } else {
                "application/json"
            };
            let r = server.get("/swap/", &[("Accept", accept)]);
            let text = r.text();
            if text.contains("OUTSIDE-SECRET") {
                leaked += 1;
            }
            if r.status == 200 && text.contains("inside.txt") {
                listed += 1;
            }
        }
        stop.store(true, Ordering::SeqCst);
        swapper.join().unwrap();
        eprintln!(
            "--symlinks {symlinks}: {listed} listings, {} swaps, {leaked} leaked",
            swaps.load(Ordering::SeqCst)
        );
        assert_eq!(leaked, 0, "--symlinks {symlinks}: outside names listed");
        assert!(listed > 0, "the race was never run: no listing served");
    }
}

/// Connects from `source`, asks for `/big.bin` and never reads.
fn stall(server: SocketAddr, source: Ipv4Addr) -> Option<TcpStream> {
    let s = connect_from(server, source).ok()?;
    (&s).write_all(&request_bytes("GET", b"/big.bin", &[]))
        .ok()?;
    Some(s)
}

/// Keeps `n` stalled downloads open from the crowd's addresses (or all from `source`),
/// replacing each one the server closes after `pause`, until dropped.
struct Stallers {
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<usize>>,
}

impl Stallers {
    fn start(server: &Server, n: usize, source: Option<Ipv4Addr>, pause: Duration) -> Stallers {
        let stop = Arc::new(AtomicBool::new(false));
        let server_addr = server.addr;
        let stop2 = stop.clone();
        let handle = thread::spawn(move || {
            let addr = |i| source.unwrap_or(crowd_address(i));
            let mut held: Vec<(Option<TcpStream>, Instant)> = (0..n)
                .map(|i| (stall(server_addr, addr(i)), Instant::now()))
                .collect();
            let mut reconnects = 0;
            while !stop2.load(Ordering::SeqCst) {
                for (i, (slot, since)) in held.iter_mut().enumerate() {
                    let closed = slot.as_ref().is_none_or(peer_closed);
                    if closed && since.elapsed() >= pause {
                        *slot = stall(server_addr, addr(i));
                        *since = Instant::now();
                        reconnects += 1;
                    }
                }
                thread::sleep(Duration::from_millis(20));
            }
            reconnects
        });
        Stallers {
            stop,
            handle: Some(handle),
        }
    }

    fn stop(mut self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.take().map_or(0, |h| h.join().unwrap())
    }
}

/// Whether the server has closed `stream` (without reading what it sent).
fn peer_closed(stream: &TcpStream) -> bool {
    use std::os::unix::io::AsRawFd;
    let mut pfd = libc::pollfd {
        fd: stream.as_raw_fd(),
        events: libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd for a descriptor `stream` keeps open; no waiting.
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    n > 0 && pfd.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0
}

/// Fresh clients from `source` during an attack: how many of `n` got a 200 within 1 s.
fn probes(server: &Server, source: Ipv4Addr, n: usize) -> usize {
    (0..n)
        .filter(|_| {
            let started = Instant::now();
            let Ok(s) = connect_from(server.addr, source) else {
                return false;
            };
            let request = request_bytes("GET", b"/small.txt", &[("Connection", "close")]);
            let seen = (&s)
                .write_all(&request)
                .map(|()| outcome(&s, Duration::from_secs(1), false));
            let served = matches!(seen, Ok(Outcome::Response(ref r)) if r.status == 200);
            served && started.elapsed() <= Duration::from_secs(1)
        })
        .count()
}

#[test]
fn stalled_downloads_at_the_cap_hold_no_thread_and_make_room() {
    let root = fixture("stall-cap");
    let server = Server::start(
        root.path(),
        &[
            "--no-access-log",
            "--max-connections",
            "64",
            "--threads",
            "2",
        ],
    );
    // The fixed threads, running once the start-up line is out (under qemu-user
    // also its own), and the two pollers, which start with the first connection.
    let most_threads = threads(&server) + 2;
    assert_served(&server, Duration::from_secs(2), "warm-up");
    // Twice the cap of clients that ask for a 64 MiB file and never read, from eight
    // addresses, reconnecting a second after the server closes one.
    let attack = Stallers::start(&server, 128, None, Duration::from_secs(1));
    let full = wait_until(Duration::from_secs(10), || server.open_fds() >= 2 * 64);
    assert!(
        full,
        "the attack never filled the cap: {} fds",
        server.open_fds()
    );
    // After a few seconds the stalled downloads may go to make room.
    thread::sleep(Duration::from_millis(3500));
    let mut served = 0;
    let mut peak_threads = 0;
    for _ in 0..20 {
        served += probes(&server, Ipv4Addr::LOCALHOST, 1);
        peak_threads = peak_threads.max(threads(&server));
    }
    let reconnects = attack.stop();
    eprintln!("{served}/20 probes served within 1 s; peak threads {peak_threads}; {reconnects} reconnects");
    assert!(
        served >= 19,
        "only {served} of 20 fresh clients served within 1 s"
    );
    assert!(
        peak_threads <= most_threads,
        "{peak_threads} threads: stalled downloads hold threads (at most {most_threads})"
    );
}

#[test]
fn one_address_cannot_take_more_than_its_share_of_connections() {
    let root = fixture("stall-ip");
    let server = Server::start(
        root.path(),
        &[
            "--no-access-log",
            "--max-connections",
            "64",
            "--threads",
            "2",
        ],
    );
    assert_served(&server, Duration::from_secs(2), "warm-up");
    // 60 stalled downloads from 127.0.0.1: a quarter of the cap (16) are let in.
    let attack = Stallers::start(
        &server,
        60,
        Some(Ipv4Addr::LOCALHOST),
        Duration::from_millis(200),
    );
    let line = server
        .stderr_line("refused a connection from 127.0.0.1")
        .expect("no log line about the per-address limit");
    assert!(line.contains("--max-connections-per-ip"), "{line}");
    // Another address still has the rest of the cap.
    let served = probes(&server, Ipv4Addr::new(127, 0, 0, 2), 20);
    attack.stop();
    assert_eq!(served, 20, "clients from another address were turned away");
    assert!(server.open_fds() < 64, "{} fds", server.open_fds());
}

#[test]
fn a_huge_directory_listed_to_clients_that_do_not_read_stays_in_bounded_memory() {
    let root = fixture("huge-dir");
    let entries = 30_000;
    for i in 0..entries {
        std::fs::File::create(root.path().join(format!("huge/file-{i:06}.txt")))
            .or_else(|_| {
                std::fs::create_dir_all(root.path().join("huge"))?;
                std::fs::File::create(root.path().join(format!("huge/file-{i:06}.txt")))
            })
            .unwrap();
    }
    let server = Server::start(root.path(), &["--no-access-log"]);
    assert_served(&server, Duration::from_secs(2), "warm-up");
    // A client that reads gets the first 10,000 entries, told how many there were.
    let r = server.get("/huge/", &[("Accept", "application/json")]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("X-Total-Count"), Some("30000"));
    let Json::Arr(items) = Json::parse(&r.text()) else {
        panic!("not a JSON array")
    };
    assert_eq!(items.len(), 10_000);
    assert_eq!(items[0].get("name").unwrap().str(), Some("file-000000.txt"));
    let page = server.get("/huge/?sort=name&order=desc", &[]).text();
    assert!(
        page.contains("<p class=note>Showing the first 10,000 of 30,000 entries, sorted by name, descending.\n"),
        "no note about the cap"
    );
    assert!(page.contains("file-029999.txt") && !page.contains("file-000000.txt"));

    // 40 clients ask for the JSON listing and never read it.
    let base_rss = rss_kib(&server);
    let stuck: Vec<TcpStream> = (0..40)
        .map(|_| {
            let s = connect_small_window(server.addr);
            (&s).write_all(&request_bytes(
                "GET",
                b"/huge/",
                &[("Accept", "application/json")],
            ))
            .unwrap();
            s
        })
        .collect();
    let mut peak = base_rss;
    let mut slowest = Duration::ZERO;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(4) {
        slowest = slowest.max(assert_served(
            &server,
            Duration::from_secs(1),
            "during the listings",
        ));
        peak = peak.max(rss_kib(&server));
    }
    eprintln!("RSS {base_rss} KiB before, peak {peak} KiB; slowest small request {slowest:?}");
    assert!(peak < 64 * 1024, "RSS reached {peak} KiB");
    drop(stuck);
}

#[test]
fn dotfiles_reached_through_symlinks_stay_hidden() {
    let dir = TempDir::new("dotlink");
    let root = dir.path();
    write(root, b".git/config", b"[core]\n");
    write(root, b".env", b"SECRET=1\n");
    write(root, b"sub/.hidden", b"hidden\n");
    write(root, b"fine.txt", b"fine\n");
    symlink(".git", root.join("gitlink")).unwrap();
    symlink(".env", root.join("envlink")).unwrap();
    symlink("sub/.hidden", root.join("hiddenlink")).unwrap();
    symlink("fine.txt", root.join("finelink")).unwrap();
    let server = Server::start(root, &["--no-access-log"]);
    for path in ["/gitlink/config", "/gitlink/", "/envlink", "/hiddenlink"] {
        assert_eq!(server.get(path, &[]).status, 404, "{path}");
    }
    assert_eq!(server.get("/finelink", &[]).body, b"fine\n");
    let listing = server.get("/", &[]).text();
    for hidden in ["gitlink", "envlink", "hiddenlink"] {
        assert!(!listing.contains(hidden), "{hidden} listed");
    }
    assert!(listing.contains("finelink"));
    // With dotfiles allowed, the links are served like the files they lead to.
    let server = Server::start(root, &["--no-access-log", "--dotfiles", "allow"]);
    assert_eq!(server.get("/gitlink/config", &[]).body, b"[core]\n");
    assert_eq!(server.get("/envlink", &[]).body, b"SECRET=1\n");
}

#[test]
fn a_symlink_to_an_outside_fifo_is_refused_without_opening_it() {
    let dir = TempDir::new("fifo-out");
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let fifo = outside.join("fifo");
    let ok = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo");
    symlink(&fifo, root.join("fifo-link")).unwrap();
    symlink(&outside, root.join("outside-link")).unwrap();
    // A writer blocks opening the FIFO until a reader opens it.
    let (opened_tx, opened) = mpsc::channel();
    let writer = {
        let fifo = fifo.clone();
        thread::spawn(move || {
            let file = std::fs::OpenOptions::new().write(true).open(&fifo);
            let _ = opened_tx.send(file.is_ok());
        })
    };
    for symlinks in ["inside", "deny"] {
        let server = Server::start(&root, &["--no-access-log", "--symlinks", symlinks]);
        for path in ["/fifo-link", "/outside-link/fifo"] {
            assert_eq!(server.get(path, &[]).status, 404, "{symlinks} {path}");
        }
    }
    // Had the server opened the FIFO, the writer would be released by now.
    let released = opened.recv_timeout(Duration::from_millis(300)).is_ok();
    // Release it ourselves (a non-blocking reader), so the thread ends either way.
    let _reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags_nonblock()
        .open(&fifo)
        .unwrap();
    writer.join().unwrap();
    assert!(
        !released,
        "the server opened the outside FIFO before refusing it"
    );
}

/// `custom_flags(O_NONBLOCK)` for OpenOptions, readably.
trait NonBlock {
    fn custom_flags_nonblock(&mut self) -> &mut Self;
}

impl NonBlock for std::fs::OpenOptions {
    fn custom_flags_nonblock(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_NONBLOCK)
    }
}

#[test]
fn as_pid_1_it_reaps_orphans() {
    if !is_root() || !have("unshare") || !have("nsenter") {
        common::fixture::skip("needs root, unshare and nsenter to run the server as PID 1");
        return;
    }
    let root = fixture("pid1");
    // The server as PID 1 of a new PID namespace, as in a container.
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--kill-child", "--mount-proc", "--"])
        .arg(common::bin())
        .args(["--bind", "127.0.0.1", "--port", "0", "--no-access-log"])
        .arg(root.path());
    let server = Server::spawn(cmd, &[]);
    let pid = child_of(server.pid()).expect("the server under unshare");
    // A process joins the namespace and leaves a child behind: the orphan goes to PID 1.
    let ok = Command::new("nsenter")
        .args([
            "--target",
            &pid.to_string(),
            "--pid",
            "--",
            "sh",
            "-c",
            "sleep 0.2 & exit 0",
        ])
        .status()
        .unwrap()
        .success();
    assert!(ok, "nsenter");
    let orphan_seen = wait_until(Duration::from_secs(2), || !children(pid).is_empty());
    assert!(orphan_seen, "the orphan never reached the server");
    // Once it exits, it is reaped: no zombie left.
    let reaped = wait_until(Duration::from_secs(5), || children(pid).is_empty());
    assert!(reaped, "zombies left: {:?}", children(pid));
}

/// The first child of process `pid`.
fn child_of(pid: u32) -> Option<u32> {
    let mut found = None;
    wait_until(Duration::from_secs(5), || {
        found = children(pid).first().map(|(pid, _)| *pid);
        found.is_some()
    });
    found
}

/// The children of process `pid`, with their state letter.
fn children(pid: u32) -> Vec<(u32, char)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split after its last ')'.
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let mut fields = rest.split(' ');
        let state = fields.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid: Option<u32> = fields.next().and_then(|p| p.parse().ok());
        if ppid == Some(pid) {
            if let Some(child) = head.split(' ').next().and_then(|p| p.parse().ok()) {
                out.push((child, state));
            }
        }
    }
    out
}

#[test]
fn the_start_up_line_means_every_thread_of_its_own_is_running() {
    let root = fixture("startup");
    for args in [&["--no-access-log"][..], &[][..]] {
        let mut server = Server::start(root.path(), args);
        // Right after the line, and a while later with nothing happening in between.
        let at_start = threads(&server);
        let settled = (0..20).all(|_| {
            thread::sleep(Duration::from_millis(25));
            threads(&server) == at_start
        });
        assert!(
            settled,
            "{args:?}: {at_start} threads at the start-up line, {} later",
            threads(&server)
        );
        assert!(alive(&mut server));
    }
}
