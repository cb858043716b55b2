//! Rule files: YAML documents → compiled [`Rule`]s, with a [`LintReport`] naming file, line and
//! reason for everything that did not load.

use std::collections::BTreeSet;
use std::path::Path;

use mamori_core::{Counters, Duration, Severity};
use serde::Deserialize;
use yaml_serde::Value as Y;

use super::config::RulesConfig;
use super::matcher::{Cond, CondInfo, Ctx};
use super::template::Template;

/// Largest rule file read.
pub const MAX_RULE_FILE_BYTES: usize = 4 << 20;
/// Most YAML documents (rules) read from one file.
pub const MAX_RULES_PER_FILE: usize = 1_000;
/// Most files read from one folder.
pub const MAX_RULE_FILES: usize = 10_000;
/// Most sub-folders visited under one folder (symbolic links to folders are not followed).
pub const MAX_RULE_DIRS: usize = 10_000;
/// Highest `threshold.count`.
pub const MAX_COUNT: u64 = 10_000;
/// Longest window (`within`, `expected_every`).
pub const MAX_WINDOW: Duration = Duration::from_secs(7 * 86_400);
/// Most `same` fields.
pub const MAX_SAME_FIELDS: usize = 8;

/// Threshold part of a rule.
#[derive(Debug, Clone)]
pub(crate) struct ThresholdSpec {
    pub count: u64,
    pub within: Duration,
    pub same: Vec<String>,
    pub distinct: Option<String>,
    pub rearm: Duration,
    pub suppress_per_group: bool,
}

/// `after`: events that must precede the matching one.
#[derive(Debug, Clone)]
pub(crate) struct AfterSpec {
    pub cond: Cond,
    pub count: u64,
    pub within: Duration,
}

/// Absence part of a rule.
#[derive(Debug, Clone)]
pub(crate) struct AbsenceSpec {
    pub group_by: String,
    pub expected_every: Duration,
}

/// Rate part of a rule: share of matching events among `of` events.
#[derive(Debug, Clone)]
pub(crate) struct RateSpec {
    pub of: Cond,
    pub percent_above: f64,
    pub min_events: u64,
}

/// What kind of rule.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Threshold,
    After(AfterSpec),
    Absence(AbsenceSpec),
    Rate(RateSpec),
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable id.
    pub id: String,
    /// English name.
    pub name: String,
    /// Japanese name.
    pub name_ja: String,
    /// English description.
    pub description: String,
    /// Japanese description.
    pub description_ja: String,
    /// Severity.
    pub severity: Severity,
    /// ATT&CK technique ids.
    pub techniques: Vec<String>,
    /// Compliance control ids.
    pub controls: Vec<String>,
    /// Datasets (log sources) the rule reads; empty = any.
    pub datasets: Vec<String>,
    /// File it came from.
    pub file: String,
    /// 1-based line of its document.
    pub line: usize,
    pub(crate) cond: Cond,
    pub(crate) exclude: Option<Cond>,
    pub(crate) threshold: ThresholdSpec,
    pub(crate) kind: Kind,
    pub(crate) message: Template,
    pub(crate) message_ja: Template,
    /// Whether a condition names `event.kind`; other rules skip alert events.
    pub(crate) sees_alerts: bool,
}

/// How one rule document fared.
#[derive(Debug, Clone, PartialEq)]
pub enum LintOutcome {
    /// Compiled and active.
    Loaded,
    /// Compiled but switched off (`enabled: false`, `[rules] disabled`, or a required config
    /// list is empty); the reason says which.
    Inactive(String),
    /// Rejected.
    Error(String),
}

/// One rule document in the lint report.
#[derive(Debug, Clone, PartialEq)]
pub struct LintEntry {
    /// File name.
    pub file: String,
    /// 1-based line (of the YAML error when there is one, else of the document).
    pub line: usize,
    /// Rule id, when it could be read.
    pub rule_id: Option<String>,
    /// Outcome.
    pub outcome: LintOutcome,
    /// Warnings (field names no mamori parser produces …).
    pub warnings: Vec<String>,
    /// Datasets the rule needs (empty = any).
    pub datasets: Vec<String>,
}

/// Result of loading rule files (`mamori rules lint`).
#[derive(Debug, Clone, Default)]
pub struct LintReport {
    /// One entry per rule document.
    pub entries: Vec<LintEntry>,
    /// Files and documents skipped as a whole (`io_error`, `file_too_large`,
    /// `too_many_documents`, `too_many_files`, `too_many_dirs`, `not_utf8`).
    pub counters: Counters,
}

