//! The engine: dispatch of events to checks, windows, exclusions, authorised scanners, the
//! alert lifecycle (dedup, engaged → past) and per-minute host scores.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use mamori_core::{
    Alert, AlertState, Counters, Duration, Event, EventKind, Ruleset, Severity, Timestamp, Value,
};
use rustc_hash::{FxHashMap, FxHashSet, FxHasher};

use crate::catalogue::{CheckId, Family, CHECK_COUNT};
use crate::config::{Built, ConfigError, DetectConfig};
use crate::intel::Intel;

/// Most keys (sources, pairs …) tracked per windowed check; beyond it expired keys are
/// purged and, if still full, new keys are not tracked (counted as `<check>.state_full`).
pub const MAX_TRACKED_KEYS: usize = 100_000;
/// Most distinct values (ports, hosts, names) remembered per key; counts saturate here.
pub const MAX_DISTINCT_PER_KEY: usize = 8_192;
/// Most distinct values remembered over all keys of one check (memory bound: beyond it
/// counts saturate and `<check>.distinct_budget` is counted).
pub const MAX_DISTINCT_PER_CHECK: usize = 1_000_000;
/// Least event time between two purges of a full window table.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(1);
/// Most open (engaged) alerts; the oldest is turned past when full (`alert_evicted`).
pub const MAX_OPEN_ALERTS: usize = 100_000;
/// Most hosts scored per minute (`host_score_full` beyond).
pub const MAX_SCORED_HOSTS: usize = 100_000;
/// How long a one-shot alert stays engaged after its last hit.
pub const DEFAULT_HOLD: Duration = Duration::from_secs(300);
/// Host-score bucket.
pub const SCORE_MINUTE: Duration = Duration::from_secs(60);

/// Per-check counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CheckCounters {
    /// Events the check looked at.
    pub evaluated: u64,
    /// Hits that became or refreshed an alert.
    pub fired: u64,
    /// Hits suppressed because the source is an authorised scanner.
    pub suppressed: u64,
    /// Hits dropped by an exclusion.
    pub excluded: u64,
}

/// One host's score in one minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostScore {
    /// Start of the minute.
    pub minute: Timestamp,
    /// The host.
    pub ip: IpAddr,
    /// Points as attacker (source of alerts).
    pub as_attacker: u64,
    /// Points as victim (destination of alerts).
    pub as_victim: u64,
}

impl HostScore {
    /// Attacker + victim points.
    pub fn total(&self) -> u64 {
        self.as_attacker + self.as_victim
    }
}

/// Points an alert adds to the host score, per alert and minute.
pub fn severity_weight(s: Severity) -> u64 {
    match s {
        Severity::Low => 10,
        Severity::Medium => 30,
        Severity::High => 100,
        Severity::Critical => 200,
    }
}

/// Entity key of windowed state.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) a: Option<IpAddr>,
    pub(crate) b: Option<IpAddr>,
    pub(crate) n: u32,
    /// 64-bit digest of a text part of the key (e.g. a registered domain).
    pub(crate) h: u64,
}

impl Key {
    pub(crate) fn one(a: IpAddr) -> Key {
        Key {
            a: Some(a),
            b: None,
            n: 0,
            h: 0,
        }
    }
    pub(crate) fn two(a: IpAddr, b: IpAddr) -> Key {
        Key {
            a: Some(a),
            b: Some(b),
            n: 0,
            h: 0,
        }
    }
    pub(crate) fn with_n(mut self, n: u32) -> Key {
        self.n = n;
        self
    }
    pub(crate) fn with_s(mut self, s: &str) -> Key {
        self.h = text_digest(s);
        self
    }
    pub(crate) fn global() -> Key {
        Key {
            a: None,
            b: None,
            n: 0,
            h: 0,
        }
    }
}

/// Counts in one window for one key.
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    pub(crate) start: Timestamp,
    pub(crate) last: Timestamp,
    pub(crate) total: u64,
    pub(crate) failed: u64,
    pub(crate) sum: u64,
    distinct: FxHashSet<u64>,
    distinct_saturated: bool,
}

