//! The `match:` condition language: field → value / list / wildcard / operators, combined
//! with `all`, `any` and `not`.

use std::borrow::Cow;
use std::net::IpAddr;

use ipnet::IpNet;
use mamori_core::{Event, Value};
use yaml_serde::Value as Y;

use super::config::{Hours, RulesConfig};
use crate::util;

/// Longest regex source accepted.
pub const MAX_REGEX_LEN: usize = 1_024;
/// Compiled size limit of one regex (bytes).
pub const MAX_REGEX_SIZE: usize = 1 << 20;
/// Deepest nesting of `all`/`any`/`not`.
pub const MAX_DEPTH: usize = 16;
/// Most alternatives in one value list (after placeholders are resolved).
pub const MAX_ALTERNATIVES: usize = 20_000;

/// Numeric comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cmp {
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Cmp {
    fn test(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Gt => a > b,
            Cmp::Gte => a >= b,
            Cmp::Lt => a < b,
            Cmp::Lte => a <= b,
        }
    }
}

/// One test applied to a field value.
#[derive(Debug, Clone)]
pub(crate) enum Test {
    /// Case-insensitive equality (text already lower-cased).
    Eq(String),
    /// Case-insensitive `*`/`?` wildcard (lower-cased).
    Glob(String),
    Contains(String),
    StartsWith(String),
    EndsWith(String),
    Regex(regex::Regex),
    Cidr(IpNet),
    Num(Cmp, f64),
    Abs(Cmp, f64),
    Len(Cmp, f64),
    Entropy(Cmp, f64),
    /// DGA score of the registered label of a DNS name (network checks' heuristic).
    DgaScore(Cmp, f64),
    /// Text is (or starts with, as a URL host) a literal IP address.
    IpHost(bool),
    AnyOf(Vec<Test>),
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub(crate) enum Cond {
    True,
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
    Field(String, Test),
    Exists(String, bool),
    OutsideHours(bool),
}

/// What compiling a condition learnt (for lint).
#[derive(Debug, Default, Clone)]
pub(crate) struct CondInfo {
    pub fields: Vec<String>,
    pub datasets: Vec<String>,
}

pub(crate) struct Ctx<'a> {
    /// Config for `${name}` placeholders.
    pub config: &'a RulesConfig,
    pub info: CondInfo,
}

const OPERATORS: &[&str] = &[
    "eq",
    "contains",
    "startswith",
    "endswith",
    "re",
    "cidr",
    "gt",
    "gte",
    "lt",
    "lte",
    "abs_gt",
    "abs_gte",
    "abs_lt",
    "len_gt",
    "len_gte",
    "len_lt",
    "entropy_gte",
    "dga_score_gte",
    "ip_host",
    "exists",
    "not",
];

