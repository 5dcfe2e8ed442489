//! The HTML listing page: breadcrumbs, a table with sort links in its header, a parent row,
//! one row per entry, and a summary.
//!
//! Entry links are bare relative names, so that a script can tell entries apart from
//! navigation; every navigation link (breadcrumbs, parent row, sort links) is an absolute
//! path. Rows leave out optional end tags: a row is about 50 bytes of markup plus its name
//! twice, which keeps a 1,000-entry page quick to make and send.

use std::fmt::Write as _;

use super::body::Render;
use super::{Entry, Key, Listing, Sort};
use crate::dir::Kind;
use crate::href;
use crate::page;
use crate::timefmt;

/// A listing page for the directory whose path (decoded, relative to the root) is `path`.
pub struct Page {
    listing: Listing,
    /// The directory's segments, decoded.
    segments: Vec<Vec<u8>>,
    /// The directory's absolute path, percent-encoded, ending in `/`.
    dir: String,
}

impl Page {
    /// The page of `listing`, the listing of the directory `path` (clean, relative).
    pub fn new(listing: Listing, path: &[u8]) -> Page {
        let segments: Vec<Vec<u8>> = path
            .split(|&b| b == b'/')
            .filter(|s| !s.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        let mut dir = String::from("/");
        for segment in &segments {
            href::push_segment(&mut dir, segment);
            dir.push('/');
        }
        Page {
            listing,
            segments,
            dir,
        }
    }

    fn push_title(&self, out: &mut String) {
        out.push('/');
        for segment in &self.segments {
            page::push_name(out, segment, false);
            out.push('/');
        }
    }

    fn push_breadcrumbs(&self, out: &mut String) {
        let Some((current, ancestors)) = self.segments.split_last() else {
            out.push_str("<nav><h1>/</h1></nav>\n");
            return;
        };
        out.push_str("<nav><h1><a href=\"/\">/</a>");
        let mut prefix = String::from("/");
        for segment in ancestors {
            href::push_segment(&mut prefix, segment);
            prefix.push('/');
            let _ = write!(out, "<a href=\"{prefix}\">");
            page::push_name(out, segment, true);
            out.push_str("</a>/");
        }
        page::push_name(out, current, true);
        out.push_str("/</h1></nav>\n");
    }

    fn push_sort_links(&self, out: &mut String) {
        let sort = self.listing.sort;
        out.push_str("<thead><tr>");
        for (key, label) in [
            (Key::Name, "Name"),
            (Key::Size, "Size"),
            (Key::Modified, "Modified"),
        ] {
            let desc = if key == sort.key {
                out.push_str(if sort.desc {
                    "<th aria-sort=descending>"
                } else {
                    "<th aria-sort=ascending>"
                });
                !sort.desc
            } else {
                out.push_str("<th>");
                key.first_order_desc()
            };
            let order = if desc { "desc" } else { "asc" };
            let _ = write!(
                out,
                "<a href=\"{}?sort={}&amp;order={order}\">{label}</a>",
                self.dir,
                key.as_str()
            );
        }
        out.push('\n');
    }

    fn parent(&self) -> Option<String> {
        let (_, ancestors) = self.segments.split_last()?;
        let mut parent = String::from("/");
        for segment in ancestors {
            href::push_segment(&mut parent, segment);
            parent.push('/');
        }
        Some(parent)
    }
}

impl Render for Page {
    fn rows(&self) -> usize {
        self.listing.entries.len()
    }

    fn head(&self, out: &mut String) {
        let mut title = String::from("Index of ");
        self.push_title(&mut title);
        page::push_head(out, &title);
        self.push_breadcrumbs(out);
        out.push_str("<table>\n");
        self.push_sort_links(out);
        out.push_str("<tbody>\n");
        if let Some(parent) = self.parent() {
            let _ = writeln!(
                out,
                "<tr class=up><td colspan=3><a href=\"{parent}\">Parent directory</a>"
            );
        }
    }

    fn row(&self, i: usize, out: &mut String) {
        let entry = &self.listing.entries[i];
        let name = self.listing.name(entry);
        let dir = entry.kind == Kind::Dir;
        out.push_str("<tr><td><a href=\"");
        href::push_href(out, name);
        if dir {
            out.push('/');
        }
        out.push_str("\">");
        page::push_name(out, name, true);
        if dir {
            out.push('/');
        }
        out.push_str("</a><td");
        if entry.kind == Kind::File {
            out.push_str(" title=\"");
            push_grouped(out, entry.size);
            out.push_str(" bytes\">");
            push_size(out, entry.size);
        } else {
            out.push('>');
        }
        out.push_str("<td>");
        push_date(out, entry);
        out.push('\n');
    }

