//! The typed filter expression: what `field:value AND NOT …` becomes once field types are
//! known, how it matches a record, and how it prints back as canonical query text.

use std::cmp::Ordering;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use mamori_core::{Event, Timestamp, Value};

use crate::schema::FieldType;

/// A boolean filter over records.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Matches everything (the empty query, or `*`).
    All,
    /// Every child matches (never nested directly in another `And`).
    And(Vec<Expr>),
    /// At least one child matches (never nested directly in another `Or`).
    Or(Vec<Expr>),
    /// The child does not match.
    Not(Box<Expr>),
    /// A field comparison.
    Cmp(Predicate),
    /// Free text, matched case-insensitively against `message` and `event.original`.
    Text(FreeText),
}

/// A field name with its resolved access path.
#[derive(Debug, Clone)]
pub struct Field {
    name: String,
    access: Access,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Timestamp,
    Kind,
    Dataset,
    Named,
}

impl Field {
    /// A field by dotted name.
    pub fn new(name: impl Into<String>) -> Field {
        let name = name.into();
        let access = match name.as_str() {
            "@timestamp" => Access::Timestamp,
            "event.kind" => Access::Kind,
            "event.dataset" => Access::Dataset,
            _ => Access::Named,
        };
        Field { name, access }
    }
    /// The dotted name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl PartialEq for Field {
    fn eq(&self, o: &Field) -> bool {
        self.name == o.name
    }
}

/// `field <op> value` with the field's type.
#[derive(Debug, Clone, PartialEq)]
pub struct Predicate {
    /// The field.
    pub field: Field,
    /// Its type in the schema.
    pub ty: FieldType,
    /// The comparison.
    pub op: Op,
}

/// A comparison of one field.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `field:*` — the field is present.
    Exists,
    /// `field:value` / `field=value`; on text fields a case-insensitive substring match.
    Eq(Lit),
    /// `<`, `<=`, `>`, `>=`.
    Cmp(CmpOp, Lit),
    /// `field:adm*` — `*` any run of characters, `?` exactly one.
    Wildcard(Glob),
    /// `source.ip:10.0.0.0/8` on IP fields.
    Cidr(IpNet),
    /// `field:/pattern/` (unanchored; `i` flag for case-insensitive).
    Regex(Pattern),
}

/// An ordering operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator text.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
    fn holds(self, ord: Ordering) -> bool {
        match self {
            CmpOp::Lt => ord == Ordering::Less,
            CmpOp::Le => ord != Ordering::Greater,
            CmpOp::Gt => ord == Ordering::Greater,
            CmpOp::Ge => ord != Ordering::Less,
        }
    }
}

/// A typed literal from the query.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    /// Text (keyword and text fields).
    Str(String),
    /// Integer (long fields).
    Int(i64),
    /// Finite float (double fields, and numeric comparisons on keyword fields).
    Float(f64),
    /// Address (ip fields).
    Ip(IpAddr),
    /// Instant (date fields).
    Time(Timestamp),
    /// Boolean fields.
    Bool(bool),
}

impl Lit {
    /// As a core [`Value`].
    pub fn to_value(&self) -> Value {
        match self {
            Lit::Str(s) => Value::Str(s.clone()),
            Lit::Int(i) => Value::Int(*i),
            Lit::Float(f) => Value::Float(*f),
            Lit::Ip(ip) => Value::Ip(*ip),
            Lit::Time(t) => Value::Time(*t),
            Lit::Bool(b) => Value::Bool(*b),
        }
    }
}

/// One element of a wildcard pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobTok {
    /// A literal character.
    Char(char),
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `?`: exactly one character.
    One,
}

/// A wildcard pattern; matched against the whole value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    /// The pattern.
    pub toks: Vec<GlobTok>,
    /// Compare case-insensitively (text fields and free text).
    pub fold_case: bool,
}

impl Glob {
    /// Whether `s` matches the whole pattern.
    pub fn matches(&self, s: &str) -> bool {
        if self.fold_case {
            glob_match(&self.toks, &s.to_lowercase())
        } else {
            glob_match(&self.toks, s)
        }
    }
    /// The literal prefix before the first wildcard (for pruning).
    pub fn literal_prefix(&self) -> String {
        self.toks
            .iter()
            .map_while(|t| match t {
                GlobTok::Char(c) => Some(*c),
                _ => None,
            })
            .collect()
    }
}

