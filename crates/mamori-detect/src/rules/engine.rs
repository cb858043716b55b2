//! Event-time evaluation of threshold, sequence (`after`), absence and rate rules.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use mamori_core::{
    Alert, AlertState, Counters, Duration, Event, EventKind, Ruleset, Timestamp, Value,
};
use rustc_hash::{FxHashMap, FxHasher};

use super::config::{Hours, RulesConfig, RulesConfigError};
use super::load::{self, AfterSpec, Kind, LintReport, Rule};
use super::matcher::{text, Cond, Test};
use super::template::Vars;
use crate::util;

/// Most groups (distinct `same` keys) one rule tracks; beyond it the oldest eighth is evicted
/// (counted as `group_evicted`).
pub const MAX_GROUPS_PER_RULE: usize = 100_000;
/// Most events one group keeps in its window (older ones are dropped, `window_truncated`).
pub const MAX_EVENTS_PER_GROUP: usize = 10_000;
/// Event-time interval between checks of absence rules.
pub const ABSENCE_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// Event-time interval between purges of expired groups.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(60);
/// Sub-windows of a rate rule's window.
pub const RATE_BUCKETS: usize = 10;

/// Per-rule counters (`mamori rules status`, `rules test`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleStats {
    /// Rule id.
    pub id: String,
    /// Events that met the rule's `match` (after exclusions).
    pub matched: u64,
    /// Alerts raised (engaged).
    pub fired: u64,
    /// Matching events dropped by the rule's `exclude`.
    pub excluded: u64,
    /// Events older than the allowed lateness behind their group.
    pub late: u64,
    /// Matching events without the `distinct` or `group_by` field (a missing `same` field
    /// is a value of its own).
    pub missing_field: u64,
    /// Groups evicted because the rule reached [`MAX_GROUPS_PER_RULE`].
    pub group_evicted: u64,
    /// Window entries dropped at [`MAX_EVENTS_PER_GROUP`].
    pub window_truncated: u64,
}

#[derive(Debug, Default)]
struct Group {
    /// (event time ns, distinct-value hash), sorted by time.
    events: VecDeque<(i64, u64)>,
    distinct: FxHashMap<u64, u32>,
    newest: i64,
    last_fire: Option<i64>,
    /// Rate rules: (bucket start ns, total, hits), [`RATE_BUCKETS`] of them once used.
    buckets: Vec<(i64, u64, u64)>,
}

#[derive(Debug)]
struct Absent {
    last: i64,
    alerted: bool,
    sample: Event,
}

#[derive(Debug, Default)]
struct RuleState {
    groups: FxHashMap<u64, Group>,
    absent: FxHashMap<u64, Absent>,
    stats: RuleStats,
}

#[derive(Debug)]
struct Compiled {
    rules: Vec<Rule>,
    by_dataset: FxHashMap<String, Vec<usize>>,
    any_dataset: Vec<usize>,
}

/// Threshold, sequence, absence and rate rules with their state (pure, event-time driven).
///
/// See the [module docs](super) for the format and an example.
#[derive(Debug)]
pub struct ThresholdRules {
    compiled: Arc<Compiled>,
    hours: Hours,
    lateness: i64,
    states: Vec<RuleState>,
    now: i64,
    last_absence_check: i64,
    last_purge: i64,
    counters: Counters,
}

