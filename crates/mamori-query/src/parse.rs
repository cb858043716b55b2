//! Query text → typed [`Plan`]: a hand-written recursive-descent parser over characters, so
//! every error knows its column. Field types from the [`Schema`] drive value parsing.
//!
//! Grammar (informal; keywords are case-insensitive):
//!
//! ```text
//! query   := filter? ('|' stage)*
//! filter  := and (('OR' | '||') and)*
//! and     := unary (('AND' | '&&')? unary)*          -- juxtaposition is AND
//! unary   := ('NOT' | '!' | '-') unary | '(' filter ')' | term
//! term    := field op value | "phrase" | word         -- bare words/phrases search message
//! op      := ':' | '=' | '!=' | '<' | '<=' | '>' | '>='
//! value   := "quoted" | /regex/[i] | word-with-*-and-? | *
//! stage   := stats aggs [by cols] | timechart [span=D] [aggs] [by col] | sort [-]col, …
//!          | head [N] | tail [N] | fields col, … | where filter | top [N] col
//! ```

use ipnet::IpNet;
use mamori_core::{Duration, Timestamp};

use crate::error::{QueryError, QueryErrorKind as K};
use crate::expr::{CmpOp, Expr, Field, FreeText, GlobTok, Lit, Op, Pattern, Predicate};
use crate::plan::{Agg, AggFunc, Plan, SortKey, Stage, TimeRange};
use crate::schema::{type_name, FieldType, Schema};
use crate::{
    DEFAULT_HEAD, MAX_DEPTH, MAX_LIST_ITEMS, MAX_QUERY_CHARS, MAX_REGEX_BYTES, MAX_STAGES,
};

/// What the caller adds to the query text: the reference time for `now-7d` and the time range
/// (`--since 7d`) that the query may narrow with `@timestamp` comparisons.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// "Now" for relative times; without it `now-1h` is an error (the core reads no clock).
    pub now: Option<Timestamp>,
    /// The caller's time range; the plan's range is this narrowed by the query.
    pub time: TimeRange,
}

type Result<T> = std::result::Result<T, QueryError>;

/// The fields a filter may name: the event schema, or the columns of a previous stage.
#[derive(Clone, Copy)]
enum Scope<'s> {
    Events(&'s Schema),
    Rows(&'s [(String, FieldType)]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RawOp {
    Colon,
    Eq,
    Ne,
    Cmp(CmpOp),
}

impl RawOp {
    fn text(self) -> &'static str {
        match self {
            RawOp::Colon => ":",
            RawOp::Eq => "=",
            RawOp::Ne => "!=",
            RawOp::Cmp(c) => c.as_str(),
        }
    }
    fn is_eq_like(self) -> bool {
        !matches!(self, RawOp::Cmp(_))
    }
}

/// A word as read: its unescaped text, its wildcard tokens and whether it had wildcards.
struct Word {
    text: String,
    toks: Vec<GlobTok>,
    wild: bool,
    escaped: bool,
}

enum RawValue {
    Quoted(String),
    Regex(String, bool),
    Word(Word),
}

pub(crate) struct Parser<'a> {
    src: &'a str,
    chars: Vec<char>,
    pos: usize,
    depth: usize,
    schema: &'a Schema,
    opts: &'a ParseOptions,
}

/// Parse a full query (filter and pipeline) into a typed plan.
pub fn parse(query: &str, schema: &Schema, opts: &ParseOptions) -> Result<Plan> {
    let mut p = Parser::new(query, schema, opts)?;
    p.parse_query()
}

