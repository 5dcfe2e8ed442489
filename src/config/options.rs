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

/// Every option, in the order `--help` lists them: one line each, so that an option is read
/// in one place (hence wider than the rest of the code).
#[rustfmt::skip]
pub const OPTIONS: &[Opt] = &[
    Opt::value(Some('p'), "port", "PORT", "PORT", "8080", "TCP port to listen on; 0 picks a free one", |c, v| set(&mut c.port, values::port(v))),
    Opt::value(Some('b'), "bind", "HTTP_FILESERVER_BIND", "ADDR", "[::], or 0.0.0.0 without IPv6", "IP address to listen on", |c, v| set(&mut c.bind, values::ip(v).map(Some))),
    Opt::switch("no-listing", "HTTP_FILESERVER_NO_LISTING", "Answer 404 for directories without index.html instead of listing them", |c, on| c.listing = !on),
    Opt::value(None, "dotfiles", "HTTP_FILESERVER_DOTFILES", "hide|allow", "hide", "Serve paths with a segment starting with '.' (.well-known always is)", |c, v| set(&mut c.dotfiles, values::dotfiles(v))),
    Opt::value(None, "symlinks", "HTTP_FILESERVER_SYMLINKS", "inside|any|deny", "inside", "Follow symlinks whose target is inside ROOT, any symlink, or none", |c, v| set(&mut c.symlinks, values::symlinks(v))),
    Opt::list("header", "HTTP_FILESERVER_HEADERS", "'NAME: VALUE'", "Add a header to every response, errors included (for HSTS, CSP; caching is --cache-control's); repeatable (the variable: one per line)", |c| c.headers.clear(), |c, v| push(&mut c.headers, values::header(v))),
    Opt::list("cache-control", "HTTP_FILESERVER_CACHE_CONTROL", "'PATTERN=VALUE'", "Cache-Control of files whose URL path matches PATTERN (* any run, ? any character; the first match wins), e.g. '/assets/*=public, max-age=31536000, immutable'; repeatable (the variable: one per line). Otherwise HTML and listings get no-cache, other files nothing; errors get no Cache-Control", |c| c.cache_rules.clear(), |c, v| push(&mut c.cache_rules, values::cache_rule(v))),
    Opt::value(None, "compress", "HTTP_FILESERVER_COMPRESS", "off|gzip", "gzip", "Compress text, JSON, XML, SVG, WASM and listings of 1 KiB or more on the fly for clients that accept it, when no .br/.zst/.gz sidecar fits", |c, v| set(&mut c.compress, values::compress(v))),
    Opt::value(None, "compression-cache", "HTTP_FILESERVER_COMPRESSION_CACHE", "SIZE", "32M", "Memory for compressed files, so that each is compressed once; 0 compresses on every request", |c, v| set(&mut c.compression_cache, values::size(v))),
    Opt::list("error-page", "HTTP_FILESERVER_ERROR_PAGES", "CODE=PATH", "Answer error CODE with the file at PATH under ROOT (e.g. 404=/404.html); repeatable (the variable: one per line)", |c| c.error_pages.clear(), |c, v| push(&mut c.error_pages, values::error_page(v))),
    Opt::value(None, "fallback", "HTTP_FILESERVER_FALLBACK", "PATH", "", "Answer browsers asking for a path that doesn't exist with the file at PATH under ROOT and 200, for single-page apps (e.g. /index.html)", |c, v| set(&mut c.fallback, values::site_path(v).map(Some))),
    Opt::value(None, "health-path", "HTTP_FILESERVER_HEALTH_PATH", "PATH", "", "Answer GET and HEAD of PATH (e.g. /healthz) with 200 ok, or 503 once shutting down, before any file of that name; not logged", |c, v| set(&mut c.health_path, values::site_path(v).map(Some))),
    Opt::list("cors-origin", "HTTP_FILESERVER_CORS_ORIGINS", "ORIGIN", "Let scripts from ORIGIN (e.g. https://app.example.com, or *) read responses, preflights included; repeatable (the variable: one per line)", |c| c.cors_origins.clear(), |c, v| push(&mut c.cors_origins, values::cors_origin(v))),
    Opt::switch("no-access-log", "HTTP_FILESERVER_NO_ACCESS_LOG", "Don't log requests to stdout", |c, on| c.access_log = !on),
    Opt::value(None, "log-format", "HTTP_FILESERVER_LOG_FORMAT", "default|common|combined|json", "default", "Access log lines: ours, Apache's Common or Combined Log Format, or one JSON object per request", |c, v| set(&mut c.log_format, values::log_format(v))),
    Opt::list("trusted-proxy", "HTTP_FILESERVER_TRUSTED_PROXIES", "CIDR", "Believe X-Forwarded-For and Forwarded from peers in CIDR (e.g. 10.0.0.0/8): the log shows the client behind them, and they are exempt from --max-connections-per-ip; repeatable (the variable: one per line)", |c| c.trusted_proxies.clear(), |c, v| push(&mut c.trusted_proxies, values::cidr(v))),
    Opt::value(None, "max-connections", "HTTP_FILESERVER_MAX_CONNECTIONS", "N", "1024", "Most open connections; past it idle ones are closed or new ones get 503", |c, v| set(&mut c.max_connections, values::count(v))),
    Opt::value(None, "max-connections-per-ip", "HTTP_FILESERVER_MAX_CONNECTIONS_PER_IP", "N", "a quarter of --max-connections", "Most open connections from one client address (IPv6: per /64); 0 for no limit", |c, v| set(&mut c.max_connections_per_ip, values::limit(v).map(Some))),
    Opt::value(None, "threads", "HTTP_FILESERVER_THREADS", "N", "one per CPU", "Threads that serve requests as they arrive (more start while some do slow work)", |c, v| set(&mut c.threads, values::count(v).map(Some))),
    Opt::value(None, "idle-timeout", "HTTP_FILESERVER_IDLE_TIMEOUT", "DUR", "15s", "Close keep-alive connections idle this long", |c, v| set(&mut c.idle_timeout, values::duration(v))),
    Opt::value(None, "head-timeout", "HTTP_FILESERVER_HEAD_TIMEOUT", "DUR", "10s", "Answer 408 to clients that take longer to send a request head", |c, v| set(&mut c.head_timeout, values::duration(v))),
    Opt::value(None, "write-timeout", "HTTP_FILESERVER_WRITE_TIMEOUT", "DUR", "30s", "Drop clients that accept no response bytes for this long", |c, v| set(&mut c.write_timeout, values::duration(v))),
    Opt::value(None, "shutdown-delay", "HTTP_FILESERVER_SHUTDOWN_DELAY", "DUR", "0s", "On SIGTERM/SIGINT, keep serving this long first, the health path answering 503, so that load balancers stop sending requests", |c, v| set(&mut c.shutdown_delay, values::duration(v))),
    Opt::value(None, "shutdown-grace", "HTTP_FILESERVER_SHUTDOWN_GRACE", "DUR", "5s", "On SIGTERM/SIGINT, wait this long for requests in flight", |c, v| set(&mut c.shutdown_grace, values::duration(v))),
];