/// The datasets an event must have for the condition to hold, when the condition says so.
fn required_datasets(c: &Cond) -> Option<Vec<String>> {
    match c {
        Cond::Field(f, Test::AnyOf(ts)) if f == "event.dataset" => ts
            .iter()
            .map(|t| match t {
                Test::Eq(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        Cond::All(cs) => cs.iter().find_map(required_datasets),
        Cond::Any(cs) => {
            let mut all = Vec::new();
            for c in cs {
                all.extend(required_datasets(c)?);
            }
            Some(all)
        }
        _ => None,
    }
}

fn hash_value(h: &mut FxHasher, v: &Value) {
    match v {
        Value::Str(s) => util::lower(s).hash(h),
        Value::Int(i) => i.to_string().hash(h),
        other => text(other).to_lowercase().hash(h),
    }
}

fn group_key(fields: &[String], ev: &Event) -> u64 {
    let mut h = FxHasher::default();
    for f in fields {
        // A missing field is its own value (like a null group in Sigma correlation).
        match ev.get(f) {
            Some(v) => hash_value(&mut h, &v),
            None => 0xfeu8.hash(&mut h),
        }
        0xffu8.hash(&mut h);
    }
    h.finish()
}

fn ip_of(ev: &Event, f: &str) -> Option<IpAddr> {
    ev.get_ip(f)
        .or_else(|| ev.get_str(f).and_then(|s| s.trim().parse().ok()))
}

impl ThresholdRules {
    /// Load one YAML text (one rule per document); `origin` names it in the report.
    pub fn load_str(
        text: &str,
        origin: &str,
        config: &RulesConfig,
    ) -> Result<(ThresholdRules, LintReport), RulesConfigError> {
        let hours = config.hours("[rules]")?;
        let mut rules = Vec::new();
        let mut report = LintReport::default();
        load::load_text(text, origin, config, &mut rules, &mut report);
        Ok((Self::build(rules, config, hours), report))
    }

    /// Load several YAML texts, each named by its origin (e.g. the embedded built-in rules,
    /// [`super::BUILTIN_RULES`]).
    pub fn load_texts(
        texts: &[(&str, &str)],
        config: &RulesConfig,
    ) -> Result<(ThresholdRules, LintReport), RulesConfigError> {
        let hours = config.hours("[rules]")?;
        let mut rules = Vec::new();
        let mut report = LintReport::default();
        for (origin, text) in texts {
            load::load_text(text, origin, config, &mut rules, &mut report);
        }
        Ok((Self::build(rules, config, hours), report))
    }

    /// Load every `*.yml`/`*.yaml` under each folder (or file) in `paths`, in sorted order.
    pub fn load_dirs<P: AsRef<Path>>(
        paths: &[P],
        config: &RulesConfig,
    ) -> Result<(ThresholdRules, LintReport), RulesConfigError> {
        let hours = config.hours("[rules]")?;
        let mut rules = Vec::new();
        let mut report = LintReport::default();
        for p in paths {
            load::load_dir(p.as_ref(), config, &mut rules, &mut report);
        }
        Ok((Self::build(rules, config, hours), report))
    }

    /// [`ThresholdRules::load_dirs`] for one folder.
    pub fn load_dir(
        path: &Path,
        config: &RulesConfig,
    ) -> Result<(ThresholdRules, LintReport), RulesConfigError> {
        Self::load_dirs(&[path], config)
    }

    fn build(rules: Vec<Rule>, config: &RulesConfig, hours: Hours) -> ThresholdRules {
        let mut by_dataset: FxHashMap<String, Vec<usize>> = FxHashMap::default();
        let mut any_dataset = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let req = match &r.kind {
                Kind::Threshold | Kind::Absence(_) => required_datasets(&r.cond),
                Kind::After(_) | Kind::Rate(_) => None,
            };
            match req {
                Some(ds) => {
                    for d in ds {
                        let v = by_dataset.entry(d).or_default();
                        if v.last() != Some(&i) {
                            v.push(i);
                        }
                    }
                }
                None => any_dataset.push(i),
            }
        }
        let states = rules
            .iter()
            .map(|r| RuleState {
                stats: RuleStats {
                    id: r.id.clone(),
                    ..RuleStats::default()
                },
                ..RuleState::default()
            })
            .collect();
        let lateness = i64::try_from(config.allowed_lateness_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000_000);
        ThresholdRules {
            compiled: Arc::new(Compiled {
                rules,
                by_dataset,
                any_dataset,
            }),
            hours,
            lateness,
            states,
            now: i64::MIN,
            last_absence_check: i64::MIN,
            last_purge: i64::MIN,
            counters: Counters::new(),
        }
    }

    /// The same rules with empty state (for `rules test`, or a second pipeline).
    pub fn fresh(&self) -> ThresholdRules {
        ThresholdRules {
            compiled: Arc::clone(&self.compiled),
            hours: self.hours.clone(),
            lateness: self.lateness,
            states: self
                .compiled
                .rules
                .iter()
                .map(|r| RuleState {
                    stats: RuleStats {
                        id: r.id.clone(),
                        ..RuleStats::default()
                    },
                    ..RuleState::default()
                })
                .collect(),
            now: i64::MIN,
            last_absence_check: i64::MIN,
            last_purge: i64::MIN,
            counters: Counters::new(),
        }
    }

    /// The active rules.
    pub fn rules(&self) -> &[Rule] {
        &self.compiled.rules
    }

    /// Per-rule counters, in rule order.
    pub fn stats(&self) -> impl Iterator<Item = &RuleStats> {
        self.states.iter().map(|s| &s.stats)
    }

    /// Totals of everything dropped (`late_event`, `missing_field`, `group_evicted`,
    /// `window_truncated`).
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Evaluate one event (log record, flow, or alert with `event.kind: alert`); alerts raised
    /// are appended to `out`. Absence rules are checked as event time passes.
    pub fn process(&mut self, ev: &Event, out: &mut Vec<Alert>) {
        let ts = ev.timestamp.unix_nanos();
        if ts > self.now {
            self.now = ts;
        }
        let wm = self.now.saturating_sub(self.lateness);
        if self.last_absence_check == i64::MIN
            || wm.saturating_sub(self.last_absence_check) >= ABSENCE_CHECK_INTERVAL.as_nanos()
        {
            self.last_absence_check = wm;
            self.check_absence(wm, out);
        }
        if self.last_purge == i64::MIN
            || wm.saturating_sub(self.last_purge) >= PURGE_INTERVAL.as_nanos()
        {
            self.last_purge = wm;
            self.purge(wm);
        }
        let compiled = &self.compiled;
        let specific = compiled
            .by_dataset
            .get(ev.dataset.as_ref())
            .map_or(&[][..], Vec::as_slice);
        for &i in specific.iter().chain(compiled.any_dataset.iter()) {
            let (Some(rule), Some(st)) = (compiled.rules.get(i), self.states.get_mut(i)) else {
                continue;
            };
            if ev.kind == EventKind::Alert && !rule.sees_alerts {
                continue;
            }
            let mut ctx = Step {
                rule,
                hours: &self.hours,
                st,
                lateness: self.lateness,
                counters: &mut self.counters,
            };
            ctx.run(ev, out);
        }
    }

    /// Move event time to `watermark` (no event before it will come): absence rules fire
    /// for groups silent longer than `expected_every`; expired groups are purged.
    pub fn advance(&mut self, watermark: Timestamp, out: &mut Vec<Alert>) {
        let wm = watermark.unix_nanos();
        if wm > self.now {
            self.now = wm;
        }
        self.last_absence_check = wm;
        self.check_absence(wm, out);
        self.purge(wm);
    }

    /// End of input: a last absence check at the newest event time, then all state is dropped.
    pub fn finish(&mut self, out: &mut Vec<Alert>) {
        if self.now != i64::MIN {
            self.check_absence(self.now, out);
        }
        for st in &mut self.states {
            st.groups.clear();
            st.absent.clear();
        }
    }

    fn check_absence(&mut self, wm: i64, out: &mut Vec<Alert>) {
        for (rule, st) in self.compiled.rules.iter().zip(self.states.iter_mut()) {
            let Kind::Absence(a) = &rule.kind else {
                continue;
            };
            let every = a.expected_every.as_nanos();
            for g in st.absent.values_mut() {
                if !g.alerted && wm.saturating_sub(g.last) > every {
                    g.alerted = true;
                    st.stats.fired += 1;
                    let vars = Vars {
                        rule: &rule.id,
                        silent_for: Duration::from_nanos(wm.saturating_sub(g.last)),
                        expected: a.expected_every,
                        window: a.expected_every,
                        last: Some(Timestamp::from_unix_nanos(g.last)),
                        ..Vars::default()
                    };
                    let mut al = make_alert(rule, &g.sample, &vars, Timestamp::from_unix_nanos(wm));
                    al.first_seen = Timestamp::from_unix_nanos(g.last);
                    al.count = 1;
                    out.push(al);
                }
            }
        }
    }

    fn purge(&mut self, wm: i64) {
        for (rule, st) in self.compiled.rules.iter().zip(self.states.iter_mut()) {
            let keep = match &rule.kind {
                Kind::After(a) => a.within.as_nanos(),
                _ => rule.threshold.within.as_nanos(),
            }
            .max(rule.threshold.rearm.as_nanos())
            .saturating_add(self.lateness);
            st.groups.retain(|_, g| g.newest.saturating_add(keep) >= wm);
        }
    }
}

struct Step<'a> {
    rule: &'a Rule,
    hours: &'a Hours,
    st: &'a mut RuleState,
    lateness: i64,
    counters: &'a mut Counters,
}

impl Step<'_> {
    fn excluded(&mut self, ev: &Event) -> bool {
        if self
            .rule
            .exclude
            .as_ref()
            .is_some_and(|x| x.eval(ev, self.hours))
        {
            self.st.stats.excluded += 1;
            return true;
        }
        false
    }

    fn missing(&mut self) {
        self.st.stats.missing_field += 1;
        self.counters.incr("missing_field");
    }

    fn run(&mut self, ev: &Event, out: &mut Vec<Alert>) {
        let rule = self.rule;
        match &rule.kind {
            Kind::Threshold => {
                if rule.cond.eval(ev, self.hours) && !self.excluded(ev) {
                    self.st.stats.matched += 1;
                    self.threshold(ev, out);
                }
            }
            Kind::Absence(a) => {
                if rule.cond.eval(ev, self.hours) && !self.excluded(ev) {
                    self.st.stats.matched += 1;
                    let Some(v) = ev.get(&a.group_by) else {
                        self.missing();
                        return;
                    };
                    let mut h = FxHasher::default();
                    hash_value(&mut h, &v);
                    let key = h.finish();
                    let ts = ev.timestamp.unix_nanos();
                    if !self.st.absent.contains_key(&key)
                        && self.st.absent.len() >= MAX_GROUPS_PER_RULE
                    {
                        self.st.stats.group_evicted += 1;
                        self.counters.incr("group_evicted");
                        return;
                    }
                    let g = self.st.absent.entry(key).or_insert_with(|| {
                        let mut sample = Event::new(ev.timestamp, ev.dataset.clone());
                        sample.set(a.group_by.clone(), v.into_owned());
                        Absent {
                            last: ts,
                            alerted: false,
                            sample,
                        }
                    });
                    if ts > g.last {
                        if g.alerted {
                            // The source is back: close the alert.
                            g.alerted = false;
                            let vars = Vars {
                                rule: &rule.id,
                                silent_for: Duration::from_nanos(ts.saturating_sub(g.last)),
                                expected: a.expected_every,
                                window: a.expected_every,
                                last: Some(Timestamp::from_unix_nanos(g.last)),
                                ..Vars::default()
                            };
                            let mut al = make_alert(rule, &g.sample, &vars, ev.timestamp);
                            al.first_seen = Timestamp::from_unix_nanos(g.last);
                            al.state = AlertState::Past;
                            out.push(al);
                        }
                        g.last = ts;
                    }
                }
            }
            Kind::After(a) => {
                // The matching event fires when enough events meeting `after.match` with
                // the same group values came strictly before it within `after.within`.
                if rule.cond.eval(ev, self.hours) && !self.excluded(ev) {
                    self.st.stats.matched += 1;
                    self.after_match(a, ev, out);
                }
                if a.cond.eval(ev, self.hours) {
                    let key = group_key(&rule.threshold.same, ev);
                    self.push(key, ev.timestamp.unix_nanos(), None, a.within.as_nanos());
                }
            }
            Kind::Rate(r) => {
                if !r.of.eval(ev, self.hours) {
                    return;
                }
                let hit = rule.cond.eval(ev, self.hours) && !self.excluded(ev);
                if hit {
                    self.st.stats.matched += 1;
                }
                self.rate(ev, hit, r.percent_above, r.min_events, out);
            }
        }
    }

    fn after_match(&mut self, a: &AfterSpec, ev: &Event, out: &mut Vec<Alert>) {
        let rule = self.rule;
        let key = group_key(&rule.threshold.same, ev);
        let ts = ev.timestamp.unix_nanos();
        let floor = ts.saturating_sub(a.within.as_nanos());
        let rearm = rule.threshold.rearm.as_nanos();
        let Some(g) = self.st.groups.get_mut(&key) else {
            return;
        };
        let in_window = g.events.iter().filter(|(t, _)| *t <= ts && *t >= floor);
        let n = in_window.clone().count() as u64;
        let first = in_window.map(|e| e.0).next();
        if n < a.count || g.last_fire.is_some_and(|f| ts < f.saturating_add(rearm)) {
            return;
        }
        g.last_fire = Some(ts);
        if rule.threshold.suppress_per_group {
            g.events.clear();
            g.distinct.clear();
        }
        self.st.stats.fired += 1;
        let vars = Vars {
            count: n,
            window: a.within,
            rule: &rule.id,
            first: first.map(Timestamp::from_unix_nanos),
            last: Some(ev.timestamp),
            ..Vars::default()
        };
        let mut al = make_alert(rule, ev, &vars, ev.timestamp);
        if let Some(f) = first {
            al.first_seen = Timestamp::from_unix_nanos(f);
        }
        out.push(al);
    }

    fn ensure_room(&mut self, key: u64) {
        if self.st.groups.len() < MAX_GROUPS_PER_RULE || self.st.groups.contains_key(&key) {
            return;
        }
        let mut ages: Vec<i64> = self.st.groups.values().map(|g| g.newest).collect();
        let k = ages.len() / 8;
        let (_, cut, _) = ages.select_nth_unstable(k);
        let cut = *cut;
        let before = self.st.groups.len();
        self.st.groups.retain(|_, g| g.newest > cut);
        let n = (before - self.st.groups.len()) as u64;
        self.st.stats.group_evicted += n;
        self.counters.add("group_evicted", n);
    }

    /// Insert into a group's window; `false` when the event came too late.
    fn push(&mut self, key: u64, ts: i64, dv: Option<u64>, within: i64) -> bool {
        self.ensure_room(key);
        let g = self.st.groups.entry(key).or_insert_with(|| Group {
            newest: ts,
            ..Group::default()
        });
        if ts < g.newest.saturating_sub(self.lateness) {
            self.st.stats.late += 1;
            self.counters.incr("late_event");
            return false;
        }
        let pos = g.events.partition_point(|(t, _)| *t <= ts);
        g.events.insert(pos, (ts, dv.unwrap_or(0)));
        if let Some(dv) = dv {
            *g.distinct.entry(dv).or_insert(0) += 1;
        }
        g.newest = g.newest.max(ts);
        let floor = g.newest.saturating_sub(within);
        let mut truncated = 0u64;
        while let Some(&(t, d)) = g.events.front() {
            let over = g.events.len() > MAX_EVENTS_PER_GROUP;
            if t >= floor && !over {
                break;
            }
            if over && t >= floor {
                truncated += 1;
            }
            g.events.pop_front();
            if let Some(c) = g.distinct.get_mut(&d) {
                *c -= 1;
                if *c == 0 {
                    g.distinct.remove(&d);
                }
            }
        }
        if truncated > 0 {
            self.st.stats.window_truncated += truncated;
            self.counters.add("window_truncated", truncated);
        }
        true
    }

    fn threshold(&mut self, ev: &Event, out: &mut Vec<Alert>) {
        let rule = self.rule;
        let t = &rule.threshold;
        let key = group_key(&t.same, ev);
        let dv = match &t.distinct {
            Some(f) => match ev.get(f) {
                Some(v) => {
                    let mut h = FxHasher::default();
                    hash_value(&mut h, &v);
                    Some(h.finish())
                }
                None => {
                    self.missing();
                    return;
                }
            },
            None => None,
        };
        let ts = ev.timestamp.unix_nanos();
        if !self.push(key, ts, dv, t.within.as_nanos()) {
            return;
        }
        let Some(g) = self.st.groups.get_mut(&key) else {
            return;
        };
        let distinct = g.distinct.len() as u64;
        let total = g.events.len() as u64;
        let n = if t.distinct.is_some() {
            distinct
        } else {
            total
        };
        let rearm = t.rearm.as_nanos();
        if n < t.count
            || g.last_fire
                .is_some_and(|f| g.newest < f.saturating_add(rearm))
        {
            return;
        }
        g.last_fire = Some(g.newest);
        let first = g.events.front().map(|e| e.0);
        if t.suppress_per_group {
            g.events.clear();
            g.distinct.clear();
        }
        self.st.stats.fired += 1;
        let vars = Vars {
            count: total,
            distinct,
            window: t.within,
            rule: &rule.id,
            first: first.map(Timestamp::from_unix_nanos),
            last: Some(ev.timestamp),
            ..Vars::default()
        };
        let mut al = make_alert(rule, ev, &vars, ev.timestamp);
        al.count = n;
        if let Some(f) = first {
            al.first_seen = Timestamp::from_unix_nanos(f);
        }
        out.push(al);
    }

    fn rate(&mut self, ev: &Event, hit: bool, pct: f64, min_events: u64, out: &mut Vec<Alert>) {
        let rule = self.rule;
        let t = &rule.threshold;
        let key = group_key(&t.same, ev);
        self.ensure_room(key);
        let ts = ev.timestamp.unix_nanos();
        let within = t.within.as_nanos().max(RATE_BUCKETS as i64);
        let width = within / RATE_BUCKETS as i64;
        let g = self.st.groups.entry(key).or_insert_with(|| Group {
            newest: ts,
            ..Group::default()
        });
        if ts < g.newest.saturating_sub(self.lateness) {
            self.st.stats.late += 1;
            self.counters.incr("late_event");
            return;
        }
        g.newest = g.newest.max(ts);
        if g.buckets.len() != RATE_BUCKETS {
            g.buckets = vec![(0, 0, 0); RATE_BUCKETS];
        }
        let start = ts.div_euclid(width).saturating_mul(width);
        let slot = (ts.div_euclid(width).rem_euclid(RATE_BUCKETS as i64)) as usize;
        if let Some(b) = g.buckets.get_mut(slot) {
            if b.0 != start {
                *b = (start, 0, 0);
            }
            b.1 += 1;
            b.2 += u64::from(hit);
        }
        let floor = g.newest.saturating_sub(within);
        let (mut total, mut hits) = (0u64, 0u64);
        for b in &g.buckets {
            if b.1 > 0 && b.0 > floor.saturating_sub(width) {
                total += b.1;
                hits += b.2;
            }
        }
        let percent = if total == 0 {
            0.0
        } else {
            hits as f64 * 100.0 / total as f64
        };
        let rearm = t.rearm.as_nanos();
        if total < min_events.max(1)
            || percent <= pct
            || g.last_fire
                .is_some_and(|f| g.newest < f.saturating_add(rearm))
        {
            return;
        }
        g.last_fire = Some(g.newest);
        if t.suppress_per_group {
            g.buckets.clear();
        }
        self.st.stats.fired += 1;
        let vars = Vars {
            count: hits,
            total,
            percent,
            window: t.within,
            rule: &rule.id,
            last: Some(ev.timestamp),
            ..Vars::default()
        };
        let mut al = make_alert(rule, ev, &vars, ev.timestamp);
        al.count = hits;
        out.push(al);
    }
}

