//! `--cors-origin`: which other sites' scripts may read the files (CORS).
//!
//! A browser lets a script read a response from another origin only if the response names
//! the script's origin, or `*`, in `Access-Control-Allow-Origin`. For a request it can't send
//! as a plain GET (a `Range` or `If-None-Match` header, say) it first asks with a preflight,
//! `OPTIONS` carrying `Access-Control-Request-Method` and `-Headers`, and sends the request
//! only if the answer allows them. Only reading is ever allowed: GET and HEAD, the request
//! headers this server acts on, and no credentials.

/// Request headers a preflight may be granted: those a static-file client has reason to send
/// (preconditions, ranges, content negotiation, cache directives), none that carries
/// credentials. Lowercase.
const ALLOWED_HEADERS: &[&str] = &[
    "accept",
    "accept-language",
    "cache-control",
    "content-language",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "pragma",
    "range",
    "x-requested-with",
];

/// Response headers scripts may read beyond the ones every response exposes.
pub const EXPOSE_HEADERS: &str =
    "Content-Range, Accept-Ranges, ETag, Content-Encoding, X-Total-Count";

/// The methods a preflight may be granted.
pub const ALLOW_METHODS: &str = "GET, HEAD";

/// How long a browser may keep a preflight's answer: Chromium keeps at most 2 hours.
pub const MAX_AGE: &str = "7200";

/// The configured origins.
#[derive(Debug, Clone, Default)]
pub struct Cors {
    any: bool,
    origins: Vec<String>,
}

/// A preflight's answer, when it is granted.
#[derive(Debug, PartialEq, Eq)]
pub struct Preflight<'a> {
    /// `Access-Control-Allow-Origin`.
    pub origin: &'a str,
    /// `Access-Control-Allow-Headers`: the requested headers, all of them allowed; empty when
    /// none was asked for.
    pub headers: String,
}

impl Cors {
    /// Allows these origins (`*` among them allows every origin).
    pub fn new(origins: &[String]) -> Cors {
        Cors {
            any: origins.iter().any(|o| o == "*"),
            origins: origins.iter().filter(|o| *o != "*").cloned().collect(),
        }
    }

    /// Whether any origin is allowed at all.
    pub fn is_enabled(&self) -> bool {
        self.any || !self.origins.is_empty()
    }

    /// Whether the answer depends on the request's `Origin` (a list of origins rather than
    /// `*`), so that responses must say `Vary: Origin`.
    pub fn varies(&self) -> bool {
        !self.any && !self.origins.is_empty()
    }

    /// The `Access-Control-Allow-Origin` for a request from `origin`, if it is allowed.
    pub fn allow_origin<'a>(&'a self, origin: Option<&str>) -> Option<&'a str> {
        if self.any {
            return Some("*");
        }
        let origin = origin?;
        self.origins
            .iter()
            .find(|o| o.eq_ignore_ascii_case(origin))
            .map(String::as_str)
    }

    /// The answer to a preflight from `origin` asking for `method` and `headers` (the
    /// comma-separated `Access-Control-Request-Headers`), if everything asked is allowed.
    pub fn preflight<'a>(
        &'a self,
        origin: Option<&str>,
        method: &str,
        headers: Option<&str>,
    ) -> Option<Preflight<'a>> {
        let origin = self.allow_origin(origin)?;
        if !matches!(method.trim(), "GET" | "HEAD") {
            return None;
        }
        let mut granted = String::new();
        for name in headers.unwrap_or("").split(',').map(str::trim) {
            if name.is_empty() {
                continue;
            }
            let name = name.to_ascii_lowercase();
            if !ALLOWED_HEADERS.contains(&name.as_str()) {
                return None;
            }
            if !granted.is_empty() {
                granted.push_str(", ");
            }
            granted.push_str(&name);
        }
        Some(Preflight {
            origin,
            headers: granted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(origins: &[&str]) -> Cors {
        Cors::new(&origins.iter().map(|o| o.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn origins() {
        let none = cors(&[]);
        assert!(!none.is_enabled());
        assert_eq!(none.allow_origin(Some("https://a.example")), None);
        let any = cors(&["*"]);
        assert_eq!(any.allow_origin(None), Some("*"));
        assert!(!any.varies());
        let list = cors(&["https://a.example", "http://localhost:3000"]);
        assert!(list.varies());
        assert_eq!(
            list.allow_origin(Some("https://a.example")),
            Some("https://a.example")
        );
        assert_eq!(
            list.allow_origin(Some("http://localhost:3000")),
            Some("http://localhost:3000")
        );
        assert_eq!(list.allow_origin(Some("https://a.example.evil")), None);
        assert_eq!(list.allow_origin(Some("http://a.example")), None);
        assert_eq!(list.allow_origin(Some("null")), None);
        assert_eq!(list.allow_origin(None), None);
    }

    #[test]
    fn preflights() {
        let list = cors(&["https://a.example"]);
        let granted = list.preflight(
            Some("https://a.example"),
            "GET",
            Some("Range, if-none-match"),
        );
        assert_eq!(
            granted,
            Some(Preflight {
                origin: "https://a.example",
                headers: "range, if-none-match".into()
            })
        );
        let plain = list
            .preflight(Some("https://a.example"), "HEAD", None)
            .unwrap();
        assert_eq!(plain.headers, "");
        // Writing, credentials, other origins: refused.
        assert_eq!(list.preflight(Some("https://a.example"), "PUT", None), None);
        let auth = list.preflight(Some("https://a.example"), "GET", Some("authorization"));
        assert_eq!(auth, None);
        assert_eq!(list.preflight(Some("https://b.example"), "GET", None), None);
    }
}
