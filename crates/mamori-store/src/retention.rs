//! Retention: hot days, archive, deletion after N days, disk quota.
//!
//! Ages are whole UTC days: `age = day(now) - day(segment)`. A segment is hot while
//! `age < hot_days`, moves to `archive/` (same relative path, same manifest entry, still
//! verified and scanned) when `age >= hot_days`, and is due for deletion when
//! `age >= delete_after_days`. With the defaults (90 / 400): day 89 hot, day 90 archived,
//! day 399 kept, day 400 deleted. A deletion setting below [`RECOMMENDED_MIN_DAYS`] is
//! refused unless `allow_below_recommended` is set, and is then flagged in every plan.
//! Over the disk quota, the oldest segments are deleted first and the plan warns before
//! [`apply`] acts; a warning is also raised at [`QUOTA_WARN_PERCENT`] of the quota.
//! Every action is appended to the manifest (deletions) and to the SQLite audit log.

use std::collections::BTreeMap;
use std::fs;

use mamori_core::Timestamp;
use serde::Serialize;

use crate::db::{AuditEntry, Db};
use crate::error::{Result, StoreError};
use crate::manifest::{Entry, Op};
use crate::store::{day_of, Store};

/// Default hot days.
pub const DEFAULT_HOT_DAYS: u32 = 90;
/// Default deletion age in days.
pub const DEFAULT_DELETE_AFTER_DAYS: u32 = 400;
/// The standard's recommendation: keep logs at least a year.
pub const RECOMMENDED_MIN_DAYS: u32 = 365;
/// Usage (percent of quota) at which plans warn.
pub const QUOTA_WARN_PERCENT: u64 = 90;

/// Retention of one dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetentionPolicy {
    /// Days kept under `segments/`.
    pub hot_days: u32,
    /// Age at which segments are deleted.
    pub delete_after_days: u32,
    /// Allow `delete_after_days` below [`RECOMMENDED_MIN_DAYS`] (flagged in reports).
    pub allow_below_recommended: bool,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            hot_days: DEFAULT_HOT_DAYS,
            delete_after_days: DEFAULT_DELETE_AFTER_DAYS,
            allow_below_recommended: false,
        }
    }
}

/// Retention of a store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionConfig {
    /// Policy of datasets not listed in `per_dataset`.
    pub default: RetentionPolicy,
    /// Per-dataset overrides.
    pub per_dataset: BTreeMap<String, RetentionPolicy>,
    /// Disk quota for segments (hot + archive) in bytes.
    pub quota_bytes: Option<u64>,
}

impl RetentionConfig {
    /// The policy of a dataset.
    pub fn policy(&self, dataset: &str) -> &RetentionPolicy {
        self.per_dataset.get(dataset).unwrap_or(&self.default)
    }

    /// Check the settings; returns the names (`default` or dataset) below the recommendation.
    pub fn validate(&self) -> Result<Vec<String>> {
        let mut flagged = Vec::new();
        let all = std::iter::once(("default", &self.default))
            .chain(self.per_dataset.iter().map(|(k, v)| (k.as_str(), v)));
        for (name, p) in all {
            if p.delete_after_days < p.hot_days {
                return Err(StoreError::Config {
                    name: "retention.delete_after_days",
                    value: format!("{name}={}", p.delete_after_days),
                    reason: format!("must not be below hot_days ({})", p.hot_days),
                });
            }
            if p.delete_after_days < RECOMMENDED_MIN_DAYS {
                if !p.allow_below_recommended {
                    return Err(StoreError::Config {
                        name: "retention.delete_after_days",
                        value: format!("{name}={}", p.delete_after_days),
                        reason: format!(
                            "below the recommended {RECOMMENDED_MIN_DAYS} days; set allow_below_recommended to override"
                        ),
                    });
                }
                flagged.push(name.to_owned());
            }
        }
        Ok(flagged)
    }
}

/// Where a segment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Under `segments/`.
    Hot,
    /// Under `archive/`.
    Archived,
}

/// What retention will do to a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    /// Move to `archive/`.
    Archive,
    /// Delete (recorded in the manifest).
    Delete,
}

/// One planned action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    /// What.
    pub kind: ActionKind,
    /// Manifest seq of the segment.
    pub seq: u64,
    /// Dataset.
    pub dataset: String,
    /// Day `yyyy-mm-dd`.
    pub day: String,
    /// Age in days.
    pub age_days: i64,
    /// Size in bytes.
    pub size: u64,
    /// `age` or `quota`.
    pub reason: &'static str,
}

/// State of one live segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentStatus {
    /// Manifest seq.
    pub seq: u64,
    /// Dataset.
    pub dataset: String,
    /// Day.
    pub day: String,
    /// Age in days.
    pub age_days: i64,
    /// Current tier.
    pub tier: Tier,
    /// Size.
    pub size: u64,
}

/// What is hot, archived and due ([`plan`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetentionPlan {
    /// The "now" it was computed for.
    pub now: Timestamp,
    /// Every live segment.
    pub segments: Vec<SegmentStatus>,
    /// Actions to take, in order.
    pub actions: Vec<Action>,
    /// Warnings to show (and alert on) before applying.
    pub warnings: Vec<String>,
    /// Policies below the recommended minimum (`default` or dataset names).
    pub below_recommended: Vec<String>,
    /// Bytes of live segments now.
    pub total_bytes: u64,
    /// Bytes after the actions.
    pub bytes_after: u64,
}

