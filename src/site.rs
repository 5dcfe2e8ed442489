//! Answering one request: from method and target to the response, in the order the checks
//! must happen. Each stage either answers or hands on to the next:
//!
//! 1. the method: only GET, HEAD and OPTIONS, decided before anything else is looked at;
//! 2. the target, decoded once and cleaned ([`crate::target`]);
//! 3. `OPTIONS`: 204 with `Allow`;
//! 4. the path: `…/index.html` redirects to `./`, hidden paths are 404 ([`crate::policy`]),
//!    then it is opened by the symlink policy ([`crate::fs`]);
//! 5. a directory: redirect to add the `/`, else its index file, else its listing;
//! 6. a file: redirect to drop a trailing `/`, else the file, or its precompressed sidecar,
//!    through the preconditions ([`crate::conditional`]) and ranges ([`crate::range`]).

use std::fs::{File, Metadata};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tiny_http::{Body, HeaderLines, Method, Request, Response};

use crate::access_log::{self, AccessLog, Entry, RequestLine};
use crate::byteranges::{self, Multipart};
use crate::cache_rules;
use crate::client_ip::Proxies;
use crate::compress;
use crate::conditional::{self, Outcome, Validators};
use crate::config::Config;
use crate::cors::{self, Cors};
use crate::dir;
use crate::encoding::{self, Coding};
use crate::errors;
use crate::fields::Fields;
use crate::fs::{OpenError, Opened, Root};
use crate::href;
use crate::listing::body::{self as listing_body, Budget};
use crate::listing::gate::Gate;
use crate::listing::html::Page;
use crate::listing::json::Json;
use crate::listing::{self, Listing, Sort};
use crate::live_root::LiveRoot;
use crate::negotiate;
use crate::page;
use crate::policy::Access;
use crate::range::{self, Ranges};
use crate::reply::{error, open_error, redirect, ALLOW};
use crate::representation::{self, http_date, Etag};
use crate::server::StartError;
use crate::target::{self, RequestPath, Target, TargetError};

/// The served tree and how to serve it; shared by all threads.
pub struct Site {
    root: LiveRoot,
    listing: bool,
    access: Access,
    /// Memory for listings in flight.
    budget: Budget,
    /// Slots for reading large directories.
    scans: Gate,
    /// `X-Content-Type-Options: nosniff` and the configured headers, as header lines added to
    /// every response (and to the ones tiny_http writes on its own).
    common_headers: HeaderLines,
    /// A configured `Cache-Control` header replaces ours.
    own_cache_control: bool,
    /// `Cache-Control` of files by URL path.
    cache_rules: Vec<cache_rules::Rule>,
    /// Whether bodies are gzipped on the fly.
    compress: bool,
    /// Compressed files, kept.
    compression: compress::Cache,
    /// Separates the parts of multipart/byteranges responses; random per process.
    boundary: String,
    log: Option<AccessLog>,
    /// Proxies whose forwarding headers name the client in the log.
    proxies: Proxies,
    /// Which origins' scripts may read responses.
    cors: Cors,
    /// The path answered with `200 ok`, if any.
    health_path: Option<String>,
    /// Set once shutdown has begun: the health path then answers `503`.
    draining: AtomicBool,
    /// The built-in error bodies.
    error_bodies: errors::Bodies,
    /// Pages that answer error statuses.
    error_pages: ErrorPages,
    /// The page for browsers asking for a path that doesn't exist (clean, under the root).
    fallback: Option<Vec<u8>>,
}

/// Memory all listings in flight may hold: 60 clients asking at once for the largest
/// listing fit with room to spare (about 30 MB for 60 × 10,000 entries with short names).
const LISTING_BUDGET: usize = 40 << 20;

/// A directory with more entries than this is read in one of the scan slots, by a thread that
/// has handed its place over to another.
const LARGE_DIRECTORY: usize = 4 * listing::PROGRESS_EVERY;

/// Compressing a file larger than this (about 4 ms of CPU) hands the thread's place over
/// first, as slow work does.
const LARGE_COMPRESSION: u64 = 256 * 1024;

/// Large listings refused with 503 rather than queued past this many waiting.
const MAX_WAITING_SCANS: usize = 64;

