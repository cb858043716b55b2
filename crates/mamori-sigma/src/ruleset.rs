//! Loading rule files into a [`RuleSet`], the per-file [`LoadReport`], the candidate index
//! by dataset / Windows channel / EventID, and alerts from matches.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use mamori_core::{Alert, Counters, Duration, Event, Ruleset, Value};
use yaml_serde::Value as Y;

use crate::correlation::{parse_def, Correlation, CorrelationDef, CorrelationHit};
use crate::detection::{Detection, Placeholders};
use crate::document::Document;
use crate::error::RuleError;
use crate::mapping::{dataset_pattern_matches, Mappings};
use crate::prefilter::Group;
use crate::rule::{attack_tags, severity_of, LogSource, Rule};

/// Largest rule file read.
pub const MAX_RULE_FILE_BYTES: u64 = 1 << 20;
/// Most rule files read from one directory tree.
pub const MAX_RULE_FILES: usize = 100_000;
/// Most YAML documents read from one file.
pub const MAX_DOCS_PER_FILE: usize = 1_000;
/// Deepest directory nesting walked.
pub const MAX_DIR_DEPTH: usize = 32;

/// Compliance controls a Sigma alert evidences (log review and monitoring).
pub const SIGMA_CONTROLS: &[&str] = &["JP-DISCS-9", "NIST-800-171-3.3.5"];

/// Options for loading.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Values for `expand` placeholders (`%name%`).
    pub placeholders: Placeholders,
}

/// What happened to one YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A detection rule loaded.
    Loaded,
    /// A correlation rule loaded.
    LoadedCorrelation,
    /// A filter loaded (and applied to the rules it names).
    LoadedFilter,
    /// The rule's log source is not one mamori collects (`product/category/service`).
    UnsupportedLogsource(String),
    /// The document could not be loaded.
    Error(RuleError),
}

/// One entry of the load report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// File path or origin label.
    pub file: String,
    /// Document number within the file (0-based).
    pub doc: usize,
    /// 1-based line of the problem (or of the document start), when known.
    pub line: Option<usize>,
    /// Rule id, when known.
    pub rule_id: Option<String>,
    /// Rule title, when known.
    pub title: Option<String>,
    /// `logsource.product` (`-` when absent).
    pub product: String,
    /// Result.
    pub outcome: Outcome,
}

/// Counts for one product.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProductCounts {
    /// Rules loaded.
    pub loaded: usize,
    /// Rules whose log source is not collected.
    pub unsupported: usize,
    /// Rules that failed to load.
    pub errors: usize,
}

/// Everything that happened while loading.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Per document.
    pub entries: Vec<FileReport>,
    /// Per `logsource.product`.
    pub per_product: BTreeMap<String, ProductCounts>,
    /// Problems by stable reason (`yaml_syntax`, `unknown_modifier`, `unsupported_logsource`,
    /// `file_too_large`, `duplicate_id`, …) with the first sample.
    pub counters: Counters,
}

impl LoadReport {
    /// Detection rules loaded.
    pub fn loaded(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Loaded))
    }
    /// Documents that failed.
    pub fn errors(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Error(_)))
    }
    /// Rules skipped for their log source.
    pub fn unsupported(&self) -> usize {
        self.count(|o| matches!(o, Outcome::UnsupportedLogsource(_)))
    }
    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.entries.iter().filter(|e| f(&e.outcome)).count()
    }
    fn push(&mut self, e: FileReport) {
        let p = self.per_product.entry(e.product.clone()).or_default();
        match &e.outcome {
            Outcome::Loaded => p.loaded += 1,
            Outcome::UnsupportedLogsource(ls) => {
                p.unsupported += 1;
                let sample = format!("{}: {ls}", e.file);
                self.counters
                    .incr_with_sample("unsupported_logsource", || sample);
            }
            Outcome::Error(err) => {
                p.errors += 1;
                let sample = format!("{}:{}: {err}", e.file, e.line.unwrap_or(0));
                self.counters.incr_with_sample(err.reason(), || sample);
            }
            Outcome::LoadedCorrelation | Outcome::LoadedFilter => {}
        }
        self.entries.push(e);
    }
}

