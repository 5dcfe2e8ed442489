//! Content negotiation: the elements and q-values of `Accept` and `Accept-Encoding`
//! (RFC 9110 §12.4–12.5), parsed one way for both.

/// The elements of a list header such as `Accept-Encoding: gzip;q=0.5, br`: each token (or
/// media range) with its q-value in thousandths (1000 when absent). An element whose q-value
/// is malformed is meaningless and left out; so are empty elements.
pub fn elements(header: &str) -> impl Iterator<Item = (&str, u16)> {
    header.split(',').filter_map(|element| {
        let mut parts = element.split(';');
        let token = parts.next().unwrap_or("").trim();
        if token.is_empty() {
            return None;
        }
        let q = parts
            .find_map(|p| {
                let (name, value) = p.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("q")
                    .then(|| qvalue(value.trim()))
            })
            .unwrap_or(Some(1000))?;
        Some((token, q))
    })
}

/// A qvalue (`0`, `0.5`, `1.000`; RFC 9110 §12.4.2) in thousandths; `None` if malformed
/// (`2`, `.5`, `0.1234`).
pub fn qvalue(s: &str) -> Option<u16> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_value = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    match int {
        "0" => Some(frac_value),
        "1" if frac_value == 0 => Some(1000),
        _ => None,
    }
}

/// The q-value `accept` (an `Accept` value) gives the media type named exactly `media`
/// (no wildcards: they say nothing about a preference), or `None` if it isn't named.
fn named_q(accept: &str, media: &str) -> Option<u16> {
    elements(accept)
        .filter(|(range, _)| range.eq_ignore_ascii_case(media))
        .map(|(_, q)| q)
        .last()
}

/// Whether `accept` prefers JSON to HTML: it names `application/json` with a q above zero,
/// and `text/html` with no higher q, if at all.
pub fn wants_json(accept: &str) -> bool {
    match named_q(accept, "application/json") {
        Some(json) if json > 0 => named_q(accept, "text/html").is_none_or(|html| json >= html),
        _ => false,
    }
}

/// Whether `accept` names `text/html` with a q above zero, as browsers do when they load a
/// page. `*/*` alone doesn't count: a script or a tool that takes anything gets plain text.
pub fn accepts_html(accept: &str) -> bool {
    named_q(accept, "text/html").is_some_and(|q| q > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qvalues() {
        assert_eq!(qvalue("0"), Some(0));
        assert_eq!(qvalue("0.5"), Some(500));
        assert_eq!(qvalue("1"), Some(1000));
        assert_eq!(qvalue("1.0"), Some(1000));
        assert_eq!(qvalue("1.5"), None);
        assert_eq!(qvalue("2"), None);
        assert_eq!(qvalue(".5"), None);
        assert_eq!(qvalue("0.1234"), None);
    }

    #[test]
    fn elements_with_their_weights() {
        let list: Vec<_> = elements("gzip;q=0.5, br ,, x;Q=1.0, bad;q=2").collect();
        assert_eq!(list, [("gzip", 500), ("br", 1000), ("x", 1000)]);
    }

    #[test]
    fn json_only_when_preferred() {
        assert!(wants_json("application/json"));
        assert!(wants_json("application/json, text/html;q=0.5"));
        assert!(!wants_json("text/html,application/xhtml+xml,*/*;q=0.8"));
        assert!(!wants_json("*/*"));
        assert!(!wants_json("application/json;q=0"));
        assert!(!wants_json("text/html, application/json;q=0.9"));
        // The same q-value rules as Accept-Encoding: q=2 is malformed, not a preference.
        assert!(!wants_json("application/json;q=2"));
    }

    #[test]
    fn html_only_when_named() {
        assert!(accepts_html("text/html,application/xhtml+xml,*/*;q=0.8"));
        assert!(!accepts_html("*/*"));
        assert!(!accepts_html("text/html;q=0"));
        assert!(!accepts_html("application/json"));
    }
}
