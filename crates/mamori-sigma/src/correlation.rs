//! Sigma correlation rules (`event_count`, `value_count`, `temporal`, `temporal_ordered`,
//! `value_sum`, `value_avg`) and the [`Correlator`] that evaluates them over rule matches.
//!
//! Pure and event-time driven: the window is a sliding one, inclusive at both ends (an
//! event exactly `timespan` after the first still counts). Events may arrive out of order
//! up to the allowed lateness; older ones are dropped and counted. State is bounded: at
//! most [`Limits::max_groups`] groups per correlation (the least recently seen group is
//! evicted and counted) and [`Limits::max_entries`] entries per group.

use std::collections::{HashMap, HashSet, VecDeque};

use mamori_core::{Counters, Duration, Severity, Timestamp};
use yaml_serde::Value as Y;

use crate::detection::FieldLookup;
use crate::document::Document;
use crate::error::RuleError;
use crate::rule::{attack_tags, severity_of, Rule};

/// Default groups kept per correlation rule.
pub const DEFAULT_MAX_GROUPS: usize = 10_000;
/// Default entries kept per group.
pub const DEFAULT_MAX_ENTRIES: usize = 4_096;
/// Default allowed lateness of out-of-order events.
pub const DEFAULT_LATENESS: Duration = Duration::from_secs(60);
/// Longest accepted timespan.
pub const MAX_TIMESPAN: Duration = Duration::from_secs(90 * 86_400);
/// Events between sweeps of expired groups.
pub const SWEEP_EVERY: u64 = 4_096;

/// Correlation type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelationType {
    /// Number of matching events.
    EventCount,
    /// Number of distinct values of a field.
    ValueCount,
    /// All referenced rules matched, in any order.
    Temporal,
    /// All referenced rules matched in the listed order.
    TemporalOrdered,
    /// Sum of a numeric field.
    ValueSum,
    /// Average of a numeric field.
    ValueAvg,
}

impl CorrelationType {
    fn parse(s: &str) -> Option<CorrelationType> {
        Some(match s {
            "event_count" => CorrelationType::EventCount,
            "value_count" => CorrelationType::ValueCount,
            "temporal" => CorrelationType::Temporal,
            "temporal_ordered" => CorrelationType::TemporalOrdered,
            "value_sum" => CorrelationType::ValueSum,
            "value_avg" => CorrelationType::ValueAvg,
            _ => return None,
        })
    }
    /// The Sigma name.
    pub fn as_str(self) -> &'static str {
        match self {
            CorrelationType::EventCount => "event_count",
            CorrelationType::ValueCount => "value_count",
            CorrelationType::Temporal => "temporal",
            CorrelationType::TemporalOrdered => "temporal_ordered",
            CorrelationType::ValueSum => "value_sum",
            CorrelationType::ValueAvg => "value_avg",
        }
    }
}

/// A numeric condition: one bound or a range (`gte` + `lte`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    /// `gt`.
    pub gt: Option<f64>,
    /// `gte`.
    pub gte: Option<f64>,
    /// `lt`.
    pub lt: Option<f64>,
    /// `lte`.
    pub lte: Option<f64>,
    /// `eq`.
    pub eq: Option<f64>,
    /// `neq`.
    pub neq: Option<f64>,
}

impl Threshold {
    /// Whether `x` satisfies every given bound.
    pub fn holds(&self, x: f64) -> bool {
        self.gt.is_none_or(|v| x > v)
            && self.gte.is_none_or(|v| x >= v)
            && self.lt.is_none_or(|v| x < v)
            && self.lte.is_none_or(|v| x <= v)
            && self.eq.is_none_or(|v| x == v)
            && self.neq.is_none_or(|v| x != v)
    }
}

/// A parsed correlation rule (references not yet resolved).
#[derive(Debug, Clone)]
pub(crate) struct CorrelationDef {
    pub id: String,
    pub name: Option<String>,
    pub title: String,
    pub description: String,
    pub level: String,
    pub tags: Vec<String>,
    pub kind: CorrelationType,
    pub rules: Vec<String>,
    pub group_by: Vec<String>,
    pub aliases: HashMap<String, HashMap<String, String>>,
    pub timespan: Duration,
    pub threshold: Option<Threshold>,
    pub field: Option<String>,
    pub generate: bool,
}

