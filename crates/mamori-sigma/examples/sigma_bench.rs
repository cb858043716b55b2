//! Throughput of the Sigma engine with a full rule set over generated Windows and Linux
//! events, on one core.
//!
//! ```text
//! cargo run --release -p mamori-sigma --example sigma_bench -- ../shared/corpus/sigma 1000000
//! ```
//! The first argument is a folder whose `rules*` subfolders are loaded (or a rule folder).

use std::path::{Path, PathBuf};
use std::time::Instant;

use mamori_core::{Event, Timestamp};
use mamori_sigma::{LoadOptions, RuleSetBuilder};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        let i = (self.next() % v.len() as u64) as usize;
        v.get(i).copied().unwrap_or("")
    }
}

const IMAGES: &[&str] = &[
    "C:\\Windows\\System32\\svchost.exe",
    "C:\\Windows\\System32\\cmd.exe",
    "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
    "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
    "C:\\Windows\\explorer.exe",
    "C:\\Windows\\System32\\rundll32.exe",
    "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
    "C:\\Users\\taro\\AppData\\Local\\Temp\\setup.exe",
];
const CMDS: &[&str] = &[
    "svchost.exe -k netsvcs -p -s Schedule",
    "cmd.exe /c dir C:\\Users",
    "powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\scripts\\backup.ps1",
    "\"chrome.exe\" --type=renderer --lang=ja",
    "rundll32.exe C:\\Windows\\System32\\shell32.dll,Control_RunDLL",
    "whoami /all",
    "net user",
];
const USERS: &[&str] = &["taro", "hanako", "administrator", "svc_backup", "SYSTEM"];
const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";

fn gen(rng: &mut Rng, i: u64) -> Event {
    let ts = Timestamp::from_unix_secs(1_700_000_000 + (i / 100) as i64);
    let kind = rng.next() % 10;
    let mut e;
    match kind {
        0..=2 => {
            e = Event::new(ts, "windows.sysmon");
            e.set("event.code", "1")
                .set("winlog.channel", SYSMON)
                .set("winlog.event_data.Image", rng.pick(IMAGES))
                .set("winlog.event_data.CommandLine", rng.pick(CMDS))
                .set("winlog.event_data.ParentImage", rng.pick(IMAGES))
                .set("winlog.event_data.User", rng.pick(USERS))
                .set("winlog.event_data.IntegrityLevel", "Medium");
        }
        3 => {
            e = Event::new(ts, "windows.sysmon");
            e.set("event.code", "3")
                .set("winlog.channel", SYSMON)
                .set("winlog.event_data.Image", rng.pick(IMAGES))
                .set("winlog.event_data.DestinationIp", "203.0.113.7")
                .set("winlog.event_data.DestinationPort", 443)
                .set("winlog.event_data.Initiated", "true");
        }
        4 => {
            e = Event::new(ts, "windows.sysmon");
            e.set("event.code", "11")
                .set("winlog.channel", SYSMON)
                .set("winlog.event_data.Image", rng.pick(IMAGES))
                .set(
                    "winlog.event_data.TargetFilename",
                    "C:\\Users\\taro\\Documents\\report.docx",
                );
        }
        5 => {
            e = Event::new(ts, "windows.sysmon");
            e.set("event.code", "13")
                .set("winlog.channel", SYSMON)
                .set("winlog.event_data.Image", rng.pick(IMAGES))
                .set(
                    "winlog.event_data.TargetObject",
                    "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater",
                )
                .set(
                    "winlog.event_data.Details",
                    "C:\\Program Files\\Updater\\upd.exe",
                );
        }
        6 => {
            e = Event::new(ts, "windows.sysmon");
            e.set("event.code", "7")
                .set("winlog.channel", SYSMON)
                .set("winlog.event_data.Image", rng.pick(IMAGES))
                .set(
                    "winlog.event_data.ImageLoaded",
                    "C:\\Windows\\System32\\kernel32.dll",
                );
        }
        7 => {
            e = Event::new(ts, "windows.security");
            let code = if rng.next().is_multiple_of(2) {
                "4624"
            } else {
                "4625"
            };
            e.set("event.code", code)
                .set("winlog.channel", "Security")
                .set("winlog.event_data.TargetUserName", rng.pick(USERS))
                .set("winlog.event_data.LogonType", 3)
                .set("winlog.event_data.IpAddress", "10.0.0.5");
        }
        8 => {
            e = Event::new(ts, "windows.powershell");
            e.set("event.code", "4104")
                .set("winlog.channel", "Microsoft-Windows-PowerShell/Operational")
                .set("winlog.event_data.ScriptBlockText", "Get-ChildItem -Path C:\\Users | Where-Object { $_.Length -gt 1000 } | Select-Object Name");
        }
        _ => {
            e = Event::new(ts, "sshd");
            e.set(
                "message",
                "Failed password for invalid user admin from 198.51.100.4 port 50122 ssh2",
            )
            .set("user.name", rng.pick(USERS))
            .set("source.ip", "198.51.100.4");
        }
    }
    e.set("host.name", "PC-0012");
    e
}

