//! Conditional requests (RFC 9110 §13): preconditions, in the order of §13.2.2, and `If-Range`.
//!
//! Only GET and HEAD get this far (other methods are refused first), so a matching
//! `If-None-Match` or an unmodified `If-Modified-Since` always means 304.

use std::time::{SystemTime, UNIX_EPOCH};

/// The validators of the representation being served.
#[derive(Debug, Clone, Copy)]
pub struct Validators<'a> {
    /// The strong ETag, quotes included.
    pub etag: &'a str,
    /// `Last-Modified` in seconds since the epoch; `None` when it isn't sent (an mtime at most
    /// one second after the epoch, as in the Nix store), and then no date ever matches.
    pub last_modified: Option<u64>,
}

/// The conditional header fields of a request.
#[derive(Debug, Default, Clone, Copy)]
pub struct Conditions<'a> {
    /// `If-Match`: a list of entity tags, or `*`.
    pub if_match: Option<&'a str>,
    /// `If-None-Match`: a list of entity tags, or `*`.
    pub if_none_match: Option<&'a str>,
    /// `If-Modified-Since`: an HTTP date.
    pub if_modified_since: Option<&'a str>,
    /// `If-Unmodified-Since`: an HTTP date.
    pub if_unmodified_since: Option<&'a str>,
    /// `If-Range`: an entity tag or an HTTP date.
    pub if_range: Option<&'a str>,
}

/// What the preconditions decide.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Outcome {
    /// Answer as if there were no preconditions.
    Proceed,
    /// 304.
    NotModified,
    /// 412.
    PreconditionFailed,
}

impl Conditions<'_> {
    /// Evaluates the preconditions of a GET or HEAD for an existing representation, in the
    /// order of RFC 9110 §13.2.2:
    ///
    /// 1. `If-Match` (strong comparison) fails: 412;
    /// 2. else, without `If-Match`, `If-Unmodified-Since` earlier than `Last-Modified`: 412;
    /// 3. `If-None-Match` (weak comparison) matches: 304;
    /// 4. else, without `If-None-Match`, `If-Modified-Since` not earlier than
    ///    `Last-Modified`: 304;
    /// 5. otherwise proceed. Unparseable dates are ignored, and a representation without
    ///    `Last-Modified` never matches a date.
    pub fn evaluate(&self, v: Validators<'_>) -> Outcome {
        if let Some(list) = self.if_match {
            if !matches_any(list, v.etag, Compare::Strong) {
                return Outcome::PreconditionFailed;
            }
        } else if let (Some(date), Some(modified)) = (self.if_unmodified_since, v.last_modified) {
            if parse_date(date).is_some_and(|date| modified > date) {
                return Outcome::PreconditionFailed;
            }
        }
        if let Some(list) = self.if_none_match {
            if matches_any(list, v.etag, Compare::Weak) {
                return Outcome::NotModified;
            }
        } else if let (Some(date), Some(modified)) = (self.if_modified_since, v.last_modified) {
            if parse_date(date).is_some_and(|date| modified <= date) {
                return Outcome::NotModified;
            }
        }
        Outcome::Proceed
    }

    /// Whether a `Range` may be honoured: no `If-Range`, or one naming exactly this
    /// representation by strong ETag or by its `Last-Modified` date.
    pub fn range_allowed(&self, v: Validators<'_>) -> bool {
        let Some(value) = self.if_range.map(str::trim) else {
            return true;
        };
        if value.starts_with('"') || value.starts_with("W/") {
            return value == v.etag;
        }
        match (parse_date(value), v.last_modified) {
            (Some(date), Some(modified)) => date == modified,
            _ => false,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Compare {
    Strong,
    Weak,
}

/// Whether an entity-tag list (`*`, or `"a", W/"b"`) names `etag` (a strong tag, quoted).
fn matches_any(list: &str, etag: &str, compare: Compare) -> bool {
    if list.trim() == "*" {
        return true;
    }
    let mut rest = list;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return false;
        }
        let weak = rest.starts_with("W/");
        let tagged = if weak { &rest[2..] } else { rest };
        // An entity tag is a quoted string that may itself contain commas.
        let Some(end) = tagged.strip_prefix('"').and_then(|t| t.find('"')) else {
            return false;
        };
        let tag = &tagged[..end + 2];
        if tag == etag && (compare == Compare::Weak || !weak) {
            return true;
        }
        rest = &tagged[end + 2..];
    }
}

/// An HTTP date (any of the three formats of RFC 9110 §5.6.7) in seconds since the epoch.
fn parse_date(value: &str) -> Option<u64> {
    let time = httpdate::parse_http_date(value.trim()).ok()?;
    Some(time.duration_since(UNIX_EPOCH).ok()?.as_secs())
}

