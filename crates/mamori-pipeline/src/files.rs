//! Input files: format detection and the log-file path.
//!
//! Captures go to the sensor (`mamori_flow::Sensor`); everything else is read as logs: EVTX
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

use mamori_core::{Counters, Event, Timestamp};
use mamori_logparse::{FileFormat, LineContext, LogParser};

use crate::error::{PipelineError, Result, SinkError};

/// Longest line read from a log file; the rest of a longer line is dropped and counted.
pub const MAX_LINE: usize = 1 << 20;

/// What a file is, from its first bytes and name.
pub fn sniff(path: &Path) -> Result<(FileFormat, Vec<u8>)> {
    let mut f = File::open(path).map_err(|e| PipelineError::io("opening", path, e))?;
    let head = read_head(&mut f).map_err(|e| PipelineError::io("reading", path, e))?;
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRead {
    /// Format label, e.g. `log`, `evtx`, `gzip+jsonl`.
    pub format: String,
    /// Lines (or EVTX records) read.
    pub lines: u64,
}

/// The callback that receives each event of a file; an error stops reading.
pub type Emit<'a> = dyn FnMut(Event) -> std::result::Result<(), SinkError> + 'a;

/// Read a log file (possibly compressed) and hand every event to `emit`.
pub fn read_log_file(
    path: &Path,
    format: FileFormat,
    parser: &mut LogParser,
    unusable: &mut Counters,
    emit: &mut Emit<'_>,
) -> Result<LogRead> {
    let name = path.display().to_string();
    let received = file_time(path);
    let file = File::open(path).map_err(|e| PipelineError::io("opening", path, e))?;
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
                    ruzstd::decoding::StreamingDecoder::new(BufReader::new(file)).map_err(|e| {
                        PipelineError::Input(format!("{name}: not a readable zstd stream: {e}"))
                    })?,
                )
            };
            let head =
                read_head(&mut reader).map_err(|e| PipelineError::io("decompressing", path, e))?;
            let inner = mamori_logparse::detect_format(&head, &inner_name);
            let label = format!("{}+{}", fmt_name(format), fmt_name(inner));
            let chained = std::io::Cursor::new(head).chain(reader);
            match inner {
                FileFormat::Evtx => {
                    let mut data = Vec::new();
                    BufReader::new(chained)
                        .read_to_end(&mut data)
                        .map_err(|e| PipelineError::io("decompressing", path, e))?;
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
                other => Err(PipelineError::Input(format!(
                    "{name}: compressed {} is not a log format mamori reads",
                    fmt_name(other)
                ))),
            }
        }
        FileFormat::Evtx => {
            let mut data = Vec::new();
            BufReader::new(file)
                .read_to_end(&mut data)
                .map_err(|e| PipelineError::io("reading", path, e))?;
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
        FileFormat::Bzip2 | FileFormat::Xz => Err(PipelineError::Input(format!(
            "{name}: {} compression is not read by mamori; decompress it first",
            fmt_name(format)
        ))),
        FileFormat::Pcap => Err(PipelineError::Input(format!("{name}: is a capture"))),
        FileFormat::Unknown => Err(PipelineError::Input(format!(
            "{name}: not a capture, log text, JSON lines or EVTX file (binary or empty)"
        ))),
    }
}

/// Short name of a file format, as shown in summaries.
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
    emit: &mut Emit<'_>,
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
    .map_err(|e| PipelineError::Input(format!("{name}: {e}")))?;
    if let Some(e) = err {
        return Err(PipelineError::Sink(e));
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
    emit: &mut Emit<'_>,
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
            .map_err(|e| PipelineError::Input(format!("reading {name} after line {n}: {e}")))?;
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
                    .read_until(b'\n', &mut rest)
                    .map_err(|e| {
                        PipelineError::Input(format!("reading {name} after line {n}: {e}"))
                    })?;
                if m == 0 || rest.last() == Some(&b'\n') {
                    break;
                }
            }
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        if let Some(ev) = parser.parse(&buf, &ctx) {
            emit(ev).map_err(PipelineError::Sink)?;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    const LINES: &str = "Nov 23 10:00:00 gw sshd[42]: Failed password for root from 192.0.2.7 port 50000 ssh2\n\
                         Nov 23 10:00:01 gw sshd[42]: Accepted password for alice from 192.0.2.8 port 50001 ssh2\n";

    fn parser() -> LogParser {
        LogParser::new(mamori_logparse::LogParserConfig::default()).unwrap()
    }

    #[test]
    fn gzip_log_is_detected_decompressed_and_parsed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.log.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(LINES.as_bytes()).unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();

        let (format, _) = sniff(&path).unwrap();
        assert_eq!(format, FileFormat::Gzip);
        let mut events = Vec::new();
        let mut counters = Counters::new();
        let read = read_log_file(&path, format, &mut parser(), &mut counters, &mut |ev| {
            events.push(ev);
            Ok(())
        })
        .unwrap();
        assert_eq!(read.lines, 2);
        assert_eq!(read.format, "gzip+log");
        assert_eq!(events.len(), 2);
        assert!(events.iter().all(|e| e.dataset == "sshd"), "{events:?}");
    }

    #[test]
    fn a_sink_error_stops_reading_and_is_returned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.log");
        std::fs::write(&path, LINES).unwrap();
        let mut seen = 0;
        let err = read_log_file(
            &path,
            FileFormat::Lines,
            &mut parser(),
            &mut Counters::new(),
            &mut |_| {
                seen += 1;
                Err("disk full".into())
            },
        )
        .unwrap_err();
        assert_eq!(seen, 1);
        assert!(matches!(err, PipelineError::Sink(_)));
        assert_eq!(err.to_string(), "disk full");
    }

    #[test]
    fn binary_garbage_is_refused_with_the_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob.bin");
        std::fs::write(&path, [0u8, 159, 146, 150, 0, 1, 2, 3]).unwrap();
        let (format, _) = sniff(&path).unwrap();
        let err = read_log_file(
            &path,
            format,
            &mut parser(),
            &mut Counters::new(),
            &mut |_| Ok(()),
        )
        .unwrap_err();
        assert!(err.to_string().contains("blob.bin"), "{err}");
    }
}
