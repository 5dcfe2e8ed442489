//! Option values: the text a flag or an environment variable carries, turned into what the
//! configuration holds. Each parser says what it expected when the text won't do; the caller
//! adds which option it was.

use std::borrow::Cow;
use std::net::IpAddr;
use std::time::Duration;

use crate::policy::{Dotfiles, Symlinks};

/// What a value should have looked like: the end of a usage error's one line.
pub type Expected = Cow<'static, str>;

pub fn port(v: &str) -> Result<u16, Expected> {
    v.trim()
        .parse()
        .map_err(|_| "a port number from 0 to 65535".into())
}

/// An address to bind: an IP address, or `localhost` (the IPv4 loopback, which every
/// client resolving `localhost` reaches).
pub fn ip(v: &str) -> Result<IpAddr, Expected> {
    let bare = v.trim().trim_start_matches('[').trim_end_matches(']');
    if bare.eq_ignore_ascii_case("localhost") {
        return Ok(std::net::Ipv4Addr::LOCALHOST.into());
    }
    bare.parse().map_err(|_| {
        "an IP address: 0.0.0.0 or :: for every interface, 127.0.0.1 (or localhost) or ::1 \
         for this machine only"
            .into()
    })
}

/// An address range for `--trusted-proxy`: `10.0.0.0/8`, `fd00::/8`, or one address.
pub fn cidr(v: &str) -> Result<crate::client_ip::Cidr, Expected> {
    crate::client_ip::Cidr::parse(v)
        .ok_or_else(|| "an address or range such as 10.0.0.0/8, 172.16.0.0/12 or fd00::/8".into())
}

/// An origin for `--cors-origin`: `scheme://host[:port]`, as browsers send it, or `*`.
pub fn cors_origin(v: &str) -> Result<String, Expected> {
    let v = v.trim().to_ascii_lowercase();
    let expected = "* or an origin such as https://app.example.com or http://localhost:3000 \
                    (scheme, host and port; no path)";
    if v == "*" {
        return Ok(v);
    }
    let (scheme, rest) = v.split_once("://").ok_or(expected)?;
    let host_ok = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    if !matches!(scheme, "http" | "https") || !host_ok {
        return Err(expected.into());
    }
    Ok(v)
}

/// `default`, `common`, `combined` or `json`.
pub fn log_format(v: &str) -> Result<crate::access_log::Format, Expected> {
    use crate::access_log::Format;
    match v.trim().to_ascii_lowercase().as_str() {
        "default" => Ok(Format::Default),
        "common" | "clf" => Ok(Format::Common),
        "combined" => Ok(Format::Combined),
        "json" => Ok(Format::Json),
        _ => Err("default, common, combined or json".into()),
    }
}

pub fn boolean(v: &str) -> Result<bool, Expected> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err("1/true/yes/on or 0/false/no/off".into()),
    }
}

pub fn dotfiles(v: &str) -> Result<Dotfiles, Expected> {
    match v.trim() {
        "hide" => Ok(Dotfiles::Hide),
        "allow" => Ok(Dotfiles::Allow),
        _ => Err("hide or allow".into()),
    }
}

pub fn symlinks(v: &str) -> Result<Symlinks, Expected> {
    match v.trim() {
        "inside" => Ok(Symlinks::Inside),
        "any" => Ok(Symlinks::Any),
        "deny" => Ok(Symlinks::Deny),
        _ => Err("inside, any or deny".into()),
    }
}

/// A whole number above 0.
pub fn count(v: &str) -> Result<usize, Expected> {
    match v.trim().parse() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("a whole number above 0".into()),
    }
}

/// A whole number, 0 for "no limit".
pub fn limit(v: &str) -> Result<usize, Expected> {
    v.trim()
        .parse()
        .map_err(|_| "a whole number (0 for no limit)".into())
}

/// `15` (seconds), `15s`, `500ms` or `2m`.
pub fn duration(v: &str) -> Result<Duration, Expected> {
    let s = v.trim();
    let (number, scale_ms) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000)
    } else {
        (s, 1000)
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale_ms))
        .map(Duration::from_millis)
        .ok_or_else(|| "a duration such as 15, 15s, 500ms or 2m".into())
}

/// A path under the root, as a URL path: `/index.html`.
pub fn site_path(v: &str) -> Result<String, Expected> {
    let v = v.trim();
    if !v.starts_with('/') || v.contains(['\0', '?', '#']) {
        return Err("a path under ROOT starting with /, such as /index.html".into());
    }
    Ok(v.to_string())
}

/// `CODE=PATH`: an error status (400 to 599) and the page that answers it.
pub fn error_page(v: &str) -> Result<(u16, String), Expected> {
    let expected = "CODE=PATH with CODE from 400 to 599, such as 404=/404.html";
    let (code, path) = v.split_once('=').ok_or(expected)?;
    let code: u16 = code.trim().parse().map_err(|_| expected)?;
    if !(400..=599).contains(&code) {
        return Err(expected.into());
    }
    Ok((code, site_path(path)?))
}

