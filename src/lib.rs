//! http-fileserver: a static-file HTTP server meant to be the only file in its container image.
//!
//! The binary is a thin shell around [`cli::main`]. The protocol logic lives in small modules
//! of pure functions ([`target`], [`range`], [`conditional`], [`encoding`], [`content_type`],
//! [`listing`]); [`site`] puts them together to answer a request; [`fs`] opens files under the
//! root by the symlink policy; [`server`] runs it all on our copy of tiny_http.
#![deny(unsafe_code)]

pub mod access_log;
pub mod cli;
pub mod conditional;
pub mod config;
pub mod content_type;
pub mod encoding;
pub mod fs;
pub mod healthcheck;
pub mod listing;
pub mod range;
pub mod server;
pub mod site;
mod sys;
pub mod target;
pub mod timefmt;