impl Tally {
    fn new(t: Timestamp) -> Tally {
        Tally {
            start: t,
            last: t,
            total: 0,
            failed: 0,
            sum: 0,
            distinct: FxHashSet::default(),
            distinct_saturated: false,
        }
    }
    /// Distinct values seen (saturates at [`MAX_DISTINCT_PER_KEY`]).
    pub(crate) fn distinct(&self) -> u64 {
        self.distinct.len() as u64
    }
    /// `312` or `8192+` when saturated.
    pub(crate) fn distinct_text(&self) -> String {
        if self.distinct_saturated {
            format!("{}+", self.distinct.len())
        } else {
            self.distinct.len().to_string()
        }
    }
    /// Whole seconds from the first to the last event in the window.
    pub(crate) fn secs(&self) -> i64 {
        (self.last - self.start).as_nanos() / 1_000_000_000
    }
    /// `failed` as a percentage of `total`.
    pub(crate) fn failed_pct(&self) -> u64 {
        (self.failed * 100).checked_div(self.total).unwrap_or(0)
    }
}

/// A tally borrowed together with its check's distinct-value budget.
pub(crate) struct TallyRef<'a> {
    tl: &'a mut Tally,
    used: &'a mut usize,
    stats: &'a mut Counters,
    id: CheckId,
}

impl std::ops::Deref for TallyRef<'_> {
    type Target = Tally;
    fn deref(&self) -> &Tally {
        self.tl
    }
}

impl std::ops::DerefMut for TallyRef<'_> {
    fn deref_mut(&mut self) -> &mut Tally {
        self.tl
    }
}

impl TallyRef<'_> {
    /// Remember a distinct value (within the per-key and per-check limits).
    pub(crate) fn add_distinct(&mut self, v: u64) {
        if self.tl.distinct.contains(&v) {
            return;
        }
        if self.tl.distinct.len() < MAX_DISTINCT_PER_KEY && *self.used < MAX_DISTINCT_PER_CHECK {
            self.tl.distinct.insert(v);
            *self.used += 1;
        } else {
            if *self.used >= MAX_DISTINCT_PER_CHECK {
                self.stats.incr(distinct_budget_name(self.id));
            }
            self.tl.distinct_saturated = true;
        }
    }
}

/// `<check>.state_full` counter names, built once.
fn state_full_name(id: CheckId) -> &'static str {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES
        .get_or_init(|| {
            CheckId::ALL
                .iter()
                .map(|c| format!("{}.state_full", c.as_str()))
                .collect()
        })
        .get(id.index())
        .map_or("state_full", String::as_str)
}

/// `<check>.distinct_budget` counter names, built once.
fn distinct_budget_name(id: CheckId) -> &'static str {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES
        .get_or_init(|| {
            CheckId::ALL
                .iter()
                .map(|c| format!("{}.distinct_budget", c.as_str()))
                .collect()
        })
        .get(id.index())
        .map_or("distinct_budget", String::as_str)
}

/// A u64 digest of an address for distinct counting.
pub(crate) fn ip_digest(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(a) => u64::from(u32::from(a)),
        IpAddr::V6(a) => {
            let v = u128::from(a);
            ((v >> 64) as u64) ^ (v as u64).rotate_left(17) ^ (1 << 63)
        }
    }
}

/// A u64 digest of text for distinct counting.
pub(crate) fn text_digest(s: &str) -> u64 {
    let mut h = FxHasher::default();
    s.hash(&mut h);
    h.finish()
}

/// One detection hit, before exclusions and dedup.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub(crate) check: CheckId,
    pub(crate) t: Timestamp,
    pub(crate) key: String,
    pub(crate) src: Option<IpAddr>,
    pub(crate) dst: Option<IpAddr>,
    pub(crate) port: Option<u16>,
    pub(crate) domain: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) msg: String,
    pub(crate) msg_ja: String,
    pub(crate) fields: Vec<(&'static str, Value)>,
    pub(crate) severity: Option<Severity>,
    pub(crate) hold: Duration,
}