/// Parse only a filter (no `|` stages): the condition of a saved search or hunt.
pub fn parse_filter(query: &str, schema: &Schema, opts: &ParseOptions) -> Result<Expr> {
    let mut p = Parser::new(query, schema, opts)?;
    p.skip_ws();
    let e = if p.at_end() {
        Expr::All
    } else {
        p.parse_or(Scope::Events(schema))?
    };
    p.skip_ws();
    if !p.at_end() {
        return Err(p.err(
            K::Expected {
                expected: "an operator (AND, OR) or the end of the filter (no '|' stages here)",
                found: p.found(),
            },
            p.pos,
        ));
    }
    Ok(e)
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, schema: &'a Schema, opts: &'a ParseOptions) -> Result<Parser<'a>> {
        let len = src.chars().count();
        if len > MAX_QUERY_CHARS {
            return Err(QueryError {
                kind: K::TooLong {
                    len,
                    max: MAX_QUERY_CHARS,
                },
                column: MAX_QUERY_CHARS + 1,
                query: src.chars().take(MAX_QUERY_CHARS).collect(),
            });
        }
        Ok(Parser {
            src,
            chars: src.chars().collect(),
            pos: 0,
            depth: 0,
            schema,
            opts,
        })
    }

    fn err(&self, kind: K, pos: usize) -> QueryError {
        QueryError {
            kind,
            column: pos + 1,
            query: self.src.to_owned(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }
    /// A short description of what is at the cursor, for messages.
    fn found(&self) -> String {
        if self.at_end() {
            return "end of query".to_owned();
        }
        let tok: String = self
            .chars
            .get(self.pos..)
            .unwrap_or_default()
            .iter()
            .take_while(|c| !c.is_whitespace())
            .take(24)
            .collect();
        format!("`{tok}`")
    }
    fn at_pipe(&self) -> bool {
        self.peek() == Some('|') && self.peek_at(1) != Some('|')
    }
    /// Whether the case-insensitive keyword `kw` is at the cursor as a whole word.
    fn at_keyword(&self, kw: &str) -> bool {
        let n = kw.chars().count();
        let Some(slice) = self.chars.get(self.pos..self.pos + n) else {
            return false;
        };
        if !slice
            .iter()
            .zip(kw.chars())
            .all(|(a, b)| a.eq_ignore_ascii_case(&b))
        {
            return false;
        }
        match self.chars.get(self.pos + n) {
            None => true,
            Some(c) => c.is_whitespace() || matches!(c, '(' | '"' | ')'),
        }
    }
    fn eat_keyword(&mut self, kw: &str) -> bool {
        if self.at_keyword(kw) {
            self.pos += kw.chars().count();
            true
        } else {
            false
        }
    }
    fn eat_str(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        match self.chars.get(self.pos..self.pos + n) {
            Some(slice) if slice.iter().copied().eq(s.chars()) => {
                self.pos += n;
                true
            }
            _ => false,
        }
    }
    fn expect_char(&mut self, c: char, expected: &'static str) -> Result<()> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(
                K::Expected {
                    expected,
                    found: self.found(),
                },
                self.pos,
            ))
        }
    }

    // -----------------------------------------------------------------------------------------
    // Filter

    fn parse_query(&mut self) -> Result<Plan> {
        self.skip_ws();
        let filter = if self.at_end() || self.at_pipe() {
            Expr::All
        } else {
            self.parse_or(Scope::Events(self.schema))?
        };
        let mut pipeline = Vec::new();
        let mut cols: Option<Vec<(String, FieldType)>> = None;
        loop {
            self.skip_ws();
            if self.at_end() {
                break;
            }
            if !self.at_pipe() {
                return Err(self.err(
                    K::Expected {
                        expected: "an operator (AND, OR), '|' or the end of the query",
                        found: self.found(),
                    },
                    self.pos,
                ));
            }
            if pipeline.len() >= MAX_STAGES {
                return Err(self.err(
                    K::TooMany {
                        what: "pipeline stages",
                        max: MAX_STAGES,
                    },
                    self.pos,
                ));
            }
            self.pos += 1;
            let stage = self.parse_stage(&mut cols)?;
            pipeline.push(stage);
        }
        let time = self.opts.time.intersect(&TimeRange::from_filter(&filter));
        Ok(Plan {
            filter,
            time,
            pipeline,
        })
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(K::TooDeep { max: MAX_DEPTH }, self.pos));
        }
        Ok(())
    }

    fn parse_or(&mut self, scope: Scope<'_>) -> Result<Expr> {
        let mut items = vec![self.parse_and(scope)?];
        loop {
            self.skip_ws();
            if self.eat_keyword("OR") || self.eat_str("||") {
                if items.len() >= MAX_LIST_ITEMS {
                    return Err(self.err(
                        K::TooMany {
                            what: "terms in one OR",
                            max: MAX_LIST_ITEMS,
                        },
                        self.pos,
                    ));
                }
                items.push(self.parse_and(scope)?);
            } else {
                break;
            }
        }
        Ok(Expr::or(items))
    }

    fn parse_and(&mut self, scope: Scope<'_>) -> Result<Expr> {
        let mut items = vec![self.parse_unary(scope)?];
        loop {
            self.skip_ws();
            if self.at_end()
                || self.peek() == Some(')')
                || self.at_pipe()
                || self.at_keyword("OR")
                || self.peek() == Some('|')
            {
                break;
            }
            if !self.eat_keyword("AND") {
                self.eat_str("&&");
            }
            if items.len() >= MAX_LIST_ITEMS {
                return Err(self.err(
                    K::TooMany {
                        what: "terms in one AND",
                        max: MAX_LIST_ITEMS,
                    },
                    self.pos,
                ));
            }
            items.push(self.parse_unary(scope)?);
        }
        Ok(Expr::and(items))
    }

    fn parse_unary(&mut self, scope: Scope<'_>) -> Result<Expr> {
        self.skip_ws();
        self.enter()?;
        let negate = if self.eat_keyword("NOT") {
            true
        } else if (self.peek() == Some('!') && self.peek_at(1) != Some('='))
            || (self.peek() == Some('-') && self.peek_at(1).is_some_and(|c| !c.is_whitespace()))
        {
            self.pos += 1;
            true
        } else {
            false
        };
        let e = if negate {
            Expr::Not(Box::new(self.parse_unary(scope)?))
        } else {
            self.parse_primary(scope)?
        };
        self.depth -= 1;
        Ok(e)
    }

    fn parse_primary(&mut self, scope: Scope<'_>) -> Result<Expr> {
        self.skip_ws();
        match self.peek() {
            None | Some(')') | Some('|') => Err(self.err(
                K::Expected {
                    expected: "a search term",
                    found: self.found(),
                },
                self.pos,
            )),
            Some('(') => {
                self.pos += 1;
                self.skip_ws();
                let e = self.parse_or(scope)?;
                self.skip_ws();
                self.expect_char(')', "')'")?;
                Ok(e)
            }
            Some('"') => {
                let start = self.pos;
                let s = self.read_quoted()?;
                self.free_text(scope, FreeText::phrase(s), start)
            }
            Some(_) => self.parse_term(scope),
        }
    }

    fn free_text(&self, scope: Scope<'_>, t: FreeText, start: usize) -> Result<Expr> {
        match scope {
            Scope::Events(_) => Ok(Expr::Text(t)),
            Scope::Rows(_) => Err(self.err(K::FreeTextOnRows { text: t.text }, start)),
        }
    }

    fn parse_term(&mut self, scope: Scope<'_>) -> Result<Expr> {
        let start = self.pos;
        let word = self.read_word(false);
        let mut op_pos = self.pos;
        let mut op = self.read_op();
        if op.is_none() && !word.text.is_empty() {
            // `field > value`: whitespace before the operator.
            let after_word = self.pos;
            self.skip_ws();
            op_pos = self.pos;
            op = self.read_op();
            if op.is_none() {
                self.pos = after_word;
            }
        }
        let Some(op) = op else {
            if word.text.is_empty() {
                return Err(self.err(
                    K::Expected {
                        expected: "a search term",
                        found: self.found(),
                    },
                    self.pos,
                ));
            }
            if word.wild && word.toks == [GlobTok::Star] {
                return Ok(Expr::All);
            }
            let t = if word.wild {
                FreeText::wildcard(word.text, word.toks)
            } else {
                FreeText::phrase(word.text)
            };
            return self.free_text(scope, t, start);
        };
        if word.text.is_empty() || word.wild || word.escaped {
            return Err(self.err(
                K::Expected {
                    expected: "a field name before the operator",
                    found: format!("`{}`", op.text()),
                },
                start,
            ));
        }
        let ty = self.resolve(scope, &word.text, start)?;
        self.skip_ws();
        let val_pos = self.pos;
        let spaced = val_pos > op_pos + op.text().len();
        if spaced && (self.at_keyword("AND") || self.at_keyword("OR") || self.at_keyword("NOT")) {
            return Err(self.err(
                K::ExpectedValue {
                    after: op.text().to_owned(),
                },
                op_pos,
            ));
        }
        if self.peek() == Some('(') && op.is_eq_like() {
            return self.value_group(word.text, ty, op, op_pos);
        }
        let value = self.read_value(op, op_pos)?;
        self.build(word.text, ty, op, value, val_pos)
    }

    fn read_value(&mut self, op: RawOp, op_pos: usize) -> Result<RawValue> {
        Ok(match self.peek() {
            None | Some(')') | Some('|') | Some('(') => {
                return Err(self.err(
                    K::ExpectedValue {
                        after: op.text().to_owned(),
                    },
                    op_pos,
                ))
            }
            Some('"') => RawValue::Quoted(self.read_quoted()?),
            Some('/') if op.is_eq_like() => {
                let (src, ci) = self.read_regex()?;
                RawValue::Regex(src, ci)
            }
            Some(_) => RawValue::Word(self.read_word(true)),
        })
    }

    /// `field:(a OR b OR "c d")`: alternatives of one field, the same as
    /// `(field:a OR field:b OR field:"c d")`; with `!=` the whole group is negated.
    fn value_group(
        &mut self,
        name: String,
        ty: FieldType,
        op: RawOp,
        op_pos: usize,
    ) -> Result<Expr> {
        self.pos += 1;
        let each = if op == RawOp::Ne { RawOp::Colon } else { op };
        let mut alts = Vec::new();
        loop {
            self.skip_ws();
            let vpos = self.pos;
            let value = self.read_value(op, op_pos)?;
            alts.push(self.build(name.clone(), ty, each, value, vpos)?);
            if alts.len() > MAX_LIST_ITEMS {
                return Err(self.err(
                    K::TooMany {
                        what: "values in one group",
                        max: MAX_LIST_ITEMS,
                    },
                    vpos,
                ));
            }
            self.skip_ws();
            if self.eat_keyword("OR") || self.eat_str("||") {
                continue;
            }
            self.expect_char(')', "OR or ')' in a value group")?;
            break;
        }
        let e = Expr::or(alts);
        Ok(if op == RawOp::Ne {
            Expr::Not(Box::new(e))
        } else {
            e
        })
    }

    /// The type of a field name in scope, or an unknown-field error with a suggestion.
    fn resolve(&self, scope: Scope<'_>, name: &str, pos: usize) -> Result<FieldType> {
        match scope {
            Scope::Events(schema) => schema.field_type(name).ok_or_else(|| {
                self.err(
                    K::UnknownField {
                        field: name.to_owned(),
                        suggestion: schema.suggest(name),
                    },
                    pos,
                )
            }),
            Scope::Rows(cols) => cols
                .iter()
                .find(|(c, _)| c == name)
                .map(|(_, t)| *t)
                .ok_or_else(|| {
                    self.err(
                        K::UnknownColumn {
                            name: name.to_owned(),
                            columns: cols
                                .iter()
                                .map(|(c, _)| c.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                        },
                        pos,
                    )
                }),
        }
    }

    fn build(
        &self,
        name: String,
        ty: FieldType,
        op: RawOp,
        value: RawValue,
        pos: usize,
    ) -> Result<Expr> {
        let field = Field::new(name.clone());
        let bad = |expected: &'static str, value: String| {
            self.err(
                K::BadValue {
                    field: name.clone(),
                    expected,
                    value,
                },
                pos,
            )
        };
        let unsupported = |what: &str, hint: &'static str| {
            self.err(
                K::UnsupportedOperator {
                    field: name.clone(),
                    ty: type_name(ty),
                    op: what.to_owned(),
                    hint,
                },
                pos,
            )
        };
        let pred_op = match value {
            RawValue::Word(w) if w.wild && w.toks == [GlobTok::Star] => {
                if !op.is_eq_like() {
                    return Err(bad(expects(ty, false), w.text));
                }
                Op::Exists
            }
            RawValue::Regex(src, ci) => {
                let regex = regex::RegexBuilder::new(&src)
                    .case_insensitive(ci)
                    .size_limit(MAX_REGEX_BYTES)
                    .dfa_size_limit(MAX_REGEX_BYTES)
                    .build()
                    .map_err(|e| {
                        self.err(
                            K::BadRegex {
                                pattern: src.clone(),
                                reason: regex_reason(&e),
                            },
                            pos,
                        )
                    })?;
                Op::Regex(Pattern {
                    source: src,
                    case_insensitive: ci,
                    regex,
                })
            }
            RawValue::Word(w) if w.wild => {
                if !op.is_eq_like() {
                    return Err(unsupported(
                        op.text(),
                        "; wildcards work with ':', '=' and '!='",
                    ));
                }
                match ty {
                    FieldType::Keyword | FieldType::Ip => Op::Wildcard(crate::expr::Glob {
                        toks: w.toks,
                        fold_case: false,
                    }),
                    FieldType::Text => Op::Wildcard(crate::expr::Glob {
                        toks: fold_toks(&w.toks),
                        fold_case: true,
                    }),
                    _ => return Err(bad(expects(ty, false), w.text)),
                }
            }
            RawValue::Word(Word { text, .. }) | RawValue::Quoted(text) => {
                self.literal_op(ty, op, text, pos, &bad, &unsupported)?
            }
        };
        let e = Expr::Cmp(Predicate {
            field,
            ty,
            op: pred_op,
        });
        Ok(if op == RawOp::Ne {
            Expr::Not(Box::new(e))
        } else {
            e
        })
    }

    fn literal_op(
        &self,
        ty: FieldType,
        op: RawOp,
        text: String,
        pos: usize,
        bad: &dyn Fn(&'static str, String) -> QueryError,
        unsupported: &dyn Fn(&str, &'static str) -> QueryError,
    ) -> Result<Op> {
        let eq = op.is_eq_like();
        let lit = match ty {
            FieldType::Ip => {
                if eq && text.contains('/') {
                    return match text.parse::<IpNet>() {
                        Ok(n) => Ok(Op::Cidr(n.trunc())),
                        Err(_) => Err(bad(expects(ty, eq), text)),
                    };
                }
                Lit::Ip(
                    text.parse()
                        .map_err(|_| bad(expects(ty, eq), text.clone()))?,
                )
            }
            FieldType::Long => Lit::Int(
                text.parse()
                    .map_err(|_| bad(expects(ty, eq), text.clone()))?,
            ),
            FieldType::Double => match text.parse::<f64>() {
                Ok(f) if f.is_finite() => Lit::Float(f),
                _ => return Err(bad(expects(ty, eq), text)),
            },
            FieldType::Date => match parse_date(&text, self.opts.now) {
                Ok(t) => Lit::Time(t),
                Err(DateError::NeedsNow) => {
                    return Err(self.err(K::NoReferenceTime { value: text }, pos))
                }
                Err(DateError::Invalid) => return Err(bad(expects(ty, eq), text)),
            },
            FieldType::Boolean => {
                if !eq {
                    return Err(unsupported(op.text(), "; use ':' true or false"));
                }
                Lit::Bool(
                    crate::expr::parse_bool(&text)
                        .ok_or_else(|| bad(expects(ty, eq), text.clone()))?,
                )
            }
            FieldType::Keyword | FieldType::Text => {
                if eq && ty == FieldType::Text {
                    // Text matches case-insensitively: keep the folded form.
                    Lit::Str(text.to_lowercase())
                } else if eq {
                    Lit::Str(text)
                } else {
                    match text.parse::<f64>() {
                        Ok(f) if f.is_finite() => Lit::Float(f),
                        _ => return Err(bad(
                            "a number (keyword and text fields compare numerically with '<' '>')",
                            text,
                        )),
                    }
                }
            }
        };
        Ok(match op {
            RawOp::Cmp(c) => Op::Cmp(c, lit),
            _ => Op::Eq(lit),
        })
    }

    // -----------------------------------------------------------------------------------------
    // Tokens

    /// Read a word. In value position `:`, `=`, `<`, `>` and `!` belong to the word (IPv6,
    /// times); in term position they end it (they start the operator).
    fn read_word(&mut self, value: bool) -> Word {
        let mut w = Word {
            text: String::new(),
            toks: Vec::new(),
            wild: false,
            escaped: false,
        };
        while let Some(c) = self.peek() {
            if c == '\\' {
                w.escaped = true;
                self.pos += 1;
                let lit = self.peek().unwrap_or('\\');
                if self.peek().is_some() {
                    self.pos += 1;
                }
                w.text.push(lit);
                w.toks.push(GlobTok::Char(lit));
                continue;
            }
            if c.is_whitespace() || matches!(c, '(' | ')' | '|' | '"') {
                break;
            }
            if !value
                && (matches!(c, ':' | '=' | '<' | '>')
                    || (c == '!' && self.peek_at(1) == Some('=')))
            {
                break;
            }
            self.pos += 1;
            w.text.push(c);
            w.toks.push(match c {
                '*' => {
                    w.wild = true;
                    GlobTok::Star
                }
                '?' => {
                    w.wild = true;
                    GlobTok::One
                }
                c => GlobTok::Char(c),
            });
        }
        w
    }

    fn read_op(&mut self) -> Option<RawOp> {
        let (op, n) = match (self.peek()?, self.peek_at(1)) {
            ('!', Some('=')) => (RawOp::Ne, 2),
            ('<', Some('=')) => (RawOp::Cmp(CmpOp::Le), 2),
            ('>', Some('=')) => (RawOp::Cmp(CmpOp::Ge), 2),
            (':', _) => (RawOp::Colon, 1),
            ('=', _) => (RawOp::Eq, 1),
            ('<', _) => (RawOp::Cmp(CmpOp::Lt), 1),
            ('>', _) => (RawOp::Cmp(CmpOp::Gt), 1),
            _ => return None,
        };
        self.pos += n;
        Some(op)
    }

    fn read_quoted(&mut self) -> Result<String> {
        let start = self.pos;
        self.pos += 1;
        let mut s = String::new();
        loop {
            match self.peek() {
                None => return Err(self.err(K::UnterminatedQuote, start)),
                Some('"') => {
                    self.pos += 1;
                    return Ok(s);
                }
                Some('\\') => {
                    self.pos += 1;
                    let Some(c) = self.peek() else {
                        return Err(self.err(K::UnterminatedQuote, start));
                    };
                    self.pos += 1;
                    s.push(match c {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        c => c,
                    });
                }
                Some(c) => {
                    self.pos += 1;
                    s.push(c);
                }
            }
        }
    }

    fn read_regex(&mut self) -> Result<(String, bool)> {
        let start = self.pos;
        self.pos += 1;
        let mut s = String::new();
        loop {
            match self.peek() {
                None => return Err(self.err(K::UnterminatedRegex, start)),
                Some('/') => {
                    self.pos += 1;
                    break;
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        None => return Err(self.err(K::UnterminatedRegex, start)),
                        Some('/') => s.push('/'),
                        Some(c) => {
                            s.push('\\');
                            s.push(c);
                        }
                    }
                    self.pos += 1;
                }
                Some(c) => {
                    self.pos += 1;
                    s.push(c);
                }
            }
        }
        let mut ci = false;
        while let Some(c) = self.peek() {
            if c == 'i' {
                ci = true;
                self.pos += 1;
            } else if c.is_alphanumeric() {
                return Err(self.err(
                    K::Expected {
                        expected: "a regex flag ('i') or a space",
                        found: format!("`{c}`"),
                    },
                    self.pos,
                ));
            } else {
                break;
            }
        }
        Ok((s, ci))
    }

    /// A name in a pipeline stage: a field or column (`source.ip`, `count`, `dc(user.name)`).
    fn read_name(&mut self) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if c.is_alphanumeric() || matches!(c, '_' | '.' | '@' | '-') {
                s.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        if !s.is_empty() && self.peek() == Some('(') {
            // An aggregate column such as `dc(source.ip)`.
            let save = self.pos;
            let mut t = s.clone();
            t.push('(');
            self.pos += 1;
            while let Some(c) = self.peek() {
                self.pos += 1;
                t.push(c);
                if c == ')' {
                    return t;
                }
                if c.is_whitespace() || c == '|' {
                    break;
                }
            }
            self.pos = save;
        }
        s
    }

    fn name_or_err(&mut self, expected: &'static str) -> Result<(String, usize)> {
        self.skip_ws();
        let pos = self.pos;
        let n = self.read_name();
        if n.is_empty() {
            return Err(self.err(
                K::Expected {
                    expected,
                    found: self.found(),
                },
                pos,
            ));
        }
        Ok((n, pos))
    }

    // -----------------------------------------------------------------------------------------
    // Pipeline

    fn column(
        &self,
        cols: &Option<Vec<(String, FieldType)>>,
        name: &str,
        pos: usize,
    ) -> Result<FieldType> {
        match cols {
            None => self.resolve(Scope::Events(self.schema), name, pos),
            Some(c) => self.resolve(Scope::Rows(c), name, pos),
        }
    }

    fn parse_stage(&mut self, cols: &mut Option<Vec<(String, FieldType)>>) -> Result<Stage> {
        self.skip_ws();
        let pos = self.pos;
        let name = self.read_name().to_ascii_lowercase();
        let stage = match name.as_str() {
            "" => {
                return Err(self.err(
                    K::Expected {
                        expected: "a command after '|'",
                        found: self.found(),
                    },
                    pos,
                ))
            }
            "stats" => {
                let aggs = self.parse_aggs(cols)?;
                if aggs.is_empty() {
                    return Err(self.err(
                        K::Expected {
                            expected: "an aggregation such as count()",
                            found: self.found(),
                        },
                        self.pos,
                    ));
                }
                let mut by = Vec::new();
                let mut new_cols = Vec::new();
                self.skip_ws();
                if self.eat_keyword("by") {
                    for (n, t) in self.parse_name_list(cols, "a field to group by")? {
                        new_cols.push((n.clone(), t));
                        by.push(n);
                    }
                }
                for a in &aggs {
                    new_cols.push((a.name(), a.output_type(cols, self.schema)));
                }
                *cols = Some(new_cols);
                Stage::Stats { aggs, by }
            }
            "timechart" => {
                self.skip_ws();
                let mut span = crate::DEFAULT_SPAN;
                if self.at_keyword_eq("span") {
                    self.pos += 5;
                    let vpos = self.pos;
                    let v = self.read_name();
                    span = Duration::parse_human(&v)
                        .filter(|d| d.as_nanos() > 0)
                        .ok_or_else(|| {
                            self.err(
                                K::BadArgument {
                                    what: "span (e.g. 1m, 1h, 1d)",
                                    value: v.clone(),
                                },
                                vpos,
                            )
                        })?;
                }
                let mut aggs = self.parse_aggs(cols)?;
                if aggs.is_empty() {
                    aggs.push(Agg {
                        func: AggFunc::Count,
                        field: None,
                        alias: None,
                    });
                }
                self.skip_ws();
                let mut new_cols = vec![("_time".to_owned(), FieldType::Date)];
                let by = if self.eat_keyword("by") {
                    let (n, npos) = self.name_or_err("a field to split by")?;
                    let t = self.column(cols, &n, npos)?;
                    new_cols.push((n.clone(), t));
                    Some(n)
                } else {
                    None
                };
                for a in &aggs {
                    new_cols.push((a.name(), a.output_type(cols, self.schema)));
                }
                *cols = Some(new_cols);
                Stage::Timechart { span, aggs, by }
            }
            "sort" => {
                let mut keys = Vec::new();
                loop {
                    self.skip_ws();
                    if self.at_end() || self.at_pipe() {
                        break;
                    }
                    if !keys.is_empty() && self.peek() == Some(',') {
                        self.pos += 1;
                        self.skip_ws();
                    }
                    let descending = match self.peek() {
                        Some('-') => {
                            self.pos += 1;
                            true
                        }
                        Some('+') => {
                            self.pos += 1;
                            false
                        }
                        _ => false,
                    };
                    let (n, npos) = self.name_or_err("a column to sort by")?;
                    self.column(cols, &n, npos)?;
                    keys.push(SortKey {
                        column: n,
                        descending,
                    });
                    if keys.len() > MAX_LIST_ITEMS {
                        return Err(self.err(
                            K::TooMany {
                                what: "sort keys",
                                max: MAX_LIST_ITEMS,
                            },
                            npos,
                        ));
                    }
                }
                if keys.is_empty() {
                    return Err(self.err(
                        K::Expected {
                            expected: "a column to sort by",
                            found: self.found(),
                        },
                        self.pos,
                    ));
                }
                Stage::Sort(keys)
            }
            "head" | "tail" => {
                let n = self.parse_count()?.unwrap_or(DEFAULT_HEAD);
                if name == "head" {
                    Stage::Head(n)
                } else {
                    Stage::Tail(n)
                }
            }
            "fields" | "table" => {
                let list = self.parse_name_list(cols, "a field name")?;
                let names = list.iter().map(|(n, _)| n.clone()).collect();
                *cols = Some(list);
                Stage::Fields(names)
            }
            "where" => {
                self.skip_ws();
                let e = match cols {
                    None => self.parse_or(Scope::Events(self.schema))?,
                    Some(c) => {
                        let c = c.clone();
                        self.parse_or(Scope::Rows(&c))?
                    }
                };
                Stage::Where(e)
            }
            "top" => {
                let n = self.parse_count()?.unwrap_or(DEFAULT_HEAD);
                let (f, fpos) = self.name_or_err("a field for top")?;
                let t = self.column(cols, &f, fpos)?;
                *cols = Some(vec![(f.clone(), t), ("count".to_owned(), FieldType::Long)]);
                Stage::Top { n, field: f }
            }
            _ => return Err(self.err(K::UnknownCommand { name }, pos)),
        };
        Ok(stage)
    }

    fn at_keyword_eq(&self, kw: &str) -> bool {
        let n = kw.len();
        self.chars
            .get(self.pos..self.pos + n)
            .is_some_and(|s| s.iter().copied().eq(kw.chars()))
            && self.chars.get(self.pos + n) == Some(&'=')
    }

    fn parse_count(&mut self) -> Result<Option<usize>> {
        self.skip_ws();
        if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
            return Ok(None);
        }
        let pos = self.pos;
        let mut s = String::new();
        while let Some(c) = self.peek().filter(char::is_ascii_alphanumeric) {
            s.push(c);
            self.pos += 1;
        }
        s.parse::<usize>().map(Some).map_err(|_| {
            self.err(
                K::BadArgument {
                    what: "row count",
                    value: s.clone(),
                },
                pos,
            )
        })
    }

    fn parse_name_list(
        &mut self,
        cols: &Option<Vec<(String, FieldType)>>,
        expected: &'static str,
    ) -> Result<Vec<(String, FieldType)>> {
        let mut out = Vec::new();
        loop {
            let (n, pos) = self.name_or_err(expected)?;
            let t = self.column(cols, &n, pos)?;
            out.push((n, t));
            if out.len() > MAX_LIST_ITEMS {
                return Err(self.err(
                    K::TooMany {
                        what: "names in a list",
                        max: MAX_LIST_ITEMS,
                    },
                    pos,
                ));
            }
            self.skip_ws();
            if self.peek() == Some(',') {
                self.pos += 1;
            } else {
                return Ok(out);
            }
        }
    }

    fn parse_aggs(&mut self, cols: &Option<Vec<(String, FieldType)>>) -> Result<Vec<Agg>> {
        let mut aggs = Vec::new();
        loop {
            self.skip_ws();
            if self.at_end() || self.at_pipe() || self.at_keyword("by") {
                return Ok(aggs);
            }
            if !aggs.is_empty() && self.peek() == Some(',') {
                self.pos += 1;
                self.skip_ws();
            }
            let pos = self.pos;
            let mut fname = String::new();
            while let Some(c) = self
                .peek()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            {
                fname.push(c);
                self.pos += 1;
            }
            if fname.is_empty() {
                return Err(self.err(
                    K::Expected {
                        expected: "an aggregation such as count()",
                        found: self.found(),
                    },
                    pos,
                ));
            }
            let func = match fname.to_ascii_lowercase().as_str() {
                "count" | "c" => AggFunc::Count,
                "dc" | "distinct_count" => AggFunc::Dc,
                "sum" => AggFunc::Sum,
                "avg" | "mean" => AggFunc::Avg,
                "min" => AggFunc::Min,
                "max" => AggFunc::Max,
                "values" => AggFunc::Values,
                _ => return Err(self.err(K::UnknownFunction { name: fname }, pos)),
            };
            let mut field = None;
            if self.peek() == Some('(') {
                self.pos += 1;
                self.skip_ws();
                if self.peek() != Some(')') {
                    let (n, npos) = self.name_or_err("a field name")?;
                    self.column(cols, &n, npos)?;
                    field = Some(n);
                    self.skip_ws();
                }
                self.expect_char(')', "')'")?;
            }
            if field.is_none() && func != AggFunc::Count {
                return Err(self.err(
                    K::FunctionNeedsField {
                        name: func.as_str(),
                    },
                    pos,
                ));
            }
            self.skip_ws();
            let alias = if self.eat_keyword("as") {
                Some(self.name_or_err("a name after 'as'")?.0)
            } else {
                None
            };
            aggs.push(Agg { func, field, alias });
            if aggs.len() > MAX_LIST_ITEMS {
                return Err(self.err(
                    K::TooMany {
                        what: "aggregations",
                        max: MAX_LIST_ITEMS,
                    },
                    pos,
                ));
            }
        }
    }
}