/// A setter's body: store the parsed value, or pass on what was expected.
fn set<T>(field: &mut T, value: Result<T, Expected>) -> Result<(), Expected> {
    *field = value?;
    Ok(())
}

/// A list setter's body: add the parsed value.
fn push<T>(list: &mut Vec<T>, value: Result<T, Expected>) -> Result<(), Expected> {
    list.push(value?);
    Ok(())
}

impl Opt {
    /// An option that takes one value.
    const fn value(
        short: Option<char>,
        long: &'static str,
        env: &'static str,
        value: &'static str,
        default: &'static str,
        help: &'static str,
        set: fn(&mut Config, &str) -> Result<(), Expected>,
    ) -> Opt {
        Opt {
            short,
            long,
            env,
            value,
            help,
            default,
            kind: Kind::Value(set),
        }
    }

    /// A switch (no value; its variable takes a boolean).
    const fn switch(
        long: &'static str,
        env: &'static str,
        help: &'static str,
        set: fn(&mut Config, bool),
    ) -> Opt {
        Opt {
            short: None,
            long,
            env,
            value: "",
            help,
            default: "",
            kind: Kind::Switch(set),
        }
    }

    /// A repeatable option.
    const fn list(
        long: &'static str,
        env: &'static str,
        value: &'static str,
        help: &'static str,
        clear: fn(&mut Config),
        add: fn(&mut Config, &str) -> Result<(), Expected>,
    ) -> Opt {
        let kind = Kind::List { clear, add };
        Opt {
            short: None,
            long,
            env,
            value,
            help,
            default: "",
            kind,
        }
    }
}

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