#[derive(Debug, Clone, Default)]
struct ChannelBucket {
    any: Vec<u32>,
    by_id: HashMap<i64, Vec<u32>>,
}

#[derive(Debug, Clone, Default)]
struct Index {
    channels: HashMap<String, ChannelBucket>,
    datasets: Vec<(String, ChannelBucket)>,
}

#[derive(Debug, Clone, Default)]
struct BucketIdx {
    any: Group,
    by_id: HashMap<i64, Group>,
}

impl BucketIdx {
    fn from(b: &ChannelBucket, rules: &[Rule]) -> BucketIdx {
        BucketIdx {
            any: Group::build(&b.any, rules),
            by_id: b
                .by_id
                .iter()
                .map(|(id, v)| (*id, Group::build(v, rules)))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct FinalIndex {
    channels: HashMap<String, BucketIdx>,
    datasets: Vec<(String, BucketIdx)>,
}

impl FinalIndex {
    fn from(idx: &Index, rules: &[Rule]) -> FinalIndex {
        FinalIndex {
            channels: idx
                .channels
                .iter()
                .map(|(k, b)| (k.clone(), BucketIdx::from(b, rules)))
                .collect(),
            datasets: idx
                .datasets
                .iter()
                .map(|(k, b)| (k.clone(), BucketIdx::from(b, rules)))
                .collect(),
        }
    }
}

fn push_unique(v: &mut Vec<u32>, i: u32) {
    if v.last() != Some(&i) {
        v.push(i);
    }
}

/// A filter document waiting for the rules it applies to.
#[derive(Debug, Clone)]
struct PendingFilter {
    file: String,
    doc: usize,
    rules: Vec<String>,
    logsource: LogSource,
    filter: Y,
}

/// Collects rule files, then builds a [`RuleSet`].
#[derive(Debug, Default)]
pub struct RuleSetBuilder {
    options: LoadOptions,
    mappings: Mappings,
    rules: Vec<Rule>,
    corr_defs: Vec<(String, usize, CorrelationDef)>,
    filters: Vec<PendingFilter>,
    report: LoadReport,
    ids: HashMap<String, usize>,
}

fn yaml_line(err: &yaml_serde::Error) -> Option<usize> {
    err.location().map(|l| l.line())
}

/// 1-based start line of each YAML document in `text`.
fn doc_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut seen_content = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_end();
        if t == "---" || t.starts_with("--- ") {
            starts.push(i + 2);
            seen_content = true;
        } else if !seen_content && !t.trim().is_empty() && !t.trim_start().starts_with('#') {
            starts.push(i + 1);
            seen_content = true;
        }
    }
    starts
}

fn find_line(text: &str, from_line: usize, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    text.lines()
        .enumerate()
        .skip(from_line.saturating_sub(1))
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
}

fn text_list(y: Option<&Y>) -> Vec<String> {
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

impl RuleSetBuilder {
    /// A builder with options.
    pub fn new(options: LoadOptions) -> RuleSetBuilder {
        RuleSetBuilder {
            options,
            ..RuleSetBuilder::default()
        }
    }

    /// Add every `.yml`/`.yaml` file under `dir` (recursively, sorted, symlinks not followed).
    pub fn add_dir(&mut self, dir: &Path) -> &mut Self {
        let mut files = Vec::new();
        self.walk(dir, 0, &mut files);
        files.sort();
        for f in files {
            self.add_file(&f);
        }
        self
    }

    fn walk(&mut self, dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
        if depth > MAX_DIR_DEPTH {
            self.report
                .counters
                .incr_with_sample("dir_too_deep", || dir.display().to_string());
            return;
        }
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) => {
                self.report
                    .counters
                    .incr_with_sample("io_error", || format!("{}: {e}", dir.display()));
                return;
            }
        };
        for ent in rd.flatten() {
            let p = ent.path();
            let Ok(ft) = ent.file_type() else { continue };
            if ft.is_dir() {
                self.walk(&p, depth + 1, out);
            } else if ft.is_file()
                && p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml")
                })
            {
                if out.len() >= MAX_RULE_FILES {
                    self.report.counters.incr("too_many_files");
                    return;
                }
                out.push(p);
            }
        }
    }

    /// Add one file.
    pub fn add_file(&mut self, path: &Path) -> &mut Self {
        let name = path.display().to_string();
        match std::fs::metadata(path) {
            Ok(m) if m.len() > MAX_RULE_FILE_BYTES => {
                self.report
                    .counters
                    .incr_with_sample("file_too_large", || name.clone());
                return self;
            }
            Err(e) => {
                self.report
                    .counters
                    .incr_with_sample("io_error", || format!("{name}: {e}"));
                return self;
            }
            _ => {}
        }
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => self.add_str(&text, &name),
                Err(_) => {
                    self.report
                        .counters
                        .incr_with_sample("not_utf8", || name.clone());
                    self
                }
            },
            Err(e) => {
                self.report
                    .counters
                    .incr_with_sample("io_error", || format!("{name}: {e}"));
                self
            }
        }
    }

    /// Add the rules of one YAML text (one or more documents).
    pub fn add_str(&mut self, text: &str, origin: &str) -> &mut Self {
        let starts = doc_starts(text);
        for (i, de) in yaml_serde::Deserializer::from_str(text).enumerate() {
            let start = starts.get(i).copied();
            if i >= MAX_DOCS_PER_FILE {
                self.report
                    .counters
                    .incr_with_sample("too_many_documents", || origin.to_owned());
                break;
            }
            let parsed: Result<Y, _> = serde::Deserialize::deserialize(de);
            match parsed {
                Ok(Y::Null) => {}
                Ok(doc) => self.add_doc(&doc, text, origin, i, start),
                Err(e) => {
                    let line = yaml_line(&e).or(start);
                    self.report.push(FileReport {
                        file: origin.to_owned(),
                        doc: i,
                        line,
                        rule_id: None,
                        title: None,
                        product: "-".into(),
                        outcome: Outcome::Error(RuleError::Yaml {
                            reason: e.to_string(),
                        }),
                    });
                    break;
                }
            }
        }
        self
    }

    fn add_doc(&mut self, doc: &Y, text: &str, origin: &str, i: usize, start: Option<usize>) {
        let id = doc.get("id").and_then(Y::as_str).map(str::to_owned);
        let title = doc.get("title").and_then(Y::as_str).map(str::to_owned);
        let logsource = LogSource::from_yaml(doc.get("logsource"));
        let product = logsource.product.clone().unwrap_or_else(|| "-".into());
        let mut entry = FileReport {
            file: origin.to_owned(),
            doc: i,
            line: start,
            rule_id: id.clone(),
            title,
            product,
            outcome: Outcome::Loaded,
        };
        let fail = |entry: &mut FileReport, e: RuleError| {
            if let Some(l) = e
                .locator()
                .and_then(|n| find_line(text, start.unwrap_or(1), &n))
            {
                entry.line = Some(l);
            }
            entry.outcome = Outcome::Error(e);
        };
        if !doc.is_mapping() {
            fail(
                &mut entry,
                RuleError::Missing {
                    key: "title".into(),
                },
            );
            self.report.push(entry);
            return;
        }
        if doc.get("correlation").is_some() {
            match parse_def(doc, origin) {
                Ok(def) => {
                    self.corr_defs.push((origin.to_owned(), i, def));
                    entry.outcome = Outcome::LoadedCorrelation;
                }
                Err(e) => fail(&mut entry, e),
            }
            self.report.push(entry);
            return;
        }
        if let Some(f) = doc.get("filter") {
            self.filters.push(PendingFilter {
                file: origin.to_owned(),
                doc: i,
                rules: text_list(f.get("rules")),
                logsource,
                filter: f.clone(),
            });
            entry.outcome = Outcome::LoadedFilter;
            self.report.push(entry);
            return;
        }
        if doc.get("action").is_some() {
            fail(
                &mut entry,
                RuleError::Unsupported {
                    what: "'action' (Sigma 1.0 rule collections)".into(),
                },
            );
            self.report.push(entry);
            return;
        }
        match self.compile_rule(doc, origin, logsource) {
            Ok(Some(rule)) => {
                if let Some(prev) = self.ids.get(&rule.id) {
                    let prev = *prev;
                    self.report.counters.incr_with_sample("duplicate_id", || {
                        format!("{origin}: {} (also rule #{prev})", rule.id)
                    });
                } else {
                    self.ids.insert(rule.id.clone(), self.rules.len());
                }
                if let Some(n) = &rule.name {
                    self.ids.entry(n.clone()).or_insert(self.rules.len());
                }
                self.rules.push(rule);
            }
            Ok(None) => {
                entry.outcome = Outcome::UnsupportedLogsource(
                    LogSource::from_yaml(doc.get("logsource")).display(),
                )
            }
            Err(e) => fail(&mut entry, e),
        }
        self.report.push(entry);
    }

    fn compile_rule(
        &self,
        doc: &Y,
        origin: &str,
        logsource: LogSource,
    ) -> Result<Option<Rule>, RuleError> {
        let title = doc
            .get("title")
            .and_then(Y::as_str)
            .ok_or_else(|| RuleError::Missing {
                key: "title".into(),
            })?
            .to_owned();
        let det = doc.get("detection").ok_or_else(|| RuleError::Missing {
            key: "detection".into(),
        })?;
        if doc.get("logsource").is_none() {
            return Err(RuleError::Missing {
                key: "logsource".into(),
            });
        }
        let Ok(scope) = self.mappings.resolve(
            logsource.product.as_deref(),
            logsource.category.as_deref(),
            logsource.service.as_deref(),
        ) else {
            return Ok(None);
        };
        let detection = Detection::compile(det, &scope, &self.options.placeholders)?;
        let text = |k: &str| doc.get(k).and_then(Y::as_str).map(str::to_owned);
        let level = text("level").unwrap_or_else(|| "medium".into());
        let tags = text_list(doc.get("tags"));
        let (techniques, tactics) = attack_tags(&tags);
        Ok(Some(Rule {
            index: 0,
            id: text("id").unwrap_or_else(|| origin.to_owned()),
            name: text("name"),
            title,
            description: text("description").unwrap_or_default(),
            status: text("status"),
            severity: severity_of(&level),
            level,
            tags,
            techniques,
            tactics,
            references: text_list(doc.get("references")),
            falsepositives: text_list(doc.get("falsepositives")),
            author: text("author"),
            logsource,
            origin: origin.to_owned(),
            generate: true,
            scope,
            detection,
            filters: Vec::new(),
        }))
    }

    fn error_entry(&mut self, file: &str, doc: usize, e: RuleError) {
        self.report.push(FileReport {
            file: file.to_owned(),
            doc,
            line: None,
            rule_id: None,
            title: None,
            product: "-".into(),
            outcome: Outcome::Error(e),
        });
    }

    /// Resolve filters and correlations and build the indexed rule set.
    pub fn build(mut self) -> (RuleSet, LoadReport) {
        for (i, r) in self.rules.iter_mut().enumerate() {
            r.index = u32::try_from(i).unwrap_or(u32::MAX);
        }
        // Filters: ANDed into each rule they name (or every rule of their log source).
        let filters = std::mem::take(&mut self.filters);
        for f in filters {
            let targets: Vec<usize> = if f.rules.is_empty() {
                (0..self.rules.len())
                    .filter(|&i| {
                        self.rules.get(i).is_some_and(|r| {
                            (f.logsource.product.is_none()
                                || r.logsource.product == f.logsource.product)
                                && (f.logsource.category.is_none()
                                    || r.logsource.category == f.logsource.category)
                                && (f.logsource.service.is_none()
                                    || r.logsource.service == f.logsource.service)
                        })
                    })
                    .collect()
            } else {
                let mut v = Vec::new();
                for name in &f.rules {
                    match self.ids.get(name) {
                        Some(&i) => v.push(i),
                        None => {
                            self.report
                                .counters
                                .incr_with_sample("filter_unknown_rule", || {
                                    format!("{}: {name}", f.file)
                                });
                        }
                    }
                }
                v
            };
            for t in targets {
                let Some(rule) = self.rules.get_mut(t) else {
                    continue;
                };
                match Detection::compile(&f.filter, &rule.scope, &self.options.placeholders) {
                    Ok(d) => rule.filters.push(d),
                    Err(e) => {
                        let (file, doc) = (f.file.clone(), f.doc);
                        self.error_entry(&file, doc, e);
                        break;
                    }
                }
            }
        }
        // Correlations.
        let defs = std::mem::take(&mut self.corr_defs);
        let mut correlations = Vec::new();
        let ids = &self.ids;
        let find = |r: &str| ids.get(r).copied();
        let mut errs = Vec::new();
        for (file, doc, def) in defs {
            match Correlation::resolve(def, &self.rules, &find) {
                Ok(c) => correlations.push(c),
                Err(e) => errs.push((file, doc, e)),
            }
        }
        for (file, doc, e) in errs {
            self.error_entry(&file, doc, e);
        }
        // Base rules are alerts on their own unless only used by generate:false correlations.
        for c in &correlations {
            for &ri in &c.rules {
                let used_elsewhere = correlations
                    .iter()
                    .any(|o| o.generate && o.rules.contains(&ri));
                if let Some(r) = self.rules.get_mut(ri) {
                    r.generate = used_elsewhere;
                }
            }
        }
        let index = FinalIndex::from(&build_index(&self.rules), &self.rules);
        (
            RuleSet {
                rules: self.rules,
                correlations,
                index,
            },
            self.report,
        )
    }
}

