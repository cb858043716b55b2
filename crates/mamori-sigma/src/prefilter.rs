//! Candidate pre-filter: for a group of rules sharing a log source, one Aho–Corasick scan
//! per field finds which rules' necessary literals occur in the event, so only those rules
//! (plus rules with no known necessary literal) are evaluated in full.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use mamori_core::Value;

use crate::detection::KEYWORDS_KEY;
use crate::document::Document;
use crate::rule::Rule;

/// Fewest rules in a group for the pre-filter to be built (below, rules are just tried).
pub const PREFILTER_MIN_RULES: usize = 1;
/// Longest field text scanned (longer values are scanned up to this many bytes, and rules
/// whose needles are not found are still tried — the pre-filter never drops a match).
pub const PREFILTER_MAX_SCAN: usize = 64 * 1024;

/// Needles of one field with the rules that need each.
type NeedleRules = Vec<(String, Vec<u32>)>;

#[derive(Debug, Clone)]
struct FieldScan {
    names: Vec<String>,
    ac: AhoCorasick,
    rules_of_needle: Vec<Vec<u32>>,
    rules: Vec<u32>,
}

/// Rules of one index bucket with their pre-filter.
#[derive(Debug, Clone, Default)]
pub(crate) struct Group {
    /// Rules that are always tried.
    always: Vec<u32>,
    scans: Vec<FieldScan>,
}

impl Group {
    pub(crate) fn build(rule_ids: &[u32], rules: &[Rule]) -> Group {
        if rule_ids.len() < PREFILTER_MIN_RULES {
            return Group {
                always: rule_ids.to_vec(),
                scans: Vec::new(),
            };
        }
        let mut always = Vec::new();
        // field names → (needle → rules)
        let mut fields: Vec<(Vec<String>, NeedleRules)> = Vec::new();
        for &ri in rule_ids {
            let Some(need) = rules.get(ri as usize).and_then(|r| r.detection.necessary()) else {
                always.push(ri);
                continue;
            };
            for (names, needles) in need {
                let pos = match fields.iter().position(|(n, _)| *n == names) {
                    Some(p) => p,
                    None => {
                        fields.push((names, Vec::new()));
                        fields.len() - 1
                    }
                };
                let Some((_, list)) = fields.get_mut(pos) else {
                    continue;
                };
                for n in needles {
                    match list.iter_mut().find(|(x, _)| *x == n) {
                        Some((_, rs)) => {
                            if !rs.contains(&ri) {
                                rs.push(ri)
                            }
                        }
                        None => list.push((n, vec![ri])),
                    }
                }
            }
        }
        let mut scans = Vec::new();
        for (names, list) in fields {
            let pats: Vec<&str> = list.iter().map(|(n, _)| n.as_str()).collect();
            let mut all: Vec<u32> = list.iter().flat_map(|(_, r)| r.iter().copied()).collect();
            all.sort_unstable();
            all.dedup();
            match AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(true)
                .build(&pats)
            {
                Ok(ac) => scans.push(FieldScan {
                    names,
                    ac,
                    rules_of_needle: list.into_iter().map(|(_, r)| r).collect(),
                    rules: all,
                }),
                // Could not build (too large): fall back to trying these rules always.
                Err(_) => always.extend(all),
            }
        }
        always.sort_unstable();
        always.dedup();
        Group { always, scans }
    }

    pub(crate) fn candidates<D: Document + ?Sized>(&self, doc: &D, out: &mut Vec<u32>) {
        out.extend_from_slice(&self.always);
        for s in &self.scans {
            let mut scan = |text: &str| {
                if text.len() > PREFILTER_MAX_SCAN {
                    out.extend_from_slice(&s.rules);
                    return;
                }
                // Needles are lowercase and the automaton folds ASCII case, so only
                // non-ASCII text needs lowercasing.
                let lower;
                let t: &str = if text.is_ascii() {
                    text
                } else {
                    lower = text.to_lowercase();
                    &lower
                };
                for m in s.ac.find_overlapping_iter(t) {
                    if let Some(rs) = s.rules_of_needle.get(m.pattern().as_usize()) {
                        out.extend_from_slice(rs);
                    }
                }
            };
            if s.names.first().is_some_and(|n| n == KEYWORDS_KEY) {
                doc.any_keyword(&mut |t| {
                    scan(t);
                    false
                });
                continue;
            }
            let Some(v) = s.names.iter().find_map(|n| doc.get(n)) else {
                continue;
            };
            for item in v.items() {
                match item {
                    Value::Str(t) => scan(t),
                    other => scan(&other.to_string()),
                }
            }
        }
    }
}