impl Hit {
    pub(crate) fn new(
        check: CheckId,
        t: Timestamp,
        key: String,
        msg: String,
        msg_ja: String,
    ) -> Hit {
        Hit {
            check,
            t,
            key,
            src: None,
            dst: None,
            port: None,
            domain: None,
            user: None,
            msg,
            msg_ja,
            fields: Vec::new(),
            severity: None,
            hold: DEFAULT_HOLD,
        }
    }
    pub(crate) fn src(mut self, ip: IpAddr) -> Hit {
        self.src = Some(ip);
        self
    }
    pub(crate) fn dst(mut self, ip: IpAddr) -> Hit {
        self.dst = Some(ip);
        self
    }
    pub(crate) fn port(mut self, p: u16) -> Hit {
        self.port = Some(p);
        self
    }
    pub(crate) fn domain(mut self, d: &str) -> Hit {
        self.domain = Some(d.to_owned());
        self
    }
    pub(crate) fn user(mut self, u: &str) -> Hit {
        self.user = Some(u.to_owned());
        self
    }
    pub(crate) fn field(mut self, k: &'static str, v: impl Into<Value>) -> Hit {
        self.fields.push((k, v.into()));
        self
    }
    pub(crate) fn hold(mut self, d: Duration) -> Hit {
        self.hold = d;
        self
    }
    pub(crate) fn severity(mut self, s: Severity) -> Hit {
        self.severity = Some(s);
        self
    }
}

struct Open {
    alert: Alert,
    hold_until: Timestamp,
    scored_minute: i64,
}

/// The detection engine (pure, synchronous, driven by event time).
pub struct Engine {
    pub(crate) cfg: Built,
    pub(crate) intel: Intel,
    pub(crate) stats: Counters,
    per_check: Vec<CheckCounters>,
    open: FxHashMap<(CheckId, String), Open>,
    pub(crate) windows: Vec<FxHashMap<Key, Tally>>,
    distinct_used: Vec<usize>,
    windows_ns: Vec<Duration>,
    purge_after: Vec<Timestamp>,
    pub(crate) state: crate::checks::State,
    scores: BTreeMap<i64, FxHashMap<IpAddr, (u64, u64)>>,
    host_scores: Vec<HostScore>,
    watermark: Timestamp,
    last_prune: Timestamp,
    pub(crate) first_event: Option<Timestamp>,
    /// The domain of the record being checked (DNS name, SNI, HTTP host), so that domain
    /// exclusions apply to every alert the record raises.
    pub(crate) ctx_domain: Option<String>,
    events: u64,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("events", &self.events)
            .field("open_alerts", &self.open.len())
            .field("watermark", &self.watermark)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Validate the config and build an engine over the given intel set.
    pub fn new(config: DetectConfig, intel: Intel) -> Result<Engine, ConfigError> {
        let cfg = config.build()?;
        let windows_ns = CheckId::ALL.iter().map(|c| cfg.window(*c)).collect();
        Ok(Engine {
            windows_ns,
            cfg,
            intel,
            stats: Counters::new(),
            per_check: vec![CheckCounters::default(); CHECK_COUNT],
            open: FxHashMap::default(),
            windows: (0..CHECK_COUNT).map(|_| FxHashMap::default()).collect(),
            distinct_used: vec![0; CHECK_COUNT],
            purge_after: vec![Timestamp::MIN; CHECK_COUNT],
            state: crate::checks::State::default(),
            scores: BTreeMap::new(),
            host_scores: Vec::new(),
            watermark: Timestamp::MIN,
            last_prune: Timestamp::MIN,
            first_event: None,
            ctx_domain: None,
            events: 0,
        })
    }

    /// Replace the config (e.g. after `SIGHUP`); on error the running config stays.
    /// Window state is kept; alerts of checks now disabled end at the next advance.
    pub fn reconfigure(&mut self, config: DetectConfig) -> Result<(), ConfigError> {
        self.cfg = config.build()?;
        self.windows_ns = CheckId::ALL.iter().map(|c| self.cfg.window(*c)).collect();
        Ok(())
    }