impl LintReport {
    /// Rules loaded and active.
    pub fn loaded(&self) -> usize {
        self.count(|o| matches!(o, LintOutcome::Loaded))
    }
    /// Rules rejected.
    pub fn errors(&self) -> usize {
        self.count(|o| matches!(o, LintOutcome::Error(_)))
    }
    /// Rules switched off.
    pub fn inactive(&self) -> usize {
        self.count(|o| matches!(o, LintOutcome::Inactive(_)))
    }
    /// Total warnings.
    pub fn warnings(&self) -> usize {
        self.entries.iter().map(|e| e.warnings.len()).sum()
    }
    fn count(&self, f: impl Fn(&LintOutcome) -> bool) -> usize {
        self.entries.iter().filter(|e| f(&e.outcome)).count()
    }
    /// Every dataset some loaded rule needs.
    pub fn datasets(&self) -> BTreeSet<String> {
        self.entries
            .iter()
            .filter(|e| e.outcome == LintOutcome::Loaded)
            .flat_map(|e| e.datasets.iter().cloned())
            .collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThreshold {
    count: u64,
    #[serde(default)]
    within: Option<Y>,
    #[serde(default)]
    same: Vec<String>,
    #[serde(default)]
    distinct: Option<String>,
    #[serde(default)]
    rearm: Option<Y>,
    #[serde(default)]
    suppress_per_group: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAfter {
    #[serde(rename = "match")]
    cond: Y,
    #[serde(default = "one")]
    count: u64,
    within: Y,
}

fn one() -> u64 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAbsence {
    group_by: String,
    expected_every: Y,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRate {
    of: Y,
    percent_above: f64,
    #[serde(default)]
    min_events: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    name: String,
    name_ja: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    description_ja: String,
    severity: String,
    #[serde(default)]
    techniques: Vec<String>,
    #[serde(default)]
    controls: Vec<String>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    requires: Vec<String>,
    #[serde(rename = "match")]
    cond: Y,
    #[serde(default)]
    exclude: Option<Y>,
    #[serde(default)]
    threshold: Option<RawThreshold>,
    #[serde(default)]
    after: Option<RawAfter>,
    #[serde(default)]
    absence: Option<RawAbsence>,
    #[serde(default)]
    rate: Option<RawRate>,
    message: String,
    message_ja: String,
}

fn yes() -> bool {
    true
}

fn duration(y: &Y, what: &str) -> Result<Duration, String> {
    let d = match y {
        Y::Number(n) => n
            .as_i64()
            .and_then(|s| s.checked_mul(1_000_000_000))
            .map(Duration::from_nanos),
        Y::String(s) => Duration::parse_human(s),
        _ => None,
    }
    .ok_or_else(|| format!("{what}: expected a duration like 30s, 5m, 1h, got {y:?}"))?;
    if d.as_nanos() < 0 || d > MAX_WINDOW {
        return Err(format!("{what}: {d} is outside 0 … 7 days"));
    }
    Ok(d)
}

fn check_field_name(f: &str, what: &str) -> Result<(), String> {
    if f.is_empty() || f.len() > 256 || f.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{what}: invalid field name {f:?}"));
    }
    Ok(())
}

/// Compile one parsed document.
fn compile(
    raw: RawRule,
    file: &str,
    line: usize,
    cfg: &RulesConfig,
) -> Result<(Rule, Option<String>, CondInfo), String> {
    let severity = Severity::parse(&raw.severity)
        .ok_or_else(|| format!("severity: unknown value {:?}", raw.severity))?;
    if raw.id.trim().is_empty() || raw.id.len() > 200 {
        return Err(format!("id: invalid rule id {:?}", raw.id));
    }
    let mut ctx = Ctx {
        config: cfg,
        info: CondInfo::default(),
    };
    let cond = ctx
        .compile(&raw.cond, 0)
        .map_err(|e| format!("match: {e}"))?;
    let datasets = std::mem::take(&mut ctx.info.datasets);
    let exclude = match &raw.exclude {
        Some(y) => Some(ctx.compile(y, 0).map_err(|e| format!("exclude: {e}"))?),
        None => None,
    };
    let kinds = [
        raw.after.is_some(),
        raw.absence.is_some(),
        raw.rate.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if kinds > 1 {
        return Err("after, absence and rate exclude each other".into());
    }
    let mut threshold = ThresholdSpec {
        count: 1,
        within: Duration::ZERO,
        same: Vec::new(),
        distinct: None,
        rearm: Duration::ZERO,
        suppress_per_group: true,
    };
    if let Some(t) = raw.threshold {
        if t.count == 0 || t.count > MAX_COUNT {
            return Err(format!(
                "threshold.count: {} is outside 1 … {MAX_COUNT}",
                t.count
            ));
        }
        if t.same.len() > MAX_SAME_FIELDS {
            return Err(format!(
                "threshold.same: more than {MAX_SAME_FIELDS} fields"
            ));
        }
        for f in t.same.iter().chain(t.distinct.iter()) {
            check_field_name(f, "threshold")?;
            ctx.info.fields.push(f.clone());
        }
        let within = match &t.within {
            Some(y) => duration(y, "threshold.within")?,
            None if t.count > 1 => return Err("threshold.within: required when count > 1".into()),
            None => Duration::ZERO,
        };
        let rearm = match &t.rearm {
            Some(y) => duration(y, "threshold.rearm")?,
            None => within,
        };
        threshold = ThresholdSpec {
            count: t.count,
            within,
            same: t.same,
            distinct: t.distinct,
            rearm,
            suppress_per_group: t.suppress_per_group.unwrap_or(true),
        };
    }
    let kind = if let Some(a) = raw.after {
        if a.count == 0 || a.count > MAX_COUNT {
            return Err(format!(
                "after.count: {} is outside 1 … {MAX_COUNT}",
                a.count
            ));
        }
        let c = ctx
            .compile(&a.cond, 0)
            .map_err(|e| format!("after.match: {e}"))?;
        Kind::After(AfterSpec {
            cond: c,
            count: a.count,
            within: duration(&a.within, "after.within")?,
        })
    } else if let Some(a) = raw.absence {
        check_field_name(&a.group_by, "absence.group_by")?;
        ctx.info.fields.push(a.group_by.clone());
        let every = duration(&a.expected_every, "absence.expected_every")?;
        if every == Duration::ZERO {
            return Err("absence.expected_every: must be above zero".into());
        }
        Kind::Absence(AbsenceSpec {
            group_by: a.group_by,
            expected_every: every,
        })
    } else if let Some(r) = raw.rate {
        if !(0.0..=100.0).contains(&r.percent_above) {
            return Err(format!(
                "rate.percent_above: {} is outside 0 … 100",
                r.percent_above
            ));
        }
        if threshold.within == Duration::ZERO {
            return Err("rate: needs threshold.within (the window the rate is taken over)".into());
        }
        let of = ctx.compile(&r.of, 0).map_err(|e| format!("rate.of: {e}"))?;
        Kind::Rate(RateSpec {
            of,
            percent_above: r.percent_above,
            min_events: r.min_events,
        })
    } else {
        Kind::Threshold
    };
    let message = Template::parse(&raw.message).map_err(|e| format!("message: {e}"))?;
    let message_ja = Template::parse(&raw.message_ja).map_err(|e| format!("message_ja: {e}"))?;
    for t in [&message, &message_ja] {
        ctx.info.fields.extend(t.fields().map(str::to_owned));
    }
    let mut inactive = None;
    if !raw.enabled {
        inactive = Some("enabled: false".to_owned());
    } else if cfg.disabled.iter().any(|d| d == &raw.id) {
        inactive = Some("listed in [rules] disabled".to_owned());
    } else {
        for r in &raw.requires {
            match cfg.list(r) {
                None => return Err(format!("requires: unknown config list {r:?}")),
                Some([]) => {
                    inactive = Some(format!("[rules] {r} is empty"));
                    break;
                }
                Some(_) => {}
            }
        }
    }
    let mut datasets = datasets;
    datasets.sort();
    datasets.dedup();
    let info = ctx.info;
    let sees_alerts = info.fields.iter().any(|f| f == "event.kind");
    Ok((
        Rule {
            id: raw.id,
            name: raw.name,
            name_ja: raw.name_ja,
            description: raw.description,
            description_ja: raw.description_ja,
            severity,
            techniques: raw.techniques,
            controls: raw.controls,
            datasets,
            file: file.to_owned(),
            line,
            cond,
            exclude,
            threshold,
            kind,
            message,
            message_ja,
            sees_alerts,
        },
        inactive,
        info,
    ))
}

/// 1-based start line of each YAML document in `text`.
fn doc_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut in_doc = false;
    for (i, l) in text.lines().enumerate() {
        let t = l.trim_end();
        if t == "---" || t.starts_with("--- ") {
            in_doc = false;
            continue;
        }
        if !in_doc && !t.is_empty() && !t.trim_start().starts_with('#') {
            starts.push(i + 1);
            in_doc = true;
        }
    }
    starts
}

/// Load every document of one YAML text into `rules`, recording each in `report`.
pub(crate) fn load_text(
    text: &str,
    origin: &str,
    cfg: &RulesConfig,
    rules: &mut Vec<Rule>,
    report: &mut LintReport,
) {
    let starts = doc_starts(text);
    let mut ids: BTreeSet<String> = rules.iter().map(|r| r.id.clone()).collect();
    for (i, de) in yaml_serde::Deserializer::from_str(text).enumerate() {
        if i >= MAX_RULES_PER_FILE {
            report
                .counters
                .incr_with_sample("too_many_documents", || origin.to_owned());
            break;
        }
        let start = starts.get(i).copied().unwrap_or(1);
        let doc: Y = match Y::deserialize(de) {
            Ok(Y::Null) => continue,
            Ok(d) => d,
            Err(e) => {
                report.entries.push(LintEntry {
                    file: origin.to_owned(),
                    line: e.location().map_or(start, |l| l.line()),
                    rule_id: None,
                    outcome: LintOutcome::Error(format!("yaml: {e}")),
                    warnings: Vec::new(),
                    datasets: Vec::new(),
                });
                break;
            }
        };
        let rule_id = doc.get("id").and_then(Y::as_str).map(str::to_owned);
        let mut entry = LintEntry {
            file: origin.to_owned(),
            line: start,
            rule_id: rule_id.clone(),
            outcome: LintOutcome::Loaded,
            warnings: Vec::new(),
            datasets: Vec::new(),
        };
        let raw = RawRule::deserialize(doc).map_err(|e| e.to_string());
        match raw.and_then(|r| compile(r, origin, start, cfg)) {
            Err(reason) => entry.outcome = LintOutcome::Error(reason),
            Ok((rule, inactive, info)) => {
                if !ids.insert(rule.id.clone()) {
                    entry.outcome = LintOutcome::Error(format!(
                        "id: {:?} is defined twice (the first one is kept)",
                        rule.id
                    ));
                } else {
                    let mut unknown: Vec<String> = info
                        .fields
                        .iter()
                        .filter(|f| !super::fields::is_known(f))
                        .cloned()
                        .collect();
                    unknown.sort();
                    unknown.dedup();
                    entry.warnings = unknown
                        .into_iter()
                        .map(|f| format!("field {f:?} is produced by no mamori parser"))
                        .collect();
                    entry.datasets = rule.datasets.clone();
                    match inactive {
                        Some(why) => entry.outcome = LintOutcome::Inactive(why),
                        None => rules.push(rule),
                    }
                }
            }
        }
        report.entries.push(entry);
    }
}

/// Load every `*.yml`/`*.yaml` file under `dir` (sorted, recursive).
pub(crate) fn load_dir(
    dir: &Path,
    cfg: &RulesConfig,
    rules: &mut Vec<Rule>,
    report: &mut LintReport,
) {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    if dir.is_file() {
        files.push(dir.to_path_buf());
        stack.clear();
    }
    let mut dirs = 0usize;
    while let Some(d) = stack.pop() {
        dirs += 1;
        if dirs > MAX_RULE_DIRS {
            report
                .counters
                .incr_with_sample("too_many_dirs", || d.display().to_string());
            break;
        }
        let rd = match std::fs::read_dir(&d) {
            Ok(rd) => rd,
            Err(e) => {
                report
                    .counters
                    .incr_with_sample("io_error", || format!("{}: {e}", d.display()));
                continue;
            }
        };
        for ent in rd.flatten() {
            let p = ent.path();
            let Ok(ft) = ent.file_type() else {
                continue;
            };
            if ft.is_dir() {
                stack.push(p);
            } else if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yml") | Some("yaml")
            ) {
                if files.len() >= MAX_RULE_FILES {
                    report
                        .counters
                        .incr_with_sample("too_many_files", || p.display().to_string());
                    continue;
                }
                files.push(p);
            }
        }
    }
    files.sort();
    for p in files {
        let name = p.display().to_string();
        match std::fs::metadata(&p) {
            Ok(m) if m.len() > MAX_RULE_FILE_BYTES as u64 => {
                report
                    .counters
                    .incr_with_sample("file_too_large", || name.clone());
                continue;
            }
            Err(e) => {
                report
                    .counters
                    .incr_with_sample("io_error", || format!("{name}: {e}"));
                continue;
            }
            Ok(_) => {}
        }
        match std::fs::read(&p) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => load_text(&text, &name, cfg, rules, report),
                Err(_) => report
                    .counters
                    .incr_with_sample("not_utf8", || name.clone()),
            },
            Err(e) => report
                .counters
                .incr_with_sample("io_error", || format!("{name}: {e}")),
        }
    }
}
