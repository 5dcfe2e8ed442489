//! The command line and its environment variables.
//!
//! Every option has a flag and an environment variable; a flag beats its variable, a variable
//! beats the default. Containers are configured through the environment (`PORT` is the
//! platform convention), people through flags.

use std::ffi::OsString;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::fs::Symlinks;

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Serve(Config),
    /// `healthcheck`: probe a running server on the configured port.
    Healthcheck(Config),
    Help,
    Version,
}

/// Whether paths with a segment starting with `.` are served and listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dotfiles {
    Hide,
    Allow,
}

/// Everything the server is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    pub root: PathBuf,
    pub port: u16,
    /// `None`: dual-stack `[::]`, falling back to `0.0.0.0` without IPv6.
    pub bind: Option<IpAddr>,
    pub listing: bool,
    pub dotfiles: Dotfiles,
    pub symlinks: Symlinks,
    /// Extra response headers, validated.
    pub headers: Vec<(String, String)>,
    pub access_log: bool,
    pub max_connections: usize,
    /// Threads that serve connections whose request has arrived; `None`: one per CPU.
    pub threads: Option<usize>,
    pub idle_timeout: Duration,
    pub head_timeout: Duration,
    pub write_timeout: Duration,
    pub shutdown_grace: Duration,
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
            access_log: true,
            max_connections: 1024,
            threads: None,
            idle_timeout: Duration::from_secs(15),
            head_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// A bad flag or value: printed as one line, exit code 2.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<lexopt::Error> for UsageError {
    fn from(err: lexopt::Error) -> UsageError {
        UsageError(err.to_string())
    }
}

/// The options: flag, environment variable, and the help line. One table, so the help text,
/// the environment lookup and the README can't disagree.
struct Opt {
    flag: &'static str,
    env: &'static str,
    value: &'static str,
    help: &'static str,
}

const OPTIONS: &[Opt] = &[
    Opt { flag: "-p, --port", env: "PORT", value: "PORT", help: "TCP port to listen on; 0 picks a free one [default: 8080]" },
    Opt { flag: "-b, --bind", env: "HTTP_FILESERVER_BIND", value: "ADDR", help: "IP address to listen on [default: [::], or 0.0.0.0 without IPv6]" },
    Opt { flag: "    --no-listing", env: "HTTP_FILESERVER_NO_LISTING", value: "", help: "Answer 404 for directories without index.html instead of listing them" },
    Opt { flag: "    --dotfiles", env: "HTTP_FILESERVER_DOTFILES", value: "hide|allow", help: "Serve paths with a segment starting with '.' (except .well-known) [default: hide]" },
    Opt { flag: "    --symlinks", env: "HTTP_FILESERVER_SYMLINKS", value: "inside|any|deny", help: "Follow symlinks whose target is inside ROOT, any symlink, or none [default: inside]" },
    Opt { flag: "    --header", env: "HTTP_FILESERVER_HEADERS", value: "'NAME: VALUE'", help: "Add a header to every response; repeatable (the variable takes one per line)" },
    Opt { flag: "    --no-access-log", env: "HTTP_FILESERVER_NO_ACCESS_LOG", value: "", help: "Don't log requests to stdout" },
    Opt { flag: "    --max-connections", env: "HTTP_FILESERVER_MAX_CONNECTIONS", value: "N", help: "Most open connections; past it idle ones are closed or new ones get 503 [default: 1024]" },
    Opt { flag: "    --threads", env: "HTTP_FILESERVER_THREADS", value: "N", help: "Threads that serve requests as they arrive (more start while some wait on slow clients) [default: one per CPU]" },
    Opt { flag: "    --idle-timeout", env: "HTTP_FILESERVER_IDLE_TIMEOUT", value: "DUR", help: "Close keep-alive connections idle this long [default: 15s]" },
    Opt { flag: "    --head-timeout", env: "HTTP_FILESERVER_HEAD_TIMEOUT", value: "DUR", help: "Answer 408 to clients that take longer to send a request head [default: 10s]" },
    Opt { flag: "    --write-timeout", env: "HTTP_FILESERVER_WRITE_TIMEOUT", value: "DUR", help: "Drop clients that accept no response bytes for this long [default: 30s]" },
    Opt { flag: "    --shutdown-grace", env: "HTTP_FILESERVER_SHUTDOWN_GRACE", value: "DUR", help: "On SIGTERM/SIGINT, wait this long for requests in flight [default: 5s]" },
];

