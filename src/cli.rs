//! The program: parse the command line, run, and turn the outcome into an exit code.

use std::ffi::OsString;
use std::process::ExitCode;

use crate::config::{self, Command};
use crate::healthcheck;
use crate::server::{self, Exit};

/// Runs the program with these arguments (without the program name) and environment.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let command = match config::parse(args, |name| std::env::var_os(name)) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("http-fileserver: {e} (see --help)");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            print!("{}", config::help());
            ExitCode::SUCCESS
        }
        Command::HealthcheckHelp => {
            print!("{}", config::healthcheck_help());
            ExitCode::SUCCESS
        }
        Command::Version => {
            println!("http-fileserver {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Healthcheck(config) => match healthcheck::probe(&config) {
            Ok(_) => ExitCode::SUCCESS,
            Err(why) => {
                eprintln!("http-fileserver: healthcheck failed: {why}");
                ExitCode::from(1)
            }
        },
        Command::Serve(config) => {
            let ready = |addr: std::net::SocketAddr, root: &std::path::Path| {
                eprintln!(
                    "http-fileserver: serving {} on http://{addr}/",
                    root.display()
                );
            };
            match server::run(&config, ready) {
                Ok(Exit::Stopped) => ExitCode::SUCCESS,
                Ok(Exit::Interrupted(signal)) => ExitCode::from(128u8.saturating_add(signal as u8)),
                Ok(Exit::Failed(why)) => {
                    eprintln!("http-fileserver: the server stopped accepting connections: {why}");
                    ExitCode::from(1)
                }
                Err(e) => {
                    eprintln!("http-fileserver: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
