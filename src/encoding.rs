//! Choosing a precompressed sidecar (`X.br`, `X.zst`, `X.gz`) from `Accept-Encoding`.

use crate::negotiate;

/// A content coding we serve from a sidecar file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// `br`, from `X.br`.
    Brotli,
    /// `zstd`, from `X.zst`.
    Zstd,
    /// `gzip`, from `X.gz`.
    Gzip,
}

impl Coding {
    /// All of them, in our order of preference at equal q: smallest files first.
    pub const ALL: [Coding; 3] = [Coding::Brotli, Coding::Zstd, Coding::Gzip];

    /// The `Content-Encoding` token.
    pub fn token(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Zstd => "zstd",
            Coding::Gzip => "gzip",
        }
    }

    /// The sidecar's file name suffix.
    pub fn suffix(self) -> &'static [u8] {
        match self {
            Coding::Brotli => b".br",
            Coding::Zstd => b".zst",
            Coding::Gzip => b".gz",
        }
    }
}

/// The codings `accept` (an `Accept-Encoding` value) allows, best first: by q, then by our
/// preference. Codings with q=0, or not named and not covered by `*`, are left out.
pub fn acceptable(accept: &str) -> impl Iterator<Item = Coding> {
    // q in thousandths, for each of Coding::ALL; None = not mentioned.
    let mut q: [Option<u16>; 3] = [None; 3];
    let mut wildcard: Option<u16> = None;
    for (token, weight) in negotiate::elements(accept) {
        if token == "*" {
            wildcard = Some(weight);
        } else if let Some(i) = Coding::ALL.iter().position(|c| matches(*c, token)) {
            q[i] = Some(weight);
        }
    }
    let mut ranked: [(u16, usize); 3] = [(0, 0); 3];
    for (i, slot) in ranked.iter_mut().enumerate() {
        *slot = (q[i].or(wildcard).unwrap_or(0), i);
    }
    // Stable: equal q keeps our order.
    ranked.sort_by_key(|&(weight, _)| std::cmp::Reverse(weight));
    ranked
        .into_iter()
        .filter(|&(weight, _)| weight > 0)
        .map(|(_, i)| Coding::ALL[i])
}

fn matches(coding: Coding, token: &str) -> bool {
    token.eq_ignore_ascii_case(coding.token())
        // RFC 9110 §8.4.1.3: x-gzip is gzip.
        || (coding == Coding::Gzip && token.eq_ignore_ascii_case("x-gzip"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Coding::*;

    fn list(accept: &str) -> Vec<Coding> {
        acceptable(accept).collect()
    }

    #[test]
    fn prefers_br_then_zstd_then_gzip_at_equal_q() {
        assert_eq!(list("gzip, deflate, br, zstd"), vec![Brotli, Zstd, Gzip]);
        assert_eq!(list("gzip"), vec![Gzip]);
        assert_eq!(list("*"), vec![Brotli, Zstd, Gzip]);
    }

    #[test]
    fn honours_q_values() {
        assert_eq!(list("br;q=0.5, gzip;q=0.8"), vec![Gzip, Brotli]);
        assert_eq!(list("br;q=0, gzip"), vec![Gzip]);
        assert_eq!(list("*;q=0.1, br;q=0"), vec![Zstd, Gzip]);
        assert_eq!(list("gzip;q=1.000, br; Q=0.999"), vec![Gzip, Brotli]);
        assert_eq!(list("X-GZIP"), vec![Gzip]);
    }

    #[test]
    fn nothing_acceptable() {
        assert!(list("").is_empty());
        assert!(list("identity").is_empty());
        assert!(list("deflate").is_empty());
        assert!(list("*;q=0").is_empty());
        // Malformed q values don't count as acceptance.
        assert!(list("br;q=2, gzip;q=0.1234, zstd;q=x").is_empty());
    }
}