/// The `--help` text.
pub fn help() -> String {
    let mut out = format!(
        "http-fileserver {version}
Serve a directory over HTTP: files, index.html, directory listings, ranges, conditional
requests and precompressed .br/.zst/.gz sidecars. Safe by default: nothing outside ROOT,
no dotfiles, no symlinks leading out of ROOT.

Usage: http-fileserver [OPTIONS] [ROOT]
       http-fileserver healthcheck [OPTIONS]

Arguments:
  [ROOT]  Directory to serve [env: HTTP_FILESERVER_ROOT] [default: public]

Commands:
  healthcheck  Ask the server on --port (on loopback, or --bind) for a response; exit 0 if it
               answers without a 5xx within 2 s, 1 otherwise (for Docker HEALTHCHECK)

Options:
",
        version = env!("CARGO_PKG_VERSION")
    );
    for opt in OPTIONS {
        let head = format!("{} {}", opt.flag, opt.value);
        out.push_str(&format!(
            "  {head:<34} {}\n  {:<34} [env: {}]\n",
            opt.help, "", opt.env
        ));
    }
    out.push_str(
        "  -h, --help                         Print this help
  -V, --version                      Print the version

Flags beat environment variables, which beat defaults. Boolean variables take 1/true/yes/on
or 0/false/no/off. DUR is a number of seconds, or a number with ms, s or m: 500ms, 15s, 2m;
0 disables a timeout. Requests are logged to stdout, one line each; start-up and errors go
to stderr. SIGTERM or SIGINT stops accepting, lets requests in flight finish within the
shutdown grace, and exits 0; a second signal exits at once.
",
    );
    out
}