impl Site {
    /// The site `config` describes, serving `root`, logging to `log`. Fails if a configured
    /// page (`--error-page`, `--fallback`) isn't a file the policies let it serve.
    pub fn new(
        config: &Config,
        root: LiveRoot,
        log: Option<AccessLog>,
    ) -> Result<Site, StartError> {
        let configured = |name: &str| {
            config
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let access = Access {
            symlinks: config.symlinks,
            dotfiles: config.dotfiles,
        };
        let started_root = root.current(std::time::Instant::now());
        let (error_pages, fallback) = configured_pages(config, &started_root, access)?;
        Ok(Site {
            root,
            listing: config.listing,
            access,
            budget: Budget::new(LISTING_BUDGET),
            scans: Gate::new(cpus, MAX_WAITING_SCANS),
            common_headers: common_headers(config, !configured("X-Content-Type-Options")),
            own_cache_control: !configured("Cache-Control"),
            cache_rules: config.cache_rules.clone(),
            compress: config.compress,
            compression: compress::Cache::new(config.compression_cache),
            boundary: byteranges::random_boundary(),
            log,
            proxies: Proxies::new(config.trusted_proxies.clone()),
            cors: Cors::new(&config.cors_origins),
            health_path: config.health_path.clone(),
            draining: AtomicBool::new(false),
            error_bodies: errors::Bodies::new(),
            error_pages,
            fallback,
        })
    }

    /// The header lines every response carries, for the ones tiny_http writes on its own
    /// (protocol errors).
    pub fn common_headers(&self) -> &HeaderLines {
        &self.common_headers
    }

    /// From now on, the health path answers `503`: shutdown has begun.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Answers `request`, and logs it once the response is sent.
    pub fn handle(&self, request: Request) {
        let started = Instant::now();
        if let Some(mut response) = self.health(&request) {
            // Not logged: probes come every few seconds and would drown the log.
            response.add_header_lines(&self.common_headers);
            request.respond(response);
            return;
        }
        // One root for the whole request (see `live_root`).
        let root = self.root.current(started);
        let mut fields = Fields::new(&request, &root);
        fields.read_headers();
        let mut response = self.reply(&request, &fields);
        if response.status() >= 400 {
            self.error_body(&mut response, &fields);
        }
        self.cors_headers(&mut response, &fields);
        response.add_header_lines(&self.common_headers);
        if let Some(log) = self.log.as_ref().filter(|_| !is_probe(&fields)) {
            let line = log.begin(&self.log_entry(&fields, response.status()));
            let log = log.clone();
            response.on_complete(move |done| log.finish(line, done, started.elapsed()));
        }
        request.respond(response);
    }

    /// The answer to the health path, if `request` is for it: `200 ok`, or `503` once
    /// shutdown has begun, so that a load balancer stops sending requests.
    fn health(&self, request: &Request) -> Option<Response> {
        let path = self.health_path.as_deref()?;
        let target = request.url();
        let asked = target.split('?').next() == Some(path);
        if !asked || !matches!(request.method(), Method::Get | Method::Head) {
            return None;
        }
        let (status, body) = match self.draining.load(Ordering::Relaxed) {
            false => (200, "ok\n"),
            true => (503, "shutting down\n"),
        };
        let mut response = Response::new(status, Body::Bytes(body.into()));
        response.add_header("Content-Type", "text/plain; charset=utf-8");
        response.add_header("Cache-Control", "no-store");
        Some(response)
    }

    /// What the access log says about a request answered with `status`.
    fn log_entry<'r>(&self, fields: &Fields<'r>, status: u16) -> Entry<'r> {
        let request = fields.request;
        let peer = *request.remote_addr();
        let forwarded = if fields.forwarded && self.proxies.trusts(peer.ip()) {
            let values = |name: &str| -> Vec<&'r str> {
                let lines = request
                    .headers()
                    .filter(|h| h.name.eq_ignore_ascii_case(name));
                lines.map(|h| h.value).collect()
            };
            let client =
                self.proxies
                    .client(peer.ip(), &values("x-forwarded-for"), &values("forwarded"));
            Some(client).filter(|&ip| ip != crate::client_ip::canonical(peer.ip()))
        } else {
            None
        };
        let version = request.http_version();
        Entry {
            time: access_log::now(),
            peer,
            forwarded,
            request: RequestLine::Parsed {
                method: request.method_str(),
                target: request.url(),
                version: (version.0, version.1),
            },
            status,
            host: fields.host,
            referer: fields.referer,
            user_agent: fields.user_agent,
        }
    }

    /// Adds what CORS asks of a response: `Access-Control-Allow-Origin` when the request's
    /// origin may read it, and `Vary: Origin` whenever that depends on the origin.
    fn cors_headers(&self, response: &mut Response, fields: &Fields<'_>) {
        if !self.cors.is_enabled() {
            return;
        }
        if self.cors.varies() && !response.has_header("Vary") {
            response.add_header("Vary", "Origin");
        }
        // A preflight was answered in full, or refused, by `reply`.
        if fields.request.method() == Method::Options && fields.preflight_method.is_some() {
            return;
        }
        if let Some(origin) = self.cors.allow_origin(fields.origin) {
            response.add_header("Access-Control-Allow-Origin", origin);
            response.add_header("Access-Control-Expose-Headers", cors::EXPOSE_HEADERS);
        }
    }

    /// Grants a CORS preflight, if everything it asks for may be: reading, from an allowed
    /// origin, with headers a reader may send.
    fn preflight(&self, response: &mut Response, fields: &Fields<'_>, method: &str) {
        let Some(granted) = self
            .cors
            .preflight(fields.origin, method, fields.preflight_headers)
        else {
            return;
        };
        response.add_header("Access-Control-Allow-Origin", granted.origin);
        response.add_header("Access-Control-Allow-Methods", cors::ALLOW_METHODS);
        if !granted.headers.is_empty() {
            response.add_header("Access-Control-Allow-Headers", &granted.headers);
        }
        response.add_header("Access-Control-Max-Age", cors::MAX_AGE);
    }

    /// `Vary` naming what the response depends on, and `Origin` when CORS makes it so.
    fn vary(&self, on: Vary) -> &'static str {
        match (on, self.cors.varies()) {
            (Vary::Accept, false) => "Accept",
            (Vary::Accept, true) => "Accept, Origin",
            (Vary::Encoding, false) => "Accept-Encoding",
            (Vary::Encoding, true) => "Accept-Encoding, Origin",
            (Vary::AcceptAndEncoding, false) => "Accept, Accept-Encoding",
            (Vary::AcceptAndEncoding, true) => "Accept, Accept-Encoding, Origin",
        }
    }

    fn reply(&self, request: &Request, fields: &Fields<'_>) -> Response {
        let method = request.method();
        // Decided before the target or the file system is looked at (Go serves POST like GET).
        if !matches!(method, Method::Get | Method::Head | Method::Options) {
            let mut response = error(405);
            response.add_header("Allow", ALLOW);
            return response;
        }
        let target = match target::parse(request.url()) {
            Ok(target) => target,
            Err(TargetError::Malformed) => return error(400),
            Err(TargetError::Nul) => return error(404),
        };
        if method == Method::Options {
            let mut response = Response::new(204, Body::Empty);
            response.add_header("Allow", ALLOW);
            if let Some(asked) = fields.preflight_method {
                self.preflight(&mut response, fields, asked);
            }
            return response;
        }
        match target {
            Target::Asterisk => error(400),
            Target::Path(path) => self.get(&path, fields),
        }
    }

    /// GET and HEAD (HEAD differs only in tiny_http not sending the body).
    fn get(&self, path: &RequestPath<'_>, fields: &Fields<'_>) -> Response {
        if path.decoded.ends_with(b"/index.html") {
            return redirect("./", path.query);
        }
        if self.access.dotfiles.hides_path(&path.clean) {
            return error(404);
        }
        let opened = match fields.root.open(&path.clean, self.access) {
            Ok(opened) => opened,
            Err(OpenError::Missing) if self.fallback.is_some() && fields.html() => {
                return self.fallback(fields);
            }
            Err(err) => return open_error(err),
        };
        if opened.meta.is_dir() {
            if !path.has_trailing_slash() {
                let location = format!("{}/", href::href(path.last_segment()));
                return redirect(&location, path.query);
            }
            return self.directory(path, opened, fields);
        }
        if path.has_trailing_slash() {
            let location = format!("../{}", href::encode_segment(path.last_segment()));
            return redirect(&location, path.query);
        }
        self.file(&path.clean, opened, fields, Caching::Path(path))
    }

    /// The fallback page, for a browser asking for a path that doesn't exist: 200 with the
    /// page's own validators, to be revalidated every time (it stands for every missing path).
    fn fallback(&self, fields: &Fields<'_>) -> Response {
        let Some(rel) = &self.fallback else {
            return error(404);
        };
        match fields.root.open(rel, self.access) {
            Ok(opened) if opened.meta.is_file() => {
                self.file(rel, opened, fields, Caching::Fallback)
            }
            Ok(_) => error(404),
            Err(err) => open_error(err),
        }
    }

    /// Gives an error response its body: the configured page for its status if there is one,
    /// else a small HTML page for browsers and a line of text for others.
    fn error_body(&self, response: &mut Response, fields: &Fields<'_>) {
        let status = response.status();
        // Its body depends on Accept; a 416 says Vary: Accept-Encoding already, as every
        // answer about a file does, and keeps just that.
        if !response.has_header("Vary") {
            response.add_header("Vary", self.vary(Vary::Accept));
        }
        let custom = self.error_pages.iter().find(|(code, _)| *code == status);
        if let Some((_, rel)) = custom {
            if let Ok(Opened { file, meta }) = fields.root.open(rel, self.access) {
                if meta.is_file() {
                    let name = rel.rsplit(|&b| b == b'/').next().unwrap_or(b"");
                    response.add_header("Content-Type", &representation::content_type(name, &file));
                    if self.own_cache_control {
                        response.add_header("Cache-Control", "no-cache");
                    }
                    let len = meta.len();
                    response.set_body(Body::File {
                        file,
                        offset: 0,
                        len,
                    });
                    return;
                }
            }
        }
        let html = fields.html();
        if html {
            response.add_header("Content-Type", "text/html; charset=utf-8");
            response.add_header("Content-Security-Policy", page::CSP);
        } else {
            response.add_header("Content-Type", "text/plain; charset=utf-8");
        }
        response.set_body(self.error_bodies.body(status, html));
    }

    /// Evaluates the preconditions, and starts the response with the headers both a 200 and
    /// a 304 carry (RFC 9110 §15.4.5): validators, `Cache-Control`, `Vary`. `Ok` is the
    /// go-ahead, a 200 to give a body; `Err` is the finished answer, a 304 or a 412.
    fn validated(
        &self,
        fields: &Fields<'_>,
        validators: Validators<'_>,
        cache_control: Option<&str>,
        vary: Vary,
    ) -> Result<Response, Response> {
        let not_modified = match fields.conditions.evaluate(validators) {
            Outcome::Proceed => false,
            Outcome::NotModified => true,
            Outcome::PreconditionFailed => return Err(error(412)),
        };
        let mut response = Response::new(if not_modified { 304 } else { 200 }, Body::Empty);
        if !validators.etag.is_empty() {
            response.add_header("ETag", validators.etag);
        }
        if let Some(secs) = validators.last_modified {
            response.add_header("Last-Modified", http_date(secs).as_str());
        }
        if let Some(value) = cache_control {
            response.add_header("Cache-Control", value);
        }
        response.add_header("Vary", self.vary(vary));
        if not_modified {
            return Err(response);
        }
        Ok(response)
    }

    /// A directory URL: its index file, else its listing.
    fn directory(&self, path: &RequestPath<'_>, dir: Opened, fields: &Fields<'_>) -> Response {
        let mut index = path.clean.to_vec();
        if !index.is_empty() {
            index.push(b'/');
        }
        index.extend_from_slice(b"index.html");
        if let Ok(opened) = fields.root.open(&index, self.access) {
            if opened.meta.is_file() {
                return self.file(&index, opened, fields, Caching::Path(path));
            }
        }
        if !self.listing {
            return error(404);
        }
        self.listing(path, dir, fields)
    }

    /// A directory's listing, in HTML or JSON as the client prefers.
    fn listing(&self, path: &RequestPath<'_>, dir: Opened, fields: &Fields<'_>) -> Response {
        let last_modified = dir
            .meta
            .modified()
            .ok()
            .and_then(conditional::last_modified);
        // A listing has no ETag; an empty one can't match a quoted tag (but `*` matches).
        let validators = Validators {
            etag: "",
            last_modified,
        };
        let own = self.own_cache_control.then_some("no-cache");
        // A listing sent gzipped varies on Accept-Encoding too; one that can't be (the client
        // takes no gzip) is right for every client, so a cache may give it to anyone.
        let gzip = self.compress && fields.accepts_gzip();
        let vary = if gzip {
            Vary::AcceptAndEncoding
        } else {
            Vary::Accept
        };
        let mut response = match self.validated(fields, validators, own, vary) {
            Ok(response) => response,
            Err(answer) => return answer,
        };
        let sort = Sort::from_query(path.query);
        let listing = match self.read_listing(&dir, path.clean.is_empty(), sort, fields) {
            Ok(listing) => listing,
            Err(refused) => return refused,
        };
        if listing.truncated() {
            response.add_header_fmt("X-Total-Count", listing.total);
        }
        let held = listing.weight();
        let charged = if fields.accept.is_some_and(negotiate::wants_json) {
            response.add_header("Content-Type", "application/json");
            let json = Json::new(listing);
            listing_body::respond_with(&mut response, json, held, &self.budget, gzip)
        } else {
            response.add_header("Content-Type", "text/html; charset=utf-8");
            response.add_header("Content-Security-Policy", page::CSP);
            let page = Page::new(listing, &path.clean);
            listing_body::respond_with(&mut response, page, held, &self.budget, gzip)
        };
        match charged {
            Some(()) => response,
            None => busy(),
        }
    }

    /// Reads the listing of `dir`: a large directory in one of the scan slots, and not to the
    /// end if its client has gone. `Err` is the answer when it can't be read.
    fn read_listing(
        &self,
        dir: &Opened,
        at_root: bool,
        sort: Sort,
        fields: &Fields<'_>,
    ) -> Result<Listing, Response> {
        let request = fields.request;
        let reader = dir::Reader::new(fields.root, &dir.file, at_root, self.access);
        let mut slot = None;
        let mut refused = false;
        let read = Listing::read(&reader, sort, listing::MAX_ENTRIES, |entries| {
            if request.client_gone() {
                return ControlFlow::Break(());
            }
            if slot.is_none() && entries >= LARGE_DIRECTORY {
                request.will_block();
                slot = self.scans.enter();
                refused = slot.is_none();
                if refused {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        });
        match read {
            Ok(Some(listing)) => Ok(listing),
            // The client has gone: no one will read the answer.
            Ok(None) if !refused => Err(error(503)),
            Ok(None) => Err(busy()),
            Err(err) => Err(open_error(err.into())),
        }
    }

    /// A file response. `rel` is the file's path, for its name and its sidecars.
    fn file(
        &self,
        rel: &[u8],
        opened: Opened,
        fields: &Fields<'_>,
        caching: Caching<'_>,
    ) -> Response {
        let name = rel.rsplit(|&b| b == b'/').next().unwrap_or(b"");
        let content_type = representation::content_type(name, &opened.file);
        let (opened, coding) = match fields.accept_encoding {
            Some(accept) => self
                .sidecar(fields.root, rel, accept)
                .unwrap_or((opened, None)),
            None => (opened, None),
        };
        let Opened { file, meta } = opened;
        // No sidecar fits, but the client takes gzip: compressed here.
        if coding.is_none() && self.gzip_worth(&content_type, &meta, fields) {
            if let Some(response) = self.gzipped(&content_type, &file, &meta, fields, caching) {
                return response;
            }
            // It changed while being read, or can't be compressed now: sent as it is.
        }
        let etag = Etag::of(&meta, coding);
        let validators = Validators {
            etag: etag.as_str(),
            last_modified: meta.modified().ok().and_then(conditional::last_modified),
        };
        let cache_control = self.cache_control(caching, &content_type);
        let mut response = match self.validated(fields, validators, cache_control, caching.vary()) {
            Ok(response) => response,
            Err(answer) => return answer,
        };
        if let Some(coding) = coding {
            response.add_header("Content-Encoding", coding.token());
        }
        response.add_header("Accept-Ranges", "bytes");
        let size = meta.len();
        let ranges = match fields.range {
            Some(value) if fields.conditions.range_allowed(validators) => range::parse(value, size),
            _ => Ranges::Ignore,
        };
        self.ranged(response, file, size, &content_type, ranges)
    }

    /// The `Cache-Control` of a file response: the first cache rule that matches its URL
    /// path, else `no-cache` for HTML; nothing of ours when a `--header` sets it everywhere.
    fn cache_control<'a>(&'a self, caching: Caching<'a>, content_type: &str) -> Option<&'a str> {
        if !self.own_cache_control {
            return None;
        }
        match caching {
            // The URL is put together only when there are rules to match it against.
            Caching::Path(path) => (!self.cache_rules.is_empty())
                .then(|| cache_rules::find(&self.cache_rules, &url_path(path)))
                .flatten()
                .or_else(|| crate::content_type::is_html(content_type).then_some("no-cache")),
            Caching::Fallback => Some("no-cache"),
        }
    }

    /// Whether the file is worth gzipping for this client: it takes gzip, the type is
    /// compressible, the file is at least 1 KiB and small enough to keep compressed, and no
    /// `Range` is asked for (ranges are of the file itself).
    fn gzip_worth(&self, content_type: &str, meta: &Metadata, fields: &Fields<'_>) -> bool {
        self.compress
            && fields.range.is_none()
            && fields.accepts_gzip()
            && compress::is_compressible(content_type)
            && (compress::MIN_SIZE..=self.compression.max_file_size()).contains(&meta.len())
    }

    /// The gzipped response for the file: the preconditions are checked first, against the
    /// gzip ETag (which needs no compressed bytes), so a `304` compresses nothing. `None` if
    /// it can't be compressed now (changed while read, or too much compressing going on).
    fn gzipped(
        &self,
        content_type: &str,
        file: &File,
        meta: &Metadata,
        fields: &Fields<'_>,
        caching: Caching<'_>,
    ) -> Option<Response> {
        let etag = Etag::of(meta, Some(Coding::Gzip));
        let validators = Validators {
            etag: etag.as_str(),
            last_modified: meta.modified().ok().and_then(conditional::last_modified),
        };
        let cache_control = self.cache_control(caching, content_type);
        let mut response = match self.validated(fields, validators, cache_control, caching.vary()) {
            Ok(response) => response,
            Err(answer) => return Some(answer),
        };
        let size = meta.len();
        let body = self.compression.get_or_insert(
            compress::Key::of(meta),
            || fields.request.will_block(),
            || {
                if size <= LARGE_COMPRESSION {
                    return compress::gzip_file(file, meta);
                }
                // Like reading a large directory: slow work, in one of a few slots.
                fields.request.will_block();
                let _slot = self.scans.enter()?;
                compress::gzip_file(file, meta)
            },
        )?;
        response.add_header("Content-Encoding", "gzip");
        // No Accept-Ranges: ranges are served from the file itself, not this body.
        response.add_header("Content-Type", content_type);
        response.set_body(Body::Shared(body));
        Some(response)
    }

    /// The body of a file response: whole, one range, several, or none (416).
    fn ranged(
        &self,
        mut response: Response,
        file: std::fs::File,
        size: u64,
        content_type: &str,
        ranges: Ranges,
    ) -> Response {
        match ranges {
            Ranges::Ignore => {
                response.add_header("Content-Type", content_type);
                response.set_body(Body::File {
                    file,
                    offset: 0,
                    len: size,
                });
                response
            }
            Ranges::Unsatisfiable => {
                let mut response = error(416);
                response.add_header_fmt("Content-Range", format_args!("bytes */{size}"));
                response.add_header("Vary", self.vary(Vary::Encoding));
                response
            }
            Ranges::Satisfiable(ranges) if ranges.len() == 1 => {
                let r = ranges[0];
                response.set_status(206);
                response.add_header("Content-Type", content_type);
                response.add_header_fmt("Content-Range", r.content_range(size));
                response.set_body(Body::File {
                    file,
                    offset: r.start,
                    len: r.length,
                });
                response
            }
            Ranges::Satisfiable(ranges) => {
                response.set_status(206);
                response.add_header_fmt(
                    "Content-Type",
                    format_args!("multipart/byteranges; boundary={}", self.boundary),
                );
                let body = Multipart::new(file, &ranges, size, content_type, &self.boundary);
                response.set_body(Body::Stream {
                    len: body.len(),
                    reader: Box::new(body),
                });
                response
            }
        }
    }

    /// The best precompressed sidecar of `rel` that `accept` allows and the policy lets us
    /// open, if any.
    fn sidecar(&self, root: &Root, rel: &[u8], accept: &str) -> Option<(Opened, Option<Coding>)> {
        let mut name = Vec::with_capacity(rel.len() + 4);
        for coding in encoding::acceptable(accept) {
            name.clear();
            name.extend_from_slice(rel);
            name.extend_from_slice(coding.suffix());
            if let Ok(opened) = root.open(&name, self.access) {
                if opened.meta.is_file() {
                    return Some((opened, Some(coding)));
                }
            }
        }
        None
    }
}

/// Which caching rules apply to a file response.
#[derive(Clone, Copy)]
enum Caching<'a> {
    /// Those of its URL path (the cache rules, else `no-cache` for HTML: browsers otherwise
    /// cache HTML by heuristics and show stale pages after a deploy).
    Path(&'a RequestPath<'a>),
    /// The fallback page's: it stands for every missing path, and only for clients that
    /// accept HTML, so it is revalidated every time and varies on `Accept` too.
    Fallback,
}