fn parse_timespan(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = n.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        "w" => n.checked_mul(7 * 86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

fn strings(y: Option<&Y>) -> Vec<String> {
    match y {
        Some(Y::Sequence(s)) => s
            .iter()
            .filter_map(|v| match v {
                Y::String(s) => Some(s.clone()),
                Y::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Some(Y::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

pub(crate) fn parse_def(doc: &Y, origin: &str) -> Result<CorrelationDef, RuleError> {
    let missing = |k: &str| RuleError::Missing { key: k.to_owned() };
    let c = doc
        .get("correlation")
        .ok_or_else(|| missing("correlation"))?;
    let kind_s = c
        .get("type")
        .and_then(Y::as_str)
        .ok_or_else(|| missing("type"))?;
    let kind = CorrelationType::parse(kind_s).ok_or_else(|| RuleError::Unsupported {
        what: format!("correlation type '{kind_s}'"),
    })?;
    let rules = strings(c.get("rules"));
    if rules.is_empty() {
        return Err(missing("rules"));
    }
    let group_by = strings(c.get("group-by"));
    let ts = c
        .get("timespan")
        .and_then(|v| match v {
            Y::String(s) => Some(s.clone()),
            Y::Number(n) => Some(format!("{n}s")),
            _ => None,
        })
        .ok_or_else(|| missing("timespan"))?;
    let timespan = parse_timespan(&ts).ok_or_else(|| RuleError::BadValue {
        key: "timespan".into(),
        reason: format!("'{ts}' is not a duration like 30s, 5m, 1h, 1d"),
    })?;
    if timespan > MAX_TIMESPAN || timespan <= Duration::ZERO {
        return Err(RuleError::Limit {
            what: format!("timespan '{ts}' outside 1s..90d"),
        });
    }
    let mut field = None;
    let threshold = match c.get("condition") {
        None => None,
        Some(Y::Mapping(m)) => {
            let mut t = Threshold {
                gt: None,
                gte: None,
                lt: None,
                lte: None,
                eq: None,
                neq: None,
            };
            for (k, v) in m {
                let key = k.as_str().unwrap_or("");
                if key == "field" {
                    field = v.as_str().map(str::to_owned);
                    continue;
                }
                let n = v.as_f64().ok_or_else(|| RuleError::BadValue {
                    key: format!("condition.{key}"),
                    reason: "not a number".into(),
                })?;
                let slot = match key {
                    "gt" => &mut t.gt,
                    "gte" => &mut t.gte,
                    "lt" => &mut t.lt,
                    "lte" => &mut t.lte,
                    "eq" => &mut t.eq,
                    "neq" => &mut t.neq,
                    _ => {
                        return Err(RuleError::BadValue {
                            key: format!("condition.{key}"),
                            reason: "unknown operator".into(),
                        })
                    }
                };
                *slot = Some(n);
            }
            Some(t)
        }
        Some(_) => return Err(missing("condition")),
    };
    let needs_field = matches!(
        kind,
        CorrelationType::ValueCount | CorrelationType::ValueSum | CorrelationType::ValueAvg
    );
    if needs_field && field.is_none() {
        return Err(missing("condition.field"));
    }
    if threshold.is_none()
        && !matches!(
            kind,
            CorrelationType::Temporal | CorrelationType::TemporalOrdered
        )
    {
        return Err(missing("condition"));
    }
    let mut aliases = HashMap::new();
    if let Some(Y::Mapping(m)) = c.get("aliases") {
        for (k, v) in m {
            let (Some(alias), Some(per)) = (k.as_str(), v.as_mapping()) else {
                return Err(missing("aliases"));
            };
            let mut inner = HashMap::new();
            for (rk, rv) in per {
                if let (Some(r), Some(f)) = (rk.as_str(), rv.as_str()) {
                    inner.insert(r.to_owned(), f.to_owned());
                }
            }
            aliases.insert(alias.to_owned(), inner);
        }
    }
    let text = |k: &str| doc.get(k).and_then(Y::as_str).map(str::to_owned);
    let generate = c
        .get("generate")
        .or_else(|| doc.get("generate"))
        .and_then(Y::as_bool)
        .unwrap_or(false);
    Ok(CorrelationDef {
        id: text("id").unwrap_or_else(|| origin.to_owned()),
        name: text("name"),
        title: text("title").unwrap_or_default(),
        description: text("description").unwrap_or_default(),
        level: text("level").unwrap_or_else(|| "medium".into()),
        tags: strings(doc.get("tags")),
        kind,
        rules,
        group_by,
        aliases,
        timespan,
        threshold,
        field,
        generate,
    })
}

/// A loaded correlation rule with its references resolved.
#[derive(Debug, Clone)]
pub struct Correlation {
    /// `id`.
    pub id: String,
    /// `name`.
    pub name: Option<String>,
    /// `title`.
    pub title: String,
    /// `description`.
    pub description: String,
    /// `level` as written.
    pub level: String,
    /// Severity from `level`.
    pub severity: Severity,
    /// ATT&CK technique ids from tags.
    pub techniques: Vec<String>,
    /// Type.
    pub kind: CorrelationType,
    /// Referenced rule indices in listed order.
    pub rules: Vec<usize>,
    /// `group-by` field names (aliases resolved per rule in `lookups`).
    pub group_by: Vec<String>,
    /// Window length.
    pub timespan: Duration,
    /// Condition (None for temporal types without one).
    pub threshold: Option<Threshold>,
    /// `condition.field` for value_* types.
    pub field: Option<String>,
    /// `generate`: whether base rule matches are alerts too.
    pub generate: bool,
    /// Per referenced rule: group-by lookups and value lookup.
    pub(crate) lookups: Vec<(Vec<FieldLookup>, Option<FieldLookup>)>,
}

impl Correlation {
    pub(crate) fn resolve(
        def: CorrelationDef,
        rules: &[Rule],
        find: &dyn Fn(&str) -> Option<usize>,
    ) -> Result<Correlation, RuleError> {
        let mut idx = Vec::with_capacity(def.rules.len());
        let mut lookups = Vec::with_capacity(def.rules.len());
        for r in &def.rules {
            let i = find(r).ok_or_else(|| RuleError::UnknownReference {
                reference: r.clone(),
            })?;
            let rule = rules.get(i).ok_or_else(|| RuleError::UnknownReference {
                reference: r.clone(),
            })?;
            let field_for = |g: &str| -> String {
                def.aliases
                    .get(g)
                    .and_then(|per| {
                        rule.name
                            .as_ref()
                            .and_then(|n| per.get(n))
                            .or_else(|| per.get(&rule.id))
                            .or_else(|| per.get(r))
                    })
                    .cloned()
                    .unwrap_or_else(|| g.to_owned())
            };
            let group: Vec<FieldLookup> = def
                .group_by
                .iter()
                .map(|g| FieldLookup::new(&field_for(g), &rule.scope))
                .collect();
            let value = def
                .field
                .as_ref()
                .map(|f| FieldLookup::new(&field_for(f), &rule.scope));
            idx.push(i);
            lookups.push((group, value));
        }
        let (techniques, _) = attack_tags(&def.tags);
        Ok(Correlation {
            severity: severity_of(&def.level),
            id: def.id,
            name: def.name,
            title: def.title,
            description: def.description,
            level: def.level,
            techniques,
            kind: def.kind,
            rules: idx,
            group_by: def.group_by,
            timespan: def.timespan,
            threshold: def.threshold,
            field: def.field,
            generate: def.generate,
            lookups,
        })
    }
}

/// One correlation that fired.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationHit {
    /// Index of the correlation in the rule set.
    pub correlation: usize,
    /// Group-by field names and values.
    pub group: Vec<(String, String)>,
    /// Earliest event time in the window.
    pub first: Timestamp,
    /// Latest event time in the window.
    pub last: Timestamp,
    /// The aggregated value compared with the condition (count, distinct count, sum, avg,
    /// or number of distinct rules for temporal types).
    pub value: f64,
    /// Events in the window.
    pub events: usize,
}

/// Bounds of the correlator's state.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Groups per correlation rule.
    pub max_groups: usize,
    /// Entries per group.
    pub max_entries: usize,
    /// How far behind the newest event an event may arrive and still count.
    pub lateness: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_groups: DEFAULT_MAX_GROUPS,
            max_entries: DEFAULT_MAX_ENTRIES,
            lateness: DEFAULT_LATENESS,
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    ts: Timestamp,
    rule_pos: usize,
    value: Option<String>,
}

#[derive(Debug, Default)]
struct Group {
    entries: VecDeque<Entry>,
    last_seen: Timestamp,
}

/// Evaluates correlation rules over the detection matches of a stream of events.
#[derive(Debug)]
pub struct Correlator {
    limits: Limits,
    state: Vec<HashMap<Vec<String>, Group>>,
    watermark: Timestamp,
    seen: u64,
    /// Dropped or evicted state by reason (`correlation_late_event`,
    /// `correlation_group_evicted`, `correlation_entry_dropped`).
    pub counters: Counters,
}

impl Correlator {
    /// A correlator with default limits.
    pub fn new() -> Correlator {
        Correlator::with_limits(Limits::default())
    }

    /// A correlator with explicit limits.
    pub fn with_limits(limits: Limits) -> Correlator {
        Correlator {
            limits,
            state: Vec::new(),
            watermark: Timestamp::MIN,
            seen: 0,
            counters: Counters::new(),
        }
    }

    /// Groups currently held for correlation `i`.
    pub fn groups(&self, i: usize) -> usize {
        self.state.get(i).map_or(0, HashMap::len)
    }

    /// Feed one event at time `ts` that matched `matched` rules; returns the correlations
    /// that fired.
    pub fn process<'r, D: Document + ?Sized>(
        &mut self,
        correlations: &[Correlation],
        doc: &D,
        ts: Timestamp,
        matched: impl IntoIterator<Item = &'r Rule>,
    ) -> Vec<CorrelationHit> {
        let mut hits = Vec::new();
        if self.state.len() < correlations.len() {
            self.state.resize_with(correlations.len(), HashMap::new);
        }
        let late_limit = self
            .watermark
            .unix_nanos()
            .saturating_sub(self.limits.lateness.as_nanos());
        if ts.unix_nanos() < late_limit {
            self.counters
                .incr_with_sample("correlation_late_event", || {
                    format!("event at {ts} behind watermark {}", self.watermark)
                });
            return hits;
        }
        if ts > self.watermark {
            self.watermark = ts;
        }
        self.seen += 1;
        if self.seen.is_multiple_of(SWEEP_EVERY) {
            self.sweep(correlations);
        }
        for rule in matched {
            for (ci, corr) in correlations.iter().enumerate() {
                for (pos, &ri) in corr.rules.iter().enumerate() {
                    if ri != rule.index() {
                        continue;
                    }
                    if let Some(hit) = self.add(ci, corr, pos, doc, ts) {
                        hits.push(hit);
                    }
                }
            }
        }
        hits
    }

    fn sweep(&mut self, correlations: &[Correlation]) {
        for (ci, groups) in self.state.iter_mut().enumerate() {
            let Some(c) = correlations.get(ci) else {
                continue;
            };
            let horizon = self
                .watermark
                .unix_nanos()
                .saturating_sub(self.limits.lateness.as_nanos())
                .saturating_sub(c.timespan.as_nanos());
            groups.retain(|_, g| g.last_seen.unix_nanos() >= horizon);
        }
    }

    fn add<D: Document + ?Sized>(
        &mut self,
        ci: usize,
        corr: &Correlation,
        pos: usize,
        doc: &D,
        ts: Timestamp,
    ) -> Option<CorrelationHit> {
        let (group_l, value_l) = corr.lookups.get(pos)?;
        let key: Vec<String> = group_l
            .iter()
            .map(|l| l.get(doc).map(|v| v.to_string()).unwrap_or_default())
            .collect();
        let value = value_l
            .as_ref()
            .and_then(|l| l.get(doc).map(|v| v.to_string()));
        let limits = self.limits;
        let groups = self.state.get_mut(ci)?;
        if !groups.contains_key(&key) && groups.len() >= limits.max_groups {
            let oldest = groups
                .iter()
                .min_by_key(|(_, g)| g.last_seen)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                groups.remove(&k);
                self.counters
                    .incr_with_sample("correlation_group_evicted", || {
                        format!("correlation {} group {:?}", corr.id, k)
                    });
            }
        }
        let g = groups.entry(key.clone()).or_default();
        if ts > g.last_seen {
            g.last_seen = ts;
        }
        // Drop entries that can no longer be in any window.
        let horizon = self
            .watermark
            .unix_nanos()
            .saturating_sub(limits.lateness.as_nanos())
            .saturating_sub(corr.timespan.as_nanos());
        while g
            .entries
            .front()
            .is_some_and(|e| e.ts.unix_nanos() < horizon)
        {
            g.entries.pop_front();
        }
        let at = g.entries.partition_point(|e| e.ts <= ts);
        g.entries.insert(
            at,
            Entry {
                ts,
                rule_pos: pos,
                value,
            },
        );
        if g.entries.len() > limits.max_entries {
            g.entries.pop_front();
            self.counters.incr("correlation_entry_dropped");
        }
        // Windows that contain the new event: those ending at an entry e with
        // ts <= e.ts <= ts + timespan.
        let span = corr.timespan.as_nanos();
        let ends: Vec<usize> = (at..g.entries.len())
            .take_while(|&i| {
                g.entries
                    .get(i)
                    .is_some_and(|e| e.ts.unix_nanos().saturating_sub(ts.unix_nanos()) <= span)
            })
            .collect();
        for end in ends {
            let end_ts = g.entries.get(end)?.ts;
            let start = g
                .entries
                .partition_point(|e| end_ts.unix_nanos().saturating_sub(e.ts.unix_nanos()) > span);
            let window: Vec<&Entry> = g.entries.range(start..=end).collect();
            if let Some(value) = evaluate(corr, &window) {
                let hit = CorrelationHit {
                    correlation: ci,
                    group: corr
                        .group_by
                        .iter()
                        .cloned()
                        .zip(key.iter().cloned())
                        .collect(),
                    first: window.first().map_or(ts, |e| e.ts),
                    last: end_ts,
                    value,
                    events: window.len(),
                };
                g.entries.clear();
                return Some(hit);
            }
        }
        None
    }
}

impl Default for Correlator {
    fn default() -> Correlator {
        Correlator::new()
    }
}

/// The aggregate of a window if the correlation's condition holds.
fn evaluate(corr: &Correlation, w: &[&Entry]) -> Option<f64> {
    let value = match corr.kind {
        CorrelationType::EventCount => w.len() as f64,
        CorrelationType::ValueCount => {
            let set: HashSet<&str> = w.iter().filter_map(|e| e.value.as_deref()).collect();
            set.len() as f64
        }
        CorrelationType::ValueSum | CorrelationType::ValueAvg => {
            let nums: Vec<f64> = w
                .iter()
                .filter_map(|e| e.value.as_deref().and_then(|v| v.parse().ok()))
                .collect();
            if nums.is_empty() {
                return None;
            }
            let sum: f64 = nums.iter().sum();
            if corr.kind == CorrelationType::ValueSum {
                sum
            } else {
                sum / nums.len() as f64
            }
        }
        CorrelationType::Temporal => {
            let set: HashSet<usize> = w.iter().map(|e| e.rule_pos).collect();
            let n = set.len() as f64;
            return match corr.threshold {
                Some(t) => t.holds(n).then_some(n),
                None => (set.len() == corr.rules.len()).then_some(n),
            };
        }
        CorrelationType::TemporalOrdered => {
            let mut want = 0usize;
            for e in w {
                if e.rule_pos == want {
                    want += 1;
                    if want == corr.rules.len() {
                        return Some(want as f64);
                    }
                }
            }
            return None;
        }
    };
    corr.threshold.and_then(|t| t.holds(value).then_some(value))
}
