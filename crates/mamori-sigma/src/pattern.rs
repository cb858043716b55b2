//! String patterns: Sigma wildcards (`*`, `?`, `\` escapes) compiled to fast literal checks
//! where possible and to a regex otherwise, plus the value encodings of the modifiers
//! (`base64`, `base64offset`, `utf16le`/`utf16be`/`utf16`/`wide`, `windash`).

use std::borrow::Cow;

use regex::{Regex, RegexBuilder};

/// Largest compiled regex (bytes of the automaton) accepted for one pattern.
pub const REGEX_SIZE_LIMIT: usize = 16 << 20;

/// One piece of a Sigma string value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// Literal text.
    Lit(String),
    /// `*`: any run of characters.
    Star,
    /// `?`: exactly one character.
    One,
    /// A `windash` position: `-`, `/`, `–`, `—` or `―`.
    Dash,
}

/// Split a Sigma string into literal text and wildcards. `\*`, `\?` and `\\` escape; a
/// backslash before anything else is literal.
pub(crate) fn parse_wildcards(s: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    lit.push(n);
                    chars.next();
                }
                _ => lit.push('\\'),
            },
            '*' | '?' => {
                if !lit.is_empty() {
                    out.push(Seg::Lit(std::mem::take(&mut lit)));
                }
                out.push(if c == '*' { Seg::Star } else { Seg::One });
            }
            _ => lit.push(c),
        }
    }
    if !lit.is_empty() {
        out.push(Seg::Lit(lit));
    }
    out
}

/// Segments of a plain literal (no wildcard interpretation).
pub(crate) fn literal(s: &str) -> Vec<Seg> {
    if s.is_empty() {
        Vec::new()
    } else {
        vec![Seg::Lit(s.to_owned())]
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Apply `windash`: a `-` or `/` not preceded by a word character and followed by one
/// matches any of `-`, `/`, `–`, `—`, `―`.
pub(crate) fn windash(segs: Vec<Seg>) -> Vec<Seg> {
    let mut out = Vec::with_capacity(segs.len());
    let mut prev_word = false;
    let n = segs.len();
    for i in 0..n {
        let Some(seg) = segs.get(i) else { break };
        match seg {
            Seg::Lit(text) => {
                let chars: Vec<char> = text.chars().collect();
                let mut cur = String::new();
                for (j, &c) in chars.iter().enumerate() {
                    let next_word = match chars.get(j + 1) {
                        Some(&n) => is_word(n),
                        None => false,
                    };
                    if (c == '-' || c == '/') && !prev_word && next_word {
                        if !cur.is_empty() {
                            out.push(Seg::Lit(std::mem::take(&mut cur)));
                        }
                        out.push(Seg::Dash);
                    } else {
                        cur.push(c);
                    }
                    prev_word = is_word(c);
                }
                if !cur.is_empty() {
                    out.push(Seg::Lit(cur));
                }
            }
            other => {
                prev_word = false;
                out.push(other.clone());
            }
        }
    }
    out
}

/// Which Unicode encoding a `utf16*`/`wide` modifier asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Utf16 {
    /// Little endian without BOM (`utf16le`, `wide`).
    Le,
    /// Big endian without BOM.
    Be,
    /// Little endian with a BOM.
    LeBom,
}

/// Encode text as UTF-16 bytes.
pub(crate) fn utf16_bytes(s: &str, enc: Utf16) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 2 + 2);
    if enc == Utf16::LeBom {
        out.extend_from_slice(&[0xFF, 0xFE]);
    }
    for u in s.encode_utf16() {
        let b = match enc {
            Utf16::Be => u.to_be_bytes(),
            _ => u.to_le_bytes(),
        };
        out.extend_from_slice(&b);
    }
    out
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub(crate) fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b0 = chunk.first().copied().unwrap_or(0) as u32;
        let b1 = chunk.get(1).copied().unwrap_or(0) as u32;
        let b2 = chunk.get(2).copied().unwrap_or(0) as u32;
        let n = (b0 << 16) | (b1 << 8) | b2;
        let idx = |shift: u32| {
            B64.get(((n >> shift) & 63) as usize)
                .copied()
                .unwrap_or(b'A') as char
        };
        out.push(idx(18));
        out.push(idx(12));
        out.push(if chunk.len() > 1 { idx(6) } else { '=' });
        out.push(if chunk.len() > 2 { idx(0) } else { '=' });
    }
    out
}