/// Parses the arguments (without the program name) and the environment, read through `env`.
pub fn parse<I>(args: I, env: impl Fn(&str) -> Option<OsString>) -> Result<Command, UsageError>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    let mut config = Config::default();
    apply_env(&mut config, &env)?;

    let mut parser = lexopt::Parser::from_args(args);
    let mut healthcheck = false;
    let mut root: Option<OsString> = None;
    let mut flag_headers: Option<Vec<(String, String)>> = None;
    while let Some(arg) = parser.next()? {
        use lexopt::Arg::{Long, Short, Value};
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Short('V') | Long("version") => return Ok(Command::Version),
            Short('p') | Long("port") => {
                config.port = port(&text(parser.value()?, "--port")?, "--port")?
            }
            Short('b') | Long("bind") => {
                config.bind = Some(bind(&text(parser.value()?, "--bind")?, "--bind")?)
            }
            Long("no-listing") => config.listing = false,
            Long("dotfiles") => {
                config.dotfiles = dotfiles(&text(parser.value()?, "--dotfiles")?, "--dotfiles")?
            }
            Long("symlinks") => {
                config.symlinks = symlinks(&text(parser.value()?, "--symlinks")?, "--symlinks")?
            }
            Long("header") => {
                let value = text(parser.value()?, "--header")?;
                flag_headers
                    .get_or_insert_with(Vec::new)
                    .push(header(&value, "--header")?);
            }
            Long("no-access-log") => config.access_log = false,
            Long("max-connections") => {
                config.max_connections = count(
                    &text(parser.value()?, "--max-connections")?,
                    "--max-connections",
                )?
            }
            Long("threads") => {
                config.threads = Some(count(&text(parser.value()?, "--threads")?, "--threads")?)
            }
            Long("idle-timeout") => {
                config.idle_timeout =
                    duration(&text(parser.value()?, "--idle-timeout")?, "--idle-timeout")?
            }
            Long("head-timeout") => {
                config.head_timeout =
                    duration(&text(parser.value()?, "--head-timeout")?, "--head-timeout")?
            }
            Long("write-timeout") => {
                config.write_timeout = duration(
                    &text(parser.value()?, "--write-timeout")?,
                    "--write-timeout",
                )?
            }
            Long("shutdown-grace") => {
                config.shutdown_grace = duration(
                    &text(parser.value()?, "--shutdown-grace")?,
                    "--shutdown-grace",
                )?
            }
            Value(value) if value == "healthcheck" && root.is_none() && !healthcheck => {
                healthcheck = true
            }
            Value(value) if root.is_none() => root = Some(value),
            Value(value) => {
                return Err(UsageError(format!(
                    "unexpected argument '{}': only one ROOT can be served",
                    value.to_string_lossy()
                )))
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    if let Some(headers) = flag_headers {
        config.headers = headers;
    }
    if let Some(root) = root {
        config.root = PathBuf::from(root);
    }
    Ok(if healthcheck {
        Command::Healthcheck(config)
    } else {
        Command::Serve(config)
    })
}

fn apply_env(
    config: &mut Config,
    env: &impl Fn(&str) -> Option<OsString>,
) -> Result<(), UsageError> {
    let var = |name: &'static str| -> Result<Option<String>, UsageError> {
        match env(name) {
            None => Ok(None),
            Some(value) => text(value, name).map(Some),
        }
    };
    if let Some(root) = env("HTTP_FILESERVER_ROOT").filter(|r| !r.is_empty()) {
        config.root = PathBuf::from(root);
    }
    if let Some(v) = var("PORT")? {
        config.port = port(&v, "PORT")?;
    }
    if let Some(v) = var("HTTP_FILESERVER_BIND")? {
        config.bind = Some(bind(&v, "HTTP_FILESERVER_BIND")?);
    }
    if let Some(v) = var("HTTP_FILESERVER_NO_LISTING")? {
        config.listing = !boolean(&v, "HTTP_FILESERVER_NO_LISTING")?;
    }
    if let Some(v) = var("HTTP_FILESERVER_DOTFILES")? {
        config.dotfiles = dotfiles(&v, "HTTP_FILESERVER_DOTFILES")?;
    }
    if let Some(v) = var("HTTP_FILESERVER_SYMLINKS")? {
        config.symlinks = symlinks(&v, "HTTP_FILESERVER_SYMLINKS")?;
    }
    if let Some(v) = var("HTTP_FILESERVER_HEADERS")? {
        config.headers = v
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| header(line, "HTTP_FILESERVER_HEADERS"))
            .collect::<Result<_, _>>()?;
    }
    if let Some(v) = var("HTTP_FILESERVER_NO_ACCESS_LOG")? {
        config.access_log = !boolean(&v, "HTTP_FILESERVER_NO_ACCESS_LOG")?;
    }
    if let Some(v) = var("HTTP_FILESERVER_MAX_CONNECTIONS")? {
        config.max_connections = count(&v, "HTTP_FILESERVER_MAX_CONNECTIONS")?;
    }
    if let Some(v) = var("HTTP_FILESERVER_THREADS")? {
        config.threads = Some(count(&v, "HTTP_FILESERVER_THREADS")?);
    }
    for (name, field) in [
        ("HTTP_FILESERVER_IDLE_TIMEOUT", &mut config.idle_timeout),
        ("HTTP_FILESERVER_HEAD_TIMEOUT", &mut config.head_timeout),
        ("HTTP_FILESERVER_WRITE_TIMEOUT", &mut config.write_timeout),
        ("HTTP_FILESERVER_SHUTDOWN_GRACE", &mut config.shutdown_grace),
    ] {
        if let Some(v) = var(name)? {
            *field = duration(&v, name)?;
        }
    }
    Ok(())
}

fn invalid(what: &str, value: &str, why: &str) -> UsageError {
    UsageError(format!("invalid value '{value}' for {what}: {why}"))
}

fn text(value: OsString, what: &str) -> Result<String, UsageError> {
    value
        .into_string()
        .map_err(|v| invalid(what, &v.to_string_lossy(), "not valid UTF-8"))
}

fn port(v: &str, what: &str) -> Result<u16, UsageError> {
    v.trim()
        .parse()
        .map_err(|_| invalid(what, v, "expected a port number from 0 to 65535"))
}

fn bind(v: &str, what: &str) -> Result<IpAddr, UsageError> {
    let bare = v.trim().trim_start_matches('[').trim_end_matches(']');
    bare.parse().map_err(|_| {
        invalid(
            what,
            v,
            "expected an IP address such as 0.0.0.0, :: or 127.0.0.1",
        )
    })
}

fn boolean(v: &str, what: &str) -> Result<bool, UsageError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(invalid(what, v, "expected 1/true/yes/on or 0/false/no/off")),
    }
}

fn dotfiles(v: &str, what: &str) -> Result<Dotfiles, UsageError> {
    match v.trim() {
        "hide" => Ok(Dotfiles::Hide),
        "allow" => Ok(Dotfiles::Allow),
        _ => Err(invalid(what, v, "expected hide or allow")),
    }
}

