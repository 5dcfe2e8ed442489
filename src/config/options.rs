//! The options, one row each: flag, environment variable, help, and how a value sets the
//! configuration. The parser, the environment lookup and `--help` all read this table, so an
//! option is one row here and one field in [`Config`](super::Config).

use super::values::{self, Expected};
use super::Config;

/// One option.
pub struct Opt {
    /// The one-letter flag, if any (`-p`).
    pub short: Option<char>,
    /// The long flag without its dashes (`port`).
    pub long: &'static str,
    /// The environment variable.
    pub env: &'static str,
    /// What the value looks like in `--help`; empty for a switch.
    pub value: &'static str,
    /// One sentence for `--help`.
    pub help: &'static str,
    /// The default, for `--help`; empty when there is nothing to say.
    pub default: &'static str,
    /// How the option sets the configuration.
    pub kind: Kind,
}

/// How an option takes its value.
pub enum Kind {
    /// A switch: the flag takes no value, the variable a boolean.
    Switch(fn(&mut Config, bool)),
    /// One value; a later one replaces an earlier one.
    Value(fn(&mut Config, &str) -> Result<(), Expected>),
    /// Repeatable: the variable holds one value per line, and flags, if given, replace the
    /// variable's values rather than add to them.
    List {
        /// Forgets the values set so far.
        clear: fn(&mut Config),
        /// Adds one value.
        add: fn(&mut Config, &str) -> Result<(), Expected>,
    },
}

/// Every option, in the order `--help` lists them.
pub const OPTIONS: &[Opt] = &[
    Opt {
        short: Some('p'),
        long: "port",
        env: "PORT",
        value: "PORT",
        help: "TCP port to listen on; 0 picks a free one",
        default: "8080",
        kind: Kind::Value(|c, v| {
            c.port = values::port(v)?;
            Ok(())
        }),
    },
    Opt {
        short: Some('b'),
        long: "bind",
        env: "HTTP_FILESERVER_BIND",
        value: "ADDR",
        help: "IP address to listen on",
        default: "[::], or 0.0.0.0 without IPv6",
        kind: Kind::Value(|c, v| {
            c.bind = Some(values::ip(v)?);
            Ok(())
        }),
    },
    Opt {
        short: None,
        long: "no-listing",
        env: "HTTP_FILESERVER_NO_LISTING",
        value: "",
        help: "Answer 404 for directories without index.html instead of listing them",
        default: "",
        kind: Kind::Switch(|c, on| c.listing = !on),
    },
    Opt {
        short: None,
        long: "dotfiles",
        env: "HTTP_FILESERVER_DOTFILES",
        value: "hide|allow",
        help: "Serve paths with a segment starting with '.' (.well-known always is)",
        default: "hide",
        kind: Kind::Value(|c, v| {
            c.dotfiles = values::dotfiles(v)?;
            Ok(())
        }),
    },
    Opt {
        short: None,
        long: "symlinks",
        env: "HTTP_FILESERVER_SYMLINKS",
        value: "inside|any|deny",
        help: "Follow symlinks whose target is inside ROOT, any symlink, or none",
        default: "inside",
        kind: Kind::Value(|c, v| {
            c.symlinks = values::symlinks(v)?;
            Ok(())
        }),
    },
    Opt {
        short: None,
        long: "header",
        env: "HTTP_FILESERVER_HEADERS",
        value: "'NAME: VALUE'",
        help: "Add a header to every response; repeatable (the variable: one per line)",
        default: "",
        kind: Kind::List {
            clear: |c| c.headers.clear(),
            add: |c, v| {
                c.headers.push(values::header(v)?);
                Ok(())
            },
        },
    },
    Opt {
        short: None,
        long: "no-access-log",
        env: "HTTP_FILESERVER_NO_ACCESS_LOG",
        value: "",
        help: "Don't log requests to stdout",
        default: "",
        kind: Kind::Switch(|c, on| c.access_log = !on),
    },
    Opt {
        short: None,
        long: "max-connections",
        env: "HTTP_FILESERVER_MAX_CONNECTIONS",
        value: "N",
        help: "Most open connections; past it idle ones are closed or new ones get 503",
        default: "1024",
        kind: Kind::Value(|c, v| {
            c.max_connections = values::count(v)?;
            Ok(())
        }),
    },
    Opt {
        short: None,
        long: "threads",
        env: "HTTP_FILESERVER_THREADS",
        value: "N",
        help: "Threads that serve requests as they arrive (more start while some wait on slow clients)",
        default: "one per CPU",
        kind: Kind::Value(|c, v| {
            c.threads = Some(values::count(v)?);
            Ok(())
        }),
    },
    Opt {
        short: None,
        long: "idle-timeout",
        env: "HTTP_FILESERVER_IDLE_TIMEOUT",
        value: "DUR",
        help: "Close keep-alive connections idle this long",
        default: "15s",
        kind: Kind::Value(|c, v| {
            c.idle_timeout = values::duration(v)?;
            Ok(())
        }),
    },
    Opt {
        short: None,
        long: "head-timeout",
        env: "HTTP_FILESERVER_HEAD_TIMEOUT",
        value: "DUR",
        help: "Answer 408 to clients that take longer to send a request head",
        default: "10s",
        kind: Kind::Value(|c, v| {
            c.head_timeout = values::duration(v)?;
            Ok(())
        }),
    },
    Opt {
        short: None,
        long: "write-timeout",
        env: "HTTP_FILESERVER_WRITE_TIMEOUT",
        value: "DUR",
        help: "Drop clients that accept no response bytes for this long",
        default: "30s",
        kind: Kind::Value(|c, v| {
            c.write_timeout = values::duration(v)?;
            Ok(())
        }),
    },
    Opt {
        short: None,
        long: "shutdown-grace",
        env: "HTTP_FILESERVER_SHUTDOWN_GRACE",
        value: "DUR",
        help: "On SIGTERM/SIGINT, wait this long for requests in flight",
        default: "5s",
        kind: Kind::Value(|c, v| {
            c.shutdown_grace = values::duration(v)?;
            Ok(())
        }),
    },
];

/// The option a flag names: `-p` (`short`) or `--port` (`long`).
pub fn by_flag(short: Option<char>, long: Option<&str>) -> Option<&'static Opt> {
    OPTIONS
        .iter()
        .find(|o| (short.is_some() && o.short == short) || (long.is_some() && Some(o.long) == long))
}

impl Opt {
    /// `-p, --port` or `--header`, as errors and `--help` write it.
    pub fn flags(&self) -> String {
        match self.short {
            Some(c) => format!("-{c}, --{}", self.long),
            None => format!("--{}", self.long),
        }
    }
}
