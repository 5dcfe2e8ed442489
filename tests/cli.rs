//! The command line of the real binary: help, version, bad values, start-up failures.

mod common;

use std::net::TcpListener;
use std::process::{Command, Output};

use common::{bin, Server, TempDir};

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// One line on stderr, starting with the program name, no panic or backtrace.
fn assert_one_clear_line(out: &Output) {
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.starts_with("http-fileserver: "), "{err:?}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err:?}"
    );
}

#[test]
fn help_explains_every_option_and_exits_0() {
    let out = run(&["--help"], &[]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "Usage: http-fileserver [OPTIONS] [ROOT]",
        "healthcheck",
        "--port",
        "PORT",
        "--bind",
        "--no-listing",
        "--dotfiles",
        "--symlinks",
        "--header",
        "--no-access-log",
        "--max-connections",
        "--idle-timeout",
        "--head-timeout",
        "--write-timeout",
        "--shutdown-grace",
        "HTTP_FILESERVER_ROOT",
        "--version",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}");
    }
    assert!(run(&["-h"], &[]).status.success());
}

#[test]
fn version() {
    let out = run(&["--version"], &[]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("http-fileserver {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_flags_and_values_exit_2_with_one_line() {
    for (args, env) in [
        (&["--port", "x"][..], &[][..]),
        (&["--frobnicate"], &[]),
        (&["--dotfiles", "show"], &[]),
        (&["--symlinks", "maybe"], &[]),
        (&["--header", "Bad Header"], &[]),
        (&["--idle-timeout", "soon"], &[]),
        (&[], &[("PORT", "99999")][..]),
        (&[], &[("HTTP_FILESERVER_DOTFILES", "yes")][..]),
    ] {
        let out = run(args, env);
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}");
        assert_one_clear_line(&out);
    }
}

#[test]
fn missing_root_is_one_line_and_exit_1() {
    let dir = TempDir::new("cli");
    let missing = dir.path().join("nope");
    let out = run(&["--port", "0", missing.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_one_clear_line(&out);
    assert!(stderr(&out).contains("does not exist"));
}

#[test]
fn root_that_is_a_file_is_refused() {
    let dir = TempDir::new("cli");
    let file = common::write(dir.path(), b"f", b"x");
    let out = run(&["--port", "0", file.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_one_clear_line(&out);
    assert!(stderr(&out).contains("not a directory"));
}

#[test]
fn default_root_is_public_in_the_working_directory() {
    let dir = TempDir::new("cli");
    common::write(dir.path(), b"public/hello.txt", b"hi");
    let mut cmd = Command::new(bin());
    cmd.current_dir(dir.path())
        .args(["--bind", "127.0.0.1", "--port", "0"]);
    let server = Server::spawn(cmd, &[]);
    assert_eq!(server.get("/hello.txt", &[]).body, b"hi");

    // And without ./public, the start-up error says which directory is missing.
    let empty = TempDir::new("cli");
    let out = Command::new(bin())
        .current_dir(empty.path())
        .args(["--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_one_clear_line(&out);
    let err = stderr(&out);
    // …and how to serve another.
    assert!(
        err.contains("'public'") && err.contains("http-fileserver DIR"),
        "{err}"
    );
}

#[test]
fn bind_localhost_listens_on_the_loopback() {
    let dir = TempDir::new("cli");
    common::write(dir.path(), b"hello.txt", b"hi");
    let mut cmd = Command::new(bin());
    cmd.args(["--bind", "localhost", "--port", "0"])
        .arg(dir.path());
    let server = Server::spawn(cmd, &[]);
    assert_eq!(server.addr.ip(), std::net::Ipv4Addr::LOCALHOST);
    assert_eq!(server.get("/hello.txt", &[]).body, b"hi");
    // Another name: what to write instead.
    let out = run(&["--bind", "example.com"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_one_clear_line(&out);
    assert!(
        stderr(&out).contains("127.0.0.1 (or localhost)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn port_in_use_is_one_line_and_exit_1() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = TempDir::new("cli");
    let out = run(
        &[
            "--bind",
            "127.0.0.1",
            "--port",
            &port,
            dir.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_one_clear_line(&out);
    assert!(stderr(&out).contains("address already in use"));
}

#[test]
fn port_and_root_from_the_environment() {
    let dir = TempDir::new("cli");
    common::write(dir.path(), b"e.txt", b"from env");
    let mut cmd = Command::new(bin());
    cmd.args(["--bind", "127.0.0.1"]);
    let server = Server::spawn(
        cmd,
        &[
            ("PORT", "0"),
            ("HTTP_FILESERVER_ROOT", dir.path().to_str().unwrap()),
        ],
    );
    assert_eq!(server.get("/e.txt", &[]).body, b"from env");
}
