//! The `condition` expression: `and`/`or`/`not`, parentheses, `1 of pattern*`,
//! `all of them`, with Sigma's precedence (or < and < not < x-of < parentheses).

use crate::error::RuleError;

/// Deepest nesting of parentheses/`not` accepted in a condition.
pub const MAX_CONDITION_DEPTH: usize = 64;
/// Most `*` accepted in one `x of pattern` selection pattern.
pub const MAX_PATTERN_STARS: usize = 4;
/// Longest condition text accepted.
pub const MAX_CONDITION_LEN: usize = 16 * 1024;

/// A parsed condition over selection indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// One selection.
    Ref(usize),
    /// Negation.
    Not(Box<Cond>),
    /// All must hold.
    And(Vec<Cond>),
    /// One must hold.
    Or(Vec<Cond>),
    /// At least `n` of the selections hold.
    AtLeast(usize, Vec<usize>),
    /// All of the selections hold.
    AllOf(Vec<usize>),
}

impl Cond {
    /// Evaluate with a selection oracle.
    pub fn eval(&self, sel: &mut dyn FnMut(usize) -> bool) -> bool {
        match self {
            Cond::Ref(i) => sel(*i),
            Cond::Not(c) => !c.eval(sel),
            Cond::And(v) => v.iter().all(|c| c.eval(sel)),
            Cond::Or(v) => v.iter().any(|c| c.eval(sel)),
            Cond::AtLeast(n, v) => {
                let mut hits = 0;
                for &i in v {
                    if sel(i) {
                        hits += 1;
                        if hits >= *n {
                            return true;
                        }
                    }
                }
                false
            }
            Cond::AllOf(v) => v.iter().all(|&i| sel(i)),
        }
    }

