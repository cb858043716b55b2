//! `mamori analyze`: offline analysis of captures and log files.
//!
//! Inputs are read in the order given. Each file's format is detected from its first bytes
//! (see `inputs.rs`): captures go through the sensor (decode → flows → protocol
//! dissectors), log files through the log parsers. Every event goes to the summary and, with
//! `--format jsonl`, to the JSON-lines sink.

use std::fs::File;
use std::io::IsTerminal as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mamori_core::{Counters, Event, HomeNets};
use mamori_flow::{Sensor, SensorConfig};
use mamori_logparse::{FileFormat, LogParser};
use mamori_proto::capture::CaptureReader;

use crate::cli::{AnalyzeArgs, Format};
use crate::i18n::Lang;
use crate::output::JsonLines;
use crate::summary::{InputFact, RunFacts, Summary};
use mamori_pipeline::config::MamoriConfig;
use mamori_pipeline::detection::Detection;
use mamori_pipeline::files as inputs;

/// Where events go: detection first (its alerts follow the event that raised them), then
/// the summary and the JSON-lines file.
struct Sinks {
    detection: Option<Detection>,
    alerts: Vec<Event>,
    summary: Summary,
    jsonl: Option<JsonLines>,
}

impl Sinks {
    fn emit(&mut self, events: &mut Vec<Event>) -> Result<()> {
        for ev in events.drain(..) {
            if let Some(d) = &mut self.detection {
                d.process(&ev, &mut self.alerts);
            }
            self.summary.observe(&ev);
            if let Some(j) = &mut self.jsonl {
                j.write(&ev).context("writing JSON lines")?;
            }
            self.flush_alerts()?;
        }
        Ok(())
    }

