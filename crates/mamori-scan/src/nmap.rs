//! The nmap runner: validated options → argument vector (never a shell), a time budget that
//! kills nmap and keeps the partial XML, and progress from `<taskprogress>` / `--stats-every`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::model::ScanResult;
use crate::nmap_xml::{self, NmapXmlError, Progress};
use crate::target::Target;

/// Longest stderr tail kept for error messages (lines).
pub const NMAP_STDERR_TAIL_LINES: usize = 20;
/// Largest `--top-ports` value.
pub const NMAP_MAX_TOP_PORTS: u32 = 65_535;
/// Most explicit ports in a `-p` list.
pub const NMAP_MAX_PORT_LIST: usize = 65_535;
/// Default overall time budget.
pub const NMAP_DEFAULT_BUDGET: Duration = Duration::from_secs(4 * 3600);
/// Default progress interval.
pub const NMAP_DEFAULT_STATS_EVERY: Duration = Duration::from_secs(10);
/// Packet rate used by polite mode when no `max_rate` is given.
pub const NMAP_POLITE_MAX_RATE: u32 = 100;
/// Longest NSE script name accepted.
pub const NMAP_SCRIPT_NAME_MAX: usize = 64;

/// Errors of the nmap runner.
#[derive(Debug, thiserror::Error)]
pub enum NmapError {
    /// nmap is not installed or not executable.
    #[error("nmap not found ({path}): install nmap or use the built-in connect scanner: {reason}")]
    Missing {
        /// Path or name tried.
        path: String,
        /// OS error.
        reason: String,
    },
    /// An option was invalid.
    #[error("invalid nmap option {option}: {reason}")]
    BadOption {
        /// Option name.
        option: &'static str,
        /// Why.
        reason: String,
    },
    /// A SYN scan was asked for without privileges.
    #[error(
        "syn scan (-sS) needs root or CAP_NET_RAW; run as root or choose a connect scan (-sT)"
    )]
    NotPrivileged,
    /// nmap failed and produced no usable XML.
    #[error("nmap failed (exit {status}): {stderr}")]
    Failed {
        /// Exit status text.
        status: String,
        /// Last stderr lines.
        stderr: String,
    },
    /// The XML output could not be used.
    #[error(transparent)]
    Xml(#[from] NmapXmlError),
    /// Spawning or waiting failed.
    #[error("running nmap: {0}")]
    Io(#[from] std::io::Error),
}

/// Which TCP scan technique.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScanType {
    /// `-sS` when privileged, else `-sT`.
    #[default]
    Auto,
    /// `-sT`, works unprivileged.
    Connect,
    /// `-sS`, needs raw sockets.
    Syn,
}

/// Which ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSelection {
    /// `--top-ports N`.
    Top(u32),
    /// `-p` list.
    List(Vec<u16>),
}

impl Default for PortSelection {
    fn default() -> Self {
        PortSelection::Top(1000)
    }
}

/// Options of one nmap run.
#[derive(Debug, Clone)]
pub struct NmapOptions {
    /// Validated targets.
    pub targets: Vec<Target>,
    /// Ports.
    pub ports: PortSelection,
    /// Technique.
    pub scan_type: ScanType,
    /// `-sV`.
    pub service_detection: bool,
    /// `-T0`…`-T5` (polite mode uses `-T2`).
    pub timing: Option<u8>,
    /// Polite mode: `-T2` and `--max-rate` (default [`NMAP_POLITE_MAX_RATE`]).
    pub polite: bool,
    /// `--max-rate` packets per second.
    pub max_rate: Option<u32>,
    /// `--host-timeout`.
    pub host_timeout: Option<Duration>,
    /// Overall budget: nmap is killed after it and the result is labelled partial.
    pub budget: Duration,
    /// `--stats-every`.
    pub stats_every: Duration,
    /// NSE scripts (`vulners`), names only.
    pub scripts: Vec<String>,
}