fn build_index(rules: &[Rule]) -> Index {
    let mut idx = Index::default();
    for r in rules {
        let i = r.index;
        let det_ids = r.detection.required_event_ids();
        if r.scope.sources.is_empty() {
            for pat in &r.scope.datasets {
                let pos = match idx.datasets.iter().position(|(p, _)| p == pat) {
                    Some(p) => p,
                    None => {
                        idx.datasets.push((pat.clone(), ChannelBucket::default()));
                        idx.datasets.len() - 1
                    }
                };
                let Some((_, b)) = idx.datasets.get_mut(pos) else {
                    continue;
                };
                add_to_bucket(b, i, None, det_ids.as_deref());
            }
        } else {
            for s in &r.scope.sources {
                let chan = s.channel.clone().unwrap_or_default();
                let b = idx.channels.entry(chan).or_default();
                let ids = if s.event_ids.is_empty() {
                    None
                } else {
                    Some(s.event_ids.as_slice())
                };
                add_to_bucket(b, i, ids, det_ids.as_deref());
            }
        }
    }
    idx
}

fn add_to_bucket(
    b: &mut ChannelBucket,
    i: u32,
    source_ids: Option<&[i64]>,
    det_ids: Option<&[i64]>,
) {
    let ids: Option<Vec<i64>> = match (source_ids, det_ids) {
        (Some(s), Some(d)) => {
            let both: Vec<i64> = s.iter().copied().filter(|x| d.contains(x)).collect();
            Some(if both.is_empty() { s.to_vec() } else { both })
        }
        (Some(s), None) => Some(s.to_vec()),
        (None, Some(d)) => Some(d.to_vec()),
        (None, None) => None,
    };
    match ids {
        Some(ids) => {
            for id in ids {
                push_unique(b.by_id.entry(id).or_default(), i);
            }
        }
        None => push_unique(&mut b.any, i),
    }
}