/// `PATTERN=VALUE`: a cache rule (see [`crate::cache_rules`]).
pub fn cache_rule(v: &str) -> Result<crate::cache_rules::Rule, Expected> {
    let expected = "PATTERN=VALUE, such as '/assets/*=public, max-age=31536000, immutable'";
    let (pattern, value) = v.split_once('=').ok_or(expected)?;
    let (pattern, value) = (pattern.trim(), value.trim_matches([' ', '\t']));
    if !(pattern.starts_with('/') || pattern.starts_with('*')) {
        return Err("a pattern that starts with / or *, such as /assets/*".into());
    }
    if value.is_empty()
        || !value
            .bytes()
            .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
    {
        return Err(format!("{expected}, the value printable ASCII").into());
    }
    Ok(crate::cache_rules::Rule {
        pattern: pattern.to_string(),
        value: value.to_string(),
    })
}

/// A size in bytes: a number, or a number with K, M or G (powers of 1024, `KiB` and `MB`
/// spellings accepted too); `0` is none.
pub fn size(v: &str) -> Result<usize, Expected> {
    let s = v.trim();
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let scale: usize = match s[digits.len()..].to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err("a size such as 0, 512K, 32M or 1G".into()),
    };
    digits
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| "a size such as 0, 512K, 32M or 1G".into())
}

/// `off`, or the codings to compress with on the fly (only `gzip` is built in).
pub fn compress(v: &str) -> Result<bool, Expected> {
    match v.trim().to_ascii_lowercase().as_str() {
        "off" | "none" => Ok(false),
        "gzip" | "on" => Ok(true),
        _ => Err("off or gzip".into()),
    }
}

/// Response headers a configured header may not set: they frame the message, describe the
/// representation, or are the server's to decide.
const RESERVED_HEADERS: &[&str] = &[
    "accept-ranges",
    "allow",
    "connection",
    "content-encoding",
    "content-length",
    "content-range",
    "content-type",
    "date",
    "etag",
    "keep-alive",
    "last-modified",
    "location",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "vary",
];

/// Whether `b` may appear in a header name (an RFC 9110 token).
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `Name: value`, a header the server may send as configured.
pub fn header(v: &str) -> Result<(String, String), Expected> {
    let Some((name, value)) = v.split_once(':') else {
        return Err("'Name: value'".into());
    };
    let value = value.trim_matches([' ', '\t']);
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Err("a header name that is a token, such as X-Frame-Options".into());
    }
    if !value
        .bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
    {
        return Err("a header value of printable ASCII".into());
    }
    if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err("a header the server doesn't set itself".into());
    }
    Ok((name.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("15"), Ok(Duration::from_secs(15)));
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration("0"), Ok(Duration::ZERO));
        assert!(duration("5h").is_err());
        assert!(duration("-1").is_err());
        assert!(duration("99999999999999999999m").is_err());
    }

    #[test]
    fn headers() {
        assert_eq!(
            header("X-A:  b c "),
            Ok(("X-A".to_string(), "b c".to_string()))
        );
        assert!(header("NoColon").is_err());
        assert!(header("Bad Name: x").is_err());
        assert!(header("X-A: a\u{7}").is_err());
        assert!(header("content-length: 5").is_err());
    }

    #[test]
    fn pages() {
        assert_eq!(error_page("404=/404.html"), Ok((404, "/404.html".into())));
        assert!(error_page("200=/x.html").is_err());
        assert!(error_page("404=x.html").is_err());
        assert!(error_page("404").is_err());
        assert_eq!(site_path(" /index.html "), Ok("/index.html".into()));
        assert!(site_path("index.html").is_err());
    }

    #[test]
    fn cache_rules_sizes_and_codings() {
        let rule = cache_rule("/assets/*=public, max-age=31536000, immutable").unwrap();
        assert_eq!(rule.pattern, "/assets/*");
        assert_eq!(rule.value, "public, max-age=31536000, immutable");
        assert!(cache_rule("assets/*=x").is_err());
        assert!(cache_rule("/x=").is_err());
        assert!(cache_rule("/x=a\u{7}").is_err());
        assert!(cache_rule("/x").is_err());
        assert_eq!(size("32M"), Ok(32 << 20));
        assert_eq!(size("512 KiB"), Ok(512 << 10));
        assert_eq!(size("0"), Ok(0));
        assert_eq!(size("100"), Ok(100));
        assert!(size("lots").is_err());
        assert!(size("5T").is_err());
        assert_eq!(compress("OFF"), Ok(false));
        assert_eq!(compress("gzip"), Ok(true));
        assert!(compress("br").is_err());
    }

    #[test]
    fn small_values() {
        assert_eq!(port(" 80 "), Ok(80));
        assert!(port("70000").is_err());
        assert_eq!(ip("[::1]"), Ok("::1".parse().unwrap()));
        assert_eq!(ip("localhost"), Ok("127.0.0.1".parse().unwrap()));
        assert!(ip("example.com").is_err());
        assert!(cidr("10.0.0.0/8").is_ok());
        assert!(cidr("10.0.0.0/40").is_err());
        assert_eq!(cors_origin("*"), Ok("*".into()));
        assert_eq!(
            cors_origin("HTTPS://App.Example.com"),
            Ok("https://app.example.com".into())
        );
        assert!(cors_origin("http://localhost:3000").is_ok());
        for bad in [
            "https://a.example/",
            "a.example",
            "null",
            "ftp://a.example",
            "https://",
        ] {
            assert!(cors_origin(bad).is_err(), "{bad}");
        }
        assert!(log_format("json").is_ok());
        assert!(log_format("apache").is_err());
        assert_eq!(boolean("YES"), Ok(true));
        assert_eq!(boolean(""), Ok(false));
        assert!(boolean("maybe").is_err());
        assert!(count("0").is_err());
        assert_eq!(count("3"), Ok(3));
    }
}