fn glob_match(pat: &[GlobTok], s: &str) -> bool {
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        let rest = s.get(i..).unwrap_or("");
        let advanced = match pat.get(p) {
            Some(GlobTok::Star) => {
                star = Some((p, i));
                p += 1;
                continue;
            }
            Some(GlobTok::One) => rest.chars().next().map(|c| c.len_utf8()),
            Some(GlobTok::Char(c)) => rest.chars().next().filter(|r| r == c).map(|r| r.len_utf8()),
            None if rest.is_empty() => return true,
            None => None,
        };
        if let Some(n) = advanced {
            i += n;
            p += 1;
            continue;
        }
        match star {
            Some((sp, si)) => {
                let Some(c) = s.get(si..).and_then(|r| r.chars().next()) else {
                    return false;
                };
                let ni = si + c.len_utf8();
                star = Some((sp, ni));
                p = sp + 1;
                i = ni;
            }
            None => return false,
        }
    }
}

/// A compiled regular expression with the text it came from.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// The pattern as written between the slashes (with `\/` turned into `/`).
    pub source: String,
    /// The `i` flag.
    pub case_insensitive: bool,
    /// The compiled form.
    pub regex: regex::Regex,
}

impl PartialEq for Pattern {
    fn eq(&self, o: &Pattern) -> bool {
        self.source == o.source && self.case_insensitive == o.case_insensitive
    }
}

/// Free text: a phrase (substring) or a wildcard pattern, case-insensitive.
#[derive(Debug, Clone)]
pub struct FreeText {
    /// The text as written (unescaped).
    pub text: String,
    /// The wildcard tokens as written, when the term had unescaped `*`/`?`.
    pub toks: Option<Vec<GlobTok>>,
    glob: Option<Glob>,
    lower: String,
}

impl PartialEq for FreeText {
    fn eq(&self, o: &FreeText) -> bool {
        self.text == o.text && self.toks == o.toks
    }
}

impl FreeText {
    /// A phrase searched as a case-insensitive substring.
    pub fn phrase(text: impl Into<String>) -> FreeText {
        let text = text.into();
        let lower = text.to_lowercase();
        FreeText {
            text,
            toks: None,
            glob: None,
            lower,
        }
    }
    /// A wildcard term; `text` is the term as written, `toks` its tokens (case is folded
    /// here).
    pub fn wildcard(text: impl Into<String>, toks: Vec<GlobTok>) -> FreeText {
        let text = text.into();
        let mut folded: Vec<GlobTok> = Vec::with_capacity(toks.len() + 2);
        if toks.first() != Some(&GlobTok::Star) {
            folded.push(GlobTok::Star);
        }
        for t in &toks {
            match t {
                GlobTok::Char(c) => folded.extend(c.to_lowercase().map(GlobTok::Char)),
                other => folded.push(*other),
            }
        }
        if toks.last() != Some(&GlobTok::Star) {
            folded.push(GlobTok::Star);
        }
        let lower = text.to_lowercase();
        FreeText {
            text,
            toks: Some(toks),
            glob: Some(Glob {
                toks: folded,
                fold_case: true,
            }),
            lower,
        }
    }
    fn matches_str(&self, hay: &str) -> bool {
        match &self.glob {
            Some(g) => g.matches(hay),
            None => contains_fold(hay, &self.lower),
        }
    }
}

/// Case-insensitive substring test; `needle_lower` must already be lowercase.
pub(crate) fn contains_fold(hay: &str, needle_lower: &str) -> bool {
    if needle_lower.is_empty() {
        return true;
    }
    if hay.is_ascii() && needle_lower.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle_lower.as_bytes());
        if n.len() > h.len() {
            return false;
        }
        let first = n.first().copied().unwrap_or(0);
        return h.windows(n.len()).any(|w| {
            w.first().map(u8::to_ascii_lowercase) == Some(first)
                && w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b)
        });
    }
    hay.to_lowercase().contains(needle_lower)
}

