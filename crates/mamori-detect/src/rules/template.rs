//! Message templates: text with `{placeholder}`s for the numbers and fields that fired.

use std::fmt::Write as _;

use mamori_core::{Duration, Event};

use super::matcher::text;

/// Longest template accepted.
pub const MAX_TEMPLATE_LEN: usize = 2_000;
/// Longest field value copied into a message.
pub const MAX_VALUE_CHARS: usize = 200;

/// Placeholders that are not field names.
pub const BUILTIN_PLACEHOLDERS: &[&str] = &[
    "count",
    "distinct",
    "window",
    "rule",
    "silent_for",
    "expected",
    "percent",
    "total",
    "first",
    "last",
];

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Var(String),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template(Vec<Part>);

/// Numbers a rule hands to its message.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vars<'a> {
    pub count: u64,
    pub distinct: u64,
    pub window: Duration,
    pub rule: &'a str,
    pub silent_for: Duration,
    pub expected: Duration,
    pub percent: f64,
    pub total: u64,
    pub first: Option<mamori_core::Timestamp>,
    pub last: Option<mamori_core::Timestamp>,
}

/// `30s`, `5m`, `2h`, `1d`, `15m1s` style (whole seconds).
pub fn human(d: Duration) -> String {
    let mut s = d.as_nanos().max(0) / 1_000_000_000;
    if s == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, n) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if s >= n {
            let _ = write!(out, "{}{unit}", s / n);
            s %= n;
        }
    }
    out
}

impl Template {
    /// Parse; `{{`/`}}` are literal braces; a placeholder is a builtin name or a field name,
    /// or several field names separated by `|` (the first present one prints).
    pub(crate) fn parse(s: &str) -> Result<Template, String> {
        if s.len() > MAX_TEMPLATE_LEN {
            return Err(format!("longer than {MAX_TEMPLATE_LEN} bytes"));
        }
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut it = s.char_indices().peekable();
        while let Some((i, c)) = it.next() {
            match c {
                '{' if it.peek().map(|p| p.1) == Some('{') => {
                    it.next();
                    lit.push('{');
                }
                '}' if it.peek().map(|p| p.1) == Some('}') => {
                    it.next();
                    lit.push('}');
                }
                '{' => {
                    let rest = s.get(i + 1..).unwrap_or("");
                    let end = rest
                        .find('}')
                        .ok_or_else(|| format!("unclosed placeholder at byte {i}"))?;
                    let name = rest.get(..end).unwrap_or("").trim();
                    let ok = BUILTIN_PLACEHOLDERS.contains(&name)
                        || name.split('|').all(|alt| {
                            (alt.contains('.') || alt == "@timestamp") && !alt.contains(['{', ' '])
                        });
                    if !ok {
                        return Err(format!(
                            "unknown placeholder {{{name}}} (use a field name or one of {})",
                            BUILTIN_PLACEHOLDERS.join(", ")
                        ));
                    }
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Var(name.to_owned()));
                    let close = i + 1 + end;
                    while it.peek().is_some_and(|(j, _)| *j <= close) {
                        it.next();
                    }
                }
                '}' => return Err(format!("unmatched }} at byte {i}")),
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template(parts))
    }

    /// Field names the template reads.
    pub(crate) fn fields(&self) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter_map(|p| match p {
                Part::Var(v) if !BUILTIN_PLACEHOLDERS.contains(&v.as_str()) => Some(v.as_str()),
                _ => None,
            })
            .flat_map(|v| v.split('|'))
    }

    /// Render with the event that fired (fields missing on it print `-`).
    pub(crate) fn render(&self, ev: Option<&Event>, v: &Vars<'_>) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Var(name) => {
                    let _ = match name.as_str() {
                        "count" => write!(out, "{}", v.count),
                        "distinct" => write!(out, "{}", v.distinct),
                        "window" => write!(out, "{}", human(v.window)),
                        "rule" => write!(out, "{}", v.rule),
                        "silent_for" => write!(out, "{}", human(v.silent_for)),
                        "expected" => write!(out, "{}", human(v.expected)),
                        "percent" => write!(out, "{:.1}", v.percent),
                        "total" => write!(out, "{}", v.total),
                        "first" | "last" => {
                            let t = if name == "first" { v.first } else { v.last };
                            match t {
                                Some(t) => write!(out, "{}", t.to_rfc3339()),
                                None => write!(out, "-"),
                            }
                        }
                        field => match ev.and_then(|e| field.split('|').find_map(|f| e.get(f))) {
                            Some(val) => {
                                let t = text(&val);
                                out.extend(t.chars().take(MAX_VALUE_CHARS));
                                Ok(())
                            }
                            None => write!(out, "-"),
                        },
                    };
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_render() {
        let t =
            Template::parse("{source.ip} x{count} in {window} {{lit}} {host.name|host.hostname}")
                .unwrap();
        let mut ev = Event::new(mamori_core::Timestamp::EPOCH, "firewall");
        ev.set("source.ip", "10.0.0.1").set("host.hostname", "gw");
        let v = Vars {
            count: 10,
            window: Duration::from_secs(30),
            ..Vars::default()
        };
        assert_eq!(t.render(Some(&ev), &v), "10.0.0.1 x10 in 30s {lit} gw");
        assert!(Template::parse("{bogus}").is_err());
        assert!(Template::parse("{host.name|bogus}").is_err());
        assert!(Template::parse("{source.ip").is_err());
        assert!(Template::parse("a } b").is_err());
        assert_eq!(
            Template::parse("{user.name}").unwrap().render(None, &v),
            "-"
        );
    }
}