impl Default for NmapOptions {
    fn default() -> Self {
        NmapOptions {
            targets: Vec::new(),
            ports: PortSelection::default(),
            scan_type: ScanType::Auto,
            service_detection: true,
            timing: None,
            polite: false,
            max_rate: None,
            host_timeout: None,
            budget: NMAP_DEFAULT_BUDGET,
            stats_every: NMAP_DEFAULT_STATS_EVERY,
            scripts: Vec::new(),
        }
    }
}

fn secs_arg(d: Duration) -> String {
    format!("{}s", d.as_secs().max(1))
}

/// Build the nmap argument vector (without the program name).
///
/// ```
/// use mamori_scan::nmap::{build_args, NmapOptions, PortSelection, ScanType};
/// use mamori_scan::target::Target;
/// let opts = NmapOptions {
///     targets: vec![Target::parse("192.0.2.0/28").unwrap()],
///     ports: PortSelection::Top(100),
///     scan_type: ScanType::Connect,
///     polite: true,
///     ..NmapOptions::default()
/// };
/// let args = build_args(&opts, false).unwrap();
/// assert_eq!(args.first().map(String::as_str), Some("-oX"));
/// assert!(args.windows(2).any(|w| w[0] == "--max-rate" && w[1] == "100"));
/// assert_eq!(args.last().map(String::as_str), Some("192.0.2.0/28"));
/// ```
pub fn build_args(opts: &NmapOptions, privileged: bool) -> Result<Vec<String>, NmapError> {
    if opts.targets.is_empty() {
        return Err(NmapError::BadOption {
            option: "targets",
            reason: "no targets".into(),
        });
    }
    let mut a: Vec<String> = vec!["-oX".into(), "-".into()];
    match opts.scan_type {
        ScanType::Connect => a.push("-sT".into()),
        ScanType::Syn if !privileged => return Err(NmapError::NotPrivileged),
        ScanType::Syn => a.push("-sS".into()),
        ScanType::Auto => a.push(if privileged { "-sS" } else { "-sT" }.into()),
    }
    if opts.service_detection {
        a.push("-sV".into());
    }
    match &opts.ports {
        PortSelection::Top(n) => {
            if *n == 0 || *n > NMAP_MAX_TOP_PORTS {
                return Err(NmapError::BadOption {
                    option: "--top-ports",
                    reason: format!("{n} is not between 1 and {NMAP_MAX_TOP_PORTS}"),
                });
            }
            a.push("--top-ports".into());
            a.push(n.to_string());
        }
        PortSelection::List(ports) => {
            if ports.is_empty() || ports.len() > NMAP_MAX_PORT_LIST || ports.contains(&0) {
                return Err(NmapError::BadOption {
                    option: "-p",
                    reason: "empty list, port 0 or too many ports".into(),
                });
            }
            a.push("-p".into());
            a.push(
                ports
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
    }
    let timing = if opts.polite {
        Some(opts.timing.unwrap_or(2).min(2))
    } else {
        opts.timing
    };
    if let Some(t) = timing {
        if t > 5 {
            return Err(NmapError::BadOption {
                option: "-T",
                reason: format!("timing template {t} is not 0-5"),
            });
        }
        a.push(format!("-T{t}"));
    }
    let rate = opts
        .max_rate
        .or(opts.polite.then_some(NMAP_POLITE_MAX_RATE));
    if let Some(r) = rate {
        if r == 0 {
            return Err(NmapError::BadOption {
                option: "--max-rate",
                reason: "must be positive".into(),
            });
        }
        a.push("--max-rate".into());
        a.push(r.to_string());
    }
    if let Some(t) = opts.host_timeout {
        a.push("--host-timeout".into());
        a.push(secs_arg(t));
    }
    if !opts.scripts.is_empty() {
        for s in &opts.scripts {
            let ok = !s.is_empty()
                && s.len() <= NMAP_SCRIPT_NAME_MAX
                && !s.starts_with('-')
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(NmapError::BadOption {
                    option: "--script",
                    reason: format!("script name {s:?} must be letters, digits, - or _"),
                });
            }
        }
        a.push("--script".into());
        a.push(opts.scripts.join(","));
    }
    a.push("--stats-every".into());
    a.push(secs_arg(opts.stats_every));
    for t in &opts.targets {
        // Targets were validated by Target::parse; re-check the invariant that none looks like an option.
        let s = t.to_string();
        if s.starts_with('-') {
            return Err(NmapError::BadOption {
                option: "target",
                reason: format!("{s:?} looks like an option"),
            });
        }
        a.push(s);
    }
    Ok(a)
}

/// An nmap installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NmapInfo {
    /// Program path.
    pub path: PathBuf,
    /// Version (`7.94SVN`).
    pub version: String,
}

