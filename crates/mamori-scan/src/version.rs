//! Vendor version comparison.
//!
//! Rules (documented so findings are explainable):
//! 1. An optional epoch `N:` prefix is compared first (`1:2.0 > 9.9`).
//! 2. The rest is split into tokens: digit runs, letter runs and `~`; the separators
//!    `.`, `-`, `_`, `+` only split (so `1.0-1` equals `1.0.1`).
//! 3. Build-flavour words `fips`, `release`, `final`, `ga`, `stable` are ignored
//!    (`1.0.2k-fips` equals `1.0.2k`).
//! 4. Tokens compare position by position; the shorter version is padded with an *end* marker.
//!    Per position the classes order as `~` < pre-release word < end < other letters < number:
//!    - `1.0~rc1 < 1.0rc1 < 1.0 < 1.0a < 1.0p1 < 1.0.1` (Debian tilde; `rc`, `beta`… precede the
//!      release; OpenSSL/OpenSSH letter suffixes such as `1.1.1w`, `8.9p1` follow it).
//!    - Pre-release words rank `dev < alpha < beta < pre < rc` (also `a`/`b` are *not*
//!      pre-release: a single letter is a patch letter as in OpenSSL `1.0.2k`).
//!    - Numbers compare numerically of any length (`10 > 9`, leading zeros ignored); letters compare
//!      case-insensitively.
//!
//! The order is total (antisymmetric and transitive; property-tested), so sorting and range
//! checks are consistent.

use std::cmp::Ordering;

/// Longest version string considered; longer input is compared on its prefix.
pub const VERSION_MAX_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok<'a> {
    Tilde,
    Pre(u8, &'a str),
    End,
    Alpha(&'a str),
    Num(&'a str),
}

impl Tok<'_> {
    fn class(&self) -> u8 {
        match self {
            Tok::Tilde => 0,
            Tok::Pre(..) => 1,
            Tok::End => 2,
            Tok::Alpha(_) => 3,
            Tok::Num(_) => 4,
        }
    }
}

const IGNORED_WORDS: &[&str] = &["fips", "release", "final", "ga", "stable"];

fn pre_rank(word: &str) -> Option<u8> {
    const RANKS: &[(&str, u8)] = &[
        ("dev", 0),
        ("snapshot", 0),
        ("alpha", 1),
        ("beta", 2),
        ("pre", 3),
        ("preview", 3),
        ("rc", 4),
        ("cr", 4),
    ];
    RANKS
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(word))
        .map(|(_, r)| *r)
}

fn split_epoch(v: &str) -> (&str, &str) {
    if let Some(pos) = v.find(':') {
        let (e, rest) = v.split_at(pos);
        if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) {
            return (e, rest.get(1..).unwrap_or(""));
        }
    }
    ("0", v)
}

/// Lazily yields the tokens of a version (no allocation).
struct Tokens<'a> {
    v: &'a str,
    i: usize,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Tok<'a>;
    fn next(&mut self) -> Option<Tok<'a>> {
        let v = self.v;
        let b = v.as_bytes();
        while self.i < b.len() {
            let c = b.get(self.i).copied().unwrap_or(0);
            let start = self.i;
            if c.is_ascii_digit() {
                while b.get(self.i).is_some_and(u8::is_ascii_digit) {
                    self.i += 1;
                }
                return Some(Tok::Num(v.get(start..self.i).unwrap_or("")));
            } else if c.is_ascii_alphabetic() {
                while b.get(self.i).is_some_and(u8::is_ascii_alphabetic) {
                    self.i += 1;
                }
                let w = v.get(start..self.i).unwrap_or("");
                if IGNORED_WORDS.iter().any(|x| x.eq_ignore_ascii_case(w)) {
                    continue;
                }
                return Some(match pre_rank(w) {
                    Some(r) => Tok::Pre(r, w),
                    None => Tok::Alpha(w),
                });
            } else {
                self.i += 1;
                if c == b'~' {
                    return Some(Tok::Tilde);
                }
                // separators and any other byte only split tokens
            }
        }
        None
    }
}

fn tokens(v: &str) -> Tokens<'_> {
    Tokens { v, i: 0 }
}

