//! The answers every part of the site gives the same way: errors and redirects.

use tiny_http::{Body, Response};

use crate::fs::OpenError;

/// The methods we answer, for `Allow`.
pub const ALLOW: &str = "GET, HEAD, OPTIONS";

/// An error response, its body still to come: the site gives every 4xx and 5xx one, by what
/// the client accepts and the configured error pages, when it is done with the request.
pub fn error(status: u16) -> Response {
    Response::new(status, Body::Empty)
}

/// The answer when a path can't be opened: 404, 403, 503 (out of descriptors) or 500.
pub fn open_error(err: OpenError) -> Response {
    match err {
        OpenError::Missing | OpenError::NotFound => error(404),
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
        Some(query) => response.add_header_fmt("Location", format_args!("{location}?{query}")),
        None => response.add_header("Location", location),
    }
    response
}
