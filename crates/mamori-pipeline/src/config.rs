//! `mamori.toml`: one file for every part, each in its own section, unknown keys rejected.
//!
//! ```toml
//! [sensor]                      # mamori_flow::SensorConfig: timeouts, limits, home_nets
//! home_nets = "10.0.0.0/8,192.168.0.0/16"
//!
//! [detect]                      # mamori_detect::DetectConfig: checks, exclusions, scanners, intel
//! allowed_dns_servers = ["10.0.0.53"]
//! [detect.checks.port_scan]
//! thresholds = { min_ports = 50 }
//!
//! [[detect.intel]]
//! path = "/etc/mamori/intel"
//!
//! [rules]                       # mamori_detect::rules::RulesConfig: built-in log checks
//! trap_accounts = ["backup-admin"]
//! ```

use std::path::Path;

use mamori_detect::DetectConfig;
use mamori_flow::SensorConfig;
use serde::Deserialize;

use crate::error::{PipelineError, Result};

/// The whole configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MamoriConfig {
    /// Packet sensor.
    pub sensor: SensorConfig,
    /// Network checks and threat intelligence.
    pub detect: DetectConfig,
    /// Log rules: trap accounts, business hours, allowed sudoers, proxy addresses…
    pub rules: mamori_detect::rules::RulesConfig,
}

impl MamoriConfig {
    /// Read and validate a file; errors name the file, and the line where toml gives one.
    pub fn load(path: &Path) -> Result<MamoriConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PipelineError::io("reading config", path, e))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parse config text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<MamoriConfig> {
        let mut cfg: MamoriConfig = toml::from_str(text).map_err(|e| {
            PipelineError::Config(format!("{origin}: {}", e.to_string().trim_end()))
        })?;
        cfg.detect.origin = origin.to_owned();
        // Validate the detection part now (the engine would, but without file positions).
        if let Err(e) =
            mamori_detect::Engine::new(cfg.detect.clone(), mamori_detect::Intel::empty())
        {
            let msg = e.to_string();
            let line = locate(text, &msg);
            return Err(match line {
                Some(l) => PipelineError::Config(format!("{msg} (near line {l})")),
                None => PipelineError::Config(msg),
            });
        }
        Ok(cfg)
    }
}

/// The first line of `text` containing a quoted value named in an error message.
fn locate(text: &str, msg: &str) -> Option<usize> {
    let quoted: Vec<&str> = msg
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|q| !q.is_empty())
        .collect();
    for q in quoted {
        if let Some(i) = text.lines().position(|l| l.contains(q)) {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readme_example_config_is_valid() {
        let readme = include_str!("../../../README.md");
        let start = readme.find("```toml\n").expect("README has a toml block") + 8;
        let len = readme[start..].find("```").expect("block ends");
        MamoriConfig::parse(&readme[start..start + len], "README.md").unwrap();
    }

    #[test]
    fn sections_parse_and_unknown_keys_are_rejected() {
        let cfg = MamoriConfig::parse(
            "[sensor]\nhome_nets = \"10.0.0.0/8\"\n[detect]\nallowed_dns_servers = [\"10.0.0.53\"]\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(
            cfg.detect.allowed_dns_servers,
            vec!["10.0.0.53".to_string()]
        );
        let err = MamoriConfig::parse("[sensr]\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("t.toml") && err.contains("sensr"), "{err}");
        let err = MamoriConfig::parse("[detect]\nallowed_dns_servers = [\"nonsense\"]\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("nonsense") && err.contains("line 2"), "{err}");
    }
}