    /// The intel set (for reload: `engine.intel_mut().reload()`).
    pub fn intel_mut(&mut self) -> &mut Intel {
        &mut self.intel
    }

    /// The intel set.
    pub fn intel(&self) -> &Intel {
        &self.intel
    }

    /// Feed one event; alerts that become engaged are appended to `out`.
    pub fn process(&mut self, ev: &Event, out: &mut Vec<Alert>) {
        if ev.kind != EventKind::Event {
            self.stats.incr("skipped_not_event");
            return;
        }
        self.events += 1;
        if self.first_event.is_none() {
            self.first_event = Some(ev.timestamp);
        }
        if ev.timestamp > self.watermark {
            self.watermark = ev.timestamp;
        }
        match &*ev.dataset {
            "flow" => self.flow_checks(ev, out),
            "dns" => {
                self.ctx_domain = ev.get_str("dns.question.name").map(str::to_owned);
                self.dns_checks(ev, out);
                self.ctx_domain = None;
            }
            "http" => {
                self.ctx_domain = ev.get_str("url.domain").map(str::to_owned);
                self.http_checks(ev, out);
                self.ctx_domain = None;
            }
            "tls" | "quic" => {
                self.ctx_domain = ev.get_str("tls.client.server_name").map(str::to_owned);
                self.tls_checks(ev, out);
                self.ctx_domain = None;
            }
            "dhcp" => self.dhcp_checks(ev, out),
            "ftp" | "smtp" | "imap" | "pop3" | "telnet" | "ldap" | "snmp" | "smb" => {
                self.proto_checks(ev, out)
            }
            _ => self.stats.incr("skipped_dataset"),
        }
    }

    /// Advance event time: ends alerts whose condition no longer holds (state past), closes
    /// host-score minutes before the watermark and raises dangerous-host alerts.
    pub fn advance(&mut self, watermark: Timestamp, out: &mut Vec<Alert>) {
        if watermark > self.watermark {
            self.watermark = watermark;
        }
        let wm = self.watermark;
        self.close_minutes(Some(wm), out);
        self.end_alerts(Some(wm), out);
        if wm - self.last_prune >= SCORE_MINUTE {
            self.last_prune = wm;
            self.prune(wm);
        }
    }

    /// End of input: closes every minute and turns every alert past.
    pub fn finish(&mut self, out: &mut Vec<Alert>) {
        self.close_minutes(None, out);
        self.end_alerts(None, out);
    }

    /// Drop reasons and limits hit (`<check>.state_full`, `alert_evicted`, …).
    pub fn stats(&self) -> &Counters {
        &self.stats
    }

    /// Counters of one check.
    pub fn check_counters(&self, id: CheckId) -> CheckCounters {
        self.per_check.get(id.index()).copied().unwrap_or_default()
    }

    /// Counters of every check, in catalogue order.
    pub fn all_check_counters(&self) -> Vec<(&'static str, CheckCounters)> {
        CheckId::ALL
            .iter()
            .map(|c| (c.as_str(), self.check_counters(*c)))
            .collect()
    }

    /// Events processed.
    pub fn events_processed(&self) -> u64 {
        self.events
    }

    /// Alerts currently engaged.
    pub fn open_alerts(&self) -> usize {
        self.open.len()
    }

    /// Take the host scores of the minutes closed so far (ordered by minute, then address).
    pub fn drain_host_scores(&mut self) -> Vec<HostScore> {
        std::mem::take(&mut self.host_scores)
    }

    /// Whether a check runs; counts it as evaluated when it does.
    pub(crate) fn on(&mut self, id: CheckId) -> bool {
        let enabled = self.cfg.checks.get(id.index()).is_some_and(|c| c.enabled);
        if enabled {
            if let Some(c) = self.per_check.get_mut(id.index()) {
                c.evaluated += 1;
            }
        }
        enabled
    }

