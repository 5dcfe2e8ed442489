//! The program: parse the command line, run, and turn the outcome into an exit code.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use crate::config::{self, Command};
use crate::healthcheck;
use crate::server::{self, Exit, Socket};

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
        Command::Healthcheck { config, addressed } => {
            match healthcheck::probe(&config, addressed) {
                Ok(_) => ExitCode::SUCCESS,
                Err(why) => {
                    eprintln!("http-fileserver: healthcheck failed: {why}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Serve(config) => {
            let ready = |addr: SocketAddr, socket: Socket, root: &Path| {
                eprintln!("http-fileserver: {}", startup_line(addr, socket, root));
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

/// The start-up line: what is served, and an address to open in a browser (`localhost` when
/// listening on every address), with the address really listened on when that differs.
fn startup_line(addr: SocketAddr, socket: Socket, root: &Path) -> String {
    let url_host = if addr.ip().is_unspecified() {
        "localhost".to_string()
    } else {
        match addr {
            SocketAddr::V4(v4) => v4.ip().to_string(),
            SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
        }
    };
    let mut line = format!(
        "serving {} on http://{url_host}:{}/",
        root.display(),
        addr.port()
    );
    match (addr.ip().is_unspecified(), socket) {
        (_, Socket::Inherited) => line.push_str(&format!(
            " (listening on {addr}, a socket from the service manager)"
        )),
        (true, Socket::Bound) => line.push_str(&format!(" (listening on {addr})")),
        (false, Socket::Bound) => {}
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_up_line_names_an_address_to_open() {
        let root = Path::new("/srv/www");
        let line = |addr: &str, socket| startup_line(addr.parse().unwrap(), socket, root);
        assert_eq!(
            line("[::]:8080", Socket::Bound),
            "serving /srv/www on http://localhost:8080/ (listening on [::]:8080)"
        );
        assert_eq!(
            line("127.0.0.1:9000", Socket::Bound),
            "serving /srv/www on http://127.0.0.1:9000/"
        );
        assert_eq!(
            line("[::1]:80", Socket::Inherited),
            "serving /srv/www on http://[::1]:80/ (listening on [::1]:80, a socket from the \
             service manager)"
        );
    }
}
