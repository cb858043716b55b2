//! Catalogue commands: `checks list|explain`, `parsers list|test`, `rules lint`.

use std::fmt::Write as _;
use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::Subcommand;
use mamori_logparse::{Catalog, LineContext, LineStatus, LogParser};

use crate::i18n::Lang;
use crate::table::{Align, Table};

#[derive(Subcommand, Debug)]
pub enum ChecksCommand {
    /// Every built-in network check with its default severity, ATT&CK techniques and
    /// compliance controls.
    List,
    /// One check in full: what fires it, thresholds with defaults, how to tune it.
    Explain {
        /// Check id (`mamori.net.port_scan` or `port_scan`).
        id: String,
    },
    /// Validate a config file: load every [detect] setting and intel list and report
    /// problems with file and line (non-zero exit when the config is invalid).
    Status {
        /// Configuration file.
        #[arg(short, long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Threat-intelligence list file or folder; repeatable.
        #[arg(long, value_name = "PATH")]
        intel: Vec<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ParsersCommand {
    /// Every log parser with the dataset it produces and the ECS fields it fills.
    List,
    /// Per line of FILE: which parser matched, how it went and the fields that came out.
    Test {
        /// A log file (text or JSON lines).
        file: PathBuf,
        /// Show at most this many lines.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// Load rule folders/files (Sigma, and mamori's own threshold/sequence/absence rules
    /// such as the built-in `rules/`) and report which rules load, which do not and why, and
    /// which log sources they need. Non-zero exit when any rule has an error.
    Lint {
        /// Rule folders or files (`.yml`/`.yaml`); each file's format is recognised from its
        /// keys (`detection:` Sigma, `match:` mamori).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// List every rule, not only problems.
        #[arg(short, long)]
        verbose: bool,
    },
}

fn sev(s: mamori_core::Severity, lang: Lang) -> &'static str {
    match lang {
        Lang::Ja => s.as_ja(),
        Lang::En => s.as_str(),
    }
}

pub fn checks(cmd: ChecksCommand, lang: Lang) -> Result<ExitCode> {
    match cmd {
        ChecksCommand::List => {
            let ja = lang == Lang::Ja;
            let mut t = Table::new(&[
                ("id", Align::Left),
                (if ja { "名前" } else { "name" }, Align::Left),
                (if ja { "重大度" } else { "severity" }, Align::Left),
                ("ATT&CK", Align::Left),
                (if ja { "管理策" } else { "controls" }, Align::Left),
                (if ja { "既定" } else { "default" }, Align::Left),
            ]);
            for c in mamori_detect::catalogue() {
                t.row(vec![
                    c.id.to_owned(),
                    if ja { c.name_ja } else { c.name }.to_owned(),
                    sev(c.severity, lang).to_owned(),
                    c.techniques.join(","),
                    c.controls.join(","),
                    if c.enabled_by_default {
                        if ja {
                            "有効"
                        } else {
                            "on"
                        }
                    } else if ja {
                        "無効"
                    } else {
                        "off"
                    }
                    .to_owned(),
                ]);
            }
            print!("{}", t.render(0));
            println!(
                "\n{} {}",
                mamori_detect::catalogue().len(),
                if ja {
                    "件のチェック（詳細: mamori checks explain ID）"
                } else {
                    "checks (details: mamori checks explain ID)"
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        ChecksCommand::Explain { id } => {
            let Some(c) = mamori_detect::check_info(&id) else {
                anyhow::bail!("no check {id:?} (see `mamori checks list`)");
            };
            let ja = lang == Lang::Ja;
            let mut o = String::new();
            let _ = writeln!(o, "{}  {} / {}", c.id, c.name, c.name_ja);
            let _ = writeln!(o);
            if ja {
                let _ = writeln!(o, "{}\n({})", c.description_ja, c.description);
            } else {
                let _ = writeln!(o, "{}\n({})", c.description, c.description_ja);
            }
            let _ = writeln!(o);
            let _ = writeln!(
                o,
                "severity:   {} ({})",
                c.severity.as_str(),
                c.severity.as_ja()
            );
            for t in c.techniques {
                let name = mamori_core::attack::technique(t).map_or("", |x| x.name);
                let _ = writeln!(o, "ATT&CK:     {t} {name}");
            }
            for ctl in c.controls {
                let title = mamori_core::compliance::control(ctl)
                    .map_or(String::new(), |x| format!("{} / {}", x.title, x.title_ja));
                let _ = writeln!(o, "control:    {ctl} {title}");
            }
            let _ = writeln!(o, "enabled:    {}", c.enabled_by_default);
            if !c.thresholds.is_empty() {
                let _ = writeln!(o, "\nthresholds (mamori.toml):");
                let short = c.id.rsplit('.').next().unwrap_or(c.id);
                let _ = writeln!(o, "  [detect.checks.{short}]");
                for t in c.thresholds {
                    let _ = writeln!(
                        o,
                        "  thresholds.{} = {}   # {} ({})",
                        t.name, t.default, t.help, t.unit
                    );
                }
                let _ = writeln!(
                    o,
                    "  exclude = {{ sources = [\"10.0.0.5\"], domains = [\"*.example.jp\"] }}"
                );
            }
            print!("{o}");
            Ok(ExitCode::SUCCESS)
        }
        ChecksCommand::Status { config, intel } => {
            let cfg = match &config {
                Some(p) => mamori_pipeline::config::MamoriConfig::load(p)?,
                None => mamori_pipeline::config::MamoriConfig::default(),
            };
            let d =
                mamori_pipeline::detection::Detection::new(cfg.detect, &cfg.rules, &intel, &[])?;
            println!(
                "config: {}",
                config
                    .as_ref()
                    .map_or("(defaults)".into(), |p| p.display().to_string())
            );
            println!(
                "checks: {} in the catalogue",
                mamori_detect::catalogue().len()
            );
            for n in &d.load_notes {
                println!("{n}");
            }
            let c = d.counters();
            if c.is_empty() {
                println!("no problems");
            } else {
                let mut t = Table::new(&[
                    ("problem", Align::Left),
                    ("count", Align::Right),
                    ("first example", Align::Left),
                ]);
                for (name, ctr) in c.iter() {
                    t.row(vec![
                        name.into(),
                        ctr.count.to_string(),
                        ctr.sample.clone().unwrap_or_default(),
                    ]);
                }
                print!("{}", t.render(0));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn parsers(cmd: ParsersCommand, lang: Lang) -> Result<ExitCode> {
    match cmd {
        ParsersCommand::List => {
            let ja = lang == Lang::Ja;
            let mut t = Table::new(&[
                (if ja { "パーサ" } else { "parser" }, Align::Left),
                (if ja { "データセット" } else { "dataset" }, Align::Left),
                (if ja { "説明" } else { "description" }, Align::Left),
                (if ja { "項目数" } else { "fields" }, Align::Right),
            ]);
            let mut n = 0;
            for p in Catalog::parsers() {
                n += 1;
                t.row(vec![
                    p.name.to_owned(),
                    p.dataset.to_owned(),
                    if ja {
                        p.description_ja
                    } else {
                        p.description_en
                    }
                    .to_owned(),
                    p.fields.len().to_string(),
                ]);
            }
            print!("{}", t.render(0));
            println!("\n{n} parsers; unrecognised lines are kept as raw `syslog` events.");
            Ok(ExitCode::SUCCESS)
        }
        ParsersCommand::Test { file, limit } => {
            let name = file.display().to_string();
            let f = std::fs::File::open(&file).with_context(|| format!("opening {name}"))?;
            let base = file
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut parser = LogParser::default();
            let ctx = LineContext {
                received: mamori_pipeline::files::file_time(&file),
                source: &name,
                source_ip: None,
                hint: mamori_logparse::hint_for_file_name(&base),
            };
            let (mut parsed, mut partial, mut raw, mut total) = (0u64, 0u64, 0u64, 0u64);
            for (i, line) in std::io::BufReader::new(f).split(b'\n').enumerate() {
                let line = line.with_context(|| format!("reading {name}"))?;
                let line = line.strip_suffix(b"\r").unwrap_or(&line);
                let ex = parser.explain_line(line, &ctx);
                let status = match &ex.status {
                    LineStatus::Parsed => {
                        parsed += 1;
                        "parsed".to_owned()
                    }
                    LineStatus::Partial(r) => {
                        partial += 1;
                        format!("partial ({r})")
                    }
                    LineStatus::Raw => {
                        raw += 1;
                        "raw".to_owned()
                    }
                    LineStatus::Metadata => continue,
                };
                total += 1;
                if (total as usize) <= limit {
                    println!(
                        "line {}: {} {} → {}",
                        i + 1,
                        ex.parser.unwrap_or("-"),
                        status,
                        ex.event.dataset
                    );
                    for (k, v) in &ex.event.fields {
                        if k.starts_with("mamori.log.") || k == "event.ingested" {
                            continue;
                        }
                        let mut s = v.to_string();
                        if s.chars().count() > 100 {
                            s = s.chars().take(99).collect::<String>() + "…";
                        }
                        println!("    {k} = {s}");
                    }
                }
            }
            println!(
                "\n{name}: {total} lines: {parsed} parsed, {partial} partly parsed, {raw} kept raw"
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn rules(cmd: RulesCommand, rules_cfg: &mamori_detect::rules::RulesConfig) -> Result<ExitCode> {
    match cmd {
        RulesCommand::Lint { paths, verbose } => {
            let mamori_pipeline::rulefiles::RuleFiles {
                mamori: own,
                sigma: sigma_files,
            } = mamori_pipeline::rulefiles::RuleFiles::find(&paths)?;
            let mut errors = 0;
            if !own.is_empty() {
                let (_rules, lint) =
                    mamori_detect::rules::ThresholdRules::load_dirs(&own, rules_cfg)
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                for e in &lint.entries {
                    let loc = format!("{}:{}", e.file, e.line);
                    let id = e.rule_id.clone().unwrap_or_default();
                    match &e.outcome {
                        mamori_detect::rules::LintOutcome::Error(r) => {
                            errors += 1;
                            println!("error    {loc}: {id}: {r}");
                        }
                        mamori_detect::rules::LintOutcome::Inactive(r) => {
                            println!("inactive {loc}: {id}: {r}");
                        }
                        mamori_detect::rules::LintOutcome::Loaded => {
                            if verbose {
                                let ds = if e.datasets.is_empty() {
                                    "any dataset".to_owned()
                                } else {
                                    e.datasets.join(", ")
                                };
                                println!("ok       {loc}: {id} (needs {ds})");
                            }
                        }
                    }
                    for w in &e.warnings {
                        println!("warning  {loc}: {id}: {w}");
                    }
                }
                println!(
                    "\nmamori rules: {} loaded, {} inactive (need configuration), {} with errors",
                    lint.loaded(),
                    lint.inactive(),
                    lint.errors()
                );
            }
            if !sigma_files.is_empty() {
                let mut b = mamori_sigma::RuleSetBuilder::new(Default::default());
                for f in &sigma_files {
                    b.add_file(f);
                }
                let (_set, report) = b.build();
                for e in &report.entries {
                    let loc = match e.line {
                        Some(l) => format!("{}:{l}", e.file),
                        None => e.file.clone(),
                    };
                    match &e.outcome {
                        mamori_sigma::Outcome::Error(err) => {
                            errors += 1;
                            println!("error    {loc}: {err}");
                        }
                        mamori_sigma::Outcome::UnsupportedLogsource(ls) => {
                            if verbose {
                                println!(
                                    "skipped  {loc}: log source {ls} is not collected by mamori"
                                );
                            }
                        }
                        _ => {
                            if verbose {
                                println!("ok       {loc}: {}", e.title.clone().unwrap_or_default());
                            }
                        }
                    }
                }
                println!();
                let mut t = Table::new(&[
                    ("product", Align::Left),
                    ("loaded", Align::Right),
                    ("log source not collected", Align::Right),
                    ("errors", Align::Right),
                ]);
                for (p, c) in &report.per_product {
                    t.row(vec![
                        p.clone(),
                        c.loaded.to_string(),
                        c.unsupported.to_string(),
                        c.errors.to_string(),
                    ]);
                }
                print!("{}", t.render(0));
                println!(
                    "\nsigma: {} rules loaded, {} skipped (log source not collected), {} with errors",
                    report.loaded(),
                    report.unsupported(),
                    report.errors()
                );
            }
            Ok(if errors > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}
