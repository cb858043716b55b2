//! The typed plan: filter, time range and pipeline stages, with canonical text
//! ([`std::fmt::Display`]) and the hints a storage engine uses to skip data
//! ([`Plan::prune_hints`], [`Plan::fields_needed`]).

use std::collections::BTreeSet;
use std::fmt;

use ipnet::IpNet;
use mamori_core::{Duration, Event, Timestamp};

use crate::expr::{CmpOp, Expr, Lit, Op, Predicate};
use crate::schema::{FieldType, Schema};

/// A half-open time range `[start, end)`; `None` ends are unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive start.
    pub start: Option<Timestamp>,
    /// Exclusive end.
    pub end: Option<Timestamp>,
}

impl TimeRange {
    /// Unbounded.
    pub const ALL: TimeRange = TimeRange {
        start: None,
        end: None,
    };

    /// `[start, end)`.
    pub fn between(start: Timestamp, end: Timestamp) -> TimeRange {
        TimeRange {
            start: Some(start),
            end: Some(end),
        }
    }

    /// The last `d` before `now` (`--since 7d`), ending just after `now`.
    pub fn since(now: Timestamp, d: Duration) -> TimeRange {
        TimeRange::between(now - d, now + Duration::from_nanos(1))
    }

    /// Whether `t` is inside.
    #[inline]
    pub fn contains(&self, t: Timestamp) -> bool {
        self.start.is_none_or(|s| t >= s) && self.end.is_none_or(|e| t < e)
    }

    /// Whether no instant can be inside.
    pub fn is_empty(&self) -> bool {
        matches!((self.start, self.end), (Some(s), Some(e)) if s >= e)
    }

    /// The overlap of two ranges.
    pub fn intersect(&self, o: &TimeRange) -> TimeRange {
        let start = match (self.start, o.start) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let end = match (self.end, o.end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        TimeRange { start, end }
    }

    /// The range implied by `@timestamp` comparisons among the top-level ANDs of a filter.
    pub fn from_filter(e: &Expr) -> TimeRange {
        let mut r = TimeRange::ALL;
        for c in conjuncts(e) {
            let Expr::Cmp(p) = c else { continue };
            if p.field.name() != "@timestamp" {
                continue;
            }
            let one = Duration::from_nanos(1);
            let add = match &p.op {
                Op::Eq(Lit::Time(t)) => TimeRange::between(*t, *t + one),
                Op::Cmp(op, Lit::Time(t)) => match op {
                    CmpOp::Ge => TimeRange {
                        start: Some(*t),
                        end: None,
                    },
                    CmpOp::Gt => TimeRange {
                        start: Some(*t + one),
                        end: None,
                    },
                    CmpOp::Lt => TimeRange {
                        start: None,
                        end: Some(*t),
                    },
                    CmpOp::Le => TimeRange {
                        start: None,
                        end: Some(*t + one),
                    },
                },
                _ => continue,
            };
            r = r.intersect(&add);
        }
        r
    }
}

/// The top-level AND terms of a filter (the filter itself when it is not an AND).
pub fn conjuncts(e: &Expr) -> &[Expr] {
    match e {
        Expr::And(v) => v,
        Expr::All => &[],
        other => std::slice::from_ref(other),
    }
}

/// An aggregation function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    /// `count()` rows, or `count(field)` rows that have the field.
    Count,
    /// `dc(field)`: distinct values.
    Dc,
    /// `sum(field)`.
    Sum,
    /// `avg(field)`.
    Avg,
    /// `min(field)`.
    Min,
    /// `max(field)`.
    Max,
    /// `values(field)`: the distinct values, sorted, at most [`crate::MAX_VALUES`].
    Values,
}

impl AggFunc {
    /// The function name.
    pub fn as_str(self) -> &'static str {
        match self {
            AggFunc::Count => "count",
            AggFunc::Dc => "dc",
            AggFunc::Sum => "sum",
            AggFunc::Avg => "avg",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
            AggFunc::Values => "values",
        }
    }
}

/// One aggregation of `stats`/`timechart`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agg {
    /// The function.
    pub func: AggFunc,
    /// Its field (required except for `count`).
    pub field: Option<String>,
    /// `as name`.
    pub alias: Option<String>,
}

impl Agg {
    /// The output column name: the alias, `count` for `count()`, else `func(field)`.
    pub fn name(&self) -> String {
        if let Some(a) = &self.alias {
            return a.clone();
        }
        match (&self.field, self.func) {
            (None, _) => self.func.as_str().to_owned(),
            (Some(f), func) => format!("{}({f})", func.as_str()),
        }
    }

