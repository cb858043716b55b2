//! Named counters for everything that is dropped, rejected or over a limit.
//!
//! "Nothing lost silently": each reason has a stable name (`truncated`, `unknown_linktype`,
//! `bad_checksum_ignored`, …), a count and the first offending sample with its location,
//! so the CLI, the API and the UI can show why input was not used.

use std::collections::BTreeMap;

use serde::Serialize;

/// Maximum length kept of an offending sample.
pub const SAMPLE_MAX: usize = 160;

/// One counter: how often, and a sample of the first occurrence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counter {
    /// Number of occurrences.
    pub count: u64,
    /// Where and what the first occurrence was (e.g. `capture.pcap packet 1312: ...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<String>,
}

/// A set of named counters, ordered by name for stable output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Counters {
    map: BTreeMap<String, Counter>,
}

impl Counters {
    /// Empty.
    pub fn new() -> Counters {
        Counters::default()
    }
    /// Count one occurrence of `name`.
    pub fn incr(&mut self, name: &str) {
        self.add(name, 1);
    }
    /// Count `n` occurrences of `name`.
    pub fn add(&mut self, name: &str, n: u64) {
        if n == 0 {
            return;
        }
        match self.map.get_mut(name) {
            Some(c) => c.count += n,
            None => {
                self.map.insert(
                    name.to_owned(),
                    Counter {
                        count: n,
                        sample: None,
                    },
                );
            }
        }
    }
    /// Count one occurrence and keep `sample` if it is the first for that name.
    pub fn incr_with_sample(&mut self, name: &str, sample: impl FnOnce() -> String) {
        let c = self.map.entry(name.to_owned()).or_default();
        c.count += 1;
        if c.sample.is_none() {
            let mut s = sample();
            if s.len() > SAMPLE_MAX {
                let mut cut = SAMPLE_MAX;
                while !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                s.truncate(cut);
                s.push('…');
            }
            c.sample = Some(s);
        }
    }
    /// Add every counter of `other` into this set.
    pub fn merge(&mut self, other: &Counters) {
        for (k, v) in &other.map {
            let c = self.map.entry(k.clone()).or_default();
            c.count += v.count;
            if c.sample.is_none() {
                c.sample.clone_from(&v.sample);
            }
        }
    }
    /// Forget one counter.
    pub fn remove(&mut self, name: &str) {
        self.map.remove(name);
    }
    /// Count of one name (0 when never seen).
    pub fn get(&self, name: &str) -> u64 {
        self.map.get(name).map_or(0, |c| c.count)
    }
    /// Sum of all counters.
    pub fn total(&self) -> u64 {
        self.map.values().map(|c| c.count).sum()
    }
    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    /// Iterate in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Counter)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_merge_and_keep_first_sample() {
        let mut a = Counters::new();
        a.incr_with_sample("truncated", || "packet 3".into());
        a.incr_with_sample("truncated", || "packet 9".into());
        let mut b = Counters::new();
        b.add("truncated", 5);
        b.incr("unknown_linktype");
        a.merge(&b);
        assert_eq!(a.get("truncated"), 7);
        assert_eq!(a.get("unknown_linktype"), 1);
        assert_eq!(a.total(), 8);
        let (_, c) = a.iter().next().unwrap();
        assert_eq!(c.sample.as_deref(), Some("packet 3"));
    }
}
