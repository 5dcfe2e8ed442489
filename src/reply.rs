//! The answers every part of the site gives the same way: errors and redirects.

use tiny_http::{reason_phrase, Body, Response};

use crate::fs::OpenError;

/// The methods we answer, for `Allow`.
pub const ALLOW: &str = "GET, HEAD, OPTIONS";

/// A short plain-text error response. Never names a path: the body is the status line.
pub fn error(status: u16) -> Response {
    let body = format!("{status} {}\n", reason_phrase(status));
    let mut response = Response::new(status, Body::Bytes(body.into_bytes()));
    response.add_header("Content-Type", "text/plain; charset=utf-8");
    response
}

/// The answer when a path can't be opened: 404, 403, 503 (out of descriptors) or 500.
pub fn open_error(err: OpenError) -> Response {
    match err {
        OpenError::NotFound => error(404),
        OpenError::Forbidden => error(403),
        OpenError::Busy => {
            let mut response = error(503);
            response.add_header("Retry-After", "1");
            response
        }
        OpenError::Failed(err) => {
            eprintln!("http-fileserver: answering 500: {err}");
            error(500)
        }
    }
}

/// A 301 to a relative location (`location` is already percent-encoded), keeping the query.
pub fn redirect(location: &str, query: Option<&str>) -> Response {
    let mut response = Response::new(301, Body::Empty);
    match query {
        Some(query) => response.add_header("Location", format_args!("{location}?{query}")),
        None => response.add_header("Location", location),
    }
    response
}