fn symlinks(v: &str, what: &str) -> Result<Symlinks, UsageError> {
    match v.trim() {
        "inside" => Ok(Symlinks::Inside),
        "any" => Ok(Symlinks::Any),
        "deny" => Ok(Symlinks::Deny),
        _ => Err(invalid(what, v, "expected inside, any or deny")),
    }
}

fn count(v: &str, what: &str) -> Result<usize, UsageError> {
    match v.trim().parse() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(invalid(what, v, "expected a whole number above 0")),
    }
}

/// `15` (seconds), `15s`, `500ms` or `2m`.
fn duration(v: &str, what: &str) -> Result<Duration, UsageError> {
    let s = v.trim();
    let (number, scale_ms) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000)
    } else {
        (s, 1000)
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale_ms))
        .map(Duration::from_millis)
        .ok_or_else(|| invalid(what, v, "expected a duration such as 15, 15s, 500ms or 2m"))
}

/// Response headers a configured header may not set: they frame the message, describe the
/// representation, or are the server's to decide.
const RESERVED_HEADERS: &[&str] = &[
    "accept-ranges",
    "allow",
    "connection",
    "content-encoding",
    "content-length",
    "content-range",
    "content-type",
    "date",
    "etag",
    "keep-alive",
    "last-modified",
    "location",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "vary",
];

fn header(v: &str, what: &str) -> Result<(String, String), UsageError> {
    let Some((name, value)) = v.split_once(':') else {
        return Err(invalid(what, v, "expected 'Name: value'"));
    };
    let value = value.trim_matches([' ', '\t']);
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(invalid(
            what,
            v,
            "the header name must be a token such as X-Frame-Options",
        ));
    }
    if !value
        .bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
    {
        return Err(invalid(what, v, "the value must be printable ASCII"));
    }
    if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(invalid(what, v, "this header is set by the server itself"));
    }
    Ok((name.to_string(), value.to_string()))
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
        assert_eq!(c.threads, Some(3));
        assert_eq!(c.idle_timeout, Duration::from_millis(500));
        assert_eq!(c.head_timeout, Duration::from_secs(2));
        assert_eq!(c.write_timeout, Duration::from_secs(60));
        assert_eq!(c.shutdown_grace, Duration::ZERO);
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
            &["--header", "X-C: 3"],
            &[("HTTP_FILESERVER_HEADERS", "X-A: 1")],
        );
        assert_eq!(c.headers, vec![("X-C".into(), "3".into())]);
    }

    #[test]
    fn healthcheck_takes_the_same_options() {
        match run(&["healthcheck", "-p", "81"], &[]) {
            Ok(Command::Healthcheck(c)) => assert_eq!(c.port, 81),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            run(&["./healthcheck"], &[]),
            Ok(Command::Serve(_))
        ));
        assert!(matches!(run(&["--help"], &[]), Ok(Command::Help)));
        assert!(matches!(run(&["-V"], &[]), Ok(Command::Version)));
    }

    #[test]
    fn bad_values_are_one_clear_line() {
        for (args, env, needle) in [
            (&["--port", "70000"][..], &[][..], "--port"),
            (&[], &[("PORT", "http")][..], "PORT"),
            (&["--dotfiles", "show"], &[], "hide or allow"),
            (&["--symlinks"], &[], "--symlinks"),
            (&["--bind", "localhost"], &[], "IP address"),
            (&["--header", "NoColon"], &[], "Name: value"),
            (&["--header", "Content-Length: 5"], &[], "set by the server"),
            (&["--header", "X-A: a\u{7}"], &[], "printable"),
            (&["--max-connections", "0"], &[], "above 0"),
            (&["--threads", "0"], &[], "above 0"),
            (&["--idle-timeout", "5h"], &[], "duration"),
            (&["--frobnicate"], &[], "frobnicate"),
            (&["a", "b"], &[], "only one ROOT"),
            (
                &[],
                &[("HTTP_FILESERVER_NO_ACCESS_LOG", "maybe")],
                "HTTP_FILESERVER_NO_ACCESS_LOG",
            ),
        ] {
            let err = run(args, env).unwrap_err();
            assert!(err.0.contains(needle), "{args:?}: {err}");
            assert!(!err.0.contains('\n'), "{err}");
        }
    }

    #[test]
    fn help_lists_every_option_and_variable() {
        let text = help();
        for opt in OPTIONS {
            assert!(
                text.contains(opt.env) && text.contains(opt.flag.trim()),
                "{}",
                opt.flag
            );
        }
    }
}