fn cmp_num(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn cmp_alpha(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

fn cmp_tok(a: &Tok<'_>, b: &Tok<'_>) -> Ordering {
    match (a, b) {
        (Tok::Num(x), Tok::Num(y)) => cmp_num(x, y),
        (Tok::Alpha(x), Tok::Alpha(y)) => cmp_alpha(x, y),
        (Tok::Pre(r1, x), Tok::Pre(r2, y)) => r1.cmp(r2).then_with(|| cmp_alpha(x, y)),
        _ => a.class().cmp(&b.class()),
    }
}

fn clip(v: &str) -> &str {
    let v = v.trim();
    if v.len() <= VERSION_MAX_LEN {
        return v;
    }
    let mut cut = VERSION_MAX_LEN;
    while !v.is_char_boundary(cut) {
        cut -= 1;
    }
    v.get(..cut).unwrap_or("")
}

/// Compare two vendor version strings with the rules of this module.
///
/// ```
/// use std::cmp::Ordering;
/// use mamori_scan::version::compare;
/// assert_eq!(compare("8.9p1", "8.9"), Ordering::Greater);
/// assert_eq!(compare("1.1.1w", "1.1.1v"), Ordering::Greater);
/// assert_eq!(compare("2.4.49", "2.4.5"), Ordering::Greater);
/// assert_eq!(compare("1.0rc1", "1.0"), Ordering::Less);
/// assert_eq!(compare("1.0.2k-fips", "1.0.2k"), Ordering::Equal);
/// ```
pub fn compare(a: &str, b: &str) -> Ordering {
    let (ea, ra) = split_epoch(clip(a));
    let (eb, rb) = split_epoch(clip(b));
    let e = cmp_num(ea, eb);
    if e != Ordering::Equal {
        return e;
    }
    let mut ta = tokens(ra);
    let mut tb = tokens(rb);
    loop {
        let (x, y) = match (ta.next(), tb.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => (x.unwrap_or(Tok::End), y.unwrap_or(Tok::End)),
        };
        let o = cmp_tok(&x, &y);
        if o != Ordering::Equal {
            return o;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use Ordering::*;

    #[test]
    fn vendor_forms() {
        let ordered = [
            "0.9.8",
            "1.0.2",
            "1.0.2a",
            "1.0.2k",
            "1.0.2u",
            "1.1.0",
            "1.1.1",
            "1.1.1v",
            "1.1.1w",
            "3.0.0~alpha1",
            "3.0.0-alpha1",
            "3.0.0-beta2",
            "3.0.0rc1",
            "3.0.0",
            "3.0.0p1",
            "3.0.1",
        ];
        for w in ordered.windows(2) {
            assert_eq!(compare(w[0], w[1]), Less, "{} < {}", w[0], w[1]);
            assert_eq!(compare(w[1], w[0]), Greater, "{} > {}", w[1], w[0]);
        }
        assert_eq!(compare("7.4", "7.4p1"), Less);
        assert_eq!(compare("8.9p1", "8.10p1"), Less);
        assert_eq!(compare("2.4.49", "2.4.50"), Less);
        assert_eq!(compare("2.4.9", "2.4.49"), Less);
        assert_eq!(compare("1:1.0", "2.0"), Greater);
        assert_eq!(compare("1.0.2k-fips", "1.0.2k"), Equal);
        assert_eq!(compare("1.0-1", "1.0.1"), Equal);
        assert_eq!(compare("007", "7"), Equal);
        assert_eq!(compare("99999999999999999999999", "1"), Greater);
        assert_eq!(compare("", "0"), Less);
    }

    fn version_strategy() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                (0u32..20).prop_map(|n| n.to_string()),
                Just(".".to_string()),
                Just("-".to_string()),
                Just("~".to_string()),
                Just("p".to_string()),
                Just("rc".to_string()),
                Just("beta".to_string()),
                Just("k".to_string()),
                Just("fips".to_string()),
                Just("1:".to_string()),
            ],
            0..8,
        )
        .prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn antisymmetric(a in version_strategy(), b in version_strategy()) {
            prop_assert_eq!(compare(&a, &b), compare(&b, &a).reverse());
        }

        #[test]
        fn transitive(a in version_strategy(), b in version_strategy(), c in version_strategy()) {
            let mut v = [a, b, c];
            v.sort_by(|x, y| compare(x, y));
            prop_assert_ne!(compare(&v[0], &v[1]), Greater);
            prop_assert_ne!(compare(&v[1], &v[2]), Greater);
            prop_assert_ne!(compare(&v[0], &v[2]), Greater);
        }

        #[test]
        fn reflexive(a in ".{0,40}") {
            prop_assert_eq!(compare(&a, &a), Equal);
        }
    }
}