    fn flush_alerts(&mut self) -> Result<()> {
        for a in self.alerts.drain(..) {
            self.summary.observe(&a);
            if let Some(j) = &mut self.jsonl {
                j.write(&a).context("writing JSON lines")?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if let Some(d) = &mut self.detection {
            d.finish(&mut self.alerts);
        }
        self.flush_alerts()
    }
}

fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(4));
    let style = ProgressStyle::with_template(
        "{spinner} {msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    pb.set_style(style);
    pb
}

pub fn run(args: AnalyzeArgs, lang: Lang) -> Result<ExitCode> {
    let cfg = match &args.config {
        Some(p) => MamoriConfig::load(p)?,
        None => MamoriConfig::default(),
    };
    let mut sensor_cfg: SensorConfig = cfg.sensor;
    if let Some(s) = &args.home_net {
        sensor_cfg.home_nets = HomeNets::parse_list(s).context("--home-net")?;
    }
    let mut sensor = Sensor::new(sensor_cfg);
    let detection = if args.no_detect {
        None
    } else {
        let d = Detection::new(cfg.detect, &cfg.rules, &args.intel, &args.rules)?;
        if !args.quiet {
            for note in &d.load_notes {
                eprintln!("mamori: {note}");
            }
        }
        Some(d)
    };
    let mut log_cfg = mamori_logparse::LogParserConfig::default();
    if let Some(tz) = &args.tz {
        log_cfg.default_zone = tz.clone();
    }
    let mut log_parser =
        LogParser::new(log_cfg).map_err(|e| anyhow::anyhow!("--tz {:?}: {e}", args.tz))?;

    let jsonl = match (args.format, &args.output) {
        (Format::Jsonl, Some(p)) => {
            Some(JsonLines::to_path(p).with_context(|| format!("creating {}", p.display()))?)
        }
        (Format::Jsonl, None) => Some(JsonLines::to_stdout()),
        (Format::Table, _) => None,
    };
    let mut sinks = Sinks {
        detection,
        alerts: Vec::new(),
        summary: Summary::default(),
        jsonl,
    };

    let total: u64 = args
        .inputs
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let pb = progress_bar(total, args.quiet);
    let started = Instant::now();
    let mut facts = RunFacts::default();
    let mut buf: Vec<Event> = Vec::with_capacity(256);
    let mut done_bytes = 0u64;
    let mut any_read = false;

    for path in &args.inputs {
        let name = path.display().to_string();
        pb.set_message(short_name(path));
        let fact = match inputs::sniff(path) {
            Ok((FileFormat::Pcap, _)) => read_capture(
                path,
                &mut sensor,
                &mut sinks,
                &mut buf,
                &pb,
                done_bytes,
                &mut facts.unusable,
            ),
            Ok((format, _)) => {
                let mut emit = |mut ev: Event| -> Result<(), mamori_pipeline::SinkError> {
                    // An offline file has no real receive time (its modification time stands
                    // in), so the source clock cannot be judged against it.
                    ev.fields.remove("mamori.log.clock_skew_ms");
                    buf.push(ev);
                    if buf.len() >= 256 {
                        sinks
                            .emit(&mut buf)
                            .map_err(mamori_pipeline::SinkError::from)?;
                    }
                    Ok(())
                };
                let r = inputs::read_log_file(
                    path,
                    format,
                    &mut log_parser,
                    &mut facts.unusable,
                    &mut emit,
                );
                sinks.emit(&mut buf)?;
                r.map_err(anyhow::Error::from).map(|r| InputFact {
                    name: name.clone(),
                    kind: r.format,
                    units: r.lines,
                    unit_name: "lines",
                    bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
                    error: None,
                })
            }
            Err(e) => Err(e.into()),
        };
        let fact = match fact {
            Ok(f) => f,
            Err(e) => InputFact {
                name: name.clone(),
                kind: "?".into(),
                units: 0,
                unit_name: "packets",
                bytes: 0,
                error: Some(format!("{e:#}")),
            },
        };
        if fact.units > 0 {
            any_read = true;
        }
        if fact.error.is_some() && fact.units == 0 {
            facts.unusable.incr_with_sample("input_unreadable", || {
                format!("{name}: {}", fact.error.clone().unwrap_or_default())
            });
        }
        if let Some(err) = &fact.error {
            pb.suspend(|| eprintln!("mamori: {name}: {err}"));
        }
        done_bytes += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if fact.unit_name == "packets" {
            facts.packets += fact.units;
        }
        facts.inputs.push(fact);
    }
    sensor.finish(&mut buf);
    sinks.emit(&mut buf)?;
    sinks.finish()?;
    pb.finish_and_clear();
    facts.elapsed_secs = started.elapsed().as_secs_f64();
    facts.unusable.merge(&sensor.stats().counters());
    facts.unusable.merge(log_parser.counters());
    if let Some(d) = &sinks.detection {
        // Datasets a detector has no checks for are not lost input: leave them out.
        let mut c = d.counters();
        c.remove("skipped_dataset");
        facts.detection = c;
    }

    if let Some(j) = sinks.jsonl.take() {
        j.finish().context("flushing JSON lines")?;
    }
    if !args.quiet {
        let text = sinks.summary.render(&facts, lang.msgs());
        if args.format == Format::Jsonl && args.output.is_none() {
            eprint!("{text}");
        } else {
            print!("{text}");
        }
    }
    if !any_read {
        eprintln!("mamori: nothing could be read from the inputs");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn short_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// Read one capture file through the sensor. Read errors after some packets are reported in
/// the returned fact (everything readable was processed); errors before any packet too.
fn read_capture(
    path: &Path,
    sensor: &mut Sensor,
    sinks: &mut Sinks,
    buf: &mut Vec<Event>,
    pb: &ProgressBar,
    done_before: u64,
    unusable: &mut Counters,
) -> Result<InputFact> {
    let name = path.display().to_string();
    let file = File::open(path).with_context(|| format!("opening {name}"))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    // The reader buffers itself (one fixed buffer, no per-packet allocation).
    let mut reader = match CaptureReader::new(file) {
        Ok(r) => r,
        Err(e) => {
            unusable.incr_with_sample(e.reason_name(), || format!("{name}: {e}"));
            return Ok(InputFact {
                name,
                kind: "?".into(),
                units: 0,
                unit_name: "packets",
                bytes: size,
                error: Some(e.to_string()),
            });
        }
    };
    let kind = reader.format().to_string();
    let mut n = 0u64;
    let mut error = None;
    loop {
        match reader.next_packet() {
            Ok(Some(pkt)) => {
                sensor.process(&pkt, buf);
                n += 1;
                if !buf.is_empty() {
                    sinks.emit(buf)?;
                }
                if n.is_multiple_of(8192) {
                    pb.set_position(done_before + reader.bytes_read());
                }
            }
            Ok(None) => break,
            Err(e) if !e.is_fatal() => {
                // One bad record (oversized, impossible length field): skipped, counted, and
                // reading goes on with the next one.
                unusable.incr_with_sample(e.reason_name(), || format!("{name}: {e}"));
            }
            Err(e) => {
                let unread = size.saturating_sub(reader.bytes_read());
                unusable.incr_with_sample(e.reason_name(), || format!("{name}: {e}"));
                error = Some(format!(
                    "{e}; {n} packets before it were processed, {unread} bytes after it not read"
                ));
                break;
            }
        }
    }
    Ok(InputFact {
        name,
        kind,
        units: n,
        unit_name: "packets",
        bytes: size,
        error,
    })
}
