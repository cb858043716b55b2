//! Running a [`Plan`] over an iterator of events.
//!
//! Stages are push-based: each event that passes the time range and the filter is pushed
//! through the stages in order. Streaming stages (`where`, `head`, `fields`) pass rows on at
//! once, so `head N` stops reading input after N rows (constant memory); blocking stages
//! (`sort`, `tail`, `stats`, `timechart`, `top`) hold rows or groups up to a named limit and
//! emit them when the input ends. Going over a limit is an [`ExecError`], never a silent cut.

use std::borrow::{Borrow, Cow};
use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use mamori_core::{Counters, Duration, Event, Timestamp, Value};

use crate::error::ExecError;
use crate::expr::{Expr, Field, Record, RowRecord};
use crate::plan::{Agg, AggFunc, Plan, SortKey, Stage};
use crate::{MAX_BUFFERED_ROWS, MAX_DISTINCT_VALUES, MAX_GROUPS, MAX_OUTPUT_ROWS, MAX_VALUES};

/// Limits in force while running (defaults: the crate's named constants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Groups one `stats`/`timechart`/`top` may hold ([`MAX_GROUPS`]).
    pub max_groups: usize,
    /// Rows one `sort`/`tail` may hold ([`MAX_BUFFERED_ROWS`]).
    pub max_buffered_rows: usize,
    /// Rows [`Plan::execute`] may collect ([`MAX_OUTPUT_ROWS`]); [`Plan::stream`] has none.
    pub max_output_rows: usize,
    /// Distinct values all `dc()`s of one stage may track ([`MAX_DISTINCT_VALUES`]).
    pub max_distinct: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_groups: MAX_GROUPS,
            max_buffered_rows: MAX_BUFFERED_ROWS,
            max_output_rows: MAX_OUTPUT_ROWS,
            max_distinct: MAX_DISTINCT_VALUES,
        }
    }
}

/// One output item of [`Plan::stream`].
#[derive(Debug, Clone, PartialEq)]
pub enum OutputItem {
    /// A whole event (no `fields`/`stats`/`timechart`/`top` in the pipeline).
    Event(Event),
    /// A row with the values of [`Plan::output_columns`] (missing values are `None`).
    Row(Vec<Option<Value>>),
}

/// The result of a query: events, or a table.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryResult {
    /// Matching events in input order (after `head`/`tail`/`sort`/`where`).
    Events(Vec<Event>),
    /// Rows of a `stats`, `timechart`, `top` or `fields`.
    Table {
        /// Column names.
        columns: Vec<String>,
        /// Rows, one value (or `None`) per column.
        rows: Vec<Vec<Option<Value>>>,
    },
}

/// A finished run: the result and what happened on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOutput {
    /// Events or table.
    pub result: QueryResult,
    /// Events read from the input.
    pub scanned: u64,
    /// Events that passed the time range and the filter.
    pub matched: u64,
    /// Input not used and values not kept, by reason (`stats_missing_group_field`,
    /// `stats_non_numeric_value`, `values_truncated`, `timechart_missing_time`).
    pub counters: Counters,
}

/// Counts of a streaming run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunStats {
    /// Events read from the input.
    pub scanned: u64,
    /// Events that passed the time range and the filter.
    pub matched: u64,
    /// As in [`QueryOutput::counters`].
    pub counters: Counters,
}

// ---------------------------------------------------------------------------------------------
// Hashable, ordered values for group keys and distinct sets

