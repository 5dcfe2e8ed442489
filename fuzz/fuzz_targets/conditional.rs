//! Precondition evaluation: `Conditions::evaluate` and `Conditions::range_allowed` with
//! arbitrary header values and validators.
//!
//! Input layout: a flags byte, 8 bytes of Last-Modified, then six fields separated by `\n`
//! (ETag, If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since, If-Range), each
//! lossy UTF-8; a flag bit marks each header absent or present.
//!
//! Invariants (docs/behaviour.md, "Conditional requests"): no panic; no header → Proceed;
//! `If-Match` with our tag proceeds and `If-None-Match` with it is a 304; `If-Range` naming our
//! strong ETag exactly allows the range; a weak or different tag doesn't.
#![no_main]

use http_fileserver::conditional::{Conditions, Outcome, Validators};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 9 {
        return;
    }
    let flags = data[0];
    let lm = u64::from_le_bytes(data[1..9].try_into().unwrap());
    // Mostly dates near now, where real comparisons happen; sometimes anything.
    let last_modified = match flags >> 6 {
        0 => None,
        1 => Some(lm),
        _ => Some(1_700_000_000 + lm % 200_000_000),
    };
    let text = String::from_utf8_lossy(&data[9..]);
    let mut parts = text.split('\n');
    let etag = parts.next().unwrap_or("\"abc\"");
    let mut field = |bit: u8| {
        let value = parts.next();
        if flags & (1 << bit) != 0 {
            value
        } else {
            None
        }
    };
    let conditions = Conditions {
        if_match: field(0),
        if_none_match: field(1),
        if_modified_since: field(2),
        if_unmodified_since: field(3),
        if_range: field(4),
    };
    let v = Validators {
        etag,
        last_modified,
    };

    let _ = conditions.evaluate(v);
    let _ = conditions.range_allowed(v);

    // Nothing conditional: proceed, and any range is allowed.
    let none = Conditions::default();
    assert_eq!(none.evaluate(v), Outcome::Proceed);
    assert!(none.range_allowed(v));

    // If-Range with our own strong tag allows the range; the weak form of it doesn't.
    // A well-formed strong tag: DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text.
    let well_formed = etag.len() >= 2
        && etag.starts_with('"')
        && etag.ends_with('"')
        && etag[1..etag.len() - 1]
            .chars()
            .all(|c| c == '!' || ('#'..='~').contains(&c) || !c.is_ascii());
    if well_formed {
        let exact = Conditions {
            if_range: Some(etag),
            ..Conditions::default()
        };
        assert!(exact.range_allowed(v), "If-Range {etag:?} refused");
        let weak = format!("W/{etag}");
        let weak = Conditions {
            if_range: Some(&weak),
            ..Conditions::default()
        };
        assert!(!weak.range_allowed(v), "weak If-Range W/{etag:?} allowed");
        // If-Match with our tag never fails; If-None-Match with it always matches.
        let if_match = Conditions {
            if_match: Some(etag),
            ..Conditions::default()
        };
        assert_eq!(
            if_match.evaluate(v),
            Outcome::Proceed,
            "If-Match {etag:?}"
        );
        let inm = Conditions {
            if_none_match: Some(etag),
            ..Conditions::default()
        };
        assert_eq!(
            inm.evaluate(v),
            Outcome::NotModified,
            "If-None-Match {etag:?}"
        );
    }
});