/// Find nmap (`path` or `nmap` on PATH) and read its version.
pub fn detect(path: Option<&Path>) -> Result<NmapInfo, NmapError> {
    let prog = path.map_or_else(|| PathBuf::from("nmap"), Path::to_path_buf);
    let out = Command::new(&prog)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| NmapError::Missing {
            path: prog.display().to_string(),
            reason: e.to_string(),
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = parse_version_output(&text).ok_or_else(|| NmapError::Missing {
        path: prog.display().to_string(),
        reason: format!(
            "`--version` did not print an nmap version: {:?}",
            text.chars().take(80).collect::<String>()
        ),
    })?;
    Ok(NmapInfo {
        path: prog,
        version,
    })
}

/// Extract the version from `nmap --version` output (`Nmap version 7.94SVN ( https://nmap.org )`).
pub fn parse_version_output(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("Nmap version ")?;
        let v = rest.split_whitespace().next()?;
        Some(v.to_string())
    })
}

/// Whether this process runs with effective uid 0 (from `/proc/self/status`).
pub fn is_privileged() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                let rest = l.strip_prefix("Uid:")?;
                rest.split_whitespace().nth(1).map(|e| e == "0")
            })
        })
        .unwrap_or(false)
}

/// Parse a `--stats-every` line such as
/// `SYN Stealth Scan Timing: About 12.34% done; ETC: 12:00 (0:00:30 remaining)`.
pub fn parse_stats_line(line: &str) -> Option<Progress> {
    let (task, rest) = line.split_once(" Timing: About ")?;
    let (pct, rest) = rest.split_once('%')?;
    let percent: f64 = pct.trim().parse().ok()?;
    if !(0.0..=100.0).contains(&percent) {
        return None;
    }
    let remaining_secs = rest.split_once('(').and_then(|(_, r)| {
        let hms = r.split_whitespace().next()?;
        let mut secs: u64 = 0;
        for part in hms.split(':') {
            secs = secs.checked_mul(60)?.checked_add(part.parse().ok()?)?;
        }
        Some(secs)
    });
    Some(Progress {
        task: task.trim().to_string(),
        percent,
        remaining_secs,
    })
}

/// Poll interval while waiting for nmap.
const POLL: Duration = Duration::from_millis(100);