#[derive(Debug, Clone, Copy)]
struct F64(f64);
impl PartialEq for F64 {
    fn eq(&self, o: &F64) -> bool {
        self.0.total_cmp(&o.0) == Ordering::Equal
    }
}
impl Eq for F64 {}
impl PartialOrd for F64 {
    fn partial_cmp(&self, o: &F64) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for F64 {
    fn cmp(&self, o: &F64) -> Ordering {
        self.0.total_cmp(&o.0)
    }
}
impl Hash for F64 {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.to_bits().hash(h);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key {
    Bool(bool),
    Int(i64),
    Float(F64),
    Ip(IpAddr),
    Time(Timestamp),
    Str(String),
    List(Vec<Key>),
}

impl Key {
    fn of(v: &Value) -> Key {
        match v {
            Value::Bool(b) => Key::Bool(*b),
            Value::Int(i) => Key::Int(*i),
            Value::Float(f) => Key::Float(F64(*f)),
            Value::Str(s) => Key::Str(s.clone()),
            Value::Ip(ip) => Key::Ip(*ip),
            Value::Time(t) => Key::Time(*t),
            Value::List(l) => Key::List(l.iter().map(Key::of).collect()),
        }
    }
    fn value(&self) -> Value {
        match self {
            Key::Bool(b) => Value::Bool(*b),
            Key::Int(i) => Value::Int(*i),
            Key::Float(f) => Value::Float(f.0),
            Key::Str(s) => Value::Str(s.clone()),
            Key::Ip(ip) => Value::Ip(*ip),
            Key::Time(t) => Value::Time(*t),
            Key::List(l) => Value::List(l.iter().map(Key::value).collect()),
        }
    }
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Bool(_) => 0,
        Value::Int(_) | Value::Float(_) => 1,
        Value::Ip(_) => 2,
        Value::Time(_) => 3,
        Value::Str(_) => 4,
        Value::List(_) => 5,
    }
}

/// A total order on values: numbers numerically, then by kind.
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            x.total_cmp(&y)
        }
        (Value::Str(x), Value::Str(y)) => x.cmp(y),
        (Value::Ip(x), Value::Ip(y)) => x.cmp(y),
        (Value::Time(x), Value::Time(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::List(x), Value::List(y)) => {
            for (p, q) in x.iter().zip(y) {
                let o = compare_values(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Missing values sort after present ones in both directions.
fn compare_opt(a: Option<&Value>, b: Option<&Value>, desc: bool) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => {
            let o = compare_values(x, y);
            if desc {
                o.reverse()
            } else {
                o
            }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

// ---------------------------------------------------------------------------------------------
// Items and getters

enum Item<'a> {
    Ev(Cow<'a, Event>),
    Row(Vec<Option<Value>>),
}

impl Item<'_> {
    fn into_owned(self) -> Item<'static> {
        match self {
            Item::Ev(e) => Item::Ev(Cow::Owned(e.into_owned())),
            Item::Row(r) => Item::Row(r),
        }
    }
}

#[derive(Debug, Clone)]
enum Getter {
    Ev(Field),
    Col(usize),
    Missing,
}

impl Getter {
    fn new(cols: &Option<Vec<String>>, name: &str) -> Getter {
        match cols {
            None => Getter::Ev(Field::new(name)),
            Some(c) => c
                .iter()
                .position(|n| n == name)
                .map_or(Getter::Missing, Getter::Col),
        }
    }
    fn get<'i>(&self, item: &'i Item<'_>) -> Option<Cow<'i, Value>> {
        match (self, item) {
            (Getter::Ev(f), Item::Ev(e)) => {
                let e: &'i Event = e;
                Some(match e.field(f)? {
                    crate::expr::FieldView::Value(v) => Cow::Borrowed(v),
                    other => Cow::Owned(other.to_value()),
                })
            }
            (Getter::Col(i), Item::Row(r)) => r.get(*i)?.as_ref().map(Cow::Borrowed),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Aggregation

enum Acc {
    Count(u64),
    Dc(HashSet<Key>),
    Sum {
        int: i64,
        float: f64,
        is_float: bool,
        n: u64,
    },
    Avg {
        sum: f64,
        n: u64,
    },
    Min(Option<Value>),
    Max(Option<Value>),
    Values(BTreeSet<Key>),
}

impl Acc {
    fn new(f: AggFunc) -> Acc {
        match f {
            AggFunc::Count => Acc::Count(0),
            AggFunc::Dc => Acc::Dc(HashSet::new()),
            AggFunc::Sum => Acc::Sum {
                int: 0,
                float: 0.0,
                is_float: false,
                n: 0,
            },
            AggFunc::Avg => Acc::Avg { sum: 0.0, n: 0 },
            AggFunc::Min => Acc::Min(None),
            AggFunc::Max => Acc::Max(None),
            AggFunc::Values => Acc::Values(BTreeSet::new()),
        }
    }

    /// Add one row's value; `has_field` is false for `count()` without a field.
    fn add(
        &mut self,
        v: Option<&Value>,
        has_field: bool,
        distinct: &mut usize,
        counters: &mut Counters,
    ) {
        if let Acc::Count(c) = self {
            if !has_field || v.is_some() {
                *c += 1;
            }
            return;
        }
        let Some(v) = v else { return };
        for x in v.items() {
            match self {
                Acc::Count(_) => {}
                Acc::Dc(set) => {
                    if set.insert(Key::of(x)) {
                        *distinct += 1;
                    }
                }
                Acc::Sum {
                    int,
                    float,
                    is_float,
                    n,
                } => match x {
                    Value::Int(i) if !*is_float => match int.checked_add(*i) {
                        Some(s) => {
                            *int = s;
                            *n += 1;
                        }
                        None => {
                            *is_float = true;
                            *float = *int as f64 + *i as f64;
                            *n += 1;
                        }
                    },
                    other => match other.as_f64() {
                        Some(f) => {
                            if !*is_float {
                                *is_float = true;
                                *float = *int as f64;
                            }
                            *float += f;
                            *n += 1;
                        }
                        None => counters.incr("stats_non_numeric_value"),
                    },
                },
                Acc::Avg { sum, n } => match x.as_f64() {
                    Some(f) => {
                        *sum += f;
                        *n += 1;
                    }
                    None => counters.incr("stats_non_numeric_value"),
                },
                Acc::Min(cur) => {
                    if cur
                        .as_ref()
                        .is_none_or(|c| compare_values(x, c) == Ordering::Less)
                    {
                        *cur = Some(x.clone());
                    }
                }
                Acc::Max(cur) => {
                    if cur
                        .as_ref()
                        .is_none_or(|c| compare_values(x, c) == Ordering::Greater)
                    {
                        *cur = Some(x.clone());
                    }
                }
                Acc::Values(set) => {
                    let k = Key::of(x);
                    if set.len() < MAX_VALUES || set.contains(&k) {
                        set.insert(k);
                    } else {
                        counters.incr("values_truncated");
                    }
                }
            }
        }
    }

    fn output(&self) -> Option<Value> {
        match self {
            Acc::Count(c) => Some(Value::from(*c)),
            Acc::Dc(s) => Some(Value::from(s.len())),
            Acc::Sum {
                int,
                float,
                is_float,
                n,
            } => match (*n, *is_float) {
                (0, _) => None,
                (_, true) => Some(Value::Float(*float)),
                (_, false) => Some(Value::Int(*int)),
            },
            Acc::Avg { sum, n } => (*n > 0).then(|| Value::Float(sum / *n as f64)),
            Acc::Min(v) | Acc::Max(v) => v.clone(),
            Acc::Values(s) => Some(Value::List(s.iter().map(Key::value).collect())),
        }
    }
}

/// The start of `t`'s bucket. (`Timestamp::floor_to` overflows near `Timestamp::MIN`; this
/// clamps there instead.)
fn bucket_start(t: Timestamp, span: Duration) -> Timestamp {
    let ns = t.unix_nanos();
    let r = ns.rem_euclid(span.as_nanos().max(1));
    Timestamp::from_unix_nanos(ns.checked_sub(r).unwrap_or(i64::MIN))
}

/// Add one row to a group's accumulators.
fn update(
    accs: &mut [Acc],
    aggs: &[(AggFunc, Option<Getter>)],
    item: &Item<'_>,
    distinct: &mut usize,
    counters: &mut Counters,
) {
    for (acc, (_, getter)) in accs.iter_mut().zip(aggs) {
        let v = getter.as_ref().and_then(|g| g.get(item));
        acc.add(v.as_deref(), getter.is_some(), distinct, counters);
    }
}

struct AggExec {
    label: String,
    span: Option<(Duration, Getter)>,
    by: Vec<Getter>,
    aggs: Vec<(AggFunc, Option<Getter>)>,
    groups: HashMap<Vec<Key>, Vec<Acc>>,
    distinct: usize,
    /// The current row's group key, reused so that known groups cost no allocation.
    key: Vec<Key>,
}

impl AggExec {
    fn new(
        label: String,
        span: Option<(Duration, Getter)>,
        by: Vec<Getter>,
        aggs: &[Agg],
        cols: &Option<Vec<String>>,
    ) -> AggExec {
        AggExec {
            label,
            span,
            by,
            aggs: aggs
                .iter()
                .map(|a| (a.func, a.field.as_deref().map(|f| Getter::new(cols, f))))
                .collect(),
            groups: HashMap::new(),
            distinct: 0,
            key: Vec::new(),
        }
    }

    fn add(
        &mut self,
        item: &Item<'_>,
        limits: &Limits,
        counters: &mut Counters,
    ) -> Result<(), ExecError> {
        let key = &mut self.key;
        key.clear();
        if let Some((span, g)) = &self.span {
            let t = match g.get(item).as_deref() {
                Some(Value::Time(t)) => Some(*t),
                Some(Value::Str(s)) => crate::parse::parse_date(s, None).ok(),
                _ => None,
            };
            match t {
                Some(t) => key.push(Key::Time(bucket_start(t, *span))),
                None => {
                    counters.incr("timechart_missing_time");
                    return Ok(());
                }
            }
        }
        for g in &self.by {
            match g.get(item) {
                Some(v) => key.push(Key::of(&v)),
                None => {
                    counters.incr("stats_missing_group_field");
                    return Ok(());
                }
            }
        }
        if let Some(accs) = self.groups.get_mut(key.as_slice()) {
            update(accs, &self.aggs, item, &mut self.distinct, counters);
        } else {
            if self.groups.len() >= limits.max_groups {
                return Err(ExecError::TooManyGroups {
                    stage: self.label.clone(),
                    limit: limits.max_groups,
                });
            }
            let mut accs: Vec<Acc> = self.aggs.iter().map(|(f, _)| Acc::new(*f)).collect();
            update(&mut accs, &self.aggs, item, &mut self.distinct, counters);
            self.groups.insert(key.clone(), accs);
        }
        if self.distinct > limits.max_distinct {
            return Err(ExecError::TooManyDistinct {
                stage: self.label.clone(),
                limit: limits.max_distinct,
            });
        }
        Ok(())
    }

    /// A timechart without `by` gets a row for every bucket between the first and the last
    /// (zero counts), so charts show quiet periods; not when that would exceed the group limit
    /// (counted as `timechart_gaps_not_filled`).
    fn fill_gaps(
        &self,
        groups: Vec<(Vec<Key>, Vec<Acc>)>,
        span: Duration,
        limits: &Limits,
        counters: &mut Counters,
    ) -> Vec<(Vec<Key>, Vec<Acc>)> {
        let time_of = |k: &[Key]| match k.first() {
            Some(Key::Time(t)) => Some(*t),
            _ => None,
        };
        let (Some(first), Some(last)) = (
            groups.first().and_then(|g| time_of(&g.0)),
            groups.last().and_then(|g| time_of(&g.0)),
        ) else {
            return groups;
        };
        let step = span.as_nanos();
        let buckets = last
            .unix_nanos()
            .saturating_sub(first.unix_nanos())
            .checked_div(step.max(1))
            .unwrap_or(i64::MAX)
            .saturating_add(1);
        if step <= 0 || buckets > limits.max_groups as i64 || buckets as usize == groups.len() {
            if buckets as usize != groups.len() {
                counters.incr("timechart_gaps_not_filled");
            }
            return groups;
        }
        let mut out = Vec::with_capacity(buckets as usize);
        let mut it = groups.into_iter().peekable();
        let mut t = first;
        for _ in 0..buckets {
            match it.peek() {
                Some((k, _)) if time_of(k) == Some(t) => out.extend(it.next()),
                _ => out.push((
                    vec![Key::Time(t)],
                    self.aggs.iter().map(|(f, _)| Acc::new(*f)).collect(),
                )),
            }
            t = t + span;
        }
        out
    }

    fn finish(&mut self, limits: &Limits, counters: &mut Counters) -> Vec<Item<'static>> {
        let mut groups: Vec<(Vec<Key>, Vec<Acc>)> =
            std::mem::take(&mut self.groups).into_iter().collect();
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        if let (Some((span, _)), true) = (&self.span, self.by.is_empty()) {
            groups = self.fill_gaps(groups, *span, limits, counters);
        }
        if groups.is_empty() && self.by.is_empty() && self.span.is_none() {
            // `stats count()` over nothing is one row of zeros, not no row.
            groups.push((
                Vec::new(),
                self.aggs.iter().map(|(f, _)| Acc::new(*f)).collect(),
            ));
        }
        groups
            .into_iter()
            .map(|(k, accs)| {
                let mut row: Vec<Option<Value>> = k.iter().map(|k| Some(k.value())).collect();
                row.extend(accs.iter().map(Acc::output));
                Item::Row(row)
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Stages

enum Exec {
    Where {
        expr: Expr,
        cols: Option<Vec<String>>,
    },
    Head {
        n: usize,
        seen: usize,
    },
    Tail {
        n: usize,
        label: String,
        buf: VecDeque<Item<'static>>,
    },
    Sort {
        keys: Vec<(Getter, bool)>,
        label: String,
        buf: Vec<Item<'static>>,
        /// Set when a `head N` follows: only the first N rows in order are kept.
        keep: Option<usize>,
    },
    Fields(Vec<Getter>),
    Agg(Box<AggExec>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    More,
    Stop,
}

struct Ctx<'c> {
    limits: Limits,
    counters: Counters,
    sink: &'c mut dyn FnMut(Item<'_>) -> bool,
}

fn build(plan: &Plan) -> (Vec<Exec>, Option<Vec<String>>) {
    let mut cols: Option<Vec<String>> = None;
    let mut out = Vec::new();
    for st in &plan.pipeline {
        match st {
            Stage::Where(e) => out.push(Exec::Where {
                expr: e.clone(),
                cols: cols.clone(),
            }),
            Stage::Head(n) => out.push(Exec::Head { n: *n, seen: 0 }),
            Stage::Tail(n) => out.push(Exec::Tail {
                n: *n,
                label: st.to_string(),
                buf: VecDeque::new(),
            }),
            Stage::Sort(keys) => out.push(sort_exec(keys, &cols, st.to_string())),
            Stage::Fields(names) => {
                out.push(Exec::Fields(
                    names.iter().map(|n| Getter::new(&cols, n)).collect(),
                ));
                cols = Some(names.clone());
            }
            Stage::Stats { aggs, by } => {
                let getters = by.iter().map(|b| Getter::new(&cols, b)).collect();
                out.push(Exec::Agg(Box::new(AggExec::new(
                    st.to_string(),
                    None,
                    getters,
                    aggs,
                    &cols,
                ))));
                let mut c = by.clone();
                c.extend(aggs.iter().map(Agg::name));
                cols = Some(c);
            }
            Stage::Timechart { span, aggs, by } => {
                let tg = match &cols {
                    None => Getter::new(&cols, "@timestamp"),
                    Some(c) if c.iter().any(|n| n == "_time") => Getter::new(&cols, "_time"),
                    Some(_) => Getter::new(&cols, "@timestamp"),
                };
                let getters = by.iter().map(|b| Getter::new(&cols, b)).collect();
                out.push(Exec::Agg(Box::new(AggExec::new(
                    st.to_string(),
                    Some((*span, tg)),
                    getters,
                    aggs,
                    &cols,
                ))));
                let mut c = vec!["_time".to_owned()];
                c.extend(by.iter().cloned());
                c.extend(aggs.iter().map(Agg::name));
                cols = Some(c);
            }
            Stage::Top { n, field } => {
                let count = [Agg {
                    func: AggFunc::Count,
                    field: None,
                    alias: None,
                }];
                out.push(Exec::Agg(Box::new(AggExec::new(
                    st.to_string(),
                    None,
                    vec![Getter::new(&cols, field)],
                    &count,
                    &cols,
                ))));
                let c = Some(vec![field.clone(), "count".to_owned()]);
                let keys = [SortKey {
                    column: "count".to_owned(),
                    descending: true,
                }];
                out.push(sort_exec(&keys, &c, st.to_string()));
                out.push(Exec::Head { n: *n, seen: 0 });
                cols = c;
            }
        }
    }
    // `sort … | head N` keeps only N rows while sorting.
    for i in 1..out.len() {
        let next_head = match out.get(i) {
            Some(Exec::Head { n, .. }) => Some(*n),
            _ => None,
        };
        if let (Some(n), Some(Exec::Sort { keep, .. })) = (next_head, out.get_mut(i - 1)) {
            *keep = Some(n);
        }
    }
    (out, cols)
}

fn sort_exec(keys: &[SortKey], cols: &Option<Vec<String>>, label: String) -> Exec {
    Exec::Sort {
        keys: keys
            .iter()
            .map(|k| (Getter::new(cols, &k.column), k.descending))
            .collect(),
        label,
        buf: Vec::new(),
        keep: None,
    }
}

/// Sort rows by the keys (stable: ties keep input order).
fn sort_items(keys: &[(Getter, bool)], items: Vec<Item<'static>>) -> Vec<Item<'static>> {
    let mut keyed: Vec<(Vec<Option<Value>>, Item<'static>)> = items
        .into_iter()
        .map(|it| {
            let k = keys
                .iter()
                .map(|(g, _)| g.get(&it).map(Cow::into_owned))
                .collect();
            (k, it)
        })
        .collect();
    keyed.sort_by(|(a, _), (b, _)| {
        for ((x, y), (_, desc)) in a.iter().zip(b).zip(keys.iter()) {
            let o = compare_opt(x.as_ref(), y.as_ref(), *desc);
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
    keyed.into_iter().map(|(_, it)| it).collect()
}

/// Smallest buffer at which a `sort | head N` compacts to its first N rows.
const SORT_COMPACT_MIN: usize = 1024;

fn push(stages: &mut [Exec], item: Item<'_>, ctx: &mut Ctx<'_>) -> Result<Flow, ExecError> {
    let Some((st, rest)) = stages.split_first_mut() else {
        return Ok(if (ctx.sink)(item) {
            Flow::More
        } else {
            Flow::Stop
        });
    };
    match st {
        Exec::Where { expr, cols } => {
            let ok = match &item {
                Item::Ev(e) => expr.matches(&**e),
                Item::Row(r) => expr.matches(&RowRecord {
                    columns: cols.as_deref().unwrap_or_default(),
                    values: r,
                }),
            };
            if ok {
                push(rest, item, ctx)
            } else {
                Ok(Flow::More)
            }
        }
        Exec::Head { n, seen } => {
            if *seen >= *n {
                return Ok(Flow::Stop);
            }
            *seen += 1;
            let f = push(rest, item, ctx)?;
            Ok(if *seen >= *n { Flow::Stop } else { f })
        }
        Exec::Tail { n, label, buf } => {
            if *n == 0 {
                return Ok(Flow::More);
            }
            if buf.len() >= *n {
                buf.pop_front();
            }
            if buf.len() >= ctx.limits.max_buffered_rows {
                return Err(ExecError::TooManyRows {
                    stage: label.clone(),
                    limit: ctx.limits.max_buffered_rows,
                });
            }
            buf.push_back(item.into_owned());
            Ok(Flow::More)
        }
        Exec::Sort {
            keys,
            label,
            buf,
            keep,
        } => {
            if let Some(k) = *keep {
                // Top-k: compact to the first k rows whenever the buffer doubles.
                if buf.len() >= (2 * k).max(SORT_COMPACT_MIN) {
                    let mut sorted = sort_items(keys, std::mem::take(buf));
                    sorted.truncate(k);
                    *buf = sorted;
                }
            }
            if buf.len() >= ctx.limits.max_buffered_rows {
                return Err(ExecError::TooManyRows {
                    stage: label.clone(),
                    limit: ctx.limits.max_buffered_rows,
                });
            }
            buf.push(item.into_owned());
            Ok(Flow::More)
        }
        Exec::Fields(getters) => {
            let row = getters
                .iter()
                .map(|g| g.get(&item).map(Cow::into_owned))
                .collect();
            push(rest, Item::Row(row), ctx)
        }
        Exec::Agg(a) => {
            a.add(&item, &ctx.limits, &mut ctx.counters)?;
            Ok(Flow::More)
        }
    }
}

fn finish(stages: &mut [Exec], ctx: &mut Ctx<'_>) -> Result<(), ExecError> {
    let Some((st, rest)) = stages.split_first_mut() else {
        return Ok(());
    };
    let drained: Option<Vec<Item<'static>>> = match st {
        Exec::Tail { buf, .. } => Some(std::mem::take(buf).into_iter().collect()),
        Exec::Sort { keys, buf, .. } => Some(sort_items(keys, std::mem::take(buf))),
        Exec::Agg(a) => Some(a.finish(&ctx.limits, &mut ctx.counters)),
        _ => None,
    };
    if let Some(items) = drained {
        for it in items {
            if push(rest, it, ctx)? == Flow::Stop {
                break;
            }
        }
    }
    finish(rest, ctx)
}

impl Plan {
    /// The columns of the output rows, or `None` when the output is whole events.
    pub fn output_columns(&self) -> Option<Vec<String>> {
        build(self).1
    }

    /// Run over `events` and call `sink` for each output item in order; `sink` returns
    /// `false` to stop early. Nothing is collected here, so memory is bounded by the
    /// blocking stages' limits only.
    pub fn stream<I, E>(
        &self,
        events: I,
        limits: &Limits,
        mut sink: impl FnMut(OutputItem) -> bool,
    ) -> Result<RunStats, ExecError>
    where
        I: IntoIterator<Item = E>,
        E: Borrow<Event>,
    {
        let (mut stages, _) = build(self);
        let mut forward = |item: Item<'_>| -> bool {
            sink(match item {
                Item::Ev(e) => OutputItem::Event(e.into_owned()),
                Item::Row(r) => OutputItem::Row(r),
            })
        };
        let mut ctx = Ctx {
            limits: *limits,
            counters: Counters::new(),
            sink: &mut forward,
        };
        let (mut scanned, mut matched) = (0u64, 0u64);
        for e in events {
            scanned += 1;
            let ev: &Event = e.borrow();
            if !self.matches(ev) {
                continue;
            }
            matched += 1;
            if push(&mut stages, Item::Ev(Cow::Borrowed(ev)), &mut ctx)? == Flow::Stop {
                break;
            }
        }
        // Blocking stages after a satisfied `head` still emit what they hold.
        finish(&mut stages, &mut ctx)?;
        Ok(RunStats {
            scanned,
            matched,
            counters: ctx.counters,
        })
    }

    /// Run with the default [`Limits`] and collect the result.
    pub fn execute<I, E>(&self, events: I) -> Result<QueryOutput, ExecError>
    where
        I: IntoIterator<Item = E>,
        E: Borrow<Event>,
    {
        self.execute_with(events, &Limits::default())
    }

    /// Run with explicit limits and collect the result (at most `limits.max_output_rows`).
    pub fn execute_with<I, E>(&self, events: I, limits: &Limits) -> Result<QueryOutput, ExecError>
    where
        I: IntoIterator<Item = E>,
        E: Borrow<Event>,
    {
        let columns = self.output_columns();
        let mut evs = Vec::new();
        let mut rows = Vec::new();
        let mut over = false;
        let stats = self.stream(events, limits, |item| {
            if evs.len() + rows.len() >= limits.max_output_rows {
                over = true;
                return false;
            }
            match item {
                OutputItem::Event(e) => evs.push(e),
                OutputItem::Row(r) => rows.push(r),
            }
            true
        })?;
        if over {
            return Err(ExecError::TooManyRows {
                stage: "result".to_owned(),
                limit: limits.max_output_rows,
            });
        }
        let result = match columns {
            None => QueryResult::Events(evs),
            Some(columns) => QueryResult::Table { columns, rows },
        };
        Ok(QueryOutput {
            result,
            scanned: stats.scanned,
            matched: stats.matched,
            counters: stats.counters,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Result presentation

/// Widest cell shown by the text table (longer values end in `…`).
pub const MAX_CELL_CHARS: usize = 64;

impl QueryResult {
    /// Number of events or rows.
    pub fn len(&self) -> usize {
        match self {
            QueryResult::Events(v) => v.len(),
            QueryResult::Table { rows, .. } => rows.len(),
        }
    }

    /// Whether there is nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each event or row as a JSON object (events nested per EVENTS.md; rows flat by column,
    /// missing values as `null`).
    pub fn to_json_rows(&self) -> Vec<serde_json::Value> {
        match self {
            QueryResult::Events(v) => v.iter().map(Event::to_json).collect(),
            QueryResult::Table { columns, rows } => rows
                .iter()
                .map(|r| {
                    let mut m = serde_json::Map::new();
                    for (c, v) in columns.iter().zip(r) {
                        m.insert(
                            c.clone(),
                            v.as_ref().map_or(serde_json::Value::Null, Value::to_json),
                        );
                    }
                    serde_json::Value::Object(m)
                })
                .collect(),
        }
    }

    /// Rows as `(column, value)` pairs, leaving out missing values (events: their fields).
    pub fn to_pairs(&self) -> Vec<Vec<(String, Value)>> {
        match self {
            QueryResult::Events(v) => v
                .iter()
                .map(|e| {
                    let mut out = vec![
                        ("@timestamp".to_owned(), Value::Time(e.timestamp)),
                        ("event.kind".to_owned(), Value::from(e.kind.as_str())),
                        ("event.dataset".to_owned(), Value::from(e.dataset.as_ref())),
                    ];
                    out.extend(e.fields.iter().map(|(k, v)| (k.to_string(), v.clone())));
                    out
                })
                .collect(),
            QueryResult::Table { columns, rows } => rows
                .iter()
                .map(|r| {
                    columns
                        .iter()
                        .zip(r)
                        .filter_map(|(c, v)| Some((c.clone(), v.clone()?)))
                        .collect()
                })
                .collect(),
        }
    }
}

fn cell(v: &Option<Value>) -> String {
    let s = v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().count() > MAX_CELL_CHARS {
        let mut t: String = s.chars().take(MAX_CELL_CHARS - 1).collect();
        t.push('…');
        t
    } else {
        s
    }
}

impl fmt::Display for QueryResult {
    /// Events as JSON lines; tables as aligned text columns.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryResult::Events(v) => {
                for e in v {
                    writeln!(f, "{}", e.to_json())?;
                }
                Ok(())
            }
            QueryResult::Table { columns, rows } => {
                let cells: Vec<Vec<String>> =
                    rows.iter().map(|r| r.iter().map(cell).collect()).collect();
                let mut width: Vec<usize> = columns.iter().map(|c| c.chars().count()).collect();
                for r in &cells {
                    for (w, c) in width.iter_mut().zip(r) {
                        *w = (*w).max(c.chars().count());
                    }
                }
                let line = |f: &mut fmt::Formatter<'_>,
                            vals: &mut dyn Iterator<Item = &str>|
                 -> fmt::Result {
                    let mut first = true;
                    let mut out = String::new();
                    for (v, w) in vals.zip(&width) {
                        if !first {
                            out.push_str("  ");
                        }
                        first = false;
                        out.push_str(v);
                        out.extend(std::iter::repeat_n(
                            ' ',
                            w.saturating_sub(v.chars().count()),
                        ));
                    }
                    writeln!(f, "{}", out.trim_end())
                };
                line(f, &mut columns.iter().map(String::as_str))?;
                let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
                line(f, &mut rule.iter().map(String::as_str))?;
                for r in &cells {
                    line(f, &mut r.iter().map(String::as_str))?;
                }
                Ok(())
            }
        }
    }
}