impl Caching<'_> {
    fn vary(self) -> Vary {
        match self {
            Caching::Path(_) => Vary::Encoding,
            Caching::Fallback => Vary::AcceptAndEncoding,
        }
    }
}

/// What a response depends on besides its URL, for `Vary`.
#[derive(Clone, Copy)]
enum Vary {
    Accept,
    Encoding,
    AcceptAndEncoding,
}

/// Whether the request is `http-fileserver healthcheck`'s probe (`OPTIONS *`, which touches
/// nothing), left out of the log like the health path.
fn is_probe(fields: &Fields<'_>) -> bool {
    fields.request.method() == Method::Options
        && fields.request.url() == "*"
        && fields
            .user_agent
            .is_some_and(|ua| ua.starts_with(crate::healthcheck::USER_AGENT))
}

/// The URL path cache rules are matched against: the clean path, absolute, with the trailing
/// `/` of a directory URL.
fn url_path(path: &RequestPath<'_>) -> Vec<u8> {
    let mut url = Vec::with_capacity(path.clean.len() + 2);
    url.push(b'/');
    url.extend_from_slice(&path.clean);
    if path.has_trailing_slash() && !path.clean.is_empty() {
        url.push(b'/');
    }
    url
}

/// `X-Content-Type-Options: nosniff` (with `nosniff`, when it isn't configured) and the
/// configured headers, as header lines.
fn common_headers(config: &Config, nosniff: bool) -> HeaderLines {
    let mut lines = Vec::new();
    let mut add = |name: &str, value: &str| {
        lines.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    };
    if nosniff {
        add("X-Content-Type-Options", "nosniff");
    }
    for (name, value) in &config.headers {
        add(name, value);
    }
    HeaderLines::new(&lines)
}