/// Run nmap with `opts`; progress is reported as it streams. On budget expiry nmap is killed and
/// the hosts completed so far are returned with `partial` set.
pub fn run(
    nmap: &NmapInfo,
    opts: &NmapOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ScanResult, NmapError> {
    let args = build_args(opts, is_privileged())?;
    run_program(&nmap.path, &args, opts.budget, progress).map(|mut r| {
        r.targets = opts.targets.iter().map(Target::to_string).collect();
        if r.scanner_version.is_none() {
            r.scanner_version = Some(nmap.version.clone());
        }
        r
    })
}

/// Run `program args…` expecting nmap XML on stdout (separate for tests with a stand-in program).
pub fn run_program(
    program: &Path,
    args: &[String],
    budget: Duration,
    progress: &mut dyn FnMut(Progress),
) -> Result<ScanResult, NmapError> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                NmapError::Missing {
                    path: program.display().to_string(),
                    reason: e.to_string(),
                }
            }
            _ => NmapError::Io(e),
        })?;
    let (tx, rx) = mpsc::channel::<Progress>();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let tx_out = tx.clone();
    let out_thread = std::thread::spawn(move || {
        let stdout = stdout?;
        let mut cb = |p: Progress| {
            let _ = tx_out.send(p);
        };
        Some(nmap_xml::parse_with_progress(
            BufReader::new(stdout),
            "nmap stdout",
            &mut cb,
        ))
    });
    let err_thread = std::thread::spawn(move || {
        let mut tail: Vec<String> = Vec::new();
        if let Some(stderr) = stderr {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(p) = parse_stats_line(&line) {
                    let _ = tx.send(p);
                    continue;
                }
                if tail.len() >= NMAP_STDERR_TAIL_LINES {
                    tail.remove(0);
                }
                tail.push(line.chars().take(300).collect());
            }
        }
        tail
    });
    let deadline = Instant::now() + budget;
    let mut timed_out = false;
    let status = loop {
        while let Ok(p) = rx.try_recv() {
            progress(p);
        }
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            let _ = child.kill();
            break child.wait()?;
        }
        if let Ok(p) = rx.recv_timeout(POLL) {
            progress(p);
        }
    };
    let parsed = out_thread.join().ok().flatten();
    let tail = err_thread.join().unwrap_or_default();
    while let Ok(p) = rx.try_recv() {
        progress(p);
    }
    let stderr = tail.join("\n");
    match parsed {
        Some(Ok(mut r)) => {
            if timed_out {
                let detail = r
                    .partial_reason
                    .take()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default();
                r.partial = true;
                r.partial_reason = Some(format!(
                    "time budget of {}s exceeded; nmap was stopped{detail}",
                    budget.as_secs()
                ));
            } else if !status.success() {
                r.mark_partial(format!("nmap exited with {status}: {stderr}"));
            }
            Ok(r)
        }
        Some(Err(e)) if status.success() => Err(e.into()),
        _ => Err(NmapError::Failed {
            status: if timed_out {
                format!("killed after time budget of {}s", budget.as_secs())
            } else {
                status.to_string()
            },
            stderr,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> NmapOptions {
        NmapOptions {
            targets: vec![Target::parse("127.0.0.1").unwrap()],
            ..NmapOptions::default()
        }
    }

    #[test]
    fn args_are_safe_and_complete() {
        let mut o = opts();
        o.ports = PortSelection::List(vec![22, 80]);
        o.host_timeout = Some(Duration::from_secs(90));
        o.timing = Some(4);
        o.max_rate = Some(500);
        o.scripts = vec!["vulners".into()];
        let a = build_args(&o, true).unwrap();
        assert_eq!(
            a,
            [
                "-oX",
                "-",
                "-sS",
                "-sV",
                "-p",
                "22,80",
                "-T4",
                "--max-rate",
                "500",
                "--host-timeout",
                "90s",
                "--script",
                "vulners",
                "--stats-every",
                "10s",
                "127.0.0.1"
            ]
        );
        let a = build_args(&opts(), false).unwrap();
        assert!(a.contains(&"-sT".to_string()));
        assert!(a.windows(2).any(|w| w == ["--top-ports", "1000"]));
        let mut polite = opts();
        polite.polite = true;
        polite.timing = Some(4);
        let a = build_args(&polite, false).unwrap();
        assert!(a.contains(&"-T2".to_string()), "polite caps timing at T2");
        assert!(a.windows(2).any(|w| w == ["--max-rate", "100"]));
    }

    #[test]
    fn bad_options_rejected() {
        let mut o = opts();
        o.scan_type = ScanType::Syn;
        assert!(matches!(
            build_args(&o, false),
            Err(NmapError::NotPrivileged)
        ));
        let mut o = opts();
        o.scripts = vec!["vulners,--interactive".into()];
        assert!(build_args(&o, false).is_err());
        let mut o = opts();
        o.timing = Some(9);
        assert!(build_args(&o, false).is_err());
        let mut o = opts();
        o.ports = PortSelection::Top(0);
        assert!(build_args(&o, false).is_err());
        let mut o = opts();
        o.ports = PortSelection::List(vec![0]);
        assert!(build_args(&o, false).is_err());
        assert!(build_args(&NmapOptions::default(), false).is_err());
    }

    #[test]
    fn stats_and_version_lines() {
        let p = parse_stats_line(
            "SYN Stealth Scan Timing: About 12.34% done; ETC: 12:00 (0:01:30 remaining)",
        )
        .unwrap();
        assert_eq!(p.task, "SYN Stealth Scan");
        assert_eq!(p.percent, 12.34);
        assert_eq!(p.remaining_secs, Some(90));
        assert!(parse_stats_line("Stats: 0:00:05 elapsed; 0 hosts completed").is_none());
        assert!(parse_stats_line("X Timing: About 500% done").is_none());
        assert_eq!(
            parse_version_output("\nNmap version 7.94SVN ( https://nmap.org )\nPlatform: x")
                .as_deref(),
            Some("7.94SVN")
        );
        assert_eq!(parse_version_output("garbage"), None);
    }

    #[test]
    fn missing_nmap_is_a_clear_error() {
        let e = detect(Some(Path::new("/nonexistent/nmap-xyz"))).unwrap_err();
        assert!(matches!(e, NmapError::Missing { .. }));
        assert!(e.to_string().contains("/nonexistent/nmap-xyz"));
        let e = run_program(
            Path::new("/nonexistent/nmap-xyz"),
            &[],
            Duration::from_secs(1),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(e, NmapError::Missing { .. }));
    }

    #[test]
    fn budget_kills_and_keeps_partial_output() {
        // A stand-in for nmap: prints one complete host, then hangs.
        let script = "printf '<nmaprun scanner=\"nmap\" version=\"7.0\"><host><status state=\"up\"/><address addr=\"127.0.0.1\" addrtype=\"ipv4\"/></host>'; echo 'Connect Scan Timing: About 50.00% done; ETC: 1:00 (0:00:10 remaining)' >&2; exec sleep 30";
        let mut seen = Vec::new();
        let start = Instant::now();
        let r = run_program(
            Path::new("/bin/sh"),
            &["-c".into(), script.into()],
            Duration::from_millis(700),
            &mut |p| seen.push(p),
        )
        .unwrap();
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(r.partial);
        assert!(r.partial_reason.unwrap().contains("time budget"));
        assert_eq!(r.hosts.len(), 1);
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].percent, 50.0);
    }

    #[test]
    fn failing_program_without_xml() {
        let e = run_program(
            Path::new("/bin/sh"),
            &["-c".into(), "echo 'Failed to resolve' >&2; exit 1".into()],
            Duration::from_secs(5),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(e.to_string().contains("Failed to resolve"), "{e}");
    }

    /// Runs the real nmap against a listener on 127.0.0.1 when nmap is installed.
    #[test]
    fn real_nmap_on_loopback_if_installed() {
        let Ok(info) = detect(None) else {
            eprintln!("nmap not installed; skipping");
            return;
        };
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                use std::io::Write;
                let mut s = s;
                let _ = s.write_all(b"SSH-2.0-OpenSSH_7.4\r\n");
            }
        });
        let o = NmapOptions {
            targets: vec![Target::parse("127.0.0.1").unwrap()],
            ports: PortSelection::List(vec![port]),
            scan_type: ScanType::Connect,
            budget: Duration::from_secs(120),
            ..NmapOptions::default()
        };
        let r = run(&info, &o, &mut |_| {}).unwrap();
        let p = &r.hosts[0].ports[0];
        assert_eq!((p.port, p.state.as_str()), (port, "open"));
        let svc = p.service.as_ref().unwrap();
        assert_eq!(svc.product.as_deref(), Some("OpenSSH"));
    }
}
