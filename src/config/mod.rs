//! The command line and its environment variables.
//!
//! Every option has a flag and an environment variable; a flag beats its variable, a variable
//! beats the default. Containers are configured through the environment (`PORT` is the
//! platform convention), people through flags. The options themselves are rows of one table,
//! `options::OPTIONS`, which the parser, the environment lookup and `--help` all read.

use std::ffi::OsString;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::policy::{Dotfiles, Symlinks};

mod help;
mod options;
mod values;

pub use help::{healthcheck as healthcheck_help, server as help};
use options::{Kind, Opt, OPTIONS};

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Serve the configured directory.
    Serve(Config),
    /// `healthcheck`: probe a running server on the configured port.
    Healthcheck {
        /// The configuration the probe was given.
        config: Config,
        /// Whether `--port` or `--bind` was given on its command line (otherwise the probe
        /// may take them from the server it runs beside).
        addressed: bool,
    },
    /// `--help`.
    Help,
    /// `healthcheck --help`.
    HealthcheckHelp,
    /// `--version`.
    Version,
}

/// Everything the server is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The directory served.
    pub root: PathBuf,
    /// The TCP port; 0 picks a free one.
    pub port: u16,
    /// `None`: dual-stack `[::]`, falling back to `0.0.0.0` without IPv6.
    pub bind: Option<IpAddr>,
    /// Whether directories without `index.html` are listed.
    pub listing: bool,
    /// Whether dotfiles are served and listed.
    pub dotfiles: Dotfiles,
    /// Which symlinks are followed.
    pub symlinks: Symlinks,
    /// Extra response headers, validated.
    pub headers: Vec<(String, String)>,
    /// `Cache-Control` of files, by URL path.
    pub cache_rules: Vec<crate::cache_rules::Rule>,
    /// Whether text-like bodies are gzipped on the fly.
    pub compress: bool,
    /// Bytes of compressed files kept in memory; 0 keeps none.
    pub compression_cache: usize,
    /// Pages that answer error statuses: status and path under the root.
    pub error_pages: Vec<(u16, String)>,
    /// The page that answers browsers asking for a path that doesn't exist.
    pub fallback: Option<String>,
    /// Whether requests are logged to stdout.
    pub access_log: bool,
    /// The access log's line format.
    pub log_format: crate::access_log::Format,
    /// Peers whose `X-Forwarded-For` and `Forwarded` fields are believed.
    pub trusted_proxies: Vec<crate::client_ip::Cidr>,
    /// Origins whose scripts may read responses (`*`: any).
    pub cors_origins: Vec<String>,
    /// The path answered with `200 ok` (`503` once shutting down), if any.
    pub health_path: Option<String>,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Most connections open at once from one client address; `None`: a quarter of
    /// `max_connections`; `Some(0)`: no limit.
    pub max_connections_per_ip: Option<usize>,
    /// Threads that serve connections whose request has arrived; `None`: one per CPU.
    pub threads: Option<usize>,
    /// How long a keep-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// How long a client may take to send a request head.
    pub head_timeout: Duration,
    /// How long a client may take no response bytes.
    pub write_timeout: Duration,
    /// How long requests in flight may take to finish after a stop signal.
    pub shutdown_grace: Duration,
    /// How long to keep serving after a stop signal, the health path answering `503`, before
    /// shutting down.
    pub shutdown_delay: Duration,
}

impl Config {
    /// The per-address connection limit in force (0: none): by default a quarter of the
    /// connection cap, so that one address can never take the whole cap, while a browser (six
    /// connections) or a proxy's pool is far below it.
    pub fn per_ip_limit(&self) -> usize {
        self.max_connections_per_ip
            .unwrap_or((self.max_connections / 4).max(1))
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            root: PathBuf::from("public"),
            port: 8080,
            bind: None,
            listing: true,
            dotfiles: Dotfiles::Hide,
            symlinks: Symlinks::Inside,
            headers: Vec::new(),
            cache_rules: Vec::new(),
            compress: true,
            compression_cache: 32 << 20,
            error_pages: Vec::new(),
            fallback: None,
            access_log: true,
            log_format: crate::access_log::Format::Default,
            trusted_proxies: Vec::new(),
            cors_origins: Vec::new(),
            health_path: None,
            max_connections: 1024,
            max_connections_per_ip: None,
            threads: None,
            idle_timeout: Duration::from_secs(15),
            head_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(5),
            shutdown_delay: Duration::ZERO,
        }
    }
}

/// A bad command line or environment: printed as one line, exit code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    kind: UsageErrorKind,
}