/// Error statuses and the clean paths under the root of the pages that answer them.
type ErrorPages = Vec<(u16, Vec<u8>)>;

/// The configured error pages and fallback, checked against `root`.
fn configured_pages(
    config: &Config,
    root: &Root,
    access: Access,
) -> Result<(ErrorPages, Option<Vec<u8>>), StartError> {
    let error_pages = config
        .error_pages
        .iter()
        .map(|(code, path)| {
            let shown = format!("{code}={path}");
            Ok((*code, page(root, access, "--error-page", &shown, path)?))
        })
        .collect::<Result<_, StartError>>()?;
    let fallback = config
        .fallback
        .as_deref()
        .map(|path| page(root, access, "--fallback", path, path))
        .transpose()?;
    Ok((error_pages, fallback))
}

/// A configured page's path under the root, checked at start-up: it must be a file the
/// policies serve. `shown` is the option's value, for the error.
fn page(
    root: &Root,
    access: Access,
    option: &'static str,
    shown: &str,
    path: &str,
) -> Result<Vec<u8>, StartError> {
    let failed = |reason: &'static str| StartError::page(option, shown, reason);
    let clean = match target::parse(path) {
        Ok(Target::Path(p)) if !p.clean.is_empty() => p.clean.into_owned(),
        _ => return Err(failed("not a path to a file")),
    };
    if access.dotfiles.hides_path(&clean) {
        return Err(failed("hidden by --dotfiles"));
    }
    match root.open(&clean, access) {
        Ok(opened) if opened.meta.is_file() => Ok(clean),
        Ok(_) => Err(failed("a directory, not a file")),
        Err(_) => Err(failed(
            "no such file under ROOT, or one the --symlinks policy refuses",
        )),
    }
}

/// 503 with `Retry-After`: a listing that can't be made now, for lack of memory or of a slot.
fn busy() -> Response {
    let mut response = error(503);
    response.add_header("Retry-After", "1");
    response
}