    /// Selections that must all hold for the condition to hold (used for indexing).
    pub fn required(&self) -> Vec<usize> {
        match self {
            Cond::Ref(i) => vec![*i],
            Cond::And(v) => v.iter().flat_map(Cond::required).collect(),
            Cond::AllOf(v) => v.clone(),
            Cond::Or(v) if v.len() == 1 => v.first().map(Cond::required).unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Of,
    Them,
    All,
    Num(usize),
    Ident(String),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<Tok>| {
        if word.is_empty() {
            return;
        }
        let w = std::mem::take(word);
        let t = match w.to_ascii_lowercase().as_str() {
            "and" => Tok::And,
            "or" => Tok::Or,
            "not" => Tok::Not,
            "of" => Tok::Of,
            "them" => Tok::Them,
            "all" => Tok::All,
            "any" => Tok::Num(1),
            _ => match w.parse::<usize>() {
                Ok(n) => Tok::Num(n),
                Err(_) => Tok::Ident(w),
            },
        };
        out.push(t);
    };
    for c in s.chars() {
        match c {
            '(' | ')' => {
                flush(&mut word, &mut out);
                out.push(if c == '(' { Tok::LParen } else { Tok::RParen });
            }
            '|' => {
                return Err(
                    "deprecated aggregation ('|') is not supported; use a correlation rule".into(),
                )
            }
            c if c.is_whitespace() => flush(&mut word, &mut out),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    names: &'a [String],
}

fn glob_match(pat: &str, name: &str) -> bool {
    match pat.split_once('*') {
        None => pat == name,
        Some((pre, post)) => {
            if !name.starts_with(pre) {
                return false;
            }
            let rest = name.get(pre.len()..).unwrap_or("");
            if post.is_empty() {
                return true;
            }
            // Try every split for the remaining pattern.
            (0..=rest.len())
                .filter(|&i| rest.is_char_boundary(i))
                .any(|i| glob_match(post, rest.get(i..).unwrap_or("")))
        }
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn or(&mut self, depth: usize) -> Result<Cond, String> {
        let mut v = vec![self.and(depth)?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            v.push(self.and(depth)?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Cond::Or(v)
        })
    }
    fn and(&mut self, depth: usize) -> Result<Cond, String> {
        let mut v = vec![self.not(depth)?];
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            v.push(self.not(depth)?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Cond::And(v)
        })
    }
    fn not(&mut self, depth: usize) -> Result<Cond, String> {
        if depth > MAX_CONDITION_DEPTH {
            return Err(format!("nested deeper than {MAX_CONDITION_DEPTH}"));
        }
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            return Ok(Cond::Not(Box::new(self.not(depth + 1)?)));
        }
        self.primary(depth)
    }
    fn pattern(&mut self) -> Result<Vec<usize>, String> {
        match self.next() {
            Some(Tok::Them) => Ok(self
                .names
                .iter()
                .enumerate()
                .filter(|(_, n)| !n.starts_with('_'))
                .map(|(i, _)| i)
                .collect()),
            Some(Tok::Ident(p)) => {
                if p.matches('*').count() > MAX_PATTERN_STARS {
                    return Err(format!("'{p}' has more than {MAX_PATTERN_STARS} wildcards"));
                }
                let v: Vec<usize> = self
                    .names
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| glob_match(&p, n))
                    .map(|(i, _)| i)
                    .collect();
                if v.is_empty() {
                    Err(format!("'{p}' matches no selection"))
                } else {
                    Ok(v)
                }
            }
            other => Err(format!(
                "expected a selection pattern or 'them', found {other:?}"
            )),
        }
    }
    fn primary(&mut self, depth: usize) -> Result<Cond, String> {
        match self.next() {
            Some(Tok::LParen) => {
                let c = self.or(depth + 1)?;
                match self.next() {
                    Some(Tok::RParen) => Ok(c),
                    _ => Err("missing ')'".into()),
                }
            }
            Some(Tok::Num(n)) => {
                if self.next() != Some(Tok::Of) {
                    return Err(format!("expected 'of' after '{n}'"));
                }
                if n == 0 {
                    return Err("'0 of' is not meaningful".into());
                }
                Ok(Cond::AtLeast(n, self.pattern()?))
            }
            Some(Tok::All) => {
                if self.next() != Some(Tok::Of) {
                    return Err("expected 'of' after 'all'".into());
                }
                Ok(Cond::AllOf(self.pattern()?))
            }
            Some(Tok::Ident(name)) => match self.names.iter().position(|n| *n == name) {
                Some(i) => Ok(Cond::Ref(i)),
                None => Err(format!("unknown selection '{name}'")),
            },
            Some(t) => Err(format!("unexpected {t:?}")),
            None => Err("unexpected end".into()),
        }
    }
}

/// Parse one condition string against the rule's selection names.
pub fn parse(cond: &str, names: &[String]) -> Result<Cond, RuleError> {
    let err = |reason: String| RuleError::Condition {
        condition: cond.chars().take(200).collect(),
        reason,
    };
    if cond.len() > MAX_CONDITION_LEN {
        return Err(err(format!("longer than {MAX_CONDITION_LEN} bytes")));
    }
    let toks = tokenize(cond).map_err(err)?;
    if toks.is_empty() {
        return Err(err("empty".into()));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        names,
    };
    let c = p.or(0).map_err(err)?;
    if p.pos < p.toks.len() {
        return Err(err(format!("unexpected {:?}", p.toks.get(p.pos))));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        [
            "selection",
            "selection_a",
            "selection_b",
            "filter",
            "_private",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn ev(c: &str, truth: &[bool]) -> bool {
        let c = parse(c, &names()).unwrap();
        c.eval(&mut |i| truth.get(i).copied().unwrap_or(false))
    }

    #[test]
    fn precedence_and_before_or_not_before_and() {
        // a or b and c  ==  a or (b and c)
        assert!(ev(
            "selection or selection_a and selection_b",
            &[true, false, false]
        ));
        assert!(!ev(
            "(selection or selection_a) and selection_b",
            &[true, false, false]
        ));
        // not a and b == (not a) and b
        assert!(ev("not selection and selection_a", &[false, true]));
        assert!(!ev("not (selection and selection_a)", &[true, true]));
        assert!(ev("selection and not filter", &[true, false, false, false]));
        assert!(!ev("selection and not filter", &[true, false, false, true]));
    }

    #[test]
    fn quantifiers_and_patterns() {
        assert!(ev("1 of selection_*", &[false, false, true]));
        assert!(!ev("1 of selection_*", &[true, false, false]));
        assert!(ev("all of selection_*", &[false, true, true]));
        assert!(!ev("all of selection_*", &[true, true, false]));
        // `them` excludes underscore-prefixed identifiers.
        assert!(ev("all of them", &[true, true, true, true, false]));
        assert!(!ev("1 of them", &[false, false, false, false, true]));
        assert!(ev("any of sel*", &[false, true]));
        assert!(ev("2 of selection*", &[true, false, true]));
        assert!(!ev("2 of selection*", &[true, false, false]));
    }

    #[test]
    fn errors_name_the_problem() {
        for bad in [
            "",
            "selection and",
            "unknown",
            "1 of nothing_*",
            "(selection",
            "selection | count() > 5",
            "all selection",
            "selection selection_a",
        ] {
            assert!(parse(bad, &names()).is_err(), "{bad}");
        }
        let deep = "not ".repeat(100) + "selection";
        assert!(parse(&deep, &names()).is_err());
        let parens = "(".repeat(100) + "selection" + &")".repeat(100);
        assert!(parse(&parens, &names()).is_err());
    }

    #[test]
    fn glob() {
        assert!(glob_match("sel*", "selection"));
        assert!(glob_match("*tion", "selection"));
        assert!(glob_match("s*c*n", "selection"));
        assert!(!glob_match("x*", "selection"));
    }
}
