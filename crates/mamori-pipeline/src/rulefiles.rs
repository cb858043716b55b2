//! Rule files given on the command line (`--rules`, `rules lint`): YAML files found under
//! the paths, split by format. A file whose top-level keys include `match:` (and not
//! `detection:`) is a mamori threshold/sequence/absence rule file; anything else is Sigma.

use std::path::{Path, PathBuf};

use crate::error::{PipelineError, Result};

/// Whether a YAML rule file is in mamori's own format (top-level `match:`) rather than Sigma.
pub fn is_mamori_rule_file(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("match:"))
        && !text.lines().any(|l| l.starts_with("detection:"))
}

fn yaml_files(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        entries.sort();
        for e in entries {
            yaml_files(&e, out);
        }
    } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
        out.push(p.to_path_buf());
    }
}

/// Rule files split by format, in sorted path order.
#[derive(Debug, Default)]
pub struct RuleFiles {
    /// mamori's own rule format.
    pub mamori: Vec<PathBuf>,
    /// Sigma rules.
    pub sigma: Vec<PathBuf>,
}

impl RuleFiles {
    /// Every `.yml`/`.yaml` file under `paths` (files or folders), classified.
    pub fn find(paths: &[PathBuf]) -> Result<RuleFiles> {
        let mut files = Vec::new();
        for p in paths {
            if !p.exists() {
                return Err(PipelineError::Input(format!(
                    "{}: no such file or folder",
                    p.display()
                )));
            }
            yaml_files(p, &mut files);
        }
        let mut out = RuleFiles::default();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            if is_mamori_rule_file(&text) {
                out.mamori.push(f);
            } else {
                out.sigma.push(f);
            }
        }
        Ok(out)
    }
}
