//! Detection sections: selections (maps, lists of maps, keyword lists), field names with
//! modifiers, and the compiled value checks.

use std::borrow::Cow;
use std::collections::BTreeMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use ipnet::IpNet;
use mamori_core::{Timestamp, Value};
use yaml_serde::Value as Y;

use crate::condition::{self, Cond};
use crate::document::{Document, FieldValue};
use crate::error::RuleError;
use crate::mapping::Scope;
use crate::pattern::{self, Seg, StrMatch, Utf16};

/// Most values accepted for one field of a selection.
pub const MAX_VALUES_PER_FIELD: usize = 10_000;
/// Most selections (search identifiers) in one detection.
pub const MAX_SELECTIONS: usize = 512;
/// Most strings one value may expand to (placeholders × encodings).
pub const MAX_EXPANSIONS: usize = 4_096;
/// Longest single string value accepted.
pub const MAX_VALUE_LEN: usize = 64 * 1024;

/// Values configured for `expand` placeholders (`%name%` → values).
pub type Placeholders = BTreeMap<String, Vec<String>>;

/// How to find one Sigma field in a document: the names to try in order.
#[derive(Debug, Clone)]
pub struct FieldLookup {
    /// The name as written in the rule.
    pub sigma: String,
    /// The document names tried, first hit wins.
    pub names: Vec<String>,
    /// Prefix under which a name differing by spaces/case is accepted as a last resort.
    pub loose_prefix: Option<String>,
}

