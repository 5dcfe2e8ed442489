//! The HTML both listings and error pages are made of: one small stylesheet (light and dark,
//! phone and desktop), the shared head, and text escaping that shows any file name safely.

use std::fmt::Write as _;

/// The stylesheet, inline in every page (no request of its own): light and dark themes by
/// `prefers-color-scheme`, the listing table, which becomes a list below 600 px, three icons
/// as `data:` SVG backgrounds (no bytes per row), and the error page. 2.7 KB, 1.2 KB gzipped.
pub const CSS: &str = r#":root{color-scheme:light dark;--f:#1f2328;--m:#59636e;--b:#fff;--l:#d8dee4;--h:#f6f8fa;--a:#0550ae;--e:#9a3412;--E:#fff1e5}@media(prefers-color-scheme:dark){:root{--f:#e6edf3;--m:#9198a1;--b:#0d1117;--l:#262c36;--h:#151b23;--a:#58a6ff;--e:#ffa657;--E:#3a2614}}body{margin:0 auto;padding:1.5em;max-width:64em;font:16px/1.5 system-ui,sans-serif;color:var(--f);background:var(--b)}a{color:var(--a);text-decoration:none}a:hover{text-decoration:underline}h1{margin:0 0 .8em;font-size:1.5em;line-height:1.3;overflow-wrap:anywhere}nav h1:before{content:"Index of ";color:var(--m);font-weight:400}table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}th,td{padding:.4em .75em;text-align:right;white-space:nowrap;vertical-align:baseline}th{position:sticky;top:0;background:var(--b);box-shadow:inset 0 -1px var(--m)}th a{color:var(--f)}[aria-sort]>a:after{content:" \2191"}[aria-sort=descending]>a:after{content:" \2193"}td{border-bottom:1px solid var(--l);color:var(--m)}:first-child{text-align:left}td:first-child{width:100%;white-space:normal;overflow-wrap:anywhere}td:empty:after{content:"\2014"}tbody tr:hover{background:var(--h)}td a{display:block;padding-left:1.7em;background:url("data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16' fill='none' stroke='gray'><path d='M3.5 1.5h6l3 3v10h-9zm6 0v3h3'/></svg>") no-repeat 0 .2em/1.1em}td a[href$="/"]{background-image:url("data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16' fill='%23388bfd'><path d='M1 3.5Q1 2 2.5 2H6l2 2h5.5Q15 4 15 5.5v7q0 1.5-1.5 1.5h-11Q1 14 1 12.5z'/></svg>")}.up td a{background-image:url("data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16' fill='none' stroke='gray' stroke-width='1.5'><path d='M8 14V3M3.5 7.5 8 3l4.5 4.5'/></svg>")}.esc{padding:0 .2em;border-radius:3px;font:.85em ui-monospace,monospace;color:var(--e);background:var(--E)}p{margin:1em .75em 0;color:var(--m);font-size:.875em}.note{font-style:italic}.err{margin:12vh auto;max-width:34em}.err h1{font-size:2em}.err p{margin:.5em 0 0;font-size:1.125em;color:var(--f)}@media(max-width:600px){body{padding:1em .75em}h1{font-size:1.25em}table,thead,tbody,td{display:block}thead{position:sticky;top:0;background:var(--b);border-bottom:1px solid var(--m)}thead tr{display:flex}thead tr:before{content:"Sort by";margin:auto;margin-left:.25em;color:var(--m);font-size:.875em}th{position:static;box-shadow:none;padding:.4em .5em}tbody tr{display:flex;flex-wrap:wrap;column-gap:1em;padding:.45em .25em .45em 1.95em;border-bottom:1px solid var(--l)}td{padding:0;border:0}td+td{font-size:.875em}td a{margin-left:-1.7em}td:empty{display:none}p{margin:1em .25em 0}}"#;

/// The `Content-Security-Policy` of our pages: the inline stylesheet and `data:` images, and
/// nothing else: no script, no fetch, no font, no form, no `<base>`; framed only by the same
/// site.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                       base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

/// Appends the start of a page: doctype, language, charset, viewport, `<title>` (already
/// escaped) and the stylesheet.
pub fn push_head(out: &mut String, title_html: &str) {
    out.push_str(
        "<!doctype html>\n<html lang=en>\n<meta charset=utf-8>\n\
         <meta name=viewport content=\"width=device-width,initial-scale=1\">\n<title>",
    );
    out.push_str(title_html);
    out.push_str("</title>\n<style>");
    out.push_str(CSS);
    out.push_str("</style>\n");
}