/// Compute the retention plan for `now` (wall time, passed in).
pub fn plan(store: &Store, cfg: &RetentionConfig, now: Timestamp) -> Result<RetentionPlan> {
    let below = cfg.validate()?;
    let today = day_of(now);
    let mut p = RetentionPlan {
        now,
        segments: Vec::new(),
        actions: Vec::new(),
        warnings: Vec::new(),
        below_recommended: below.clone(),
        total_bytes: 0,
        bytes_after: 0,
    };
    for b in &below {
        p.warnings.push(format!(
            "retention for {b} is below the recommended {RECOMMENDED_MIN_DAYS} days (override in effect)"
        ));
    }
    let mut live = store.manifest().live_segments();
    live.sort_by_key(|s| (s.entry.min_ts, s.entry.seq));
    let mut kept = Vec::new();
    for s in &live {
        let e = &s.entry;
        let age = today - day_of(Timestamp::from_unix_nanos(e.min_ts));
        let pol = cfg.policy(&e.dataset);
        p.total_bytes += e.size;
        p.segments.push(SegmentStatus {
            seq: e.seq,
            dataset: e.dataset.clone(),
            day: e.day.clone(),
            age_days: age,
            tier: if s.archived {
                Tier::Archived
            } else {
                Tier::Hot
            },
            size: e.size,
        });
        let act = |kind, reason| Action {
            kind,
            seq: e.seq,
            dataset: e.dataset.clone(),
            day: e.day.clone(),
            age_days: age,
            size: e.size,
            reason,
        };
        if age >= i64::from(pol.delete_after_days) {
            p.actions.push(act(ActionKind::Delete, "age"));
        } else {
            if age >= i64::from(pol.hot_days) && !s.archived {
                p.actions.push(act(ActionKind::Archive, "age"));
            }
            kept.push((e, age));
        }
    }
    let mut after: u64 = kept.iter().map(|(e, _)| e.size).sum();
    if let Some(q) = cfg.quota_bytes {
        if after > q {
            let mut freed = Vec::new();
            for (e, age) in &kept {
                if after <= q {
                    break;
                }
                after -= e.size;
                p.actions.retain(|a| a.seq != e.seq);
                p.actions.push(Action {
                    kind: ActionKind::Delete,
                    seq: e.seq,
                    dataset: e.dataset.clone(),
                    day: e.day.clone(),
                    age_days: *age,
                    size: e.size,
                    reason: "quota",
                });
                freed.push(*age);
            }
            let young = freed
                .iter()
                .filter(|a| **a < i64::from(RECOMMENDED_MIN_DAYS))
                .count();
            p.warnings.push(format!(
                "disk quota of {q} bytes exceeded: {} oldest segments will be deleted{}",
                freed.len(),
                if young > 0 {
                    format!(", {young} of them younger than {RECOMMENDED_MIN_DAYS} days")
                } else {
                    String::new()
                }
            ));
        } else if q > 0 && after.saturating_mul(100) >= q.saturating_mul(QUOTA_WARN_PERCENT) {
            p.warnings.push(format!(
                "segments use {after} of {q} bytes (≥ {QUOTA_WARN_PERCENT}% of the disk quota)"
            ));
        }
    }
    p.bytes_after = after;
    Ok(p)
}

/// Carry out a plan: archive moves, deletions (manifest entry first, then the file), each
/// recorded in the audit log. Returns the audit entries written.
pub fn apply(
    store: &mut Store,
    db: &mut Db,
    plan: &RetentionPlan,
    actor: &str,
    now: Timestamp,
) -> Result<Vec<AuditEntry>> {
    let data = store.data_dir().to_owned();
    let mut audit = Vec::new();
    for w in &plan.warnings {
        audit.push(db.append_audit(
            now,
            actor,
            "retention.warning",
            "retention",
            &serde_json::json!({ "warning": w }).to_string(),
        )?);
    }
    for a in &plan.actions {
        let Some(seg) = store
            .manifest()
            .live_segments()
            .into_iter()
            .find(|s| s.entry.seq == a.seq)
        else {
            continue;
        };
        let details = serde_json::json!({
            "dataset": a.dataset, "day": a.day, "age_days": a.age_days,
            "size": a.size, "reason": a.reason, "path": seg.entry.path,
        })
        .to_string();
        match a.kind {
            ActionKind::Archive => {
                if seg.archived {
                    continue;
                }
                let dst = data.join("archive").join(&seg.entry.path);
                if let Some(d) = dst.parent() {
                    fs::create_dir_all(d).map_err(|e| StoreError::io(d, e))?;
                }
                fs::rename(&seg.path, &dst).map_err(|e| StoreError::io(&dst, e))?;
                if let Some(d) = dst.parent() {
                    fs::File::open(d)
                        .and_then(|f| f.sync_all())
                        .map_err(|e| StoreError::io(d, e))?;
                }
                audit.push(db.append_audit(
                    now,
                    actor,
                    "retention.archive",
                    &format!("segment:{}", a.seq),
                    &details,
                )?);
            }
            ActionKind::Delete => {
                store.manifest_mut().append(Entry {
                    op: Op::Delete,
                    of: Some(seg.entry.seq),
                    wal_through: None,
                    ..seg.entry.clone()
                })?;
                match fs::remove_file(&seg.path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(StoreError::io(&seg.path, e)),
                }
                audit.push(db.append_audit(
                    now,
                    actor,
                    "retention.delete",
                    &format!("segment:{}", a.seq),
                    &details,
                )?);
            }
        }
    }
    Ok(audit)
}
