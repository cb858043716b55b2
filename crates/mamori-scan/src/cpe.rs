//! CPE 2.3 names: parse (formatted string and 2.2 URI), format with escaping, match with wildcards.

use serde::Serialize;
use std::fmt;

/// Longest CPE string accepted.
pub const CPE_MAX_LEN: usize = 1024;

/// Number of attributes after `cpe:2.3:`.
const ATTRS: usize = 11;

/// A parse error for a CPE name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cpe {input:?}: {reason}")]
pub struct CpeError {
    /// The rejected input (clipped).
    pub input: String,
    /// Why.
    pub reason: &'static str,
}

/// A CPE 2.3 name. Attribute values are kept in formatted-string form (escaped, lowercased);
/// `*` is ANY and `-` is NA.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Cpe {
    attrs: [String; ATTRS],
}

impl TryFrom<String> for Cpe {
    type Error = CpeError;
    fn try_from(s: String) -> Result<Cpe, CpeError> {
        Cpe::parse(&s)
    }
}

impl From<Cpe> for String {
    fn from(c: Cpe) -> String {
        c.to_string()
    }
}

/// Escape a plain value for the formatted-string binding (`.`, `-`, `_` pass unescaped).
pub fn escape_value(v: &str) -> String {
    let v = v.trim();
    if v.is_empty() {
        return "*".into();
    }
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-' || !c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if c.is_whitespace() {
            out.push('_');
        } else {
            out.push('\\');
            out.push(c);
        }
    }
    out
}

/// Remove formatted-string escaping.
pub fn unescape_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut esc = false;
    for c in v.chars() {
        if esc {
            out.push(c);
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else {
            out.push(c);
        }
    }
    out
}