/// Loaded, compiled and indexed Sigma rules and correlations.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    correlations: Vec<Correlation>,
    index: FinalIndex,
}

impl RuleSet {
    /// Load every rule file under `path` (see [`RuleSetBuilder::add_dir`]).
    pub fn load_dir(path: impl AsRef<Path>) -> (RuleSet, LoadReport) {
        Self::load_dir_with(path, LoadOptions::default())
    }

    /// [`RuleSet::load_dir`] with options (placeholder values).
    pub fn load_dir_with(path: impl AsRef<Path>, options: LoadOptions) -> (RuleSet, LoadReport) {
        let mut b = RuleSetBuilder::new(options);
        b.add_dir(path.as_ref());
        b.build()
    }

    /// Load rules from one YAML text (one or more documents); `origin` names it in reports.
    pub fn load_str(yaml: &str, origin: &str) -> (RuleSet, LoadReport) {
        let mut b = RuleSetBuilder::new(LoadOptions::default());
        b.add_str(yaml, origin);
        b.build()
    }

    /// All detection rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// All correlation rules.
    pub fn correlations(&self) -> &[Correlation] {
        &self.correlations
    }

    /// Rule by id or name.
    pub fn rule(&self, id_or_name: &str) -> Option<&Rule> {
        self.rules
            .iter()
            .find(|r| r.id == id_or_name || r.name.as_deref() == Some(id_or_name))
    }