/// The last line of a regex error without its `error: ` prefix.
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text.lines().last().unwrap_or("").trim();
    last.strip_prefix("error: ").unwrap_or(last).to_owned()
}

fn expects(ty: FieldType, eq: bool) -> &'static str {
    match ty {
        FieldType::Ip if eq => "an IP address or CIDR",
        FieldType::Ip => "an IP address",
        FieldType::Long => "a number",
        FieldType::Double => "a number",
        FieldType::Date => "a date (RFC 3339, YYYY-MM-DD or now-7d)",
        FieldType::Boolean => "true or false",
        FieldType::Keyword | FieldType::Text => "a value",
    }
}

fn fold_toks(toks: &[GlobTok]) -> Vec<GlobTok> {
    let mut out = Vec::with_capacity(toks.len());
    for t in toks {
        match t {
            GlobTok::Char(c) => out.extend(c.to_lowercase().map(GlobTok::Char)),
            other => out.push(*other),
        }
    }
    out
}

/// Why a date value was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateError {
    /// `now…` without a reference time.
    NeedsNow,
    /// Not a date.
    Invalid,
}

/// Parse a date value: RFC 3339, `YYYY-MM-DD` (midnight UTC), `YYYY-MM-DDTHH:MM`, `now`,
/// `now-7d`, `now+1h`.
pub(crate) fn parse_date(
    s: &str,
    now: Option<Timestamp>,
) -> std::result::Result<Timestamp, DateError> {
    if let Some(rest) = s.strip_prefix("now") {
        let now = now.ok_or(DateError::NeedsNow)?;
        if rest.is_empty() {
            return Ok(now);
        }
        let (sign, d) = if let Some(d) = rest.strip_prefix('-') {
            (-1, d)
        } else if let Some(d) = rest.strip_prefix('+') {
            (1, d)
        } else {
            return Err(DateError::Invalid);
        };
        let d = Duration::parse_human(d).ok_or(DateError::Invalid)?;
        return representable(if sign < 0 { now - d } else { now + d });
    }
    let owned;
    let full = match s.len() {
        10 if s.as_bytes().get(4) == Some(&b'-') => {
            owned = format!("{s}T00:00:00Z");
            owned.as_str()
        }
        16 if s.as_bytes().get(13) == Some(&b':') => {
            owned = format!("{s}:00Z");
            owned.as_str()
        }
        _ => s,
    };
    representable(Timestamp::parse_rfc3339(full).map_err(|_| DateError::Invalid)?)
}

/// Reject instants within two days of the ends of the nanosecond range (years 1677 and 2262):
/// arithmetic there saturates, so they would not print back as the same instant.
fn representable(t: Timestamp) -> std::result::Result<Timestamp, DateError> {
    const MARGIN_SECS: i64 = 2 * 86_400;
    let s = t.unix_secs();
    if s <= Timestamp::MIN.unix_secs() + MARGIN_SECS
        || s >= Timestamp::MAX.unix_secs() - MARGIN_SECS
    {
        return Err(DateError::Invalid);
    }
    Ok(t)
}

/// Tokens of a wildcard pattern written in query syntax (`\` escapes).
pub fn glob_tokens_of(p: &str) -> Vec<GlobTok> {
    let mut out = Vec::new();
    let mut it = p.chars();
    while let Some(c) = it.next() {
        out.push(match c {
            '\\' => GlobTok::Char(it.next().unwrap_or('\\')),
            '*' => GlobTok::Star,
            '?' => GlobTok::One,
            c => GlobTok::Char(c),
        });
    }
    out
}