/// The three `base64offset` forms: the value encoded at offsets 0, 1 and 2 of a 3-byte
/// group, with the characters that depend on surrounding bytes cut off.
pub(crate) fn base64_offsets(data: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END: [usize; 3] = [0, 3, 2];
    let mut out = Vec::with_capacity(3);
    for i in 0..3usize {
        let mut buf = vec![b' '; i];
        buf.extend_from_slice(data);
        let enc = base64(&buf);
        let start = START.get(i).copied().unwrap_or(0);
        let end_cut = END.get((data.len() + i) % 3).copied().unwrap_or(0);
        let end = enc.len().saturating_sub(end_cut);
        if let Some(s) = enc.get(start..end.max(start)) {
            out.push(s.to_owned());
        }
    }
    out
}

/// A compiled string comparison.
#[derive(Debug, Clone)]
pub(crate) enum StrMatch {
    /// Whole value equals.
    Exact(Needle),
    /// Value starts with.
    Prefix(Needle),
    /// Value ends with.
    Suffix(Needle),
    /// Value contains.
    Contains(Needle),
    /// Anything (a lone `*`).
    Any,
    /// A regex (wildcards in the middle, `?`, windash, or the `re` modifier), with
    /// lowercase literals one of which every match contains, when known.
    Regex(Box<Regex>, Option<Vec<String>>),
}

/// A literal needle, lowercased unless the match is case-sensitive.
#[derive(Debug, Clone)]
pub(crate) struct Needle {
    text: String,
    cased: bool,
    ascii: bool,
}

impl Needle {
    fn new(text: &str, cased: bool) -> Needle {
        let text = if cased {
            text.to_owned()
        } else {
            text.to_lowercase()
        };
        let ascii = text.is_ascii();
        Needle { text, cased, ascii }
    }
}

/// Error compiling a pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid regular expression {pattern:?}: {reason}")]
pub struct PatternError {
    /// The pattern as written.
    pub pattern: String,
    /// The regex engine's reason.
    pub reason: String,
}

impl StrMatch {
    /// Compile wildcard segments.
    pub(crate) fn from_segs(segs: &[Seg], cased: bool) -> Result<StrMatch, PatternError> {
        let lead = segs.iter().take_while(|s| **s == Seg::Star).count();
        let rest = segs.get(lead..).unwrap_or(&[]);
        let trail = rest.iter().rev().take_while(|s| **s == Seg::Star).count();
        let mid = rest.get(..rest.len() - trail).unwrap_or(&[]);
        match mid {
            [] if lead + trail > 0 => return Ok(StrMatch::Any),
            [] => return Ok(StrMatch::Exact(Needle::new("", cased))),
            [Seg::Lit(t)] => {
                let n = Needle::new(t, cased);
                return Ok(match (lead > 0, trail > 0) {
                    (false, false) => StrMatch::Exact(n),
                    (false, true) => StrMatch::Prefix(n),
                    (true, false) => StrMatch::Suffix(n),
                    (true, true) => StrMatch::Contains(n),
                });
            }
            _ => {}
        }
        let mut re = String::from("^");
        for s in segs {
            match s {
                Seg::Lit(t) => re.push_str(&regex::escape(t)),
                Seg::Star => re.push_str(".*"),
                Seg::One => re.push('.'),
                Seg::Dash => re.push_str("[-/\u{2013}\u{2014}\u{2015}]"),
            }
        }
        re.push('$');
        let required = segs
            .iter()
            .filter_map(|s| match s {
                Seg::Lit(t) => Some(t.to_lowercase()),
                _ => None,
            })
            .max_by_key(String::len)
            .map(|l| vec![l]);
        let pattern = re.clone();
        RegexBuilder::new(&re)
            .case_insensitive(!cased)
            .dot_matches_new_line(true)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map(|r| StrMatch::Regex(Box::new(r), required))
            .map_err(|e| PatternError {
                pattern,
                reason: e.to_string(),
            })
    }

    /// Compile a `re` modifier value with its flags.
    pub(crate) fn regex(
        pattern: &str,
        ci: bool,
        multi_line: bool,
        dot_all: bool,
    ) -> Result<StrMatch, PatternError> {
        RegexBuilder::new(pattern)
            .case_insensitive(ci)
            .multi_line(multi_line)
            .dot_matches_new_line(dot_all)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map(|r| {
                StrMatch::Regex(
                    Box::new(r),
                    regex_required(pattern, ci, multi_line, dot_all),
                )
            })
            .map_err(|e| PatternError {
                pattern: pattern.to_owned(),
                reason: e.to_string(),
            })
    }

    /// The needle of a case-insensitive ASCII `contains`, which a multi-needle scan can
    /// replace.
    pub(crate) fn ci_ascii_contains(&self) -> Option<&str> {
        match self {
            StrMatch::Contains(n) if !n.cased && n.ascii && !n.text.is_empty() => Some(&n.text),
            _ => None,
        }
    }

