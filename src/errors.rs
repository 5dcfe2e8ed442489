//! The bodies of error answers: a small page in the listing's style for browsers, one line of
//! plain text for everything else. Neither ever names a path.

use std::sync::{Arc, OnceLock};

use tiny_http::{reason_phrase, Body};

use crate::page;

/// The statuses the site answers with on its own: their bodies are made once, at start-up.
const COMMON: [u16; 8] = [400, 403, 404, 405, 412, 416, 500, 503];

/// The bodies of the common errors, each made the first time it is needed and then shared:
/// a 404's page is 3.4 KB of HTML, which cost more to build than the rest of answering the
/// request.
#[derive(Default)]
pub struct Bodies {
    html: [OnceLock<Arc<[u8]>>; COMMON.len()],
    plain: [OnceLock<Arc<[u8]>>; COMMON.len()],
}

impl Bodies {
    /// None made yet.
    pub fn new() -> Bodies {
        Bodies::default()
    }

    /// The body of an error with `status`: the HTML page, or the line of text.
    pub fn body(&self, status: u16, as_html: bool) -> Body {
        let make = || match as_html {
            true => html(status).into_bytes(),
            false => plain(status).into_bytes(),
        };
        let Some(i) = COMMON.iter().position(|&s| s == status) else {
            return Body::Bytes(make());
        };
        let slot = if as_html {
            &self.html[i]
        } else {
            &self.plain[i]
        };
        Body::Shared(Arc::clone(slot.get_or_init(|| Arc::from(make()))))
    }
}

/// One sentence for people, per status.
pub fn sentence(status: u16) -> &'static str {
    match status {
        400 => "The server could not understand this request.",
        403 => "You are not allowed to see what is at this address.",
        404 => "There is nothing at this address.",
        405 => "This address can only be read, with GET or HEAD.",
        408 => "The request took too long to arrive.",
        412 => "The file has changed since the version your request refers to.",
        413 => "The request is too large.",
        414 => "This address is too long.",
        416 => "The requested range lies outside the file.",
        431 => "The request headers are too large.",
        500 => "The server failed to answer this request. Try again later.",
        503 => "The server cannot answer right now. Try again in a moment.",
        505 => "This server speaks HTTP/1.0 and HTTP/1.1 only.",
        401..=499 => "The server cannot answer this request.",
        _ => "The server failed to answer this request.",
    }
}

/// The HTML page of an error: status, a sentence, a link to the home page.
pub fn html(status: u16) -> String {
    let title = format!("{status} {}", reason_phrase(status));
    let mut out = String::with_capacity(3400);
    page::push_head(&mut out, &title);
    out.push_str("<main class=err>\n<h1>");
    out.push_str(&title);
    out.push_str("</h1>\n<p>");
    out.push_str(sentence(status));
    out.push_str("\n<p><a href=\"/\">Go to the home page</a>\n</main>\n");
    out
}

/// The plain-text body of an error: its status line.
pub fn plain(status: u16) -> String {
    format!("{status} {}\n", reason_phrase(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_say_what_happened_and_link_home() {
        let page = html(404);
        assert!(page.starts_with("<!doctype html>\n"));
        assert!(page.contains("<title>404 Not Found</title>"));
        assert!(page.contains("<h1>404 Not Found</h1>\n<p>There is nothing at this address.\n"));
        assert!(page.contains("<a href=\"/\">"));
        assert_eq!(plain(503), "503 Service Unavailable\n");
        assert_eq!(sentence(418), "The server cannot answer this request.");
    }

    #[test]
    fn shared_bodies_are_the_ones_made_each_time() {
        let bodies = Bodies::new();
        for status in [404, 503, 418, 501] {
            for as_html in [true, false] {
                let expected = if as_html { html(status) } else { plain(status) };
                let bytes = match bodies.body(status, as_html) {
                    Body::Shared(bytes) => bytes.to_vec(),
                    Body::Bytes(bytes) => bytes,
                    other => panic!("{other:?}"),
                };
                assert_eq!(bytes, expected.as_bytes(), "{status} {as_html}");
            }
        }
    }
}