    /// A threshold of a check.
    pub(crate) fn th(&self, id: CheckId, name: &str) -> f64 {
        self.cfg.th(id, name)
    }

    /// The window length of a check (`window_secs`).
    pub(crate) fn window(&self, id: CheckId) -> Duration {
        self.windows_ns
            .get(id.index())
            .copied()
            .unwrap_or(Duration::ZERO)
    }

    /// The tally of `key` in check `id`'s window, started anew when the window has passed.
    pub(crate) fn tally(&mut self, id: CheckId, key: Key, t: Timestamp) -> Option<TallyRef<'_>> {
        self.tally_if(id, key, t, true)
    }

    /// Like [`Engine::tally`], but a key that is not tracked yet is only started when
    /// `create` holds (scan checks start counting at the first failed attempt, so ordinary
    /// traffic creates no state).
    pub(crate) fn tally_if(
        &mut self,
        id: CheckId,
        key: Key,
        t: Timestamp,
        create: bool,
    ) -> Option<TallyRef<'_>> {
        let window = self.window(id);
        let i = id.index();
        let map = self.windows.get_mut(i)?;
        let used = self.distinct_used.get_mut(i)?;
        let purge_after = self.purge_after.get_mut(i)?;
        if !create && !map.contains_key(&key) {
            return None;
        }
        if map.len() >= MAX_TRACKED_KEYS && !map.contains_key(&key) {
            if t < *purge_after {
                self.stats.incr(state_full_name(id));
                return None;
            }
            // Purge at most once per PURGE_INTERVAL of event time: a full table of live keys
            // must not make every new key pay a full scan.
            *purge_after = t + PURGE_INTERVAL;
            map.retain(|_, v| {
                let keep = t - v.last <= window;
                if !keep {
                    *used = used.saturating_sub(v.distinct.len());
                }
                keep
            });
            if map.len() >= MAX_TRACKED_KEYS {
                self.stats.incr(state_full_name(id));
                return None;
            }
        }
        let tl = map.entry(key).or_insert_with(|| Tally::new(t));
        if t - tl.start > window {
            *used = used.saturating_sub(tl.distinct.len());
            *tl = Tally::new(t);
        }
        if t > tl.last {
            tl.last = t;
        }
        Some(TallyRef {
            tl,
            used,
            stats: &mut self.stats,
            id,
        })
    }

    fn prune(&mut self, wm: Timestamp) {
        for id in CheckId::ALL {
            if id.info().thresholds.iter().any(|t| t.name == "window_secs") {
                let window = self.window(id);
                let i = id.index();
                if let (Some(map), Some(used)) =
                    (self.windows.get_mut(i), self.distinct_used.get_mut(i))
                {
                    map.retain(|_, v| {
                        let keep = wm - v.last <= window;
                        if !keep {
                            *used = used.saturating_sub(v.distinct.len());
                        }
                        keep
                    });
                }
            }
        }
        crate::checks::prune_state(self, wm);
    }

    /// Apply exclusions, scanner suppression and dedup to a hit.
    pub(crate) fn fire(&mut self, hit: Hit, out: &mut Vec<Alert>) {
        let id = hit.check;
        let Some(bc) = self.cfg.checks.get(id.index()) else {
            return;
        };
        if !bc.enabled {
            return;
        }
        let idx = id.index();
        let domain = hit.domain.as_deref().or(self.ctx_domain.as_deref());
        if bc.exclude.excludes(hit.src, hit.dst, hit.port, domain) {
            if let Some(c) = self.per_check.get_mut(idx) {
                c.excluded += 1;
            }
            return;
        }
        if id.info().family == Family::Scan {
            if let Some(src) = hit.src {
                if self.cfg.authorized_scanner(src, hit.t) {
                    if let Some(c) = self.per_check.get_mut(idx) {
                        c.suppressed += 1;
                    }
                    if self.on(CheckId::AuthorizedScan) {
                        let msg = format!(
                            "authorised scanner {src}: {} (suppressed {})",
                            hit.msg,
                            id.as_str()
                        );
                        let msg_ja = format!(
                            "許可済みスキャナ {src}: {}（{} を抑止）",
                            hit.msg_ja,
                            id.as_str()
                        );
                        let mut h = Hit::new(
                            CheckId::AuthorizedScan,
                            hit.t,
                            format!("{src}:{}", id.as_str()),
                            msg,
                            msg_ja,
                        )
                        .src(src)
                        .field("mamori.suppressed.rule_id", id.as_str())
                        .hold(hit.hold);
                        h.dst = hit.dst;
                        self.record(h, out);
                    }
                    return;
                }
            }
        }
        self.record(hit, out);
    }

    fn record(&mut self, hit: Hit, out: &mut Vec<Alert>) {
        let id = hit.check;
        let Some(bc) = self.cfg.checks.get(id.index()) else {
            return;
        };
        let severity = hit.severity.unwrap_or(bc.severity);
        if let Some(c) = self.per_check.get_mut(id.index()) {
            c.fired += 1;
        }
        let minute = hit.t.floor_to(SCORE_MINUTE).unix_nanos();
        let scored = !matches!(id, CheckId::DangerousHost | CheckId::AuthorizedScan);
        let hold_until = hit.t + hit.hold;
        let map_key = (id, hit.key);
        let mut score_now = false;
        if let Some(o) = self.open.get_mut(&map_key) {
            let a = &mut o.alert;
            a.count += 1;
            if hit.t > a.last_seen {
                a.last_seen = hit.t;
            }
            if hit.t < a.first_seen {
                a.first_seen = hit.t;
            }
            if severity > a.severity {
                a.severity = severity;
            }
            a.message = hit.msg;
            a.message_ja = Some(hit.msg_ja);
            for (k, v) in hit.fields {
                a.fields.insert(k.into(), v);
            }
            if hold_until > o.hold_until {
                o.hold_until = hold_until;
            }
            if o.scored_minute != minute {
                o.scored_minute = minute;
                score_now = true;
            }
        } else {
            if self.open.len() >= MAX_OPEN_ALERTS {
                self.evict_oldest(out);
            }
            let info = id.info();
            let mut a = Alert::new(info.id, info.name, severity, hit.t, hit.msg);
            a.rule_name_ja = info.name_ja.into();
            a.ruleset = if info.family == Family::Intel {
                Ruleset::Intel
            } else {
                Ruleset::MamoriBuiltin
            };
            a.techniques = info.techniques.iter().map(|t| (*t).into()).collect();
            a.controls = info.controls.iter().map(|t| (*t).into()).collect();
            a.message_ja = Some(hit.msg_ja);
            a.source_ip = hit.src;
            a.destination_ip = hit.dst;
            a.destination_port = hit.port;
            a.user_name = hit.user;
            for (k, v) in hit.fields {
                a.fields.insert(k.into(), v);
            }
            a.fields
                .insert("mamori.alert.key".into(), Value::Str(map_key.1.clone()));
            if let Some(d) = hit.domain {
                a.fields
                    .entry("mamori.alert.domain".into())
                    .or_insert(Value::Str(d));
            }
            out.push(a.clone());
            self.open.insert(
                map_key.clone(),
                Open {
                    alert: a,
                    hold_until,
                    scored_minute: minute,
                },
            );
            score_now = true;
        }
        if scored && score_now {
            let w = severity_weight(severity);
            let full = self
                .scores
                .get(&minute)
                .is_some_and(|m| m.len() >= MAX_SCORED_HOSTS);
            let bucket = self.scores.entry(minute).or_default();
            for (ip, attacker) in [(hit.src, true), (hit.dst, false)] {
                let Some(ip) = ip else { continue };
                if full && !bucket.contains_key(&ip) {
                    self.stats.incr("host_score_full");
                    continue;
                }
                let e = bucket.entry(ip).or_insert((0, 0));
                if attacker {
                    e.0 += w;
                } else {
                    e.1 += w;
                }
            }
        }
    }

    fn evict_oldest(&mut self, out: &mut Vec<Alert>) {
        let oldest = self
            .open
            .iter()
            .min_by(|a, b| {
                (a.1.alert.last_seen, a.0 .0, &a.0 .1).cmp(&(b.1.alert.last_seen, b.0 .0, &b.0 .1))
            })
            .map(|(k, _)| k.clone());
        if let Some(k) = oldest {
            if let Some(mut o) = self.open.remove(&k) {
                o.alert.state = AlertState::Past;
                out.push(o.alert);
                self.stats.incr("alert_evicted");
            }
        }
    }

    fn end_alerts(&mut self, wm: Option<Timestamp>, out: &mut Vec<Alert>) {
        let mut ended: Vec<(Timestamp, CheckId, String)> = self
            .open
            .iter()
            .filter(|(k, o)| {
                let disabled = !self.cfg.checks.get(k.0.index()).is_some_and(|c| c.enabled);
                wm.is_none_or(|w| o.hold_until < w) || disabled
            })
            .map(|(k, o)| (o.alert.last_seen, k.0, k.1.clone()))
            .collect();
        ended.sort();
        for (_, id, key) in ended {
            if let Some(mut o) = self.open.remove(&(id, key)) {
                o.alert.state = AlertState::Past;
                out.push(o.alert);
            }
        }
    }

    fn close_minutes(&mut self, wm: Option<Timestamp>, out: &mut Vec<Alert>) {
        while let Some((&minute, _)) = self.scores.first_key_value() {
            let start = Timestamp::from_unix_nanos(minute);
            if let Some(w) = wm {
                if start + SCORE_MINUTE > w {
                    break;
                }
            }
            let Some(bucket) = self.scores.remove(&minute) else {
                break;
            };
            let mut hosts: Vec<(IpAddr, (u64, u64))> = bucket.into_iter().collect();
            hosts.sort_by_key(|h| h.0);
            let threshold = self.cfg.host_score_threshold;
            for (ip, (att, vic)) in hosts {
                let hs = HostScore {
                    minute: start,
                    ip,
                    as_attacker: att,
                    as_victim: vic,
                };
                let total = hs.total();
                self.host_scores.push(hs);
                if total >= threshold && self.on(CheckId::DangerousHost) {
                    let t = start + SCORE_MINUTE - Duration::from_nanos(1);
                    let hit = Hit::new(
                        CheckId::DangerousHost,
                        t,
                        ip.to_string(),
                        format!(
                            "{ip} scored {total} points in the minute from {start} ({att} as attacker, {vic} as victim; threshold {threshold})"
                        ),
                        format!(
                            "{ip} の1分間のスコアが {total} 点（攻撃側 {att}・被害側 {vic}、しきい値 {threshold}）に達した（{start} から）"
                        ),
                    )
                    .field("mamori.host.score", total)
                    .hold(SCORE_MINUTE + SCORE_MINUTE);
                    let hit = if att >= vic { hit.src(ip) } else { hit.dst(ip) };
                    self.fire(hit, out);
                }
            }
        }
    }

    /// Event-time watermark (largest timestamp seen or advanced to).
    pub fn watermark(&self) -> Timestamp {
        self.watermark
    }
}

/// Read a field as text.
pub(crate) fn s<'a>(ev: &'a Event, k: &str) -> Option<&'a str> {
    ev.get_str(k)
}
/// Read a field as bool (`true`, `"true"`, 1).
pub(crate) fn flag(ev: &Event, k: &str) -> bool {
    match ev.fields.get(k) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Int(i)) => *i != 0,
        Some(Value::Str(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}
/// Read a time field.
pub(crate) fn time(ev: &Event, k: &str) -> Option<Timestamp> {
    match ev.fields.get(k)? {
        Value::Time(t) => Some(*t),
        Value::Str(s) => Timestamp::parse_rfc3339(s).ok(),
        Value::Int(i) => Some(Timestamp::from_unix_nanos(*i)),
        _ => None,
    }
}
