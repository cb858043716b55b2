//! Command-line definitions (clap derive). Field doc comments are the `--help` text.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// mamori (守り): network detection and response, log management and vulnerability scanning.
#[derive(Parser, Debug)]
#[command(name = "mamori", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Language of terminal output (default: from MAMORI_LANG / LANG, e.g. ja_JP.UTF-8 → ja).
    #[arg(long, global = true, value_enum)]
    pub lang: Option<crate::i18n::Lang>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Analyse captures and log files offline: flows, protocol records, log events and a
    /// summary. Each file's format is detected from its content.
    Analyze(AnalyzeArgs),
    /// Built-in network checks: list, explain, validate a config.
    #[command(subcommand)]
    Checks(crate::catalog::ChecksCommand),
    /// Log parsers: list them, or show per line how a file is parsed.
    #[command(subcommand)]
    Parsers(crate::catalog::ParsersCommand),
    /// Rule folders (Sigma): lint.
    #[command(subcommand)]
    Rules(crate::catalog::RulesCommand),
    /// Generate test data (captures) with mamori's own test kit.
    #[command(subcommand)]
    Testkit(TestkitCommand),
}

/// Output format of `analyze`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A summary table for people.
    Table,
    /// One ECS JSON object per line: every flow, protocol record and alert.
    Jsonl,
}

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// Captures (pcap, pcapng) and log files (syslog and product logs, JSON lines such as
    /// Suricata EVE or Winlogbeat, Zeek logs, Windows EVTX; .gz and .zst are decompressed).
    /// Captures are read in order as one continuous packet stream, so rotated captures join.
    #[arg(required = true, value_name = "FILE")]
    pub inputs: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the output here instead of standard output (with --format jsonl the summary is
    /// still printed on the terminal).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Home networks, comma separated CIDRs (sets network.direction). Default: RFC 1918,
    /// RFC 4193 and link-local ranges.
    #[arg(long, value_name = "CIDRS")]
    pub home_net: Option<String>,
    /// Configuration file (sections [sensor] and [detect]; unknown keys are errors).
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Threat-intelligence list file or folder (plain indicators, Maltrail trails, IPsum,
    /// CSV); repeatable. Contact with a listed IP, CIDR, domain, URL, JA3/JA4 or
    /// certificate fingerprint raises an alert.
    #[arg(long, value_name = "PATH")]
    pub intel: Vec<PathBuf>,
    /// Rule folder or file, repeatable: Sigma rules (e.g. a SigmaHQ checkout's
    /// rules/windows) and mamori's own rule files (format of the built-in rules/), recognised
    /// per file.
    #[arg(long, value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Time zone of log timestamps that carry none (IANA name, e.g. UTC). Default:
    /// Asia/Tokyo.
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Only decode and summarise: run no detection.
    #[arg(long)]
    pub no_detect: bool,
    /// No progress bar and no summary (only errors).
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Subcommand, Debug)]
pub enum TestkitCommand {
    /// Write the demo capture: a small office network with normal traffic and attacks.
    WriteDemo {
        /// Where to write the pcap.
        #[arg(default_value = "demo.pcap")]
        path: PathBuf,
    },
    /// Write a large mixed capture for benchmarks.
    WriteBench {
        /// Where to write the pcap.
        path: PathBuf,
        /// Number of packets.
        #[arg(long, default_value_t = 1_000_000)]
        packets: u64,
        /// Number of flows.
        #[arg(long, default_value_t = 50_000)]
        flows: u64,
        /// Random seed (same seed, same bytes).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

pub fn run_testkit(cmd: TestkitCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TestkitCommand::WriteDemo { path } => {
            mamori_testkit::scenario::write_demo(&path)
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "wrote {} (try: mamori analyze {})",
                path.display(),
                path.display()
            );
        }
        TestkitCommand::WriteBench {
            path,
            packets,
            flows,
            seed,
        } => {
            let f = std::fs::File::create(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            let w = std::io::BufWriter::with_capacity(1 << 20, f);
            let stats = mamori_testkit::scenario::bench_capture(w, packets, flows, seed)
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}: {stats:?}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
