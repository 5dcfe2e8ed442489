//! The health path, draining before shutdown, and `healthcheck` finding the server it runs
//! beside (docs/behaviour.md, "Health").

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{wait_until, write, Server, TempDir};

fn site() -> TempDir {
    let dir = TempDir::new("health");
    write(dir.path(), b"a.txt", b"hello\n");
    write(dir.path(), b"healthz", b"a file of that name\n");
    dir
}

#[test]
fn the_health_path_answers_ok_before_any_file() {
    let dir = site();
    let server = Server::start(dir.path(), &["--health-path", "/healthz"]);
    let r = server.get("/healthz", &[]);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"ok\n"[..]));
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
    assert_eq!(server.get("/healthz?probe=1", &[]).status, 200);
    let head = server.request("HEAD", "/healthz", &[]);
    assert_eq!(
        (head.status, head.header("Content-Length")),
        (200, Some("3"))
    );
    // Only GET and HEAD; everything else is served as before.
    assert_eq!(server.request("POST", "/healthz", &[]).status, 405);
    assert_eq!(server.get("/a.txt", &[]).status, 200);
    // Without the option the file is served.
    let plain = Server::start(dir.path(), &[]);
    assert_eq!(plain.get("/healthz", &[]).body, b"a file of that name\n");
}

#[test]
fn after_a_stop_signal_the_health_path_says_503_while_requests_are_still_served() {
    let dir = site();
    let mut server = Server::start(
        dir.path(),
        &["--health-path", "/healthz", "--shutdown-delay", "2s"],
    );
    assert_eq!(server.get("/healthz", &[]).status, 200);
    server.signal("TERM");
    let line = server
        .stderr_line("stopping in")
        .expect("a line about the delay");
    assert!(line.contains("--shutdown-delay"), "{line}");
    let draining = server.get("/healthz", &[]);
    assert_eq!(draining.status, 503);
    assert_eq!(draining.body, b"shutting down\n");
    // New connections are still taken and served meanwhile.
    assert_eq!(server.get("/a.txt", &[]).status, 200);
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(Some(0)));
}

/// A port free a moment ago: the server under test must be started with a fixed port, as in
/// a container, for `healthcheck` to find it on its command line.
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `unshare` arguments that run a command as PID 1 of a new PID namespace with its own
/// /proc, in a user namespace too, so that this needs no privilege (as in a build sandbox).
const UNSHARE_AS_PID1: [&str; 5] = [
    "--user",
    "--map-root-user",
    "--pid",
    "--fork",
    "--mount-proc",
];

/// Whether this environment lets a test make a PID namespace with its own /proc, as
/// `unshare` needs: a build sandbox that masks parts of /proc (bubblewrap, some container
/// runtimes) refuses the mount. The image test on the Docker engine proves the same there.
fn can_make_pid_namespace() -> bool {
    let made = Command::new("unshare")
        .args(UNSHARE_AS_PID1)
        .arg("true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !made {
        eprintln!("skipped: unshare can't make a PID namespace with its own /proc here");
    }
    made
}

/// The server as PID 1 of a new PID namespace (a container's view), and its host PID.
struct Pid1 {
    unshare: Child,
    pid: u32,
}

impl Pid1 {
    fn start(root: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Pid1 {
        let unshare = Command::new("unshare")
            .args(UNSHARE_AS_PID1)
            .arg(common::bin())
            .args(args)
            .arg(root)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("unshare (util-linux) runs");
        let children = format!("/proc/{}/task/{}/children", unshare.id(), unshare.id());
        let mut pid = None;
        wait_until(Duration::from_secs(10), || {
            pid = std::fs::read_to_string(&children)
                .ok()
                .and_then(|c| c.split_whitespace().next()?.parse().ok());
            pid.is_some()
        });
        Pid1 {
            unshare,
            pid: pid.expect("unshare started no server"),
        }
    }

    /// `http-fileserver healthcheck ARGS` run inside the namespace, as a container's
    /// HEALTHCHECK is: its exit code.
    fn healthcheck(&self, args: &[&str]) -> Option<i32> {
        Command::new("nsenter")
            .args([
                "-t",
                &self.pid.to_string(),
                "-U",
                "-p",
                "-m",
                "--preserve-credentials",
            ])
            .arg(common::bin())
            .arg("healthcheck")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("nsenter runs")
            .code()
    }

    fn kill(&self, signal: &str) {
        let ok = Command::new("kill")
            .args(["-s", signal, &self.pid.to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}

impl Drop for Pid1 {
    fn drop(&mut self) {
        self.kill("CONT");
        self.kill("KILL");
        let _ = self.unshare.wait();
    }
}

#[test]
fn healthcheck_follows_the_configuration_of_the_server_it_runs_beside() {
    if !can_make_pid_namespace() {
        return;
    }
    let dir = site();
    for (args, env) in [
        (vec!["--port".to_string(), free_port().to_string()], vec![]),
        (vec![], vec![("PORT", free_port().to_string())]),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut all = vec!["--bind", "127.0.0.1"];
        all.extend(&args);
        let server = Pid1::start(dir.path(), &all, &env);
        // Healthy once it listens: found through /proc/1, not on 8080.
        let healthy = wait_until(Duration::from_secs(10), || {
            server.healthcheck(&[]) == Some(0)
        });
        assert!(
            healthy,
            "healthcheck beside a server started with {args:?} {env:?}"
        );
        // Its own --port wins.
        assert_eq!(server.healthcheck(&["--port", "1"]), Some(1));
        // A server that stopped answering is unhealthy.
        server.kill("STOP");
        assert_eq!(server.healthcheck(&[]), Some(1));
        server.kill("CONT");
    }
}

#[test]
fn healthcheck_asks_the_health_path_and_fails_while_draining() {
    if !can_make_pid_namespace() {
        return;
    }
    let dir = site();
    let port = free_port().to_string();
    let args = [
        "--bind",
        "127.0.0.1",
        "--port",
        &port,
        "--health-path",
        "/healthz",
        "--shutdown-delay",
        "5s",
    ];
    let server = Pid1::start(dir.path(), &args, &[]);
    let healthy = wait_until(Duration::from_secs(10), || {
        server.healthcheck(&[]) == Some(0)
    });
    assert!(healthy);
    server.kill("TERM");
    let unhealthy = wait_until(Duration::from_secs(4), || {
        server.healthcheck(&[]) == Some(1)
    });
    assert!(unhealthy, "still healthy while draining");
}
