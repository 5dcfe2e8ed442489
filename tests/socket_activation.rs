//! Socket activation (docs/behaviour.md, "Process and configuration"): a listening socket
//! passed the systemd way (`LISTEN_FDS`, `LISTEN_PID`) is served instead of binding one, here
//! handed over by systemd's own `systemd-socket-activate`.

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::{bin, write, TempDir};

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn a_socket_passed_by_the_service_manager_is_served() {
    if !have("systemd-socket-activate") {
        common::fixture::skip("systemd-socket-activate is not installed");
        return;
    }
    let root = TempDir::new("activate");
    write(
        root.path(),
        b"hello.txt",
        b"hello from an inherited socket\n",
    );
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let listen = format!("127.0.0.1:{port}");
    // The flags name another port: a passed socket wins over them.
    let mut child = Command::new("systemd-socket-activate")
        .args(["-l", &listen])
        .arg(bin())
        .args(["--port", "1", "--no-access-log"])
        .arg(root.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let listening = lines
        .recv_timeout(Duration::from_secs(10))
        .expect("systemd-socket-activate said nothing");
    assert!(listening.contains("Listening on"), "{listening}");

    // The first connection starts the server, which takes it from the socket it is given.
    let mut server = common::Server::attach(child, listen.parse().unwrap(), lines);
    let r = server.get("/hello.txt", &[]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, b"hello from an inherited socket\n");
    let line = server.stderr_line("serving").expect("no start-up line");
    assert!(
        line.contains(&format!(
            "listening on {listen}, a socket from the service manager"
        )),
        "{line}"
    );
    // It stops as usual.
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(5)), Some(Some(0)));
}
