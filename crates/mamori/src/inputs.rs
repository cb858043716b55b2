//! Input files of `analyze`: format detection and the log-file path.
//!
//! Captures go to the sensor (see `analyze.rs`); everything else is read as logs: EVTX
//! through the EVTX reader, text, JSON lines and Zeek TSV line by line through
//! `mamori_logparse::LogParser`. gzip and zstd files are decompressed on the fly and
//! detected again.
//!
//! Offline files have no receive time of their own; mamori uses the file's modification
//! time as `event.ingested`, so the same file gives the same events on every run and year
//! inference for year-less syslog lines refers to when the file was last written.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context as _, Result};
use mamori_core::{Counters, Event, Timestamp};
use mamori_logparse::{FileFormat, LineContext, LogParser};

/// Longest line read from a log file; the rest of a longer line is dropped and counted.
pub const MAX_LINE: usize = 1 << 20;

/// What a file is, from its first bytes and name.
pub fn sniff(path: &Path) -> Result<(FileFormat, Vec<u8>)> {
    let mut f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let head = read_head(&mut f).with_context(|| format!("reading {}", path.display()))?;
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((mamori_logparse::detect_format(&head, &name), head))
}

/// Up to the first 8 KiB of a stream: what format detection looks at.
fn read_head(r: &mut dyn Read) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(8192);
    r.take(8192).read_to_end(&mut head)?;
    Ok(head)
}

/// Modification time of a file as event time (the receive time of offline logs).
pub fn file_time(path: &Path) -> Timestamp {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| Timestamp::from_unix_parts(d.as_secs() as i64, d.subsec_nanos()))
        .unwrap_or(Timestamp::EPOCH)
}

/// Result of reading one log file.
pub struct LogRead {
    pub format: String,
    pub lines: u64,
}

/// Read a log file (possibly compressed) and hand every event to `emit`.
pub fn read_log_file(
    path: &Path,
    format: FileFormat,
    parser: &mut LogParser,
    unusable: &mut Counters,
    emit: &mut dyn FnMut(Event) -> Result<()>,
) -> Result<LogRead> {
    let name = path.display().to_string();
    let received = file_time(path);
    let file = File::open(path).with_context(|| format!("opening {name}"))?;
    let base = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match format {
        FileFormat::Gzip | FileFormat::Zstd => {
            let inner_name = base
                .trim_end_matches(".gz")
                .trim_end_matches(".zst")
                .to_owned();
            let mut reader: Box<dyn Read> = if format == FileFormat::Gzip {
                Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)))
            } else {
                Box::new(
                    ruzstd::decoding::StreamingDecoder::new(BufReader::new(file))
                        .map_err(|e| anyhow::anyhow!("{name}: not a readable zstd stream: {e}"))?,
                )
            };
            let head = read_head(&mut reader).with_context(|| format!("decompressing {name}"))?;
            let inner = mamori_logparse::detect_format(&head, &inner_name);
            let label = format!("{}+{}", fmt_name(format), fmt_name(inner));
            let chained = std::io::Cursor::new(head).chain(reader);
            match inner {
                FileFormat::Evtx => {
                    let mut data = Vec::new();
                    BufReader::new(chained)
                        .read_to_end(&mut data)
                        .with_context(|| format!("decompressing {name}"))?;
                    let n = read_evtx(&name, data, received, unusable, emit)?;
                    Ok(LogRead {
                        format: label,
                        lines: n,
                    })
                }
                FileFormat::Lines
                | FileFormat::JsonLines
                | FileFormat::ZeekTsv
                | FileFormat::Csv => {
                    let n = read_lines(
                        &name,
                        &inner_name,
                        BufReader::new(chained),
                        received,
                        parser,
                        unusable,
                        emit,
                    )?;
                    Ok(LogRead {
                        format: label,
                        lines: n,
                    })
                }
                other => anyhow::bail!(
                    "{name}: compressed {} is not a log format mamori reads",
                    fmt_name(other)
                ),
            }
        }
        FileFormat::Evtx => {
            let mut data = Vec::new();
            BufReader::new(file)
                .read_to_end(&mut data)
                .with_context(|| format!("reading {name}"))?;
            let n = read_evtx(&name, data, received, unusable, emit)?;
            Ok(LogRead {
                format: "evtx".into(),
                lines: n,
            })
        }
        FileFormat::Lines | FileFormat::JsonLines | FileFormat::ZeekTsv | FileFormat::Csv => {
            let n = read_lines(
                &name,
                &base,
                BufReader::with_capacity(1 << 20, file),
                received,
                parser,
                unusable,
                emit,
            )?;
            Ok(LogRead {
                format: fmt_name(format).into(),
                lines: n,
            })
        }
        FileFormat::Bzip2 | FileFormat::Xz => anyhow::bail!(
            "{name}: {} compression is not read by mamori; decompress it first",
            fmt_name(format)
        ),
        FileFormat::Pcap => anyhow::bail!("{name}: is a capture"),
        FileFormat::Unknown => anyhow::bail!(
            "{name}: not a capture, log text, JSON lines or EVTX file (binary or empty)"
        ),
    }
}

pub fn fmt_name(f: FileFormat) -> &'static str {
    match f {
        FileFormat::Evtx => "evtx",
        FileFormat::Gzip => "gzip",
        FileFormat::Zstd => "zstd",
        FileFormat::Bzip2 => "bzip2",
        FileFormat::Xz => "xz",
        FileFormat::Pcap => "pcap",
        FileFormat::JsonLines => "jsonl",
        FileFormat::ZeekTsv => "zeek-tsv",
        FileFormat::Csv => "csv",
        FileFormat::Lines => "log",
        FileFormat::Unknown => "unknown",
    }
}

fn read_evtx(
    name: &str,
    data: Vec<u8>,
    received: Timestamp,
    unusable: &mut Counters,
    emit: &mut dyn FnMut(Event) -> Result<()>,
) -> Result<u64> {
    let mut err = None;
    let mut n = 0u64;
    mamori_logparse::parsers::windows::for_each_evtx_event(data, received, unusable, |ev| {
        n += 1;
        if err.is_none() {
            if let Err(e) = emit(ev) {
                err = Some(e);
            }
        }
    })
    .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    if let Some(e) = err {
        return Err(e);
    }
    Ok(n)
}

fn read_lines(
    name: &str,
    base: &str,
    mut r: impl BufRead,
    received: Timestamp,
    parser: &mut LogParser,
    unusable: &mut Counters,
    emit: &mut dyn FnMut(Event) -> Result<()>,
) -> Result<u64> {
    let hint = mamori_logparse::hint_for_file_name(base);
    let ctx = LineContext {
        received,
        source: name,
        source_ip: None,
        hint,
    };
    let mut buf = Vec::with_capacity(4096);
    let mut n = 0u64;
    loop {
        buf.clear();
        let k = (&mut r)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("reading {name} after line {n}"))?;
        if k == 0 {
            break;
        }
        n += 1;
        if buf.len() >= MAX_LINE && buf.last() != Some(&b'\n') {
            // Skip the rest of an over-long line; keep what fits.
            unusable.incr_with_sample("line_too_long", || format!("{name} line {n}"));
            let mut rest = Vec::new();
            loop {
                rest.clear();
                let m = (&mut r)
                    .take(MAX_LINE as u64)
                    .read_until(b'\n', &mut rest)?;
                if m == 0 || rest.last() == Some(&b'\n') {
                    break;
                }
            }
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        if let Some(ev) = parser.parse(&buf, &ctx) {
            emit(ev)?;
        }
    }
    Ok(n)
}