/// A borrowed view of a field's value.
#[derive(Debug, Clone, Copy)]
pub enum FieldView<'a> {
    /// Text held by the record.
    Str(&'a str),
    /// Any value.
    Value(&'a Value),
    /// An instant (`@timestamp`).
    Time(Timestamp),
}

impl FieldView<'_> {
    /// An owned [`Value`].
    pub fn to_value(self) -> Value {
        match self {
            FieldView::Str(s) => Value::Str(s.to_owned()),
            FieldView::Value(v) => v.clone(),
            FieldView::Time(t) => Value::Time(t),
        }
    }
}

/// Something a filter can be evaluated on: an [`Event`] or a result row.
pub trait Record {
    /// The value of a field, if present.
    fn field(&self, f: &Field) -> Option<FieldView<'_>>;
    /// Whether free text may search this record (events yes, result rows no).
    fn has_text(&self) -> bool {
        true
    }
}

impl Record for Event {
    #[inline]
    fn field(&self, f: &Field) -> Option<FieldView<'_>> {
        match f.access {
            Access::Timestamp => Some(FieldView::Time(self.timestamp)),
            Access::Kind => Some(FieldView::Str(self.kind.as_str())),
            Access::Dataset => Some(FieldView::Str(&self.dataset)),
            Access::Named => self.fields.get(f.name.as_str()).map(FieldView::Value),
        }
    }
}

/// A result row as a record: column names and values side by side.
#[derive(Debug, Clone, Copy)]
pub struct RowRecord<'a> {
    /// Column names.
    pub columns: &'a [String],
    /// Values (missing ones are `None`).
    pub values: &'a [Option<Value>],
}

impl Record for RowRecord<'_> {
    fn field(&self, f: &Field) -> Option<FieldView<'_>> {
        let i = self.columns.iter().position(|c| c == f.name())?;
        self.values.get(i)?.as_ref().map(FieldView::Value)
    }
    fn has_text(&self) -> bool {
        false
    }
}

static MESSAGE: std::sync::LazyLock<(Field, Field)> =
    std::sync::LazyLock::new(|| (Field::new("message"), Field::new("event.original")));

impl Expr {
    /// Whether the record matches.
    pub fn matches<R: Record + ?Sized>(&self, r: &R) -> bool {
        match self {
            Expr::All => true,
            Expr::And(v) => v.iter().all(|e| e.matches(r)),
            Expr::Or(v) => v.iter().any(|e| e.matches(r)),
            Expr::Not(e) => !e.matches(r),
            Expr::Cmp(p) => p.matches(r),
            Expr::Text(t) => {
                if !r.has_text() {
                    return false;
                }
                let (m, o) = &*MESSAGE;
                [m, o].into_iter().any(|f| match r.field(f) {
                    Some(v) => view_any_str(v, |s| t.matches_str(s)),
                    None => false,
                })
            }
        }
    }

    /// `a AND b`, flattening nested `And`s and dropping `All`.
    pub fn and(items: Vec<Expr>) -> Expr {
        let mut out = Vec::with_capacity(items.len());
        for e in items {
            match e {
                Expr::And(v) => out.extend(v),
                Expr::All => {}
                other => out.push(other),
            }
        }
        match out.len() {
            0 => Expr::All,
            1 => out.pop().unwrap_or(Expr::All),
            _ => Expr::And(out),
        }
    }

    /// `a OR b`, flattening nested `Or`s.
    pub fn or(items: Vec<Expr>) -> Expr {
        let mut out = Vec::with_capacity(items.len());
        for e in items {
            match e {
                Expr::Or(v) => out.extend(v),
                other => out.push(other),
            }
        }
        match out.len() {
            0 => Expr::All,
            1 => out.pop().unwrap_or(Expr::All),
            _ => Expr::Or(out),
        }
    }

    /// Every field name the expression reads (free text reads `message` and `event.original`).
    pub fn fields(&self, out: &mut std::collections::BTreeSet<String>) {
        match self {
            Expr::All => {}
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| e.fields(out)),
            Expr::Not(e) => e.fields(out),
            Expr::Cmp(p) => {
                out.insert(p.field.name().to_owned());
            }
            Expr::Text(_) => {
                out.insert("message".to_owned());
                out.insert("event.original".to_owned());
            }
        }
    }
}