fn scalar_text(y: &Y) -> Option<String> {
    match y {
        Y::String(s) => Some(s.clone()),
        Y::Number(n) => Some(n.to_string()),
        Y::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn num(y: &Y, what: &str) -> Result<f64, String> {
    match y {
        Y::Number(n) => n.as_f64().ok_or_else(|| format!("{what}: not a number")),
        Y::String(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("{what}: expected a number, got {s:?}")),
        other => Err(format!("{what}: expected a number, got {other:?}")),
    }
}

impl Ctx<'_> {
    /// Values of a scalar or list, with `${name}` placeholders expanded from the config.
    fn texts(&self, y: &Y, field: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        let items: Vec<&Y> = match y {
            Y::Sequence(s) => s.iter().collect(),
            other => vec![other],
        };
        for it in items {
            let t = scalar_text(it)
                .ok_or_else(|| format!("{field}: expected a scalar or a list of scalars"))?;
            if let Some(name) = t.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
                let l = self
                    .config
                    .list(name)
                    .ok_or_else(|| format!("{field}: unknown placeholder ${{{name}}}"))?;
                out.extend(l.iter().cloned());
            } else {
                out.push(t);
            }
            if out.len() > MAX_ALTERNATIVES {
                return Err(format!("{field}: more than {MAX_ALTERNATIVES} values"));
            }
        }
        Ok(out)
    }

    fn value_tests(&mut self, y: &Y, field: &str, op: &str) -> Result<Vec<Test>, String> {
        let texts = self.texts(y, field)?;
        let mut v = Vec::with_capacity(texts.len());
        for t in texts {
            let low = t.to_lowercase();
            v.push(match op {
                "eq" => {
                    if low.contains(['*', '?']) {
                        Test::Glob(low)
                    } else {
                        Test::Eq(low)
                    }
                }
                "contains" => Test::Contains(low),
                "startswith" => Test::StartsWith(low),
                "endswith" => Test::EndsWith(low),
                "cidr" => Test::Cidr(
                    parse_net(&t).ok_or_else(|| format!("{field}: invalid CIDR or IP {t:?}"))?,
                ),
                "re" => {
                    if t.len() > MAX_REGEX_LEN {
                        return Err(format!("{field}: regex longer than {MAX_REGEX_LEN}"));
                    }
                    Test::Regex(
                        regex::RegexBuilder::new(&t)
                            .case_insensitive(true)
                            .size_limit(MAX_REGEX_SIZE)
                            .build()
                            .map_err(|e| format!("{field}: invalid regex {t:?}: {e}"))?,
                    )
                }
                _ => return Err(format!("{field}: unknown operator {op:?}")),
            });
        }
        Ok(v)
    }

    fn field_test(&mut self, field: &str, y: &Y) -> Result<Cond, String> {
        if field == "event.dataset" {
            if let Ok(ts) = self.texts(y, field) {
                self.info.datasets.extend(ts);
            }
        }
        self.info.fields.push(field.to_owned());
        let Y::Mapping(m) = y else {
            let tests = self.value_tests(y, field, "eq")?;
            return Ok(Cond::Field(field.to_owned(), Test::AnyOf(tests)));
        };
        let mut all = Vec::new();
        for (k, v) in m {
            let op = k
                .as_str()
                .ok_or_else(|| format!("{field}: operator names must be text"))?;
            if !OPERATORS.contains(&op) {
                return Err(format!(
                    "{field}: unknown operator {op:?} (known: {})",
                    OPERATORS.join(", ")
                ));
            }
            let c = match op {
                "exists" => Cond::Exists(
                    field.to_owned(),
                    v.as_bool()
                        .ok_or_else(|| format!("{field}: exists takes true or false"))?,
                ),
                "not" => {
                    let inner = match v {
                        Y::Mapping(_) => self.field_test(field, v)?,
                        _ => Cond::Field(
                            field.to_owned(),
                            Test::AnyOf(self.value_tests(v, field, "eq")?),
                        ),
                    };
                    Cond::Not(Box::new(inner))
                }
                "ip_host" => Cond::Field(
                    field.to_owned(),
                    Test::IpHost(
                        v.as_bool()
                            .ok_or_else(|| format!("{field}: ip_host takes true or false"))?,
                    ),
                ),
                "gt" | "gte" | "lt" | "lte" | "abs_gt" | "abs_gte" | "abs_lt" | "len_gt"
                | "len_gte" | "len_lt" | "entropy_gte" | "dga_score_gte" => {
                    let n = num(v, field)?;
                    let (kind, cmp) = op.rsplit_once('_').unwrap_or(("", op));
                    let cmp = match cmp {
                        "gt" => Cmp::Gt,
                        "gte" => Cmp::Gte,
                        "lt" => Cmp::Lt,
                        _ => Cmp::Lte,
                    };
                    let t = match kind {
                        "abs" => Test::Abs(cmp, n),
                        "len" => Test::Len(cmp, n),
                        "entropy" => Test::Entropy(cmp, n),
                        "dga_score" => Test::DgaScore(cmp, n),
                        _ => Test::Num(cmp, n),
                    };
                    Cond::Field(field.to_owned(), t)
                }
                _ => Cond::Field(
                    field.to_owned(),
                    Test::AnyOf(self.value_tests(v, field, op)?),
                ),
            };
            all.push(c);
        }
        Ok(match all.len() {
            1 => all.pop().unwrap_or(Cond::True),
            _ => Cond::All(all),
        })
    }

    /// Compile a condition: a mapping (all entries must hold) whose keys are field names or
    /// `all`, `any`, `not`, `outside_business_hours`.
    pub(crate) fn compile(&mut self, y: &Y, depth: usize) -> Result<Cond, String> {
        if depth > MAX_DEPTH {
            return Err(format!("conditions nested deeper than {MAX_DEPTH}"));
        }
        let Y::Mapping(m) = y else {
            return Err("a condition must be a mapping of field names to values".into());
        };
        let mut all = Vec::new();
        for (k, v) in m {
            let key = k
                .as_str()
                .ok_or_else(|| "condition keys must be text".to_owned())?;
            let c = match key {
                "all" | "any" => {
                    let Y::Sequence(items) = v else {
                        return Err(format!("{key}: expected a list of conditions"));
                    };
                    let mut cs = Vec::with_capacity(items.len());
                    for it in items {
                        cs.push(self.compile(it, depth + 1)?);
                    }
                    if key == "all" {
                        Cond::All(cs)
                    } else {
                        Cond::Any(cs)
                    }
                }
                "not" => Cond::Not(Box::new(self.compile(v, depth + 1)?)),
                "outside_business_hours" => Cond::OutsideHours(
                    v.as_bool()
                        .ok_or_else(|| "outside_business_hours takes true or false".to_owned())?,
                ),
                field => self.field_test(field, v)?,
            };
            all.push(c);
        }
        Ok(match all.len() {
            0 => Cond::True,
            1 => all.pop().unwrap_or(Cond::True),
            _ => Cond::All(all),
        })
    }
}