    pub(crate) fn output_type(
        &self,
        cols: &Option<Vec<(String, FieldType)>>,
        schema: &Schema,
    ) -> FieldType {
        let field_ty = || {
            let f = self.field.as_deref()?;
            match cols {
                None => schema.field_type(f),
                Some(c) => c.iter().find(|(n, _)| n == f).map(|(_, t)| *t),
            }
        };
        match self.func {
            AggFunc::Count | AggFunc::Dc => FieldType::Long,
            AggFunc::Sum | AggFunc::Avg => FieldType::Double,
            AggFunc::Min | AggFunc::Max | AggFunc::Values => {
                field_ty().unwrap_or(FieldType::Keyword)
            }
        }
    }
}

impl fmt::Display for Agg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}({})",
            self.func.as_str(),
            self.field.as_deref().unwrap_or("")
        )?;
        if let Some(a) = &self.alias {
            write!(f, " as {a}")?;
        }
        Ok(())
    }
}

/// One key of `sort`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    /// Column (or event field) name.
    pub column: String,
    /// `-column`.
    pub descending: bool,
}

/// A pipeline stage after `|`.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// `stats aggs by f1, f2`: one row per group (sorted by group key).
    Stats {
        /// Aggregations.
        aggs: Vec<Agg>,
        /// Group-by fields (empty: one row).
        by: Vec<String>,
    },
    /// `timechart span=1h aggs by f`: one row per time bucket (and `by` value).
    Timechart {
        /// Bucket width.
        span: Duration,
        /// Aggregations (`count()` when none was written).
        aggs: Vec<Agg>,
        /// Optional split field.
        by: Option<String>,
    },
    /// `sort -a, b`.
    Sort(Vec<SortKey>),
    /// `head N`: the first N rows; stops reading input when it is the only thing left.
    Head(usize),
    /// `tail N`: the last N rows.
    Tail(usize),
    /// `fields a, b`: a table with these columns.
    Fields(Vec<String>),
    /// `where expr`: filter rows (after `stats`, over its columns).
    Where(Expr),
    /// `top N field`: `stats count() by field | sort -count | head N`.
    Top {
        /// Rows.
        n: usize,
        /// Field.
        field: String,
    },
}

fn fmt_span(d: Duration) -> String {
    let ns = d.as_nanos();
    const UNITS: [(i64, &str); 8] = [
        (7 * 86_400_000_000_000, "w"),
        (86_400_000_000_000, "d"),
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
        (1, "ns"),
    ];
    for (unit, name) in UNITS {
        if ns % unit == 0 {
            return format!("{}{name}", ns / unit);
        }
    }
    format!("{ns}ns")
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Stats { aggs, by } => {
                write!(f, "stats {}", join(aggs))?;
                if !by.is_empty() {
                    write!(f, " by {}", by.join(", "))?;
                }
                Ok(())
            }
            Stage::Timechart { span, aggs, by } => {
                write!(f, "timechart span={} {}", fmt_span(*span), join(aggs))?;
                if let Some(b) = by {
                    write!(f, " by {b}")?;
                }
                Ok(())
            }
            Stage::Sort(keys) => {
                f.write_str("sort ")?;
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if k.descending {
                        f.write_str("-")?;
                    }
                    f.write_str(&k.column)?;
                }
                Ok(())
            }
            Stage::Head(n) => write!(f, "head {n}"),
            Stage::Tail(n) => write!(f, "tail {n}"),
            Stage::Fields(v) => write!(f, "fields {}", v.join(", ")),
            Stage::Where(e) => write!(f, "where {e}"),
            Stage::Top { n, field } => write!(f, "top {n} {field}"),
        }
    }
}

/// A parsed, typed query ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Which events pass.
    pub filter: Expr,
    /// The caller's range narrowed by `@timestamp` comparisons at the top level of the filter.
    pub time: TimeRange,
    /// Stages after `|`, in order.
    pub pipeline: Vec<Stage>,
}

impl fmt::Display for Plan {
    /// The canonical query text (the time range from the caller is not part of it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.filter)?;
        for s in &self.pipeline {
            write!(f, " | {s}")?;
        }
        Ok(())
    }
}

/// A constraint on one field that every matching event satisfies.
#[derive(Debug, Clone, PartialEq)]
pub enum Constraint {
    /// The field is present.
    Exists,
    /// The field equals one of `values` or lies in one of `nets` (exact, case-sensitive).
    AnyOf {
        /// Exact values.
        values: Vec<Lit>,
        /// Networks (IP fields).
        nets: Vec<IpNet>,
    },
    /// The field lies within bounds (each with whether the bound itself is included).
    Range {
        /// Lower bound.
        lower: Option<(Lit, bool)>,
        /// Upper bound.
        upper: Option<(Lit, bool)>,
    },
    /// The (keyword) field starts with this text.
    Prefix(String),
}