/// `Last-Modified` for a file modified at `mtime`: whole seconds, or `None` for an mtime at most
/// one second after the epoch. Such files come from the Nix store or from archives that zero
/// their dates; sending the date would let clients answer 304 forever across content changes.
pub fn last_modified(mtime: SystemTime) -> Option<u64> {
    let secs = mtime.duration_since(UNIX_EPOCH).ok()?.as_secs();
    (secs > 1).then_some(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETAG: &str = "\"abc\"";
    const T: u64 = 1_700_000_000; // Tue, 14 Nov 2023 22:13:20 GMT

    fn v(last_modified: Option<u64>) -> Validators<'static> {
        Validators {
            etag: ETAG,
            last_modified,
        }
    }

    fn date(secs: u64) -> String {
        httpdate::fmt_http_date(UNIX_EPOCH + std::time::Duration::from_secs(secs))
    }

    #[test]
    fn if_match_is_strong_and_comes_first() {
        let c = Conditions {
            if_match: Some("\"x\", \"abc\""),
            ..Default::default()
        };
        assert_eq!(c.evaluate(v(Some(T))), Outcome::Proceed);
        let c = Conditions {
            if_match: Some("W/\"abc\""),
            ..Default::default()
        };
        assert_eq!(c.evaluate(v(Some(T))), Outcome::PreconditionFailed);
        let c = Conditions {
            if_match: Some("*"),
            if_unmodified_since: Some("Thu, 01 Jan 1970 00:00:00 GMT"),
            ..Default::default()
        };
        // If-Unmodified-Since is only looked at without If-Match.
        assert_eq!(c.evaluate(v(Some(T))), Outcome::Proceed);
    }

    fn unmodified_since(date: &str) -> Conditions<'_> {
        Conditions {
            if_unmodified_since: Some(date),
            ..Default::default()
        }
    }

    fn modified_since(date: &str) -> Conditions<'_> {
        Conditions {
            if_modified_since: Some(date),
            ..Default::default()
        }
    }

    #[test]
    fn if_unmodified_since() {
        let earlier = date(T - 1);
        let c = unmodified_since(&earlier);
        assert_eq!(c.evaluate(v(Some(T))), Outcome::PreconditionFailed);
        assert_eq!(c.evaluate(v(None)), Outcome::Proceed);
        let c = unmodified_since("yesterday");
        assert_eq!(c.evaluate(v(Some(T))), Outcome::Proceed);
    }

    #[test]
    fn if_none_match_is_weak_and_beats_if_modified_since() {
        for list in [
            "\"abc\"",
            "W/\"abc\"",
            "\"x\",W/\"abc\"",
            "*",
            "\"a,b\", \"abc\"",
        ] {
            let c = Conditions {
                if_none_match: Some(list),
                ..Default::default()
            };
            assert_eq!(c.evaluate(v(Some(T))), Outcome::NotModified, "{list}");
        }
        let now = date(T);
        let c = Conditions {
            if_none_match: Some("\"other\""),
            if_modified_since: Some(&now),
            ..Default::default()
        };
        assert_eq!(c.evaluate(v(Some(T))), Outcome::Proceed);
    }

    #[test]
    fn if_modified_since_to_the_second() {
        for (secs, outcome) in [
            (T, Outcome::NotModified),
            (T + 10, Outcome::NotModified),
            (T - 1, Outcome::Proceed),
        ] {
            let d = date(secs);
            let c = modified_since(&d);
            assert_eq!(c.evaluate(v(Some(T))), outcome);
            // Never for files without Last-Modified.
            assert_eq!(c.evaluate(v(None)), Outcome::Proceed);
        }
        // The obsolete formats are dates too (RFC 9110 §5.6.7).
        let c = modified_since("Tuesday, 14-Nov-23 22:13:20 GMT");
        assert_eq!(c.evaluate(v(Some(T))), Outcome::NotModified);
    }

    #[test]
    fn if_range() {
        let exact = date(T);
        let later = date(T + 1);
        let check = |value: &str, lm| {
            Conditions {
                if_range: Some(value),
                ..Default::default()
            }
            .range_allowed(v(lm))
        };
        assert!(check(ETAG, Some(T)));
        assert!(!check("W/\"abc\"", Some(T)));
        assert!(!check("\"other\"", Some(T)));
        assert!(check(&exact, Some(T)));
        assert!(!check(&later, Some(T)));
        assert!(!check(&exact, None));
        assert!(!check("garbage", Some(T)));
        assert!(Conditions::default().range_allowed(v(None)));
    }

    #[test]
    fn last_modified_is_hidden_near_the_epoch() {
        let at = |s| UNIX_EPOCH + std::time::Duration::from_secs(s);
        assert_eq!(last_modified(at(0)), None);
        assert_eq!(last_modified(at(1)), None);
        assert_eq!(last_modified(at(2)), Some(2));
    }
}