    /// Lowercase literals one of which every matching value contains (case-insensitively),
    /// if there are useful ones.
    pub(crate) fn needles(&self) -> Option<Vec<String>> {
        match self {
            StrMatch::Exact(n)
            | StrMatch::Prefix(n)
            | StrMatch::Suffix(n)
            | StrMatch::Contains(n) => (!n.text.is_empty()).then(|| vec![n.text.to_lowercase()]),
            StrMatch::Regex(_, req) => req.clone().filter(|r| r.iter().all(|x| !x.is_empty())),
            StrMatch::Any => None,
        }
    }

    /// Whether `hay` matches.
    pub(crate) fn is_match(&self, hay: &str) -> bool {
        match self {
            StrMatch::Any => true,
            StrMatch::Regex(r, _) => r.is_match(hay),
            StrMatch::Exact(n) => {
                if n.cased {
                    hay == n.text
                } else if n.ascii {
                    hay.eq_ignore_ascii_case(&n.text)
                } else {
                    lower(hay) == n.text
                }
            }
            StrMatch::Prefix(n) => {
                if n.cased {
                    hay.starts_with(&n.text)
                } else if n.ascii {
                    hay.as_bytes()
                        .get(..n.text.len())
                        .is_some_and(|b| b.eq_ignore_ascii_case(n.text.as_bytes()))
                } else {
                    lower(hay).starts_with(&n.text)
                }
            }
            StrMatch::Suffix(n) => {
                if n.cased {
                    hay.ends_with(&n.text)
                } else if n.ascii {
                    let hb = hay.as_bytes();
                    hb.len() >= n.text.len()
                        && hb
                            .get(hb.len() - n.text.len()..)
                            .is_some_and(|b| b.eq_ignore_ascii_case(n.text.as_bytes()))
                } else {
                    lower(hay).ends_with(&n.text)
                }
            }
            StrMatch::Contains(n) => {
                if n.cased {
                    hay.contains(&n.text)
                } else if n.ascii {
                    contains_ascii_ci(hay.as_bytes(), n.text.as_bytes())
                } else {
                    lower(hay).contains(&n.text)
                }
            }
        }
    }
}

/// Most literals taken from one regex for the pre-filter.
pub const MAX_REGEX_NEEDLES: usize = 64;

