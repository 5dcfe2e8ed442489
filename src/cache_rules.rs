//! `--cache-control PATTERN=VALUE`: the `Cache-Control` of files by URL path.
//!
//! A pattern is matched against the whole path of the request (`/assets/app.3f2a.js`): `*`
//! stands for any run of characters, slashes included (so `/assets/*` covers everything under
//! `/assets/`, and `*.html` every HTML file), `?` for any one character. The first rule that
//! matches wins.

/// One rule: a pattern and the `Cache-Control` value of the files it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The glob, as given.
    pub pattern: String,
    /// The header's value.
    pub value: String,
}

/// The value of the first rule whose pattern matches `path`.
pub fn find<'a>(rules: &'a [Rule], path: &[u8]) -> Option<&'a str> {
    rules
        .iter()
        .find(|rule| matches(rule.pattern.as_bytes(), path))
        .map(|rule| rule.value.as_str())
}

/// Whether the glob `pattern` matches all of `path`: backtracking over the last `*` only, so
/// linear-ish in practice and never exponential.
pub fn matches(pattern: &[u8], path: &[u8]) -> bool {
    let (mut p, mut s) = (0, 0);
    // Where the last `*` was, and where in `path` its run would end if it took one more byte.
    let mut star: Option<(usize, usize)> = None;
    while s < path.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, s));
                p += 1;
            }
            Some(&c) if c == b'?' || c == path[s] => {
                p += 1;
                s += 1;
            }
            _ => match star {
                Some((star_p, star_s)) => {
                    p = star_p + 1;
                    s = star_s + 1;
                    star = Some((star_p, star_s + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (pattern, path, expected) in [
            ("/assets/*", "/assets/app.js", true),
            ("/assets/*", "/assets/js/app.js", true),
            ("/assets/*", "/assetsX", false),
            ("*.html", "/a/b/index.html", true),
            ("*.html", "/a/b/index.htm", false),
            ("/", "/", true),
            ("/", "/a", false),
            ("/app.?.js", "/app.1.js", true),
            ("/app.?.js", "/app.12.js", false),
            ("/*/*.css", "/a/b.css", true),
            ("*", "/anything", true),
            ("/a*b*c", "/aXbYbZc", true),
            ("/a*b*c", "/aXbYbZ", false),
        ] {
            assert_eq!(
                matches(pattern.as_bytes(), path.as_bytes()),
                expected,
                "{pattern} {path}"
            );
        }
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let rule = |pattern: &str, value: &str| Rule {
            pattern: pattern.into(),
            value: value.into(),
        };
        let rules = [rule("/assets/*", "immutable"), rule("*", "max-age=60")];
        assert_eq!(find(&rules, b"/assets/x.js"), Some("immutable"));
        assert_eq!(find(&rules, b"/index.html"), Some("max-age=60"));
        assert_eq!(find(&rules[..1], b"/index.html"), None);
    }
}