    /// Rules worth evaluating for this document (by dataset, channel and EventID).
    pub fn candidates<D: Document + ?Sized>(&self, doc: &D) -> Vec<u32> {
        let mut out = Vec::new();
        let code = doc.event_code();
        let mut take = |b: &BucketIdx| {
            b.any.candidates(doc, &mut out);
            if let Some(g) = code.and_then(|c| b.by_id.get(&c)) {
                g.candidates(doc, &mut out);
            }
        };
        if let Some(ch) = doc.channel() {
            let bucket = self
                .index
                .channels
                .get(ch)
                .or_else(|| self.index.channels.get(ch.to_ascii_lowercase().as_str()));
            if let Some(b) = bucket {
                take(b);
            }
        }
        let ds = doc.dataset();
        for (pat, b) in &self.index.datasets {
            if dataset_pattern_matches(pat, ds) {
                take(b);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Rules that match the document.
    pub fn matches<'s, 'd, D: Document + ?Sized>(
        &'s self,
        doc: &'d D,
    ) -> impl Iterator<Item = &'s Rule> + 'd
    where
        's: 'd,
    {
        let cands = self.candidates(doc);
        cands.into_iter().filter_map(move |i| {
            let r = self.rules.get(i as usize)?;
            r.matches(doc).then_some(r)
        })
    }

    /// Whether the rule (by id or name) matches at least one of `events`; `None` when no
    /// such rule is loaded. Any event source (JSON, EVTX, live) can be plugged in here.
    pub fn rule_fires<'e>(
        &self,
        id_or_name: &str,
        events: impl IntoIterator<Item = &'e Event>,
    ) -> Option<bool> {
        let rule = self.rule(id_or_name)?;
        Some(events.into_iter().any(|e| rule.matches(e)))
    }

    /// An alert for a rule match, naming the rule and the event's key fields.
    pub fn to_alert(&self, rule: &Rule, event: &Event) -> Alert {
        let mut key = Vec::new();
        let mut fields = mamori_core::Fields::new();
        for (label, names) in KEY_FIELDS {
            if let Some((name, v)) = names
                .iter()
                .find_map(|n| event.get(n).map(|v| (*n, v.into_owned())))
            {
                let mut s = v.to_string();
                if s.chars().count() > MAX_MESSAGE_VALUE {
                    s = s.chars().take(MAX_MESSAGE_VALUE).collect::<String>() + "…";
                }
                key.push(format!("{label}={s}"));
                fields.insert(std::borrow::Cow::Borrowed(name), v);
            }
        }
        let msg = if key.is_empty() {
            format!("Sigma rule \"{}\" matched", rule.title)
        } else {
            format!("Sigma rule \"{}\" matched: {}", rule.title, key.join(", "))
        };
        let mut a = Alert::new(
            format!("sigma.{}", rule.id),
            rule.title.clone(),
            rule.severity,
            event.timestamp,
            msg,
        );
        a.message_ja = Some(format!(
            "Sigma ルール「{}」に一致: {}",
            rule.title,
            key.join(", ")
        ));
        a.ruleset = Ruleset::Sigma;
        a.techniques = rule.techniques.iter().map(|t| t.clone().into()).collect();
        a.controls = SIGMA_CONTROLS.iter().map(|c| (*c).into()).collect();
        a.source_ip = event.get_ip("source.ip");
        a.destination_ip = event.get_ip("destination.ip");
        a.destination_port = event
            .get_i64("destination.port")
            .and_then(|p| u16::try_from(p).ok());
        a.user_name = event
            .get_str("user.name")
            .or_else(|| event.get_str("winlog.event_data.TargetUserName"))
            .or_else(|| event.get_str("winlog.event_data.User"))
            .map(str::to_owned);
        a.host_name = event.get_str("host.name").map(str::to_owned);
        fields.insert(
            "rule.description".into(),
            Value::Str(rule.description.clone()),
        );
        if !rule.references.is_empty() {
            fields.insert(
                "rule.reference".into(),
                Value::from(rule.references.clone()),
            );
        }
        a.fields = fields;
        a
    }

    /// An alert for a correlation hit.
    pub fn correlation_alert(&self, hit: &CorrelationHit) -> Option<Alert> {
        let c = self.correlations.get(hit.correlation)?;
        let group: Vec<String> = hit.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let msg = format!(
            "Sigma correlation \"{}\" ({}) fired: value {} over {} events in {} s{}{}",
            c.title,
            c.kind.as_str(),
            hit.value,
            hit.events,
            Duration::from_nanos(hit.last.unix_nanos().saturating_sub(hit.first.unix_nanos()))
                .as_secs_f64(),
            if group.is_empty() { "" } else { " for " },
            group.join(", ")
        );
        let mut a = Alert::new(
            format!("sigma.{}", c.id),
            c.title.clone(),
            c.severity,
            hit.last,
            msg,
        );
        a.first_seen = hit.first;
        a.count = u64::try_from(hit.events).unwrap_or(u64::MAX);
        a.ruleset = Ruleset::Sigma;
        a.techniques = c.techniques.iter().map(|t| t.clone().into()).collect();
        a.controls = SIGMA_CONTROLS.iter().map(|c| (*c).into()).collect();
        for (k, v) in &hit.group {
            a.fields
                .insert(format!("mamori.group.{k}").into(), Value::Str(v.clone()));
        }
        Some(a)
    }
}

/// Longest value quoted in an alert message.
pub const MAX_MESSAGE_VALUE: usize = 200;

const KEY_FIELDS: &[(&str, &[&str])] = &[
    ("host", &["host.name"]),
    (
        "user",
        &[
            "user.name",
            "winlog.event_data.TargetUserName",
            "winlog.event_data.User",
        ],
    ),
    ("event", &["event.code"]),
    (
        "process",
        &[
            "process.executable",
            "winlog.event_data.Image",
            "winlog.event_data.NewProcessName",
        ],
    ),
    (
        "command_line",
        &["process.command_line", "winlog.event_data.CommandLine"],
    ),
    ("source", &["source.ip"]),
    ("destination", &["destination.ip"]),
    ("url", &["url.original"]),
    (
        "query",
        &["dns.question.name", "winlog.event_data.QueryName"],
    ),
    ("file", &["file.path", "winlog.event_data.TargetFilename"]),
];