/// CPU seconds used by this process so far (Linux `/proc/self/stat`, 100 ticks/s), so the
/// figure is per core even on a busy machine.
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let root = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "../shared/corpus/sigma".into()),
    );
    let n: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let t0 = Instant::now();
    let mut b = RuleSetBuilder::new(LoadOptions::default());
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    dirs.sort();
    let mut any = false;
    for d in &dirs {
        if d.is_dir()
            && d.file_name()
                .and_then(|s| s.to_str())
                .is_some_and(|s| s.starts_with("rules"))
        {
            b.add_dir(d);
            any = true;
        }
    }
    if !any {
        b.add_dir(Path::new(&root));
    }
    let (set, report) = b.build();
    println!(
        "rules loaded: {} (unsupported {}, errors {}) in {:.2} s",
        report.loaded(),
        report.unsupported(),
        report.errors(),
        t0.elapsed().as_secs_f64()
    );
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let events: Vec<Event> = (0..n).map(|i| gen(&mut rng, i)).collect();
    let t0 = Instant::now();
    let c0 = cpu_secs();
    let mut cands = 0u64;
    for e in &events {
        cands += set.candidates(e).len() as u64;
    }
    let dt_cand = t0.elapsed().as_secs_f64();
    if let (Some(a), Some(b)) = (c0, cpu_secs()) {
        println!("candidate selection used {:.2} CPU s", b - a);
    }
    let t1 = Instant::now();
    let c1 = cpu_secs();
    let mut hits = 0u64;
    for e in &events {
        hits += set.matches(e).count() as u64;
    }
    let dt = t1.elapsed().as_secs_f64();
    if let (Some(a), Some(b)) = (c1, cpu_secs()) {
        println!(
            "matching used {:.2} CPU s = {:.0} events per CPU second (wall {:.2} s)",
            b - a,
            n as f64 / (b - a).max(0.01),
            dt
        );
    }
    println!(
        "candidate selection alone: {:.0} events/s",
        n as f64 / dt_cand
    );
    if std::env::var_os("SIGMA_BENCH_PROFILE").is_some() {
        let mut per_rule: Vec<(f64, usize)> = vec![(0.0, 0); set.rules().len()];
        for e in events.iter().take(20_000) {
            for i in set.candidates(e) {
                let Some(r) = set.rules().get(i as usize) else {
                    continue;
                };
                let t = Instant::now();
                let _ = r.matches(e);
                if let Some(slot) = per_rule.get_mut(i as usize) {
                    slot.0 += t.elapsed().as_secs_f64();
                    slot.1 += 1;
                }
            }
        }
        let mut order: Vec<usize> = (0..per_rule.len()).collect();
        order.sort_by(|a, b| per_rule[*b].0.total_cmp(&per_rule[*a].0));
        for i in order.into_iter().take(15) {
            let r = &set.rules()[i];
            println!(
                "  {:>8.3} ms {:>6} evals  {} ({})",
                per_rule[i].0 * 1e3,
                per_rule[i].1,
                r.title,
                r.origin
            );
        }
    }
    println!(
        "{n} events in {dt:.3} s = {:.0} events/s on one core; {hits} rule matches; {:.1} candidate rules per event",
        n as f64 / dt,
        cands as f64 / n as f64
    );
}