/// What was wrong with the command line or the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsageErrorKind {
    /// A value the option can't take.
    InvalidValue {
        /// The flag (`--port`) or the variable (`PORT`).
        option: String,
        /// The value given.
        value: String,
        /// What it should look like.
        expected: String,
    },
    /// A flag the program doesn't know.
    UnknownOption(String),
    /// A flag that needs a value came without one.
    MissingValue(String),
    /// A switch was given a value (`--no-listing=yes`).
    UnexpectedValue(String),
    /// A second positional argument.
    ExtraArgument(String),
    /// Options that can't go together.
    Conflict(&'static str),
}

impl UsageError {
    /// What was wrong.
    pub fn kind(&self) -> &UsageErrorKind {
        &self.kind
    }

    fn new(kind: UsageErrorKind) -> UsageError {
        UsageError { kind }
    }

    fn invalid(option: &str, value: &str, expected: impl Into<String>) -> UsageError {
        UsageError::new(UsageErrorKind::InvalidValue {
            option: option.to_string(),
            value: value.to_string(),
            expected: expected.into(),
        })
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            UsageErrorKind::InvalidValue {
                option,
                value,
                expected,
            } => write!(
                f,
                "invalid value '{value}' for {option}: expected {expected}"
            ),
            UsageErrorKind::UnknownOption(flag) => write!(f, "unknown option '{flag}'"),
            UsageErrorKind::MissingValue(flag) => write!(f, "{flag} needs a value"),
            UsageErrorKind::UnexpectedValue(flag) => write!(f, "{flag} takes no value"),
            UsageErrorKind::ExtraArgument(arg) => write!(
                f,
                "unexpected argument '{arg}': only one ROOT can be served"
            ),
            UsageErrorKind::Conflict(what) => write!(f, "cannot combine {what}"),
        }
    }
}

impl std::error::Error for UsageError {}

impl From<lexopt::Error> for UsageError {
    fn from(err: lexopt::Error) -> UsageError {
        UsageError::new(match err {
            lexopt::Error::MissingValue { option } => {
                UsageErrorKind::MissingValue(option.unwrap_or_default())
            }
            lexopt::Error::UnexpectedOption(flag) => UsageErrorKind::UnknownOption(flag),
            lexopt::Error::UnexpectedValue { option, .. } => {
                UsageErrorKind::UnexpectedValue(option)
            }
            lexopt::Error::UnexpectedArgument(arg) => {
                UsageErrorKind::ExtraArgument(arg.to_string_lossy().into_owned())
            }
            other => UsageErrorKind::UnknownOption(other.to_string()),
        })
    }
}

/// Parses the arguments (without the program name) and the environment, read through `env`.
pub fn parse<I>(args: I, env: impl Fn(&str) -> Option<OsString>) -> Result<Command, UsageError>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    let mut config = Config::default();
    if let Some(root) = env("HTTP_FILESERVER_ROOT").filter(|r| !r.is_empty()) {
        config.root = PathBuf::from(root);
    }
    for opt in OPTIONS {
        if let Some(value) = env(opt.env) {
            apply_env(&mut config, opt, &text(value, opt.env)?)?;
        }
    }

    let mut parser = lexopt::Parser::from_args(args);
    let mut healthcheck = false;
    let mut root: Option<OsString> = None;
    // Options given as flags: a list's first flag replaces the variable's values.
    let mut given: Vec<&str> = Vec::new();
    while let Some(arg) = parser.next()? {
        use lexopt::Arg::{Long, Short, Value};
        let opt = match &arg {
            Short('h') | Long("help") if healthcheck => return Ok(Command::HealthcheckHelp),
            Short('h') | Long("help") => return Ok(Command::Help),
            Short('V') | Long("version") => return Ok(Command::Version),
            Short(c) => options::by_flag(Some(*c), None),
            Long(name) => options::by_flag(None, Some(name)),
            Value(value) if value == "healthcheck" && root.is_none() && !healthcheck => {
                healthcheck = true;
                continue;
            }
            Value(value) if root.is_none() => {
                root = Some(value.clone());
                continue;
            }
            Value(value) => {
                return Err(UsageError::new(UsageErrorKind::ExtraArgument(
                    value.to_string_lossy().into_owned(),
                )))
            }
        };
        let Some(opt) = opt else {
            return Err(arg.unexpected().into());
        };
        apply_flag(&mut config, opt, &mut parser, &mut given)?;
    }
    if let Some(root) = root {
        config.root = PathBuf::from(root);
    }
    check_combination(&config)?;
    Ok(if healthcheck {
        let addressed = given.iter().any(|flag| matches!(*flag, "port" | "bind"));
        Command::Healthcheck { config, addressed }
    } else {
        Command::Serve(config)
    })
}

