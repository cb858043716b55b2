//! `mamori`: network detection and response, log management and vulnerability scanning in
//! one binary. This file only parses the command line and dispatches; each command lives in
//! its own module.

mod analyze;
mod catalog;
mod cli;
mod i18n;
mod output;
mod summary;
mod table;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let lang = cli.lang.unwrap_or_else(i18n::Lang::from_env);
    let result = match cli.command {
        cli::Command::Analyze(args) => analyze::run(args, lang),
        cli::Command::Checks(cmd) => catalog::checks(cmd, lang),
        cli::Command::Parsers(cmd) => catalog::parsers(cmd, lang),
        cli::Command::Rules(cmd) => catalog::rules(cmd, &Default::default()),
        cli::Command::Testkit(cmd) => cli::run_testkit(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mamori: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