/// Build an alert from a rule, the event that fired it and the numbers.
fn make_alert(rule: &Rule, ev: &Event, vars: &Vars<'_>, at: Timestamp) -> Alert {
    let mut a = Alert::new(
        rule.id.clone(),
        rule.name.clone(),
        rule.severity,
        at,
        rule.message.render(Some(ev), vars),
    );
    a.rule_name_ja = rule.name_ja.clone().into();
    a.message_ja = Some(rule.message_ja.render(Some(ev), vars));
    a.ruleset = if rule.id.starts_with("mamori.") {
        Ruleset::MamoriBuiltin
    } else {
        Ruleset::Custom
    };
    a.techniques = rule.techniques.iter().map(|t| t.clone().into()).collect();
    a.controls = rule.controls.iter().map(|t| t.clone().into()).collect();
    a.source_ip = ip_of(ev, "source.ip").or_else(|| ip_of(ev, "client.ip"));
    a.destination_ip = ip_of(ev, "destination.ip");
    a.destination_port = ev
        .get_i64("destination.port")
        .and_then(|p| u16::try_from(p).ok());
    a.user_name = ev.get_str("user.name").map(str::to_owned);
    a.host_name = ev
        .get_str("host.name")
        .or_else(|| ev.get_str("host.hostname"))
        .map(str::to_owned);
    a.count = vars.count.max(1);
    let t = &rule.threshold;
    let mut keyed: Vec<&str> = t.same.iter().map(String::as_str).collect();
    if let Kind::Absence(ab) = &rule.kind {
        keyed.push(&ab.group_by);
    }
    for f in keyed {
        if let Some(v) = ev.get(f) {
            a.fields.insert(f.to_owned().into(), v.into_owned());
        }
    }
    a.fields
        .insert("event.dataset".into(), Value::Str(ev.dataset.to_string()));
    if t.distinct.is_some() {
        a.fields.insert(
            "mamori.rule.distinct".into(),
            Value::Int(vars.distinct as i64),
        );
    }
    let mut key = rule.id.clone();
    for f in &t.same {
        key.push('|');
        if let Some(v) = ev.get(f) {
            key.push_str(&text(&v));
        }
    }
    a.fields.insert("mamori.alert.key".into(), Value::Str(key));
    a
}