/// Appends `text` escaped for HTML text and attribute values.
pub fn push_html(out: &mut String, text: &str) {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Appends `text`, a short piece of a page whose length isn't known when compiling (a
/// name, a link), eight bytes to a move: with musl, `push_str` of such a piece calls
/// `memcpy`, whose `rep movs` costs some 50 cycles however few bytes it moves, and a listing
/// of 1,000 entries has about 5,000 of them (perf: `memcpy` was a sixth of the CPU time of a
/// listing; char by char, callgrind counted 800 instructions an entry). Longer text goes in
/// one copy; a constant is best left to `push_str`, which the compiler turns into a few moves.
#[inline]
pub fn push_short(out: &mut String, text: &str) {
    if text.len() > 128 {
        out.push_str(text);
        return;
    }
    out.reserve(text.len());
    let mut rest = text;
    // Eight bytes at a time while they end on a character boundary (always, in ASCII): a
    // piece of a length known here is copied with one move.
    while let Some((word, after)) = rest.split_at_checked(8) {
        out.push_str(word);
        rest = after;
    }
    for c in rest.chars() {
        out.push(c);
    }
}

/// Appends a file name as HTML text that shows every byte of it and can't be mistaken for
/// other text: invalid UTF-8 bytes as `\xE9`, tabs and line ends as `\t`, `\n`, `\r`, other
/// control characters and the characters that reorder text (bidirectional overrides and
/// marks, line and paragraph separators) as `\u{202E}`. With `spans`, each escape is wrapped
/// in `<span class=esc>` so that the page can style it apart from the name's own characters.
pub fn push_name(out: &mut String, name: &[u8], spans: bool) {
    // Most names are printable ASCII with nothing to escape: copied as they are.
    let plain = |&b: &u8| (0x20..0x7f).contains(&b) && !b"&<>\"'".contains(&b);
    if name.iter().all(plain) {
        push_short(out, std::str::from_utf8(name).unwrap_or(""));
        return;
    }
    for chunk in name.utf8_chunks() {
        let valid = chunk.valid();
        let mut start = 0;
        for (i, c) in valid.char_indices() {
            if needs_escape(c) {
                push_html(out, &valid[start..i]);
                push_escape(out, spans, |out| match c {
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => {
                        let _ = write!(out, "\\u{{{:X}}}", c as u32);
                    }
                });
                start = i + c.len_utf8();
            }
        }
        push_html(out, &valid[start..]);
        for &b in chunk.invalid() {
            push_escape(out, spans, |out| {
                let _ = write!(out, "\\x{b:02X}");
            });
        }
    }
}

fn push_escape(out: &mut String, spans: bool, escape: impl FnOnce(&mut String)) {
    if spans {
        out.push_str("<span class=esc>");
    }
    escape(out);
    if spans {
        out.push_str("</span>");
    }
}

/// Characters shown escaped in names: controls (C0, DEL, C1) and the invisible ones that
/// change how the text around them reads (an `exe.txt` that is really `txt.exe`).
fn needs_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1F}'
        | '\u{7F}'..='\u{9F}'
        | '\u{61C}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{2028}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(bytes: &[u8], spans: bool) -> String {
        let mut out = String::new();
        push_name(&mut out, bytes, spans);
        out
    }

    #[test]
    fn names_show_every_byte_visibly() {
        assert_eq!(name(b"a\nb", true), "a<span class=esc>\\n</span>b");
        assert_eq!(
            name("x\u{202E}y".as_bytes(), true),
            "x<span class=esc>\\u{202E}</span>y"
        );
        assert_eq!(name(b"caf\xE9", true), "caf<span class=esc>\\xE9</span>");
        assert_eq!(
            name(b"\x7F\x01\t", true),
            "<span class=esc>\\u{7F}</span><span class=esc>\\u{1}</span><span class=esc>\\t</span>"
        );
        assert_eq!(name(b"<b>\"&", true), "&lt;b&gt;&#34;&amp;");
        assert_eq!(name(b"caf\xE9\n", false), "caf\\xE9\\n");
        assert_eq!(name("é日本".as_bytes(), false), "é日本");
        assert_eq!(name("\u{2066}".as_bytes(), false), "\\u{2066}");
    }

    #[test]
    fn short_pieces_are_appended_whole_whatever_their_characters() {
        let ascii = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(4);
        for len in 0..ascii.len() {
            for wide in ["", "\u{e9}", "\u{65e5}", "\u{1F600}"] {
                for at in [0, len / 2, len] {
                    let text = format!("{}{wide}{}", &ascii[..at], &ascii[at..len]);
                    let mut out = String::from("<");
                    push_short(&mut out, &text);
                    assert_eq!(out, format!("<{text}"));
                }
            }
        }
    }

    #[test]
    fn the_stylesheet_is_one_line_and_small() {
        assert!(!CSS.contains('\n'));
        assert!(CSS.len() < 3000);
    }
}
