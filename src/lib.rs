//! http-fileserver: a static-file HTTP server meant to be the only file in its container image.
//!
//! The binary is a thin shell around [`cli::main`]. A request takes this path through the
//! modules:
//!
//! 1. [`server`] starts everything and handles signals; the vendored `tiny_http` accepts
//!    connections, parses request heads and hands each request to [`site::Site::handle`];
//! 2. [`site`] answers it, stage by stage, from the header [`fields`] it acts on: the health
//!    path first, then [`target`] turns the request target into a clean path, [`policy`]
//!    decides what may be served, [`fs`] opens it under the root by the symlink policy;
//! 3. a directory becomes its index file or a [`listing`]; a file gets its
//!    [`representation`] (content type from [`content_type`], ETag, dates), a precompressed
//!    sidecar chosen by [`encoding`] through [`negotiate`] or a body gzipped by
//!    [`compress`], its `Cache-Control` from [`cache_rules`], its preconditions checked by
//!    [`conditional`], and its [`range`]s served whole or as [`byteranges`];
//! 4. errors and redirects come from [`reply`], [`cors`] headers are added, and the sent
//!    response is written to the [`access_log`], with the client behind trusted proxies
//!    found by [`client_ip`].
//!
//! [`config`] reads flags and environment variables, [`healthcheck`] is the probe command,
//! [`timefmt`] formats dates, and `sys` holds the crate's few system calls.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod access_log;
pub mod byteranges;
pub mod cache_rules;
pub mod cli;
pub mod client_ip;
pub mod compress;
pub mod conditional;
pub mod config;
pub mod content_type;
pub mod cors;
pub mod dir;
pub mod encoding;
pub mod errors;
pub mod fields;
pub mod fs;
pub mod healthcheck;
pub mod href;
pub mod listing;
pub mod live_root;
pub mod negotiate;
pub mod page;
pub mod policy;
pub mod range;
pub mod reply;
pub mod representation;
pub mod server;
pub mod site;
mod sys;
pub mod target;
pub mod timefmt;