fn parse_net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

/// Text form of a value for string tests.
pub(crate) fn text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::Str(s) => Cow::Borrowed(s.as_str()),
        other => Cow::Owned(other.to_string()),
    }
}

fn as_num(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse::<f64>().ok()))
}

/// `*` any run, `?` one character; both texts already lower-cased.
pub(crate) fn glob(pat: &str, s: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let t: Vec<char> = s.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some(pi);
                mark = ti;
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some(sp) => {
                    pi = sp + 1;
                    mark += 1;
                    ti = mark;
                }
                None => return false,
            },
        }
    }
    while p.get(pi) == Some(&'*') {
        pi += 1;
    }
    pi == p.len()
}

fn url_host(s: &str) -> &str {
    let s = s.split_once("://").map_or(s, |(_, r)| r);
    let s = s.split(['/', '?', '#']).next().unwrap_or(s);
    s.rsplit_once('@').map_or(s, |(_, h)| h)
}

impl Test {
    fn test_one(&self, v: &Value) -> bool {
        match self {
            Test::AnyOf(ts) => ts.iter().any(|t| t.test(v)),
            Test::Cidr(net) => match v {
                Value::Ip(ip) => net.contains(ip),
                other => other
                    .as_str()
                    .and_then(|s| s.trim().parse::<IpAddr>().ok())
                    .is_some_and(|ip| net.contains(&ip)),
            },
            Test::Num(c, n) => as_num(v).is_some_and(|x| c.test(x, *n)),
            Test::Abs(c, n) => as_num(v).is_some_and(|x| c.test(x.abs(), *n)),
            Test::Regex(re) => re.is_match(&text(v)),
            Test::Len(c, n) => c.test(text(v).chars().count() as f64, *n),
            Test::Entropy(c, n) => c.test(util::entropy(&text(v)), *n),
            Test::DgaScore(c, n) => {
                let t = text(v);
                let name = util::lower(t.trim_end_matches('.'));
                c.test(
                    f64::from(util::dga_score(util::registered_label(&name))),
                    *n,
                )
            }
            Test::IpHost(want) => {
                let t = text(v);
                util::is_ip_literal(url_host(&t)) == *want
            }
            Test::Eq(_)
            | Test::Glob(_)
            | Test::Contains(_)
            | Test::StartsWith(_)
            | Test::EndsWith(_) => {
                let t = text(v);
                let low = util::lower(&t);
                match self {
                    Test::Eq(p) => low == p.as_str(),
                    Test::Glob(p) => glob(p, &low),
                    Test::Contains(p) => low.contains(p.as_str()),
                    Test::StartsWith(p) => low.starts_with(p.as_str()),
                    Test::EndsWith(p) => low.ends_with(p.as_str()),
                    _ => false,
                }
            }
        }
    }

    /// Text tests on a borrowed string (no allocation for `event.dataset`).
    fn test_str(&self, s: &str) -> bool {
        match self {
            Test::AnyOf(ts) => ts.iter().any(|t| t.test_str(s)),
            Test::Eq(p) => util::lower(s) == p.as_str(),
            Test::Glob(p) => glob(p, &util::lower(s)),
            other => other.test_one(&Value::Str(s.to_owned())),
        }
    }

    /// A list-valued field matches when any item does.
    fn test(&self, v: &Value) -> bool {
        match v {
            Value::List(items) => items.iter().any(|i| self.test_one(i)),
            other => self.test_one(other),
        }
    }
}

impl Cond {
    /// Evaluate against an event (`hours` for `outside_business_hours`).
    pub(crate) fn eval(&self, ev: &Event, hours: &Hours) -> bool {
        match self {
            Cond::True => true,
            Cond::All(cs) => cs.iter().all(|c| c.eval(ev, hours)),
            Cond::Any(cs) => cs.iter().any(|c| c.eval(ev, hours)),
            Cond::Not(c) => !c.eval(ev, hours),
            Cond::Exists(f, want) => ev.get(f).is_some() == *want,
            Cond::OutsideHours(want) => hours.outside(ev.timestamp) == *want,
            Cond::Field(f, t) => match f.as_str() {
                "event.dataset" | "event.kind" => ev.get_str(f).is_some_and(|s| t.test_str(s)),
                _ => ev.get(f).is_some_and(|v| t.test(&v)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn glob_semantics() {
        assert!(glob("*$", "pc01$"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "ac"));
        assert!(glob("*.exe", "x.y.exe"));
        assert!(!glob("*.exe", "x.exe.txt"));
        assert!(glob("*", ""));
    }
}