/// Refuses options that are each valid but contradict one another.
fn check_combination(config: &Config) -> Result<(), UsageError> {
    let header = |name: &str| {
        config
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    let conflict = |what| Err(UsageError::new(UsageErrorKind::Conflict(what)));
    if header("Cache-Control") && !config.cache_rules.is_empty() {
        return conflict(
            "--cache-control rules and a Cache-Control --header: use the rules (the header \
             would be sent with every response, errors included)",
        );
    }
    if header("Access-Control-Allow-Origin") && !config.cors_origins.is_empty() {
        return conflict(
            "--cors-origin and an Access-Control-Allow-Origin --header: use --cors-origin \
             (it answers preflights too)",
        );
    }
    Ok(())
}

/// Applies an option given as a flag, taking its value from `parser`.
fn apply_flag(
    config: &mut Config,
    opt: &'static Opt,
    parser: &mut lexopt::Parser,
    given: &mut Vec<&'static str>,
) -> Result<(), UsageError> {
    let flag = format!("--{}", opt.long);
    let first = !given.contains(&opt.long);
    if first {
        given.push(opt.long);
    }
    let (set, value) = match &opt.kind {
        Kind::Switch(set) => {
            set(config, true);
            return Ok(());
        }
        Kind::Value(set) => (set, text(parser.value()?, &flag)?),
        Kind::List { clear, add } => {
            if first {
                clear(config);
            }
            (add, text(parser.value()?, &flag)?)
        }
    };
    set(config, &value).map_err(|e| UsageError::invalid(&flag, &value, e))
}

/// Applies an option's environment variable.
fn apply_env(config: &mut Config, opt: &Opt, value: &str) -> Result<(), UsageError> {
    let invalid = |e| UsageError::invalid(opt.env, value, e);
    match &opt.kind {
        Kind::Switch(set) => set(config, values::boolean(value).map_err(invalid)?),
        Kind::Value(set) => set(config, value).map_err(invalid)?,
        Kind::List { clear, add } => {
            clear(config);
            for line in value.lines().filter(|line| !line.trim().is_empty()) {
                add(config, line).map_err(|e| UsageError::invalid(opt.env, line, e))?;
            }
        }
    }
    Ok(())
}

fn text(value: OsString, option: &str) -> Result<String, UsageError> {
    value
        .into_string()
        .map_err(|v| UsageError::invalid(option, &v.to_string_lossy(), "valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn run(args: &[&str], env: &[(&str, &str)]) -> Result<Command, UsageError> {
        let env: HashMap<String, OsString> = env
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        parse(args.iter().map(OsString::from), |name| {
            env.get(name).cloned()
        })
    }

    fn serve(args: &[&str], env: &[(&str, &str)]) -> Config {
        match run(args, env) {
            Ok(Command::Serve(config)) => config,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_match_the_go_program() {
        let c = serve(&[], &[]);
        assert_eq!(c.root, PathBuf::from("public"));
        assert_eq!(c.port, 8080);
        assert_eq!(c.bind, None);
        assert!(c.listing && c.access_log);
        assert_eq!(c.dotfiles, Dotfiles::Hide);
        assert_eq!(c.symlinks, Symlinks::Inside);
    }

    #[test]
    fn flags_beat_env_and_env_beats_defaults() {
        let env = [
            ("PORT", "9000"),
            ("HTTP_FILESERVER_SYMLINKS", "deny"),
            ("HTTP_FILESERVER_ROOT", "/srv"),
        ];
        let c = serve(&[], &env);
        assert_eq!(
            (c.port, c.symlinks, c.root),
            (9000, Symlinks::Deny, PathBuf::from("/srv"))
        );
        let c = serve(&["-p", "7000", "--symlinks=any", "site"], &env);
        assert_eq!(
            (c.port, c.symlinks, c.root),
            (7000, Symlinks::Any, PathBuf::from("site"))
        );
    }

    #[test]
    fn every_option_parses() {
        let c = serve(
            &[
                "--bind",
                "[::1]",
                "--no-listing",
                "--dotfiles",
                "allow",
                "--header",
                "X-A: 1",
                "--header=Cache-Control: max-age=60",
                "--no-access-log",
                "--max-connections",
                "9",
                "--max-connections-per-ip",
                "0",
                "--threads",
                "3",
                "--idle-timeout",
                "500ms",
                "--head-timeout",
                "2",
                "--write-timeout",
                "1m",
                "--shutdown-grace",
                "0",
            ],
            &[],
        );
        assert_eq!(c.bind, Some("::1".parse().unwrap()));
        assert!(!c.listing && !c.access_log);
        assert_eq!(c.dotfiles, Dotfiles::Allow);
        assert_eq!(
            c.headers,
            vec![
                ("X-A".into(), "1".into()),
                ("Cache-Control".into(), "max-age=60".into())
            ]
        );
        assert_eq!(c.max_connections, 9);
        assert_eq!(c.per_ip_limit(), 0);
        assert_eq!(serve(&["--max-connections", "100"], &[]).per_ip_limit(), 25);
        assert_eq!(c.threads, Some(3));
        assert_eq!(c.idle_timeout, Duration::from_millis(500));
        assert_eq!(c.head_timeout, Duration::from_secs(2));
        assert_eq!(c.write_timeout, Duration::from_secs(60));
        assert_eq!(c.shutdown_grace, Duration::ZERO);
    }

    #[test]
    fn every_variable_is_read() {
        // One row of the table each: a variable that isn't read would leave the default.
        for opt in OPTIONS {
            let value = match (&opt.kind, opt.long) {
                (Kind::Switch(_), _) => "1",
                (_, "port") => "81",
                (_, "bind") => "::1",
                (_, "dotfiles") => "allow",
                (_, "symlinks") => "deny",
                (_, "header") => "X-A: 1",
                (_, "error-page") => "404=/404.html",
                (_, "fallback") => "/index.html",
                (_, "cache-control") => "/a/*=max-age=1",
                (_, "compress") => "off",
                (_, "compression-cache") => "1M",
                (_, "log-format") => "json",
                (_, "trusted-proxy") => "10.0.0.0/8",
                (_, "cors-origin") => "*",
                (_, "health-path") => "/healthz",
                (_, "max-connections" | "threads" | "max-connections-per-ip") => "7",
                _ => "7s",
            };
            let c = format!("{:?}", serve(&[], &[(opt.env, value)]));
            assert_ne!(c, format!("{:?}", Config::default()), "{}", opt.env);
        }
    }

    #[test]
    fn env_booleans_and_headers() {
        let c = serve(
            &[],
            &[
                ("HTTP_FILESERVER_NO_LISTING", "yes"),
                ("HTTP_FILESERVER_HEADERS", "X-A: 1\n\nX-B: 2\n"),
            ],
        );
        assert!(!c.listing);
        assert_eq!(c.headers.len(), 2);
        // Flags replace the variable's headers rather than adding to them.
        let c = serve(
            &["--header", "X-C: 3", "--header", "X-D: 4"],
            &[("HTTP_FILESERVER_HEADERS", "X-A: 1")],
        );
        assert_eq!(
            c.headers,
            vec![("X-C".into(), "3".into()), ("X-D".into(), "4".into())]
        );
    }

    #[test]
    fn healthcheck_takes_the_same_options() {
        match run(&["healthcheck", "-p", "81"], &[]) {
            Ok(Command::Healthcheck { config, addressed }) => {
                assert_eq!((config.port, addressed), (81, true));
            }
            other => panic!("{other:?}"),
        }
        // Addressed only by its own flags: a variable may be the image's, not the server's.
        match run(&["healthcheck", "--no-access-log"], &[("PORT", "82")]) {
            Ok(Command::Healthcheck { config, addressed }) => {
                assert_eq!((config.port, addressed), (82, false));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            run(&["./healthcheck"], &[]),
            Ok(Command::Serve(_))
        ));
        assert!(matches!(run(&["--help"], &[]), Ok(Command::Help)));
        assert!(matches!(
            run(&["healthcheck", "--help"], &[]),
            Ok(Command::HealthcheckHelp)
        ));
        assert!(matches!(run(&["-V"], &[]), Ok(Command::Version)));
    }

    #[test]
    fn bad_values_are_one_clear_line() {
        for (args, env, needle) in [
            (&["--port", "70000"][..], &[][..], "--port"),
            (&[], &[("PORT", "http")][..], "PORT"),
            (&["--dotfiles", "show"], &[], "hide or allow"),
            (&["--symlinks"], &[], "--symlinks"),
            (&["--bind", "example.com"], &[], "IP address"),
            (&["--header", "NoColon"], &[], "Name: value"),
            (
                &["--header", "Content-Length: 5"],
                &[],
                "doesn't set itself",
            ),
            (&["--header", "X-A: a\u{7}"], &[], "printable"),
            (&["--max-connections", "0"], &[], "above 0"),
            (&["--threads", "0"], &[], "above 0"),
            (&["--idle-timeout", "5h"], &[], "duration"),
            (&["--frobnicate"], &[], "frobnicate"),
            (&["--no-listing=yes"], &[], "takes no value"),
            (&["a", "b"], &[], "only one ROOT"),
            (
                &[
                    "--cache-control",
                    "/*=max-age=1",
                    "--header",
                    "Cache-Control: x",
                ],
                &[],
                "cannot combine",
            ),
            (
                &[],
                &[("HTTP_FILESERVER_NO_ACCESS_LOG", "maybe")],
                "HTTP_FILESERVER_NO_ACCESS_LOG",
            ),
        ] {
            let err = run(args, env).unwrap_err().to_string();
            assert!(err.contains(needle), "{args:?}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }
}
