//! The `Range` header (RFC 9110 §14.1–14.2).

/// Most ranges served in one multipart response. With their total capped at the file size,
/// this keeps a `Range` header from making the response larger than the file many times over
/// (CVE-2011-3192, "Apache Killer").
pub const MAX_RANGES: usize = 32;

/// What to do with a `Range` header.
#[derive(Debug, PartialEq, Eq)]
pub enum Ranges {
    /// Send the whole representation with 200: no byte ranges asked for (another unit, an
    /// empty file), or too many of them.
    Ignore,
    /// 416: no range overlaps the file, or the byte-range set is malformed.
    Unsatisfiable,
    /// 206 with these `(start, length)` ranges, clamped to the file, in the order asked.
    Satisfiable(Vec<ByteRange>),
}

/// A range of a file: `length` bytes from `start` (never empty).
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct ByteRange {
    /// The first byte's offset.
    pub start: u64,
    /// How many bytes, at least 1.
    pub length: u64,
}

impl ByteRange {
    /// The last byte's offset, as `Content-Range` writes it.
    pub fn end(&self) -> u64 {
        self.start + self.length - 1
    }

    /// The `Content-Range` value of this range of a representation of `size` bytes.
    pub fn content_range(self, size: u64) -> ContentRange {
        ContentRange { range: self, size }
    }
}

/// A `Content-Range` value: `bytes 0-499/1234` (RFC 9110 §14.4).
#[derive(Debug, Clone, Copy)]
pub struct ContentRange {
    range: ByteRange,
    size: u64,
}

impl std::fmt::Display for ContentRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "bytes {}-{}/{}",
            self.range.start,
            self.range.end(),
            self.size
        )
    }
}

/// Evaluates a `Range` header value against a file of `size` bytes.
pub fn parse(header: &str, size: u64) -> Ranges {
    let Some((unit, set)) = header.split_once('=') else {
        return Ranges::Ignore;
    };
    // RFC 9110 §14.2: a range unit we don't know must be ignored (Go answers 416).
    if !unit.trim().eq_ignore_ascii_case("bytes") || size == 0 {
        return Ranges::Ignore;
    }
    let mut ranges = Vec::new();
    let mut any = false;
    for spec in set.split(',').map(|s| s.trim_matches([' ', '\t'])) {
        if spec.is_empty() {
            continue;
        }
        any = true;
        match parse_spec(spec, size) {
            Spec::Malformed => return Ranges::Unsatisfiable,
            Spec::Unsatisfiable => {}
            Spec::Range(range) => ranges.push(range),
        }
    }
    if !any || ranges.is_empty() {
        return Ranges::Unsatisfiable;
    }
    let total = ranges
        .iter()
        .try_fold(0u64, |total, r| total.checked_add(r.length));
    if ranges.len() > MAX_RANGES || total.is_none_or(|total| total > size) {
        return Ranges::Ignore;
    }
    Ranges::Satisfiable(ranges)
}

enum Spec {
    Malformed,
    Unsatisfiable,
    Range(ByteRange),
}

fn parse_spec(spec: &str, size: u64) -> Spec {
    let Some((first, last)) = spec.split_once('-') else {
        return Spec::Malformed;
    };
    if first.is_empty() {
        // Suffix range: the last N bytes. `-0` asks for nothing and can't be satisfied.
        return match number(last) {
            None => Spec::Malformed,
            Some(0) => Spec::Unsatisfiable,
            Some(n) => {
                let length = n.min(size);
                Spec::Range(ByteRange {
                    start: size - length,
                    length,
                })
            }
        };
    }
    let Some(start) = number(first) else {
        return Spec::Malformed;
    };
    let end = if last.is_empty() {
        u64::MAX
    } else {
        match number(last) {
            Some(end) if end >= start => end,
            _ => return Spec::Malformed,
        }
    };
    if start >= size {
        return Spec::Unsatisfiable;
    }
    Spec::Range(ByteRange {
        start,
        length: end.min(size - 1) - start + 1,
    })
}

/// A run of ASCII digits; one too large for u64 saturates (it is clamped to the file anyway).
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(v: &[(u64, u64)]) -> Ranges {
        Ranges::Satisfiable(
            v.iter()
                .map(|&(start, length)| ByteRange { start, length })
                .collect(),
        )
    }

    #[test]
    fn single_ranges_are_clamped() {
        assert_eq!(parse("bytes=0-4", 10), ranges(&[(0, 5)]));
        assert_eq!(parse("bytes=5-", 10), ranges(&[(5, 5)]));
        assert_eq!(parse("bytes=-3", 10), ranges(&[(7, 3)]));
        assert_eq!(parse("bytes=-30", 10), ranges(&[(0, 10)]));
        assert_eq!(parse("bytes=8-100", 10), ranges(&[(8, 2)]));
        assert_eq!(
            parse("bytes=0-99999999999999999999999", 10),
            ranges(&[(0, 10)])
        );
        assert_eq!(parse("Bytes = 1-1", 10), ranges(&[(1, 1)]));
    }

    #[test]
    fn several_ranges() {
        assert_eq!(
            parse("bytes=0-1, 4-5,,8-", 10),
            ranges(&[(0, 2), (4, 2), (8, 2)])
        );
        // Unsatisfiable members are dropped while another one is satisfiable.
        assert_eq!(parse("bytes=0-1,20-30", 10), ranges(&[(0, 2)]));
    }

    #[test]
    fn unsatisfiable_and_malformed_get_416() {
        assert_eq!(parse("bytes=10-", 10), Ranges::Unsatisfiable);
        assert_eq!(parse("bytes=-0", 10), Ranges::Unsatisfiable);
        for bad in [
            "bytes=5-2",
            "bytes=--6",
            "bytes=a-b",
            "bytes=",
            "bytes=1",
            "bytes=1-2-3",
            "bytes= ,",
        ] {
            assert_eq!(parse(bad, 10), Ranges::Unsatisfiable, "{bad}");
        }
    }

    #[test]
    fn other_units_empty_files_and_abuse_are_ignored() {
        assert_eq!(parse("items=0-1", 10), Ranges::Ignore);
        assert_eq!(parse("0-1", 10), Ranges::Ignore);
        assert_eq!(parse("bytes=0-1", 0), Ranges::Ignore);
        assert_eq!(parse("bytes=-0", 0), Ranges::Ignore);
        // The total may not exceed the file: overlapping ranges that would amplify are ignored.
        assert_eq!(parse("bytes=0-9,0-9", 10), Ranges::Ignore);
        let many = format!("bytes={}", vec!["0-0"; 33].join(","));
        assert_eq!(parse(&many, 100), Ranges::Ignore);
        // Found by the fuzzer: a total that overflows u64 is too large, not u64::MAX.
        assert_eq!(
            parse("Bytes= 000-26799000000000200060,06270-", u64::MAX),
            Ranges::Ignore
        );
        let ok = format!("bytes={}", vec!["0-0"; 32].join(","));
        assert!(matches!(parse(&ok, 100), Ranges::Satisfiable(r) if r.len() == 32));
    }

    #[test]
    fn content_range_names_first_and_last_byte() {
        let r = ByteRange {
            start: 8,
            length: 2,
        };
        assert_eq!(r.content_range(10).to_string(), "bytes 8-9/10");
    }
}