impl FieldLookup {
    /// Resolve a Sigma field name through a log-source scope.
    pub fn new(sigma: &str, scope: &Scope) -> FieldLookup {
        FieldLookup {
            sigma: sigma.to_owned(),
            names: scope.resolve_field(sigma),
            loose_prefix: if scope.loose_names {
                scope.raw_prefix.clone()
            } else {
                None
            },
        }
    }
    /// The first present value.
    pub fn get<'a, D: Document + ?Sized>(&self, doc: &'a D) -> Option<FieldValue<'a>> {
        self.names.iter().find_map(|n| doc.get(n)).or_else(|| {
            self.loose_prefix
                .as_deref()
                .and_then(|p| doc.get_loose(p, &self.sigma))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefMode {
    Exact,
    Contains,
    Prefix,
    Suffix,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeUnit {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

#[derive(Debug, Clone)]
enum Check {
    /// Any of the string patterns matches the value's text.
    Str(Vec<StrMatch>),
    /// A number: numeric equality, or the text form.
    Num(f64, StrMatch),
    Cmp(CmpOp, f64),
    Cidr(IpNet),
    Null,
    Exists(bool),
    FieldRef {
        other: FieldLookup,
        mode: RefMode,
        cased: bool,
    },
    Time(TimeUnit, i64),
}

fn text_of(v: &Value) -> Cow<'_, str> {
    match v {
        Value::Str(s) => Cow::Borrowed(s),
        other => Cow::Owned(other.to_string()),
    }
}

fn time_of(v: &Value) -> Option<Timestamp> {
    match v {
        Value::Time(t) => Some(*t),
        Value::Str(s) => Timestamp::parse_rfc3339(s).ok(),
        _ => None,
    }
}

fn time_part(t: Timestamp, unit: TimeUnit) -> i64 {
    let (y, mo, d, h, mi, _, _) = t.to_civil();
    match unit {
        TimeUnit::Minute => mi as i64,
        TimeUnit::Hour => h as i64,
        TimeUnit::Day => d as i64,
        TimeUnit::Month => mo as i64,
        TimeUnit::Year => y as i64,
        TimeUnit::Week => {
            // ISO 8601 week number.
            let days = t.unix_secs().div_euclid(86_400);
            let weekday = (days + 3).rem_euclid(7) + 1; // Monday = 1
            let jan1 = mamori_core::time::days_from_civil(y, 1, 1);
            let ordinal = days - jan1 + 1;
            let w = (ordinal - weekday + 10) / 7;
            if w < 1 {
                52
            } else if w == 53 {
                let dec31 = mamori_core::time::days_from_civil(y, 12, 31);
                let dec31_wd = (dec31 + 3).rem_euclid(7) + 1;
                if dec31_wd < 4 {
                    1
                } else {
                    53
                }
            } else {
                w
            }
        }
    }
}

impl Check {
    fn test<D: Document + ?Sized>(&self, item: &Value, doc: &D) -> bool {
        match self {
            Check::Str(ms) => {
                let t = text_of(item);
                ms.iter().any(|m| m.is_match(&t))
            }
            Check::Num(n, text) => item.as_f64() == Some(*n) || text.is_match(&text_of(item)),
            Check::Cmp(op, n) => match item.as_f64() {
                Some(x) => match op {
                    CmpOp::Gt => x > *n,
                    CmpOp::Gte => x >= *n,
                    CmpOp::Lt => x < *n,
                    CmpOp::Lte => x <= *n,
                },
                None => false,
            },
            Check::Cidr(net) => item.as_ip().is_some_and(|ip| net.contains(&ip)),
            Check::Null | Check::Exists(_) => false,
            Check::FieldRef { other, mode, cased } => {
                let Some(o) = other.get(doc) else {
                    return false;
                };
                let a = text_of(item);
                o.items().iter().any(|ov| {
                    let b = text_of(ov);
                    let (a, b): (Cow<'_, str>, Cow<'_, str>) = if *cased {
                        (Cow::Borrowed(a.as_ref()), b)
                    } else {
                        (Cow::Owned(a.to_lowercase()), Cow::Owned(b.to_lowercase()))
                    };
                    match mode {
                        RefMode::Exact => a == b,
                        RefMode::Contains => a.contains(b.as_ref()),
                        RefMode::Prefix => a.starts_with(b.as_ref()),
                        RefMode::Suffix => a.ends_with(b.as_ref()),
                    }
                })
            }
            Check::Time(unit, v) => time_of(item).is_some_and(|t| time_part(t, *unit) == *v),
        }
    }
}

/// One field (or keyword) test of a selection.
#[derive(Debug, Clone)]
pub struct FieldMatcher {
    field: Option<FieldLookup>,
    checks: Vec<Check>,
    all: bool,
    negate: bool,
    /// Many case-insensitive `contains` values scanned at once (OR semantics only).
    multi: Option<Multi>,
}

/// Pseudo field name under which keyword needles are given to the pre-filter.
pub(crate) const KEYWORDS_KEY: &str = "\u{0}keywords";

/// Fewest `contains` values of one field for which a single multi-needle scan is built.
pub const MULTI_MIN_NEEDLES: usize = 4;

#[derive(Debug, Clone)]
struct Multi {
    ac: AhoCorasick,
    needles: Vec<String>,
}

impl Multi {
    fn build(checks: &mut Vec<Check>) -> Option<Multi> {
        let count = checks
            .iter()
            .filter(|c| matches!(c, Check::Str(ms) if ms.len() == 1 && ms.iter().all(|m| m.ci_ascii_contains().is_some())))
            .count();
        if count < MULTI_MIN_NEEDLES {
            return None;
        }
        let mut needles = Vec::with_capacity(count);
        let mut rest = Vec::with_capacity(checks.len() - count);
        for c in checks.drain(..) {
            match &c {
                Check::Str(ms) if ms.len() == 1 => {
                    match ms.first().and_then(StrMatch::ci_ascii_contains) {
                        Some(n) => needles.push(n.to_owned()),
                        None => rest.push(c),
                    }
                }
                _ => rest.push(c),
            }
        }
        *checks = rest;
        match AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(&needles)
        {
            Ok(ac) => Some(Multi { ac, needles }),
            Err(_) => {
                // Too large for the automaton: keep the per-value checks.
                for n in &needles {
                    if let Ok(m) =
                        StrMatch::from_segs(&[Seg::Star, Seg::Lit(n.clone()), Seg::Star], false)
                    {
                        checks.push(Check::Str(vec![m]));
                    }
                }
                None
            }
        }
    }
}

impl FieldMatcher {
    /// Whether the document satisfies this test.
    pub fn matches<D: Document + ?Sized>(&self, doc: &D) -> bool {
        self.eval(doc) != self.negate
    }

    fn eval<D: Document + ?Sized>(&self, doc: &D) -> bool {
        match &self.field {
            None => {
                let one =
                    |c: &Check| doc.any_keyword(&mut |t| c.test(&Value::Str(t.to_owned()), doc));
                let one_fast = |c: &Check| match c {
                    Check::Str(ms) => doc.any_keyword(&mut |t| ms.iter().any(|m| m.is_match(t))),
                    other => one(other),
                };
                let all_str = self.checks.iter().all(|c| matches!(c, Check::Str(_)));
                if !self.all && all_str {
                    // One pass over the document's texts for every keyword.
                    return doc.any_keyword(&mut |t| {
                        self.multi.as_ref().is_some_and(|mu| mu.ac.is_match(t))
                            || self.checks.iter().any(|c| match c {
                                Check::Str(ms) => ms.iter().any(|m| m.is_match(t)),
                                _ => false,
                            })
                    });
                }
                if let Some(mu) = &self.multi {
                    if doc.any_keyword(&mut |t| mu.ac.is_match(t)) {
                        return true;
                    }
                }
                if self.all {
                    self.checks.iter().all(one_fast)
                } else {
                    self.checks.iter().any(one_fast)
                }
            }
            Some(f) => {
                let v = f.get(doc);
                if let (Some(mu), Some(val)) = (&self.multi, &v) {
                    if val
                        .items()
                        .iter()
                        .any(|i| mu.ac.is_match(text_of(i).as_ref()))
                    {
                        return true;
                    }
                }
                let test = |c: &Check| match c {
                    Check::Exists(want) => v.is_some() == *want,
                    Check::Null => match &v {
                        None => true,
                        Some(x) => matches!(x.as_ref(), Value::Str(s) if s.is_empty()),
                    },
                    _ => v
                        .as_ref()
                        .is_some_and(|v| v.items().iter().any(|item| c.test(item, doc))),
                };
                if self.all {
                    self.checks.iter().all(test)
                } else {
                    self.checks.iter().any(test)
                }
            }
        }
    }

    /// A field and needles one of which its value must contain for this test to hold.
    fn necessary(&self) -> Option<Need> {
        if self.negate {
            return None;
        }
        let names = match &self.field {
            Some(f) if f.loose_prefix.is_some() => return None,
            Some(f) => f.names.clone(),
            None => vec![KEYWORDS_KEY.to_owned()],
        };
        let mut needles: Vec<String> = self
            .multi
            .as_ref()
            .map(|m| m.needles.clone())
            .unwrap_or_default();
        if needles.is_empty() && self.checks.is_empty() {
            return None;
        }
        for c in &self.checks {
            match c {
                Check::Str(ms) => {
                    for m in ms {
                        needles.extend(m.needles()?);
                    }
                }
                Check::Num(_, text) => needles.extend(text.needles()?),
                _ => return None,
            }
        }
        // With `all` every value must match, so the union of the values' needles is still
        // necessary (the first value alone guarantees one of them occurs).
        Some(vec![(names, needles)])
    }

    /// The EventIDs this test requires, if it is a plain equality on `EventID`.
    fn event_ids(&self) -> Option<Vec<i64>> {
        let f = self.field.as_ref()?;
        if f.sigma != "EventID" || self.negate || self.all {
            return None;
        }
        let mut out = Vec::new();
        for c in &self.checks {
            match c {
                Check::Num(n, _) if n.fract() == 0.0 => out.push(*n as i64),
                _ => return None,
            }
        }
        Some(out)
    }
}

/// A necessary condition: the value of one of these fields (names tried in order) contains
/// one of its needles (lowercase).
pub type Need = Vec<(Vec<String>, Vec<String>)>;

fn need_score(n: &Need) -> usize {
    n.iter()
        .flat_map(|(_, ns)| ns.iter().map(String::len))
        .min()
        .unwrap_or(0)
}

fn cond_need(c: &Cond, sels: &[Selection]) -> Option<Need> {
    match c {
        Cond::Ref(i) => sels.get(*i).and_then(Selection::necessary),
        Cond::Not(_) => None,
        Cond::And(v) => v
            .iter()
            .filter_map(|x| cond_need(x, sels))
            .max_by_key(need_score),
        Cond::AllOf(v) => v
            .iter()
            .filter_map(|i| sels.get(*i).and_then(Selection::necessary))
            .max_by_key(need_score),
        Cond::Or(v) => {
            let mut out = Vec::new();
            for x in v {
                out.extend(cond_need(x, sels)?);
            }
            Some(out)
        }
        Cond::AtLeast(_, v) => {
            let mut out = Vec::new();
            for i in v {
                out.extend(sels.get(*i).and_then(Selection::necessary)?);
            }
            Some(out)
        }
    }
}

/// A search identifier: OR over branches, each an AND of field tests.
#[derive(Debug, Clone)]
pub struct Selection {
    branches: Vec<Vec<FieldMatcher>>,
}

impl Selection {
    /// Whether the document matches.
    pub fn matches<D: Document + ?Sized>(&self, doc: &D) -> bool {
        self.branches
            .iter()
            .any(|b| b.iter().all(|m| m.matches(doc)))
    }

    fn necessary(&self) -> Option<Need> {
        let mut out = Vec::new();
        for b in &self.branches {
            let best = b
                .iter()
                .filter_map(FieldMatcher::necessary)
                .max_by_key(need_score)?;
            out.extend(best);
        }
        (!out.is_empty()).then_some(out)
    }

    /// EventIDs every branch requires (None if some branch does not constrain them).
    fn event_ids(&self) -> Option<Vec<i64>> {
        let mut all = Vec::new();
        for b in &self.branches {
            let ids = b.iter().find_map(FieldMatcher::event_ids)?;
            all.extend(ids);
        }
        if all.is_empty() {
            None
        } else {
            Some(all)
        }
    }
}

/// A compiled detection: selections and the condition(s).
#[derive(Debug, Clone)]
pub struct Detection {
    /// Selection names in rule order.
    pub names: Vec<String>,
    selections: Vec<Selection>,
    cond: Cond,
}

impl Detection {
    /// Whether the document matches the condition.
    pub fn matches<D: Document + ?Sized>(&self, doc: &D) -> bool {
        let sels = &self.selections;
        self.cond
            .eval(&mut |i| sels.get(i).is_some_and(|s| s.matches(doc)))
    }

    /// A condition on field contents that must hold whenever the detection matches (used by
    /// the candidate pre-filter); `None` when no such literal condition is known.
    pub fn necessary(&self) -> Option<Need> {
        cond_need(&self.cond, &self.selections)
    }

    /// EventIDs the rule requires (for indexing), when the condition forces one selection
    /// that pins `EventID`.
    pub fn required_event_ids(&self) -> Option<Vec<i64>> {
        self.cond
            .required()
            .into_iter()
            .find_map(|i| self.selections.get(i).and_then(Selection::event_ids))
    }

    /// Compile a `detection` mapping (or a filter's `filter` mapping, minus `rules`).
    pub fn compile(
        det: &Y,
        scope: &Scope,
        placeholders: &Placeholders,
    ) -> Result<Detection, RuleError> {
        let map = det.as_mapping().ok_or_else(|| RuleError::Missing {
            key: "detection".into(),
        })?;
        let mut names = Vec::new();
        let mut selections = Vec::new();
        let mut conds: Vec<String> = Vec::new();
        for (k, v) in map {
            let Some(name) = k.as_str() else {
                return Err(RuleError::BadValue {
                    key: format!("{k:?}"),
                    reason: "selection names must be strings".into(),
                });
            };
            match name {
                "condition" => match v {
                    Y::String(s) => conds.push(s.clone()),
                    Y::Sequence(seq) => {
                        for c in seq {
                            match c.as_str() {
                                Some(s) => conds.push(s.to_owned()),
                                None => {
                                    return Err(RuleError::Missing {
                                        key: "condition".into(),
                                    })
                                }
                            }
                        }
                    }
                    _ => {
                        return Err(RuleError::Missing {
                            key: "condition".into(),
                        })
                    }
                },
                "timeframe" => {
                    return Err(RuleError::Unsupported {
                        what: "'timeframe' (deprecated aggregation); use a correlation rule".into(),
                    })
                }
                "rules" => {}
                _ => {
                    if selections.len() >= MAX_SELECTIONS {
                        return Err(RuleError::Limit {
                            what: format!("more than {MAX_SELECTIONS} selections"),
                        });
                    }
                    names.push(name.to_owned());
                    selections.push(compile_selection(name, v, scope, placeholders)?);
                }
            }
        }
        if conds.is_empty() {
            return Err(RuleError::Missing {
                key: "condition".into(),
            });
        }
        let mut parsed = Vec::with_capacity(conds.len());
        for c in &conds {
            parsed.push(condition::parse(c, &names)?);
        }
        let cond = if parsed.len() == 1 {
            parsed.remove(0)
        } else {
            Cond::Or(parsed)
        };
        Ok(Detection {
            names,
            selections,
            cond,
        })
    }
}

fn compile_selection(
    name: &str,
    v: &Y,
    scope: &Scope,
    ph: &Placeholders,
) -> Result<Selection, RuleError> {
    match v {
        Y::Mapping(m) => Ok(Selection {
            branches: vec![compile_map(m, scope, ph)?],
        }),
        Y::Sequence(items) => {
            let mut branches = Vec::new();
            let mut keywords = Vec::new();
            for it in items {
                match it {
                    Y::Mapping(m) => branches.push(compile_map(m, scope, ph)?),
                    Y::Sequence(_) | Y::Tagged(_) => {
                        return Err(RuleError::BadValue {
                            key: name.to_owned(),
                            reason: "nested lists are not allowed in a selection".into(),
                        })
                    }
                    scalar => keywords.push(scalar.clone()),
                }
            }
            if !keywords.is_empty() {
                branches.push(vec![compile_field(
                    "",
                    &Y::Sequence(keywords),
                    scope,
                    ph,
                    name,
                )?]);
            }
            Ok(Selection { branches })
        }
        Y::Null => Err(RuleError::BadValue {
            key: name.to_owned(),
            reason: "empty selection".into(),
        }),
        scalar => Ok(Selection {
            branches: vec![vec![compile_field("", scalar, scope, ph, name)?]],
        }),
    }
}

fn compile_map(
    m: &yaml_serde::Mapping,
    scope: &Scope,
    ph: &Placeholders,
) -> Result<Vec<FieldMatcher>, RuleError> {
    let mut out = Vec::with_capacity(m.len());
    for (k, v) in m {
        let key = match k {
            Y::String(s) => s.clone(),
            Y::Number(n) => n.to_string(),
            _ => {
                return Err(RuleError::BadValue {
                    key: format!("{k:?}"),
                    reason: "field names must be strings".into(),
                })
            }
        };
        out.push(compile_field(&key, v, scope, ph, &key)?);
    }
    Ok(out)
}

#[derive(Default)]
struct Mods {
    contains: bool,
    startswith: bool,
    endswith: bool,
    all: bool,
    re: bool,
    re_i: bool,
    re_m: bool,
    re_s: bool,
    base64: bool,
    base64offset: bool,
    utf16: Option<Utf16>,
    windash: bool,
    cidr: bool,
    exists: bool,
    cmp: Option<CmpOp>,
    fieldref: bool,
    expand: bool,
    cased: bool,
    neq: bool,
    time: Option<TimeUnit>,
}

fn parse_mods(key: &str) -> Result<(String, Mods), RuleError> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or("").to_owned();
    let mut m = Mods::default();
    for p in parts {
        let unknown = || RuleError::UnknownModifier {
            modifier: p.to_owned(),
            key: key.to_owned(),
        };
        match p {
            "contains" => m.contains = true,
            "startswith" => m.startswith = true,
            "endswith" => m.endswith = true,
            "all" => m.all = true,
            "re" => m.re = true,
            "i" if m.re => m.re_i = true,
            "m" if m.re => m.re_m = true,
            "s" if m.re => m.re_s = true,
            "base64" => m.base64 = true,
            "base64offset" => m.base64offset = true,
            "utf16le" | "wide" => m.utf16 = Some(Utf16::Le),
            "utf16be" => m.utf16 = Some(Utf16::Be),
            "utf16" => m.utf16 = Some(Utf16::LeBom),
            "windash" => m.windash = true,
            "cidr" => m.cidr = true,
            "exists" => m.exists = true,
            "gt" => m.cmp = Some(CmpOp::Gt),
            "gte" => m.cmp = Some(CmpOp::Gte),
            "lt" => m.cmp = Some(CmpOp::Lt),
            "lte" => m.cmp = Some(CmpOp::Lte),
            "fieldref" => m.fieldref = true,
            "expand" => m.expand = true,
            "cased" => m.cased = true,
            "neq" => m.neq = true,
            "minute" => m.time = Some(TimeUnit::Minute),
            "hour" => m.time = Some(TimeUnit::Hour),
            "day" => m.time = Some(TimeUnit::Day),
            "week" => m.time = Some(TimeUnit::Week),
            "month" => m.time = Some(TimeUnit::Month),
            "year" => m.time = Some(TimeUnit::Year),
            _ => return Err(unknown()),
        }
    }
    if (m.startswith as u8 + m.endswith as u8 + m.contains as u8) > 1 {
        return Err(RuleError::BadValue {
            key: key.to_owned(),
            reason: "contains/startswith/endswith are mutually exclusive".into(),
        });
    }
    Ok((field, m))
}

fn expand_placeholders(s: &str, ph: &Placeholders, key: &str) -> Result<Vec<String>, RuleError> {
    let mut out = vec![String::new()];
    let mut rest = s;
    while let Some(start) = rest.find('%') {
        let after = rest.get(start + 1..).unwrap_or("");
        let Some(end) = after.find('%') else { break };
        let name = after.get(..end).unwrap_or("");
        let pre = rest.get(..start).unwrap_or("");
        for o in &mut out {
            o.push_str(pre);
        }
        if name.is_empty() {
            for o in &mut out {
                o.push('%');
            }
            rest = after;
            continue;
        }
        let vals = ph.get(name).filter(|v| !v.is_empty()).ok_or_else(|| {
            RuleError::UnresolvedPlaceholder {
                name: name.to_owned(),
            }
        })?;
        let mut next = Vec::with_capacity(out.len() * vals.len());
        for o in &out {
            for v in vals {
                next.push(format!("{o}{v}"));
            }
        }
        if next.len() > MAX_EXPANSIONS {
            return Err(RuleError::Limit {
                what: format!("'{key}' expands to more than {MAX_EXPANSIONS} values"),
            });
        }
        out = next;
        rest = after.get(end + 1..).unwrap_or("");
    }
    for o in &mut out {
        o.push_str(rest);
    }
    Ok(out)
}

fn compile_field(
    key: &str,
    v: &Y,
    scope: &Scope,
    ph: &Placeholders,
    display_key: &str,
) -> Result<FieldMatcher, RuleError> {
    let (field, m) = parse_mods(key)?;
    let bad = |reason: String| RuleError::BadValue {
        key: display_key.to_owned(),
        reason,
    };
    let values: Vec<&Y> = match v {
        Y::Sequence(s) => s.iter().collect(),
        other => vec![other],
    };
    if values.len() > MAX_VALUES_PER_FIELD {
        return Err(RuleError::Limit {
            what: format!("'{display_key}' has more than {MAX_VALUES_PER_FIELD} values"),
        });
    }
    let lookup = if field.is_empty() {
        None
    } else {
        Some(FieldLookup::new(&field, scope))
    };
    if lookup.is_none() && (m.exists || m.fieldref || m.cidr || m.cmp.is_some()) {
        return Err(bad("this modifier needs a field name".into()));
    }
    let mut checks = Vec::with_capacity(values.len());
    for val in values {
        let scalar: Option<String> = match val {
            Y::Null => None,
            Y::String(s) => Some(s.clone()),
            Y::Number(n) => Some(n.to_string()),
            Y::Bool(b) => Some(b.to_string()),
            _ => return Err(bad("values must be scalars".into())),
        };
        if scalar.as_ref().is_some_and(|s| s.len() > MAX_VALUE_LEN) {
            return Err(RuleError::Limit {
                what: format!("a value of '{display_key}' is longer than {MAX_VALUE_LEN} bytes"),
            });
        }
        if m.exists {
            match val {
                Y::Bool(b) => checks.push(Check::Exists(*b)),
                Y::String(s) if s.eq_ignore_ascii_case("true") => checks.push(Check::Exists(true)),
                Y::String(s) if s.eq_ignore_ascii_case("false") => {
                    checks.push(Check::Exists(false))
                }
                _ => return Err(bad("exists takes true or false".into())),
            }
            continue;
        }
        let Some(s) = scalar else {
            if lookup.is_none() {
                return Err(bad("null is not a keyword".into()));
            }
            checks.push(Check::Null);
            continue;
        };
        if let Some(op) = m.cmp {
            let n: f64 = s
                .parse()
                .map_err(|_| bad(format!("'{s}' is not a number")))?;
            checks.push(Check::Cmp(op, n));
            continue;
        }
        if let Some(unit) = m.time {
            let n: i64 = s
                .parse()
                .map_err(|_| bad(format!("'{s}' is not an integer")))?;
            checks.push(Check::Time(unit, n));
            continue;
        }
        if m.cidr {
            let net: IpNet = s
                .parse()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| bad(format!("'{s}' is not a CIDR network")))?;
            checks.push(Check::Cidr(net));
            continue;
        }
        if m.fieldref {
            let mode = if m.contains {
                RefMode::Contains
            } else if m.startswith {
                RefMode::Prefix
            } else if m.endswith {
                RefMode::Suffix
            } else {
                RefMode::Exact
            };
            checks.push(Check::FieldRef {
                other: FieldLookup::new(&s, scope),
                mode,
                cased: m.cased,
            });
            continue;
        }
        if m.re {
            checks.push(Check::Str(vec![StrMatch::regex(
                &s, m.re_i, m.re_m, m.re_s,
            )?]));
            continue;
        }
        let texts = if m.expand {
            expand_placeholders(&s, ph, display_key)?
        } else {
            vec![s.clone()]
        };
        let encoded = m.base64 || m.base64offset || m.utf16.is_some();
        let mut matchers = Vec::new();
        for t in &texts {
            let mut variants: Vec<Vec<Seg>> = Vec::new();
            if encoded {
                let bytes = match m.utf16 {
                    Some(enc) => pattern::utf16_bytes(t, enc),
                    None => t.as_bytes().to_vec(),
                };
                if m.base64offset {
                    for o in pattern::base64_offsets(&bytes) {
                        variants.push(pattern::literal(&o));
                    }
                } else if m.base64 {
                    variants.push(pattern::literal(&pattern::base64(&bytes)));
                } else {
                    let s: String = bytes.iter().map(|&b| b as char).collect();
                    variants.push(pattern::literal(&s));
                }
            } else {
                let segs = pattern::parse_wildcards(t);
                variants.push(if m.windash {
                    pattern::windash(segs)
                } else {
                    segs
                });
            }
            for mut segs in variants {
                // Keywords are searched anywhere in the text unless anchored explicitly.
                let keyword = lookup.is_none() && !(m.startswith || m.endswith);
                if m.contains || m.endswith || keyword {
                    segs.insert(0, Seg::Star);
                }
                if m.contains || m.startswith || keyword {
                    segs.push(Seg::Star);
                }
                // Base64 text is case-sensitive by nature.
                let cased = m.cased || m.base64 || m.base64offset;
                matchers.push(StrMatch::from_segs(&segs, cased)?);
            }
        }
        let plain_number = matches!(val, Y::Number(_))
            && !(m.contains || m.startswith || m.endswith || encoded || m.windash);
        match (plain_number, s.parse::<f64>(), matchers.pop()) {
            (true, Ok(n), Some(text)) if matchers.is_empty() => checks.push(Check::Num(n, text)),
            (_, _, Some(last)) => {
                matchers.push(last);
                checks.push(Check::Str(matchers));
            }
            (_, _, None) => {}
        }
    }
    let multi = if m.all {
        None
    } else {
        Multi::build(&mut checks)
    };
    Ok(FieldMatcher {
        field: lookup,
        checks,
        all: m.all,
        negate: m.neq,
        multi,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::mapping::Mappings;
    use mamori_core::Event;

    pub(crate) fn scope() -> Scope {
        Mappings::builtin()
            .resolve(Some("windows"), Some("process_creation"), None)
            .unwrap()
    }

    fn det(yaml: &str) -> Result<Detection, RuleError> {
        let y: Y = yaml_serde::from_str(yaml).unwrap();
        let mut ph = Placeholders::new();
        ph.insert("admins".into(), vec!["root".into(), "administrator".into()]);
        Detection::compile(&y, &scope(), &ph)
    }

    fn ev(fields: &[(&str, Value)]) -> Event {
        let mut e = Event::new(Timestamp::from_unix_secs(1_700_000_000), "windows.sysmon");
        for (k, v) in fields {
            e.set(k.to_string(), v.clone());
        }
        e
    }

    fn m(yaml: &str, fields: &[(&str, Value)]) -> bool {
        det(yaml).unwrap().matches(&ev(fields))
    }

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    #[test]
    fn plain_equality_is_case_insensitive_and_maps_fields() {
        let r = "sel: {Image: 'C:\\Windows\\System32\\cmd.exe'}\ncondition: sel";
        assert!(m(
            r,
            &[("process.executable", s("c:\\windows\\system32\\CMD.exe"))]
        ));
        assert!(m(
            r,
            &[(
                "winlog.event_data.Image",
                s("C:\\Windows\\System32\\cmd.exe")
            )]
        ));
        assert!(!m(
            r,
            &[(
                "process.executable",
                s("C:\\Windows\\System32\\cmd.exe.bak")
            )]
        ));
        assert!(!m(r, &[]));
    }

    #[test]
    fn contains_startswith_endswith_all() {
        let r = "sel: {CommandLine|contains: [' -enc ', ' -e ']}\ncondition: sel";
        assert!(m(r, &[("process.command_line", s("powershell -ENC abc"))]));
        assert!(!m(r, &[("process.command_line", s("powershell -encoded"))]));
        let r = "sel: {CommandLine|contains|all: ['net', 'user', '/add']}\ncondition: sel";
        assert!(m(r, &[("process.command_line", s("NET USER bob /ADD"))]));
        assert!(!m(r, &[("process.command_line", s("net user bob"))]));
        let r = "sel: {Image|startswith: 'C:\\Users\\'}\ncondition: sel";
        assert!(m(r, &[("process.executable", s("c:\\users\\x\\a.exe"))]));
        assert!(!m(r, &[("process.executable", s("D:\\c:\\users\\"))]));
        let r = "sel: {Image|endswith: '\\rundll32.exe'}\ncondition: sel";
        assert!(m(r, &[("process.executable", s("C:\\x\\RUNDLL32.EXE"))]));
        assert!(!m(r, &[("process.executable", s("C:\\x\\rundll32.exe.x"))]));
    }

    #[test]
    fn cased_modifier() {
        let r = "sel: {CommandLine|contains|cased: 'FromBase64'}\ncondition: sel";
        assert!(m(
            r,
            &[("process.command_line", s("[x]::FromBase64String"))]
        ));
        assert!(!m(
            r,
            &[("process.command_line", s("[x]::frombase64string"))]
        ));
    }

    #[test]
    fn regex_with_flags() {
        let r = "sel: {CommandLine|re: '^abc.*DEF$'}\ncondition: sel";
        assert!(m(r, &[("process.command_line", s("abcxDEF"))]));
        assert!(!m(r, &[("process.command_line", s("ABCxdef"))]));
        let r = "sel: {CommandLine|re|i: '^abc.*DEF$'}\ncondition: sel";
        assert!(m(r, &[("process.command_line", s("ABCxdef"))]));
        let r = "sel: {CommandLine|re|m: '^second$'}\ncondition: sel";
        assert!(m(r, &[("process.command_line", s("first\nsecond"))]));
        let r = "sel: {CommandLine|re: '^second$'}\ncondition: sel";
        assert!(!m(r, &[("process.command_line", s("first\nsecond"))]));
        let r = "sel: {CommandLine|re|s: 'a.b'}\ncondition: sel";
        assert!(m(r, &[("process.command_line", s("a\nb"))]));
        let r = "sel: {CommandLine|re: 'a.b'}\ncondition: sel";
        assert!(!m(r, &[("process.command_line", s("a\nb"))]));
        assert!(matches!(
            det("sel: {CommandLine|re: '(unclosed'}\ncondition: sel"),
            Err(RuleError::Pattern(_))
        ));
    }

    #[test]
    fn base64_and_offsets_and_wide() {
        let r = "sel: {CommandLine|base64: 'http://'}\ncondition: sel";
        assert!(m(r, &[("process.command_line", s("aHR0cDovLw=="))]));
        let r = "sel: {CommandLine|base64|contains: 'http://'}\ncondition: sel";
        assert!(m(r, &[("process.command_line", s("x aHR0cDovLw== y"))]));
        assert!(!m(r, &[("process.command_line", s("x AHR0CDOVLW== y"))]));
        let r = "sel: {CommandLine|base64offset|contains: 'IEX'}\ncondition: sel";
        for pre in ["", "a", "ab"] {
            let enc = pattern::base64(format!("{pre}IEX (New-Object)").as_bytes());
            assert!(m(r, &[("process.command_line", s(&enc))]), "{pre}");
        }
        assert!(!m(r, &[("process.command_line", s("aGVsbG8gd29ybGQ="))]));
        let r = "sel: {CommandLine|wide|base64offset|contains: 'ping'}\ncondition: sel";
        let enc = pattern::base64(&pattern::utf16_bytes("x ping y", Utf16::Le));
        assert!(m(r, &[("process.command_line", s(&enc))]));
        let r = "sel: {CommandLine|utf16be|base64: 'A'}\ncondition: sel";
        assert!(m(r, &[("process.command_line", s("AEE="))]));
        let r = "sel: {CommandLine|utf16|base64: 'A'}\ncondition: sel";
        assert!(m(r, &[("process.command_line", s("//5BAA=="))]));
    }

    #[test]
    fn windash() {
        let r = "sel: {CommandLine|windash|contains: ' -s '}\ncondition: sel";
        assert!(m(r, &[("process.command_line", s("x /s y"))]));
        assert!(m(r, &[("process.command_line", s("x \u{2013}s y"))]));
        assert!(!m(r, &[("process.command_line", s("x +s y"))]));
    }

    #[test]
    fn cidr_and_numbers() {
        let r = "sel: {DestinationIp|cidr: ['10.0.0.0/8', 'fe80::/10']}\ncondition: sel";
        assert!(m(
            r,
            &[(
                "winlog.event_data.DestinationIp",
                Value::Ip("10.1.2.3".parse().unwrap())
            )]
        ));
        assert!(m(r, &[("winlog.event_data.DestinationIp", s("fe80::1"))]));
        assert!(!m(r, &[("winlog.event_data.DestinationIp", s("11.0.0.1"))]));
        assert!(!m(
            r,
            &[("winlog.event_data.DestinationIp", s("not an ip"))]
        ));
        let r = "sel: {EventID: 4688}\ncondition: sel";
        assert!(m(r, &[("event.code", s("4688"))]));
        assert!(m(r, &[("event.code", Value::Int(4688))]));
        assert!(!m(r, &[("event.code", Value::Int(4689))]));
        let r = "sel: {EventID: '4688'}\ncondition: sel";
        assert!(m(r, &[("event.code", Value::Int(4688))]));
        let r = "sel: {DestinationPort|gt: 1024}\ncondition: sel";
        assert!(m(
            r,
            &[("winlog.event_data.DestinationPort", Value::Int(1025))]
        ));
        assert!(!m(
            r,
            &[("winlog.event_data.DestinationPort", Value::Int(1024))]
        ));
        let r = "sel: {DestinationPort|gte: 1024}\ncondition: sel";
        assert!(m(
            r,
            &[("winlog.event_data.DestinationPort", Value::Int(1024))]
        ));
        let r = "sel: {DestinationPort|lt: 10}\ncondition: sel";
        assert!(m(r, &[("winlog.event_data.DestinationPort", s("9"))]));
        assert!(!m(r, &[("winlog.event_data.DestinationPort", s("ten"))]));
        let r = "sel: {DestinationPort|lte: 10}\ncondition: sel";
        assert!(m(
            r,
            &[("winlog.event_data.DestinationPort", Value::Int(10))]
        ));
        assert!(!m(
            r,
            &[("winlog.event_data.DestinationPort", Value::Int(11))]
        ));
    }

    #[test]
    fn exists_null_and_empty() {
        let r = "sel: {CommandLine|exists: true}\ncondition: sel";
        assert!(m(r, &[("process.command_line", s("x"))]));
        assert!(!m(r, &[]));
        let r = "sel: {CommandLine|exists: false}\ncondition: sel";
        assert!(m(r, &[]));
        let r = "sel: {CommandLine: null}\ncondition: sel";
        assert!(m(r, &[]));
        assert!(!m(r, &[("process.command_line", s("x"))]));
        let r = "sel: {CommandLine: ''}\ncondition: sel";
        assert!(m(r, &[("process.command_line", s(""))]));
        assert!(!m(r, &[("process.command_line", s("x"))]));
    }

    #[test]
    fn fieldref_and_neq_and_expand() {
        let r = "sel: {ParentImage|fieldref: Image}\ncondition: sel";
        assert!(m(
            r,
            &[
                ("process.executable", s("A.exe")),
                ("process.parent.executable", s("a.EXE"))
            ]
        ));
        assert!(!m(
            r,
            &[
                ("process.executable", s("a.exe")),
                ("process.parent.executable", s("b.exe"))
            ]
        ));
        assert!(!m(r, &[("process.parent.executable", s("b.exe"))]));
        let r = "sel: {CommandLine|fieldref|endswith: Image}\ncondition: sel";
        assert!(m(
            r,
            &[
                ("process.executable", s("b.exe")),
                ("process.command_line", s("c:\\b.EXE"))
            ]
        ));
        let r = "sel: {User|neq: SYSTEM}\ncondition: sel";
        assert!(m(r, &[("winlog.event_data.User", s("bob"))]));
        assert!(!m(r, &[("winlog.event_data.User", s("system"))]));
        let r = "sel: {User|expand: '%admins%'}\ncondition: sel";
        assert!(m(r, &[("winlog.event_data.User", s("Administrator"))]));
        assert!(!m(r, &[("winlog.event_data.User", s("bob"))]));
        assert!(matches!(
            det("sel: {User|expand: '%missing%'}\ncondition: sel"),
            Err(RuleError::UnresolvedPlaceholder { .. })
        ));
    }

    #[test]
    fn time_modifiers() {
        // 2023-11-14T22:13:20Z is a Tuesday in ISO week 46.
        let t = Value::Time(Timestamp::from_unix_secs(1_700_000_000));
        for (m_, v, ok) in [
            ("hour", 22, true),
            ("minute", 13, true),
            ("day", 14, true),
            ("month", 11, true),
            ("year", 2023, true),
            ("week", 46, true),
            ("hour", 21, false),
        ] {
            let r = format!("sel: {{UtcTime|{m_}: {v}}}\ncondition: sel");
            assert_eq!(
                m(&r, &[("winlog.event_data.UtcTime", t.clone())]),
                ok,
                "{m_}"
            );
        }
    }

    #[test]
    fn lists_of_maps_and_keywords() {
        let r =
            "sel:\n  - Image|endswith: '\\a.exe'\n  - CommandLine|contains: 'evil'\ncondition: sel";
        assert!(m(r, &[("process.executable", s("x\\a.exe"))]));
        assert!(m(r, &[("process.command_line", s("so EVIL"))]));
        assert!(!m(r, &[("process.command_line", s("good"))]));
        let r = "keywords:\n  - 'mimikatz'\n  - 'sekurlsa::'\ncondition: keywords";
        assert!(m(r, &[("message", s("running Mimikatz now"))]));
        assert!(m(
            r,
            &[("winlog.event_data.Payload", s("x sekurlsa::logonpasswords"))]
        ));
        assert!(!m(r, &[("message", s("benign"))]));
        let r = "keywords:\n  '|all': ['alpha', 'beta']\ncondition: keywords";
        assert!(m(r, &[("message", s("alpha")), ("x", s("beta"))]));
        assert!(!m(r, &[("message", s("alpha"))]));
    }

    #[test]
    fn many_contains_values_use_one_scan_with_same_semantics() {
        let r =
            "sel: {CommandLine|contains: ['-enc', 'iex', 'bypass', 'hidden', 'Ä']}\ncondition: sel";
        let d = det(r).unwrap();
        assert!(d.selections[0].branches[0][0].multi.is_some());
        assert!(m(
            r,
            &[("process.command_line", s("x -ExecutionPolicy BYPASS"))]
        ));
        assert!(m(r, &[("process.command_line", s("xäx"))]));
        assert!(!m(r, &[("process.command_line", s("benign"))]));
        assert!(!m(r, &[]));
        // The pre-filter still sees every value.
        let need = d.necessary().unwrap();
        assert_eq!(need[0].1.len(), 5);
        let r = "keywords: ['alpha', 'beta', 'gamma', 'delta']\ncondition: keywords";
        assert!(m(r, &[("message", s("x GAMMA y"))]));
        assert!(!m(r, &[("message", s("epsilon"))]));
        // `all` keeps per-value checks.
        let r = "sel: {CommandLine|contains|all: ['a1', 'b2', 'c3', 'd4']}\ncondition: sel";
        assert!(m(r, &[("process.command_line", s("a1 b2 c3 d4"))]));
        assert!(!m(r, &[("process.command_line", s("a1 b2 c3"))]));
    }

    #[test]
    fn load_errors() {
        assert!(matches!(
            det("sel: {Image|bogus: x}\ncondition: sel"),
            Err(RuleError::UnknownModifier { .. })
        ));
        assert!(matches!(
            det("sel: {Image|cidr: 'nope'}\ncondition: sel"),
            Err(RuleError::BadValue { .. })
        ));
        assert!(matches!(
            det("sel: {Image: x}"),
            Err(RuleError::Missing { .. })
        ));
        assert!(matches!(
            det("sel: {Image: x}\ncondition: other"),
            Err(RuleError::Condition { .. })
        ));
        assert!(matches!(
            det("sel: {Image|gt: abc}\ncondition: sel"),
            Err(RuleError::BadValue { .. })
        ));
        assert!(matches!(
            det("sel: {Image|contains|startswith: x}\ncondition: sel"),
            Err(RuleError::BadValue { .. })
        ));
    }

    #[test]
    fn required_event_ids_for_index() {
        let d = det("sel: {EventID: [4624, 4625]}\nf: {x: 1}\ncondition: sel and not f").unwrap();
        assert_eq!(d.required_event_ids(), Some(vec![4624, 4625]));
        let d = det("sel: {EventID: 4624}\nf: {x: 1}\ncondition: sel or f").unwrap();
        assert_eq!(d.required_event_ids(), None);
    }
}
