//! Detection over every event, in event time: the built-in network checks and threat intel
//! (`mamori-detect`), the built-in log rules plus mamori rule files, DHCP enrichment, and
//! Sigma rule folders (`mamori-sigma`).
//!
//! The watermark is the largest event time seen; windows and engaged/past transitions follow
//! it, so the same inputs give the same alerts on every run.

use std::path::PathBuf;

use mamori_core::{Alert, Counters, Event, EventKind, Timestamp};
use mamori_detect::rules::{Enricher, RulesConfig, ThresholdRules, BUILTIN_RULES};
use mamori_detect::{DetectConfig, Engine, Intel, IntelSource};
use mamori_sigma::{Correlator, RuleEngine as _, RuleSet};

use crate::error::{PipelineError, Result};

/// How often (event time) the engine is told time moved on.
const ADVANCE_STEP_NS: i64 = 1_000_000_000;

/// Every detector of mamori behind one `process(event)`.
pub struct Detection {
    engine: Engine,
    log_rules: ThresholdRules,
    enricher: Enricher,
    sigma: Option<(RuleSet, Correlator)>,
    watermark: Timestamp,
    last_advance: Timestamp,
    alerts: Vec<Alert>,
    /// Problems met while loading (intel lines, rules), for the summary.
    pub load_counters: Counters,
    /// One line per loaded source, for the terminal.
    pub load_notes: Vec<String>,
}

impl Detection {
    /// Load intel lists and rule files (built-in rules are always included).
    pub fn new(
        mut cfg: DetectConfig,
        rules_cfg: &RulesConfig,
        intel: &[PathBuf],
        rules: &[PathBuf],
    ) -> Result<Detection> {
        for p in intel {
            cfg.intel.push(IntelSource::auto(p.clone()));
        }
        let mut load_counters = Counters::new();
        let mut load_notes = Vec::new();
        let intel = if cfg.intel.is_empty() {
            Intel::empty()
        } else {
            let i = Intel::load(&cfg.intel).map_err(|e| PipelineError::Intel(e.to_string()))?;
            let r = i.report();
            load_notes.push(format!(
                "threat intel: {} indicators from {} file(s), {} line(s) rejected",
                r.loaded(),
                r.files.len(),
                r.rejected()
            ));
            for (name, c) in r.counters.iter() {
                let key = format!("intel_{name}");
                load_counters.add(&key, c.count);
            }
            i
        };
        let engine = Engine::new(cfg, intel).map_err(|e| PipelineError::Config(e.to_string()))?;
        // --rules paths may hold Sigma and mamori rule files alike; mamori ones run with the
        // built-in log checks.
        let files = crate::rulefiles::RuleFiles::find(rules)?;
        let mut own: Vec<(String, String)> = Vec::new();
        for f in &files.mamori {
            let text = std::fs::read_to_string(f)
                .map_err(|e| PipelineError::io("reading rule file", f, e))?;
            // The repository's own rules/ are already embedded: do not load them twice.
            if !BUILTIN_RULES.iter().any(|(_, b)| *b == text) {
                own.push((f.display().to_string(), text));
            }
        }
        let texts: Vec<(&str, &str)> = BUILTIN_RULES
            .iter()
            .copied()
            .chain(own.iter().map(|(o, t)| (o.as_str(), t.as_str())))
            .collect();
        let (log_rules, lint) = ThresholdRules::load_texts(&texts, rules_cfg)
            .map_err(|e| PipelineError::Rules(e.to_string()))?;
        load_notes.push(format!(
            "log checks: {} rules active, {} waiting for configuration ([rules] lists), {} with errors (see `mamori rules lint`)",
            lint.loaded(),
            lint.inactive(),
            lint.errors()
        ));
        let sigma = if files.sigma.is_empty() {
            None
        } else {
            let mut b = mamori_sigma::RuleSetBuilder::new(Default::default());
            for f in &files.sigma {
                b.add_file(f);
            }
            let (set, report) = b.build();
            load_notes.push(format!(
                "sigma: {} rules loaded, {} skipped (log source not collected), {} with errors (see `mamori rules lint`)",
                report.loaded(),
                report.unsupported(),
                report.errors()
            ));
            for (name, c) in report.counters.iter() {
                if name != "unsupported_logsource" {
                    load_counters.add(&format!("sigma_{name}"), c.count);
                }
            }
            Some((set, Correlator::new()))
        };
        Ok(Detection {
            engine,
            log_rules,
            enricher: Enricher::new(),
            sigma,
            watermark: Timestamp::MIN,
            last_advance: Timestamp::MIN,
            alerts: Vec::new(),
            load_counters,
            load_notes,
        })
    }

    /// Run every detector over one event and append the alerts it raises (as events).
    pub fn process(&mut self, ev: &Event, out: &mut Vec<Event>) {
        if ev.kind == EventKind::Alert {
            return;
        }
        if ev.timestamp > self.watermark {
            self.watermark = ev.timestamp;
            if self
                .watermark
                .unix_nanos()
                .saturating_sub(self.last_advance.unix_nanos())
                >= ADVANCE_STEP_NS
            {
                self.engine.advance(self.watermark, &mut self.alerts);
                self.log_rules.advance(self.watermark, &mut self.alerts);
                self.last_advance = self.watermark;
            }
        }
        if ev.dataset == "dhcp" {
            self.enricher.learn(ev);
        }
        self.engine.process(ev, &mut self.alerts);
        self.log_rules.process(ev, &mut self.alerts);
        if let Some((set, corr)) = &mut self.sigma {
            self.alerts.extend(set.alerts(corr, ev));
        }
        self.drain(out);
    }

    /// Alerts to events, naming the host behind an alert's address when a DHCP lease told us.
    /// Cross-source rules see every alert (an IP that raised a network alert and then logs
    /// on successfully).
    fn drain(&mut self, out: &mut Vec<Event>) {
        let mut follow_ups = Vec::new();
        for mut a in self.alerts.drain(..) {
            self.enricher.enrich(&mut a);
            let ev = a.to_event();
            self.log_rules.process(&ev, &mut follow_ups);
            out.push(ev);
        }
        for mut a in follow_ups {
            self.enricher.enrich(&mut a);
            out.push(a.to_event());
        }
    }

    /// End of input: close every window.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        self.engine.finish(&mut self.alerts);
        self.log_rules.finish(&mut self.alerts);
        self.drain(out);
    }

    /// Counters of the detectors (state limits, evictions) and of loading.
    pub fn counters(&self) -> Counters {
        let mut c = self.load_counters.clone();
        c.merge(self.engine.stats());
        c.merge(self.log_rules.counters());
        if let Some((_, corr)) = &self.sigma {
            c.merge(&corr.counters);
        }
        c
    }
}
