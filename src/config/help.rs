//! `--help` and `healthcheck --help`, drawn from the option table, in 80 columns.

use std::fmt::Write as _;

use super::options::{Opt, OPTIONS};

/// Lines are at most this wide.
const WIDTH: usize = 80;
/// Where the help text of an option starts.
const HELP_COLUMN: usize = 28;

/// The long options the `healthcheck` command uses; it accepts and ignores the others, so
/// that it can run with the server's own arguments and environment.
const HEALTHCHECK_OPTIONS: &[&str] = &["port", "bind", "health-path"];

/// The server's `--help`.
pub fn server() -> String {
    let mut out = format!(
        "http-fileserver {version}
Serve a directory over HTTP: files, index.html, directory listings, ranges,
conditional requests and precompressed .br/.zst/.gz sidecars. Safe by default:
nothing outside ROOT, no dotfiles, no symlinks leading out of ROOT.

Usage: http-fileserver [OPTIONS] [ROOT]
       http-fileserver healthcheck [OPTIONS]

Arguments:
",
        version = env!("CARGO_PKG_VERSION")
    );
    item(
        &mut out,
        "[ROOT]",
        "Directory to serve",
        "[default: public] [env: HTTP_FILESERVER_ROOT]",
    );
    out.push_str("\nCommands:\n");
    item(
        &mut out,
        "healthcheck",
        "Ask the server whether it is healthy (its --health-path, else OPTIONS *); \
         exit 0 if it is within 2 s (for Docker HEALTHCHECK); see healthcheck --help",
        "",
    );
    out.push_str("\nOptions:\n");
    for opt in OPTIONS {
        option(&mut out, opt);
    }
    item(&mut out, "-h, --help", "Print this help", "");
    item(&mut out, "-V, --version", "Print the version", "");
    out.push('\n');
    paragraph(
        &mut out,
        "Flags beat environment variables, which beat defaults. Boolean variables take \
         1/true/yes/on or 0/false/no/off. DUR is a number of seconds, or a number with ms, s \
         or m: 500ms, 15s, 2m; 0 disables a timeout. SIZE is bytes, or a number with K, M \
         or G. Requests are logged to stdout, one line each; start-up and errors go to \
         stderr. SIGTERM or SIGINT (after the shutdown delay) stops accepting, lets \
         requests in flight finish within the shutdown grace, and exits 0; a second signal \
         exits at once with 128 + the signal's number (130 for SIGINT, 143 for SIGTERM). \
         Exit codes: 1 when the server can't start or stops accepting, 2 for a bad \
         command line.",
    );
    out
}

/// `healthcheck --help`.
pub fn healthcheck() -> String {
    let mut out = String::from(
        "Usage: http-fileserver healthcheck [OPTIONS]

Ask the server whether it is healthy and exit 0 if it answers in time (2 s), 1
otherwise: the probe for a Docker HEALTHCHECK or a Kubernetes exec probe, in an
image that has no curl. It asks for the --health-path if one is set (2xx is
healthy, so a server shutting down is not), else OPTIONS * (anything but a 5xx).

Options:
",
    );
    for opt in OPTIONS
        .iter()
        .filter(|o| HEALTHCHECK_OPTIONS.contains(&o.long))
    {
        option(&mut out, opt);
    }
    item(&mut out, "-h, --help", "Print this help", "");
    out.push('\n');
    paragraph(
        &mut out,
        "It asks loopback on the port, or the --bind address if that is a specific one. \
         Without --port and --bind, when PID 1 is this program (a container's server, \
         started perhaps with --port 9000), it takes them and --health-path from PID 1's \
         command line and environment. The server's other options are accepted and \
         ignored, so that the probe can also run with the server's own arguments. Its \
         probes are not logged.",
    );
    out
}

fn option(out: &mut String, opt: &Opt) {
    // Long-only flags line up with the long flag of `-p, --port`.
    let indent = if opt.short.is_none() { "    " } else { "" };
    let mut head = format!("{indent}{}", opt.flags());
    if !opt.value.is_empty() {
        head.push(' ');
        head.push_str(opt.value);
    }
    let mut notes = String::new();
    if !opt.default.is_empty() {
        notes = format!("[default: {}] ", opt.default);
    }
    notes.push_str(&format!("[env: {}]", opt.env));
    item(out, &head, opt.help, &notes);
}

/// `  head  text`, the text wrapped at [`HELP_COLUMN`] (on lines of its own below a head too
/// long to share one), then the bracketed `notes` on a line of their own.
fn item(out: &mut String, head: &str, text: &str, notes: &str) {
    let lead = format!("  {head}");
    let width = lead.chars().count();
    let mut pad = HELP_COLUMN;
    if width + 2 <= HELP_COLUMN {
        out.push_str(&lead);
        pad = HELP_COLUMN - width;
    } else {
        let _ = writeln!(out, "{lead}");
    }
    for line in wrap(text, WIDTH - HELP_COLUMN)
        .into_iter()
        .chain(wrap(notes, WIDTH - HELP_COLUMN))
    {
        let _ = writeln!(out, "{:pad$}{line}", "");
        pad = HELP_COLUMN;
    }
}

fn paragraph(out: &mut String, text: &str) {
    for line in wrap(text, WIDTH) {
        out.push_str(&line);
        out.push('\n');
    }
}

/// Splits `text` into lines of at most `width` characters, at spaces outside brackets (a
/// longer word gets a line of its own).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in words(text) {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The words of `text`: split at whitespace, except inside `[...]`, which stays whole.
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            c if c.is_whitespace() && depth == 0 => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                continue;
            }
            _ => {}
        }
        word.push(c);
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_fits_in_80_columns() {
        for text in [server(), healthcheck()] {
            for line in text.lines() {
                assert!(line.chars().count() <= WIDTH, "too wide: {line:?}");
            }
        }
    }

    #[test]
    fn every_option_and_variable_is_listed() {
        let text = server();
        for opt in OPTIONS {
            assert!(text.contains(&opt.flags()), "{}", opt.long);
            assert!(text.contains(&format!("[env: {}]", opt.env)), "{}", opt.env);
        }
    }

    #[test]
    fn healthcheck_help_lists_only_what_it_uses() {
        let text = healthcheck();
        assert!(text.contains("--port") && text.contains("--bind"));
        assert!(!text.contains("--no-listing"));
    }

    #[test]
    fn wrapping() {
        assert_eq!(wrap("a bb ccc", 4), ["a bb", "ccc"]);
        assert_eq!(wrap("abcdef g", 4), ["abcdef", "g"]);
        assert_eq!(wrap("a [b c] d", 5), ["a", "[b c]", "d"]);
    }
}