/// One pruning hint: the field, its type and the constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldHint {
    /// Field name.
    pub field: String,
    /// Field type.
    pub ty: FieldType,
    /// What every match satisfies.
    pub constraint: Constraint,
}

/// What a store may use to skip data: a segment or row group can be skipped when its time
/// range misses `time` or its statistics / bloom filter show that any one hint cannot hold.
#[derive(Debug, Clone, PartialEq)]
pub struct PruneHints {
    /// The plan's time range.
    pub time: TimeRange,
    /// Constraints from the top-level ANDs (each must hold for a match).
    pub fields: Vec<FieldHint>,
}

fn hint_of(p: &Predicate) -> Option<Constraint> {
    let exact_type = !matches!(p.ty, FieldType::Text);
    match &p.op {
        Op::Exists => Some(Constraint::Exists),
        Op::Eq(l) if exact_type => Some(Constraint::AnyOf {
            values: vec![l.clone()],
            nets: vec![],
        }),
        Op::Cidr(n) => Some(Constraint::AnyOf {
            values: vec![],
            nets: vec![*n],
        }),
        Op::Cmp(op, l) => Some(match op {
            CmpOp::Lt | CmpOp::Le => Constraint::Range {
                lower: None,
                upper: Some((l.clone(), *op == CmpOp::Le)),
            },
            CmpOp::Gt | CmpOp::Ge => Constraint::Range {
                lower: Some((l.clone(), *op == CmpOp::Ge)),
                upper: None,
            },
        }),
        Op::Wildcard(g) if !g.fold_case && p.ty == FieldType::Keyword => {
            let pre = g.literal_prefix();
            (!pre.is_empty()).then_some(Constraint::Prefix(pre))
        }
        _ => None,
    }
}

impl Plan {
    /// Whether an event passes the time range and the filter (the stages are not applied).
    #[inline]
    pub fn matches(&self, ev: &Event) -> bool {
        self.time.contains(ev.timestamp) && self.filter.matches(ev)
    }

    /// Time range and per-field constraints from the top-level ANDs of the filter.
    pub fn prune_hints(&self) -> PruneHints {
        let mut fields = Vec::new();
        for c in conjuncts(&self.filter) {
            match c {
                Expr::Cmp(p) => {
                    if let Some(constraint) = hint_of(p) {
                        fields.push(FieldHint {
                            field: p.field.name().to_owned(),
                            ty: p.ty,
                            constraint,
                        });
                    }
                }
                Expr::Or(alts) => {
                    // `a:1 OR a:2 OR a:10.0.0.0/8` on one field is one AnyOf.
                    let mut values = Vec::new();
                    let mut nets = Vec::new();
                    let mut field: Option<(&str, FieldType)> = None;
                    let ok = alts.iter().all(|alt| {
                        let Expr::Cmp(p) = alt else { return false };
                        if field.is_some_and(|(n, _)| n != p.field.name()) {
                            return false;
                        }
                        field = Some((p.field.name(), p.ty));
                        match hint_of(p) {
                            Some(Constraint::AnyOf { values: v, nets: n }) => {
                                values.extend(v);
                                nets.extend(n);
                                true
                            }
                            _ => false,
                        }
                    });
                    if let (true, Some((name, ty))) = (ok, field) {
                        fields.push(FieldHint {
                            field: name.to_owned(),
                            ty,
                            constraint: Constraint::AnyOf { values, nets },
                        });
                    }
                }
                _ => {}
            }
        }
        PruneHints {
            time: self.time,
            fields,
        }
    }

    /// The event fields the query reads, or `None` when it returns whole events (all fields).
    /// `@timestamp` is always included.
    pub fn fields_needed(&self) -> Option<BTreeSet<String>> {
        let mut out = BTreeSet::new();
        out.insert("@timestamp".to_owned());
        self.filter.fields(&mut out);
        for s in &self.pipeline {
            match s {
                Stage::Where(e) => e.fields(&mut out),
                Stage::Sort(keys) => out.extend(keys.iter().map(|k| k.column.clone())),
                Stage::Head(_) | Stage::Tail(_) => {}
                Stage::Stats { aggs, by } => {
                    out.extend(by.iter().cloned());
                    out.extend(aggs.iter().filter_map(|a| a.field.clone()));
                    return Some(out);
                }
                Stage::Timechart { aggs, by, .. } => {
                    out.extend(by.iter().cloned());
                    out.extend(aggs.iter().filter_map(|a| a.field.clone()));
                    return Some(out);
                }
                Stage::Top { field, .. } => {
                    out.insert(field.clone());
                    return Some(out);
                }
                Stage::Fields(v) => {
                    out.extend(v.iter().cloned());
                    return Some(out);
                }
            }
        }
        None
    }
}
