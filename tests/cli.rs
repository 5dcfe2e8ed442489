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

/// The README's option table: (flag as `--name VALUE`, environment variable) per row.
fn readme_options() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let table = readme
        .split("| flag | environment variable | default |")
        .nth(1)
        .expect("the README's option table");
    table
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| {
            let cells: Vec<&str> = line.split(" | ").collect();
            let flag = cells[0].trim_start_matches("| ").replace("\\|", "|");
            // `-p`, `--port PORT` (repeatable): the long flag and its value.
            let long = flag.split('`').find(|part| part.starts_with("--"))?;
            let env = cells[1].split('`').nth(1).unwrap_or("").to_string();
            Some((long.to_string(), env))
        })
        .collect()
}

/// The same from `--help`: each option's `--name VALUE` and its `[env: …]`.
fn help_options() -> Vec<(String, String)> {
    let out = run(&["--help"], &[]);
    let help = String::from_utf8(out.stdout).unwrap();
    let mut options = Vec::new();
    let mut flag: Option<String> = None;
    for line in help.lines() {
        // An option's line starts at column 2 (`-p, --port PORT`) or 6 (`--header …`); its
        // text, and the lines it wraps onto, at column 28.
        let indent = line.len() - line.trim_start().len();
        if matches!(indent, 2 | 6) && line.trim_start().starts_with('-') {
            let head = line.trim_start().split("  ").next().unwrap_or("");
            let long = head.split(", ").last().unwrap_or("").to_string();
            flag = long.starts_with("--").then_some(long);
        }
        if let (Some(env), Some(f)) = (line.split("[env: ").nth(1), &flag) {
            options.push((f.clone(), env.trim_end_matches(']').to_string()));
            flag = None;
        }
    }
    options
}

#[test]
fn the_readme_option_table_matches_help() {
    let mut readme = readme_options();
    let mut help = help_options();
    readme.sort();
    help.sort();
    assert!(help.len() > 20, "{help:?}");
    assert_eq!(readme, help, "README.md's option table and --help differ");
}