    fn tail(&self, out: &mut String) {
        let (dirs, files) = self.listing.counts();
        out.push_str("</table>\n<p>");
        push_count(out, dirs, "directory", "directories");
        out.push_str(", ");
        push_count(out, files, "file", "files");
        out.push('\n');
        if self.listing.truncated() {
            out.push_str("<p class=note>Showing the first ");
            push_grouped(out, self.listing.entries.len() as u64);
            out.push_str(" of ");
            push_grouped(out, self.listing.total as u64);
            let Sort { key, desc } = self.listing.sort;
            let _ = write!(out, " entries, sorted by {}", key.as_str());
            out.push_str(if desc { ", descending.\n" } else { ".\n" });
        }
    }
}

fn push_date(out: &mut String, entry: &Entry) {
    timefmt::push_minutes(out, entry.mtime);
}

fn push_count(out: &mut String, n: usize, one: &str, many: &str) {
    push_grouped(out, n as u64);
    out.push(' ');
    out.push_str(if n == 1 { one } else { many });
}

/// `n` in decimal with `,` between groups of three digits: `3,481,229`.
fn push_grouped(out: &mut String, n: u64) {
    let digits = decimal(n);
    let digits = digits.as_slice();
    for (i, &d) in digits.iter().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(char::from(d));
    }
}

/// The decimal digits of `n`, without going through `fmt` (a listing writes two numbers a
/// row).
fn decimal(mut n: u64) -> Digits {
    let mut digits = Digits {
        buf: [0; 20],
        start: 20,
    };
    loop {
        digits.start -= 1;
        digits.buf[digits.start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return digits;
        }
    }
}

/// Up to 20 digits, at the end of `buf`.
struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl Digits {
    fn as_slice(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

fn push_decimal(out: &mut String, n: u64) {
    for &d in decimal(n).as_slice() {
        out.push(char::from(d));
    }
}

/// A size for people, in IEC units: exact bytes below 1 KiB, one decimal below 10 of a unit,
/// whole units from 10 up, rounded half up (so 1023.96 KiB is `1.0 MiB`, not `1024 KiB`).
fn push_size(out: &mut String, n: u64) {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        push_decimal(out, n);
        out.push_str(" B");
        return;
    }
    let n = u128::from(n);
    let mut unit = 0;
    let mut d: u128 = 1024;
    while unit + 1 < UNITS.len() && n >= d * 1024 {
        unit += 1;
        d *= 1024;
    }
    let tenths = (n * 10 + d / 2) / d;
    let whole = (n + d / 2) / d;
    let (number, tenths, unit) = if tenths < 100 {
        (tenths / 10, Some(tenths % 10), unit)
    } else if whole >= 1024 && unit + 1 < UNITS.len() {
        let d = d * 1024;
        let tenths = (n * 10 + d / 2) / d;
        (tenths / 10, Some(tenths % 10), unit + 1)
    } else {
        (whole, None, unit)
    };
    push_decimal(out, number as u64);
    if let Some(tenth) = tenths {
        out.push('.');
        out.push(char::from(b'0' + tenth as u8));
    }
    out.push(' ');
    page::push_short(out, UNITS[unit]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_for_people() {
        for (n, text) in [
            (0, "0 B"),
            (999, "999 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1229, "1.2 KiB"),
            (10188, "9.9 KiB"),
            (10189, "10 KiB"),
            (34816, "34 KiB"),
            (1048063, "1023 KiB"),
            (1048524, "1.0 MiB"),
            (1572864, "1.5 MiB"),
            (35651584, "34 MiB"),
            (2147483648, "2.0 GiB"),
            (4509715661, "4.2 GiB"),
            (u64::MAX, "16 EiB"),
        ] {
            let mut out = String::new();
            push_size(&mut out, n);
            assert_eq!(out, text, "{n}");
        }
    }

    #[test]
    fn grouped_numbers() {
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (3481229, "3,481,229"),
        ] {
            let mut out = String::new();
            push_grouped(&mut out, n);
            assert_eq!(out, text);
        }
    }
}
