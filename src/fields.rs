//! A request as the site sees it: the root it is served from, and the header fields it is
//! answered and logged by, found in one pass over its head.

use tiny_http::Request;

use crate::conditional::Conditions;
use crate::encoding::{self, Coding};
use crate::fs::Root;
use crate::negotiate;

/// The request, its root and the header fields we act on. A field sent twice counts once,
/// the last time, except where noted.
pub struct Fields<'a> {
    /// The request itself.
    pub request: &'a Request,
    /// The root everything this request opens is under: one for the whole request, even if
    /// the root is swapped meanwhile.
    pub root: &'a Root,
    /// The preconditions (`If-*`).
    pub conditions: Conditions<'a>,
    /// `Range`.
    pub range: Option<&'a str>,
    /// `Accept-Encoding`.
    pub accept_encoding: Option<&'a str>,
    /// `Accept`.
    pub accept: Option<&'a str>,
    /// `Origin`, for CORS.
    pub origin: Option<&'a str>,
    /// `Access-Control-Request-Method`: present on a CORS preflight.
    pub preflight_method: Option<&'a str>,
    /// `Access-Control-Request-Headers`.
    pub preflight_headers: Option<&'a str>,
    /// `Host`, `Referer` and `User-Agent`, for the log.
    pub host: Option<&'a str>,
    /// `Referer`.
    pub referer: Option<&'a str>,
    /// `User-Agent`.
    pub user_agent: Option<&'a str>,
    /// Whether `X-Forwarded-For` or `Forwarded` was sent (every line of them is read again
    /// when the peer is a trusted proxy).
    pub forwarded: bool,
}

impl<'a> Fields<'a> {
    /// The fields of `request`, served from `root`, before its header lines are read (see
    /// [`Fields::read_headers`]). In two steps so that the fields are written where the
    /// caller keeps them: returned whole after the loop, all 248 bytes of them were copied by
    /// musl's `memcpy` on every request.
    #[inline]
    pub fn new(request: &'a Request, root: &'a Root) -> Fields<'a> {
        Fields {
            request,
            root,
            conditions: Conditions::default(),
            range: None,
            accept_encoding: None,
            accept: None,
            origin: None,
            preflight_method: None,
            preflight_headers: None,
            host: None,
            referer: None,
            user_agent: None,
            forwarded: false,
        }
    }

    /// Fills in the fields from the request's header lines.
    pub fn read_headers(&mut self) {
        let request = self.request;
        for header in request.headers() {
            let name = header.name;
            // By length first: most names are then told apart without comparing them.
            let slot = match name.len() {
                4 if name.eq_ignore_ascii_case("host") => &mut self.host,
                5 if name.eq_ignore_ascii_case("range") => &mut self.range,
                6 if name.eq_ignore_ascii_case("accept") => &mut self.accept,
                6 if name.eq_ignore_ascii_case("origin") => &mut self.origin,
                7 if name.eq_ignore_ascii_case("referer") => &mut self.referer,
                8 if name.eq_ignore_ascii_case("if-match") => &mut self.conditions.if_match,
                8 if name.eq_ignore_ascii_case("if-range") => &mut self.conditions.if_range,
                10 if name.eq_ignore_ascii_case("user-agent") => &mut self.user_agent,
                13 if name.eq_ignore_ascii_case("if-none-match") => {
                    &mut self.conditions.if_none_match
                }
                15 if name.eq_ignore_ascii_case("accept-encoding") => &mut self.accept_encoding,
                17 if name.eq_ignore_ascii_case("if-modified-since") => {
                    &mut self.conditions.if_modified_since
                }
                19 if name.eq_ignore_ascii_case("if-unmodified-since") => {
                    &mut self.conditions.if_unmodified_since
                }
                29 if name.eq_ignore_ascii_case("access-control-request-method") => {
                    &mut self.preflight_method
                }
                30 if name.eq_ignore_ascii_case("access-control-request-headers") => {
                    &mut self.preflight_headers
                }
                9 | 15
                    if name.eq_ignore_ascii_case("forwarded")
                        || name.eq_ignore_ascii_case("x-forwarded-for") =>
                {
                    self.forwarded = true;
                    continue;
                }
                _ => continue,
            };
            *slot = Some(header.value);
        }
    }

    /// Whether the client accepts HTML, as a browser loading a page does.
    pub fn html(&self) -> bool {
        self.accept.is_some_and(negotiate::accepts_html)
    }

    /// Whether the client accepts a gzip body.
    pub fn accepts_gzip(&self) -> bool {
        self.accept_encoding
            .is_some_and(|accept| encoding::acceptable(accept).any(|c| c == Coding::Gzip))
    }
}