/// Call `f` on the text of a value (each list item; non-text values are formatted).
fn view_any_str(v: FieldView<'_>, mut f: impl FnMut(&str) -> bool) -> bool {
    match v {
        FieldView::Str(s) => f(s),
        FieldView::Time(t) => f(&t.to_rfc3339()),
        FieldView::Value(v) => v.items().iter().any(|x| match x {
            Value::Str(s) => f(s),
            Value::List(_) => false,
            other => f(&other.to_string()),
        }),
    }
}

impl Predicate {
    /// Whether the record's field satisfies the comparison (any item of a list field).
    #[inline]
    pub fn matches<R: Record + ?Sized>(&self, r: &R) -> bool {
        let Some(v) = r.field(&self.field) else {
            return false;
        };
        match &self.op {
            Op::Exists => true,
            Op::Eq(lit) => match v {
                FieldView::Str(s) => self.str_eq(s, lit),
                FieldView::Time(t) => matches!(lit, Lit::Time(l) if *l == t),
                FieldView::Value(val) => val.items().iter().any(|x| self.value_eq(x, lit)),
            },
            Op::Cmp(op, lit) => match v {
                FieldView::Str(s) => {
                    cmp_value(&Value::Str(s.to_owned()), lit).is_some_and(|o| op.holds(o))
                }
                FieldView::Time(t) => cmp_value(&Value::Time(t), lit).is_some_and(|o| op.holds(o)),
                FieldView::Value(val) => val
                    .items()
                    .iter()
                    .any(|x| cmp_value(x, lit).is_some_and(|o| op.holds(o))),
            },
            Op::Wildcard(g) => view_any_str(v, |s| g.matches(s)),
            Op::Regex(p) => view_any_str(v, |s| p.regex.is_match(s)),
            Op::Cidr(net) => match v {
                FieldView::Value(val) => val
                    .items()
                    .iter()
                    .any(|x| x.as_ip().is_some_and(|ip| net.contains(&ip))),
                FieldView::Str(s) => s.parse::<IpAddr>().is_ok_and(|ip| net.contains(&ip)),
                FieldView::Time(_) => false,
            },
        }
    }

    #[inline]
    fn str_eq(&self, s: &str, lit: &Lit) -> bool {
        match lit {
            Lit::Str(l) if self.ty == FieldType::Text => contains_fold(s, l),
            Lit::Str(l) => s == l,
            other => cmp_value(&Value::Str(s.to_owned()), other) == Some(Ordering::Equal),
        }
    }

    #[inline]
    fn value_eq(&self, x: &Value, lit: &Lit) -> bool {
        match (x, lit) {
            (Value::Str(s), _) => self.str_eq(s, lit),
            (Value::Int(a), Lit::Int(b)) => a == b,
            (Value::Ip(a), Lit::Ip(b)) => a == b,
            (Value::Bool(a), Lit::Bool(b)) => a == b,
            (Value::Time(a), Lit::Time(b)) => a == b,
            (Value::List(_), _) => false,
            (_, Lit::Str(l)) => x.to_string() == *l,
            _ => cmp_value(x, lit) == Some(Ordering::Equal),
        }
    }
}

/// Order a record value against a literal of the field's type; `None` when incomparable.
fn cmp_value(x: &Value, lit: &Lit) -> Option<Ordering> {
    match lit {
        Lit::Int(b) => match x {
            Value::Int(a) => Some(a.cmp(b)),
            other => other.as_f64()?.partial_cmp(&(*b as f64)),
        },
        Lit::Float(b) => x.as_f64()?.partial_cmp(b),
        Lit::Ip(b) => {
            let a = x.as_ip()?;
            match (a, b) {
                (IpAddr::V4(a), IpAddr::V4(b)) => Some(a.cmp(b)),
                (IpAddr::V6(a), IpAddr::V6(b)) => Some(a.cmp(b)),
                _ => None,
            }
        }
        Lit::Time(b) => match x {
            Value::Time(a) => Some(a.cmp(b)),
            Value::Str(s) => Some(crate::parse::parse_date(s, None).ok()?.cmp(b)),
            _ => None,
        },
        Lit::Bool(b) => match x {
            Value::Bool(a) => Some(a.cmp(b)),
            Value::Str(s) => Some(parse_bool(s)?.cmp(b)),
            _ => None,
        },
        Lit::Str(b) => match x {
            Value::Str(a) => Some(a.as_str().cmp(b.as_str())),
            _ => None,
        },
    }
}

pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" | "TRUE" | "True" => Some(true),
        "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Canonical text

/// Characters that end an unquoted word or value.
pub(crate) fn is_special(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '|' | '"' | '\\')
}

/// Write a string in double quotes with `\"`, `\\`, `\n`, `\t`, `\r` escaped.
pub(crate) fn write_quoted(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

fn write_glob(f: &mut fmt::Formatter<'_>, toks: &[GlobTok]) -> fmt::Result {
    use fmt::Write;
    for (i, t) in toks.iter().enumerate() {
        match t {
            GlobTok::Star => f.write_char('*')?,
            GlobTok::One => f.write_char('?')?,
            GlobTok::Char(c) => {
                let leading = i == 0 && matches!(c, '-' | '!' | '/' | '&');
                if is_special(*c) || matches!(c, '*' | '?' | ':' | '=' | '<' | '>') || leading {
                    f.write_char('\\')?;
                }
                f.write_char(*c)?;
            }
        }
    }
    Ok(())
}

impl fmt::Display for Lit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lit::Str(s) => write_quoted(f, s),
            Lit::Int(i) => write!(f, "{i}"),
            Lit::Float(x) => write!(f, "{x}"),
            Lit::Ip(ip) => write!(f, "{ip}"),
            Lit::Time(t) => f.write_str(&t.to_rfc3339()),
            Lit::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.field.name();
        match &self.op {
            Op::Exists => write!(f, "{name}:*"),
            Op::Eq(l) => write!(f, "{name}:{l}"),
            Op::Cmp(op, l) => write!(f, "{name}{}{l}", op.as_str()),
            Op::Cidr(n) => write!(f, "{name}:{n}"),
            Op::Wildcard(g) => {
                write!(f, "{name}:")?;
                write_glob(f, &g.toks)
            }
            Op::Regex(p) => {
                write!(f, "{name}:/")?;
                let mut chars = p.source.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            f.write_str("\\")?;
                            if let Some(n) = chars.next() {
                                write!(f, "{n}")?;
                            }
                        }
                        '/' => f.write_str("\\/")?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("/")?;
                if p.case_insensitive {
                    f.write_str("i")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for FreeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.toks {
            Some(toks) => write_glob(f, toks),
            None => write_quoted(f, &self.text),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::All => f.write_str("*"),
            Expr::And(v) => {
                for (i, e) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" AND ")?;
                    }
                    match e {
                        Expr::Or(_) => write!(f, "({e})")?,
                        _ => write!(f, "{e}")?,
                    }
                }
                Ok(())
            }
            Expr::Or(v) => {
                for (i, e) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" OR ")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
            Expr::Not(e) => match **e {
                Expr::And(_) | Expr::Or(_) => write!(f, "NOT ({e})"),
                _ => write!(f, "NOT {e}"),
            },
            Expr::Cmp(p) => write!(f, "{p}"),
            Expr::Text(t) => write!(f, "{t}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(p: &str) -> Vec<GlobTok> {
        crate::parse::glob_tokens_of(p)
    }

    #[test]
    fn glob_matching() {
        assert!(glob_match(&g("adm*"), "admin"));
        assert!(glob_match(&g("adm*"), "adm"));
        assert!(!glob_match(&g("adm*"), "xadmin"));
        assert!(glob_match(&g("a?c"), "abc"));
        assert!(!glob_match(&g("a?c"), "ac"));
        assert!(glob_match(&g("*.exe"), "C:\\x\\cmd.exe"));
        assert!(glob_match(&g("*a*b*c*"), "xxaxxbxxcxx"));
        assert!(!glob_match(&g("*a*b*c*"), "xxaxxcxxbxx"));
        assert!(glob_match(&g("日?語"), "日本語"));
        assert!(glob_match(&g("*"), ""));
    }

    #[test]
    fn fold_contains() {
        assert!(contains_fold("Failed password for root", "failed"));
        assert!(contains_fold("ログイン失敗 User", "user"));
        assert!(!contains_fold("abc", "abcd"));
        assert!(contains_fold("anything", ""));
    }
}