fn err(input: &str, reason: &'static str) -> CpeError {
    CpeError {
        input: input.chars().take(120).collect(),
        reason,
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b.get(i).copied().unwrap_or(0);
        if c == b'%' {
            let h = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(h) = h {
                out.push(h);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Cpe {
    /// Parse `cpe:2.3:a:vendor:product:version:…` or a 2.2 URI `cpe:/a:vendor:product:version`.
    ///
    /// ```
    /// use mamori_scan::cpe::Cpe;
    /// let c = Cpe::parse("cpe:/a:openbsd:openssh:7.4").unwrap();
    /// assert_eq!(c.to_string(), "cpe:2.3:a:openbsd:openssh:7.4:*:*:*:*:*:*:*");
    /// ```
    pub fn parse(s: &str) -> Result<Cpe, CpeError> {
        let s = s.trim();
        if s.len() > CPE_MAX_LEN {
            return Err(err(s, "too long"));
        }
        if let Some(rest) = s.strip_prefix("cpe:2.3:") {
            Self::parse_fs(s, rest)
        } else if let Some(rest) = s.strip_prefix("cpe:/") {
            Self::parse_uri(s, rest)
        } else {
            Err(err(s, "expected cpe:2.3: or cpe:/ prefix"))
        }
    }

    fn parse_fs(input: &str, rest: &str) -> Result<Cpe, CpeError> {
        let mut parts: Vec<String> = Vec::with_capacity(ATTRS);
        let mut cur = String::new();
        let mut esc = false;
        for c in rest.chars() {
            if esc {
                cur.push('\\');
                cur.push(c.to_ascii_lowercase());
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == ':' {
                parts.push(std::mem::take(&mut cur));
            } else {
                cur.push(c.to_ascii_lowercase());
            }
        }
        if esc {
            return Err(err(input, "dangling escape"));
        }
        parts.push(cur);
        if parts.len() != ATTRS {
            return Err(err(input, "expected 13 colon-separated fields"));
        }
        if parts.iter().any(String::is_empty) {
            return Err(err(input, "empty attribute"));
        }
        Self::from_parts(input, parts)
    }

    fn parse_uri(input: &str, rest: &str) -> Result<Cpe, CpeError> {
        let mut parts: Vec<String> = rest
            .split(':')
            .map(|p| {
                if p.is_empty() {
                    "*".to_string()
                } else if p == "-" {
                    "-".to_string()
                } else {
                    escape_value(&percent_decode(p))
                }
            })
            .collect();
        if parts.len() > 7 {
            return Err(err(input, "too many fields for a cpe 2.2 uri"));
        }
        // 2.2 edition may be packed `~edition~sw_edition~target_sw~target_hw~other`: kept as edition
        while parts.len() < ATTRS {
            parts.push("*".into());
        }
        Self::from_parts(input, parts)
    }

    fn from_parts(input: &str, parts: Vec<String>) -> Result<Cpe, CpeError> {
        let attrs: [String; ATTRS] = parts
            .try_into()
            .map_err(|_| err(input, "wrong number of fields"))?;
        if !matches!(attrs[0].as_str(), "a" | "o" | "h" | "*") {
            return Err(err(input, "part must be a, o or h"));
        }
        Ok(Cpe { attrs })
    }

    /// Build an application CPE from plain vendor, product and version.
    pub fn application(vendor: &str, product: &str, version: Option<&str>) -> Cpe {
        let mut attrs: [String; ATTRS] = Default::default();
        for a in attrs.iter_mut() {
            *a = "*".into();
        }
        attrs[0] = "a".into();
        attrs[1] = escape_value(vendor);
        attrs[2] = escape_value(product);
        if let Some(v) = version {
            attrs[3] = escape_value(v);
        }
        Cpe { attrs }
    }

    /// Part (`a`, `o`, `h`).
    pub fn part(&self) -> &str {
        &self.attrs[0]
    }
    /// Vendor (formatted form).
    pub fn vendor(&self) -> &str {
        &self.attrs[1]
    }
    /// Product (formatted form).
    pub fn product(&self) -> &str {
        &self.attrs[2]
    }
    /// Version (formatted form; `*` ANY, `-` NA).
    pub fn version(&self) -> &str {
        &self.attrs[3]
    }
    /// Update (formatted form).
    pub fn update(&self) -> &str {
        &self.attrs[4]
    }
    /// The version as plain text when it is a concrete value.
    pub fn version_plain(&self) -> Option<String> {
        let v = self.version();
        if v == "*" || v == "-" || has_wildcard(v) {
            None
        } else {
            Some(unescape_value(v))
        }
    }
    /// The concrete version joined with a concrete update (`8.9` + `p1` → `8.9p1`), for ranges.
    pub fn full_version(&self) -> Option<String> {
        let mut v = self.version_plain()?;
        let u = self.update();
        if u != "*" && u != "-" && !has_wildcard(u) {
            v.push_str(&unescape_value(u));
        }
        Some(v)
    }
    /// Copy with another version.
    pub fn with_version(&self, version: &str) -> Cpe {
        let mut c = self.clone();
        c.attrs[3] = escape_value(version);
        c
    }

    /// Whether every attribute after the version is ANY (most NVD criteria): such a criterion
    /// matches any target with the same part, vendor and product, version aside.
    pub fn is_simple(&self) -> bool {
        self.attrs.iter().skip(4).all(|a| a == "*")
    }

    /// Whether the part attributes match (ANY, equal).
    pub fn part_matches(&self, target: &Cpe) -> bool {
        attr_match(self.part(), target.part())
    }

    /// [`Cpe::matches`] on every attribute except the version (ranges are checked separately).
    pub fn matches_ignoring_version(&self, target: &Cpe) -> bool {
        self.attrs
            .iter()
            .zip(target.attrs.iter())
            .enumerate()
            .all(|(i, (p, t))| i == 3 || attr_match(p, t))
    }

    /// Whether this name (as a matching criterion, may hold ANY/NA/wildcards) matches `target`.
    /// Version is compared literally here; ranges are checked by the matcher.
    pub fn matches(&self, target: &Cpe) -> bool {
        self.attrs
            .iter()
            .zip(target.attrs.iter())
            .all(|(p, t)| attr_match(p, t))
    }
}

fn has_wildcard(v: &str) -> bool {
    let mut esc = false;
    for c in v.chars() {
        if esc {
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else if c == '*' || c == '?' {
            return true;
        }
    }
    false
}

/// Match one attribute: pattern `*` matches anything, target `*` (unknown) matches any pattern,
/// `-` matches only `-`, otherwise glob (`*`, `?` unescaped) or equality.
fn attr_match(pattern: &str, target: &str) -> bool {
    if pattern == "*" || target == "*" {
        return true;
    }
    if pattern == "-" || target == "-" {
        return pattern == target;
    }
    if !has_wildcard(pattern) {
        return pattern == target;
    }
    glob(&units(pattern), &units(target))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Lit(char, bool),
    Star,
    Any1,
}

fn units(v: &str) -> Vec<Unit> {
    let mut out = Vec::with_capacity(v.len());
    let mut esc = false;
    for c in v.chars() {
        if esc {
            out.push(Unit::Lit(c, true));
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else if c == '*' {
            out.push(Unit::Star);
        } else if c == '?' {
            out.push(Unit::Any1);
        } else {
            out.push(Unit::Lit(c, false));
        }
    }
    out
}

/// Iterative glob with single backtrack point (linear-ish, no recursion).
fn glob(p: &[Unit], t: &[Unit]) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(Unit::Star) => {
                star = Some((pi, ti));
                pi += 1;
                continue;
            }
            Some(Unit::Any1) => {
                pi += 1;
                ti += 1;
                continue;
            }
            Some(Unit::Lit(c, _)) => {
                if let Some(Unit::Lit(d, _)) = t.get(ti) {
                    if c == d {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
            }
            None => {}
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p.get(pi..).unwrap_or(&[]).iter().all(|u| *u == Unit::Star)
}

impl fmt::Display for Cpe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cpe:2.3")?;
        for a in &self.attrs {
            f.write_str(":")?;
            f.write_str(a)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format_round_trip() {
        let s = "cpe:2.3:a:microsoft:internet_explorer:8.0.6001:beta:*:*:*:*:*:*";
        let c = Cpe::parse(s).unwrap();
        assert_eq!(c.to_string(), s);
        assert_eq!(c.vendor(), "microsoft");
        assert_eq!(c.update(), "beta");
        let e = Cpe::parse(r"cpe:2.3:a:foo\:bar:baz\!:1.0:*:*:*:*:*:*:*").unwrap();
        assert_eq!(e.vendor(), r"foo\:bar");
        assert_eq!(unescape_value(e.product()), "baz!");
        assert_eq!(Cpe::parse(&e.to_string()).unwrap(), e);
    }

    #[test]
    fn uri_form_and_builder() {
        let c = Cpe::parse("cpe:/a:igor_sysoev:nginx:1.14.0").unwrap();
        assert_eq!(c.version_plain().as_deref(), Some("1.14.0"));
        let u = Cpe::parse("cpe:/o:linux:linux_kernel").unwrap();
        assert_eq!(u.part(), "o");
        assert_eq!(u.version(), "*");
        let b = Cpe::application("Apache", "HTTP Server", Some("2.4.49"));
        assert_eq!(
            b.to_string(),
            "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*"
        );
        let p = Cpe::application("x", "y", Some("1.0+beta"));
        assert_eq!(p.version(), r"1.0\+beta");
        let s = Cpe::parse("cpe:/a:openbsd:openssh:8.9:p1").unwrap();
        assert_eq!(s.full_version().as_deref(), Some("8.9p1"));
    }

    #[test]
    fn rejects_malformed() {
        assert!(Cpe::parse("cpe:2.3:a:b").is_err());
        assert!(Cpe::parse("cpe:2.3:x:a:b:c:*:*:*:*:*:*:*").is_err());
        assert!(Cpe::parse("cpe:2.3:a:b:c:d:*:*:*:*:*:*:*\\").is_err());
        assert!(Cpe::parse("openssh").is_err());
        assert!(Cpe::parse(&"cpe:/a:".repeat(500)).is_err());
        assert!(Cpe::parse("cpe:2.3:a::c:d:*:*:*:*:*:*:*").is_err());
    }

    #[test]
    fn wildcard_matching() {
        let t = Cpe::parse("cpe:2.3:a:openbsd:openssh:7.4:*:*:*:*:*:*:*").unwrap();
        let any = Cpe::parse("cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*").unwrap();
        let glob = Cpe::parse("cpe:2.3:a:openbsd:openssh:7.*:*:*:*:*:*:*:*").unwrap();
        let glob2 = Cpe::parse("cpe:2.3:a:openbsd:openssh?:7.4:*:*:*:*:*:*:*").unwrap();
        let other = Cpe::parse("cpe:2.3:a:openbsd:openssh:7.5:*:*:*:*:*:*:*").unwrap();
        let na = Cpe::parse("cpe:2.3:a:openbsd:openssh:-:*:*:*:*:*:*:*").unwrap();
        let lit_star = Cpe::parse(r"cpe:2.3:a:openbsd:openssh:7\*:*:*:*:*:*:*:*").unwrap();
        assert!(any.matches(&t));
        assert!(glob.matches(&t));
        assert!(!glob2.matches(&t));
        assert!(!other.matches(&t));
        assert!(!na.matches(&t));
        assert!(
            !lit_star.matches(&Cpe::parse("cpe:2.3:a:openbsd:openssh:7x:*:*:*:*:*:*:*").unwrap())
        );
        assert!(t.matches(&t));
    }
}