/// Lowercase literals one of which starts every match of `pattern` (its literal prefixes),
/// or `None` when the prefixes are unknown, empty or too many.
fn regex_required(pattern: &str, ci: bool, multi_line: bool, dot_all: bool) -> Option<Vec<String>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(ci)
        .multi_line(multi_line)
        .dot_matches_new_line(dot_all)
        .build()
        .parse(pattern)
        .ok()?;
    let mut ex = Extractor::new();
    ex.kind(ExtractKind::Prefix)
        .limit_total(MAX_REGEX_NEEDLES * 4);
    let seq = ex.extract(&hir);
    let lits = seq.literals()?;
    let mut out: Vec<String> = Vec::new();
    for l in lits {
        let s = std::str::from_utf8(l.as_bytes()).ok()?.to_lowercase();
        if s.is_empty() {
            return None;
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    (!out.is_empty() && out.len() <= MAX_REGEX_NEEDLES).then_some(out)
}

fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// ASCII case-insensitive substring search; `needle` must already be lowercase.
pub(crate) fn contains_ascii_ci(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else {
        return true;
    };
    if hay.len() < needle.len() {
        return false;
    }
    let last_start = hay.len() - needle.len();
    let up = first.to_ascii_uppercase();
    for i in memchr::memchr2_iter(first, up, hay) {
        if i > last_start {
            return false;
        }
        if hay
            .get(i..i + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
        {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str) -> StrMatch {
        StrMatch::from_segs(&parse_wildcards(p), false).unwrap()
    }

    #[test]
    fn wildcards_and_escapes() {
        assert!(m("*cmd.exe").is_match("C:\\Windows\\System32\\CMD.EXE"));
        assert!(!m("*cmd.exe").is_match("cmd.exe.bak"));
        assert!(m("a?c").is_match("abc"));
        assert!(!m("a?c").is_match("ac"));
        assert!(m("a*c*e").is_match("abcde"));
        // Escaped wildcards are literal.
        assert!(m("a\\*b").is_match("a*b"));
        assert!(!m("a\\*b").is_match("axxb"));
        assert!(m("what\\?").is_match("what?"));
        assert!(!m("what\\?").is_match("whatx"));
        // Escaped backslash followed by a wildcard: literal backslash then wildcard.
        assert!(m("C:\\\\*").is_match("C:\\temp"));
        // A lone backslash before a normal char stays literal.
        assert!(m("C:\\Windows").is_match("c:\\windows"));
        assert!(m("*").is_match(""));
    }

    #[test]
    fn case_sensitivity() {
        let cased = StrMatch::from_segs(&parse_wildcards("*Abc*"), true).unwrap();
        assert!(cased.is_match("xAbcx"));
        assert!(!cased.is_match("xabcx"));
        assert!(m("ÄBC").is_match("äbc"));
        assert!(m("*ÄB*").is_match("xxäbxx"));
    }

    #[test]
    fn base64_known_values() {
        assert_eq!(base64(b"Hello"), "SGVsbG8=");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b""), "");
    }

    #[test]
    fn base64_offsets_are_found_inside_any_alignment() {
        let needle = b"/bin/sh";
        let offs = base64_offsets(needle);
        assert_eq!(offs.len(), 3);
        for prefix in ["", "x", "xy", "xyz"] {
            let mut data = prefix.as_bytes().to_vec();
            data.extend_from_slice(needle);
            data.extend_from_slice(b" -c id");
            let enc = base64(&data);
            assert!(offs.iter().any(|o| enc.contains(o.as_str())), "{prefix:?}");
        }
    }

    #[test]
    fn utf16_forms() {
        assert_eq!(utf16_bytes("A", Utf16::Le), vec![0x41, 0]);
        assert_eq!(utf16_bytes("A", Utf16::Be), vec![0, 0x41]);
        assert_eq!(utf16_bytes("A", Utf16::LeBom), vec![0xFF, 0xFE, 0x41, 0]);
    }

    #[test]
    fn windash_variants() {
        let segs = windash(parse_wildcards("* -enc *"));
        let mm = StrMatch::from_segs(&segs, false).unwrap();
        for v in [
            "ps -enc x",
            "ps /enc x",
            "ps \u{2013}enc x",
            "ps \u{2014}enc x",
            "ps \u{2015}enc x",
        ] {
            assert!(mm.is_match(v), "{v}");
        }
        assert!(!mm.is_match("ps +enc x"));
        // A dash inside a word is not a switch.
        let segs = windash(parse_wildcards("a-b"));
        assert_eq!(segs, vec![Seg::Lit("a-b".into())]);
    }

    proptest::proptest! {
        #[test]
        fn fast_paths_agree_with_reference(needle in "[a-zA-Z0-9 .\\\\-]{0,6}", hay in "[a-zA-Z0-9 .\\\\-]{0,24}") {
            let lit = vec![Seg::Lit(needle.clone())];
            let n = needle.to_lowercase();
            let h = hay.to_lowercase();
            let mut c = vec![Seg::Star];
            c.extend(lit.clone());
            c.push(Seg::Star);
            proptest::prop_assert_eq!(StrMatch::from_segs(&c, false).unwrap().is_match(&hay), h.contains(&n));
            let mut p = lit.clone();
            p.push(Seg::Star);
            proptest::prop_assert_eq!(StrMatch::from_segs(&p, false).unwrap().is_match(&hay), h.starts_with(&n));
            let mut sfx = vec![Seg::Star];
            sfx.extend(lit.clone());
            proptest::prop_assert_eq!(StrMatch::from_segs(&sfx, false).unwrap().is_match(&hay), h.ends_with(&n));
            proptest::prop_assert_eq!(StrMatch::from_segs(&lit, false).unwrap().is_match(&hay), h == n);
        }

        #[test]
        fn any_pattern_compiles_or_errors_without_panic(p in "\\PC{0,40}", hay in "\\PC{0,40}") {
            let segs = windash(parse_wildcards(&p));
            if let Ok(m) = StrMatch::from_segs(&segs, false) {
                let _ = m.is_match(&hay);
                let _ = m.needles();
            }
        }
    }

    #[test]
    fn ascii_ci_search_edges() {
        assert!(contains_ascii_ci(b"xxABC", b"abc"));
        assert!(!contains_ascii_ci(b"ab", b"abc"));
        assert!(contains_ascii_ci(b"", b""));
        assert!(!contains_ascii_ci(b"aab", b"abb"));
    }
}

#[cfg(test)]
mod regex_needle_tests {
    use super::*;

    #[test]
    fn regex_prefix_literals_feed_the_prefilter() {
        let m = StrMatch::regex("ipconfig\\s+/all", false, false, false).unwrap();
        assert_eq!(m.needles(), Some(vec!["ipconfig".to_owned()]));
        let m = StrMatch::regex("(?i)\\.EXE\\s+x", false, false, false).unwrap();
        assert_eq!(m.needles(), Some(vec![".exe".to_owned()]));
        let m = StrMatch::regex("(abc|xyz)d", false, false, false).unwrap();
        assert_eq!(
            m.needles(),
            Some(vec!["abcd".to_owned(), "xyzd".to_owned()])
        );
        // Unbounded start: no needle.
        let m = StrMatch::regex(".*x", false, false, false).unwrap();
        assert_eq!(m.needles(), None);
        let m = StrMatch::regex("\\w+", false, false, false).unwrap();
        assert_eq!(m.needles(), None);
    }
}
