//! SQLite: alerts, comments, cases, exclusions, users, API tokens, the audit log, scan
//! results, schedules and settings (`<data>/mamori.db`).
//!
//! Migrations are numbered SQL scripts recorded in `schema_version`; [`Db::open`] applies
//! the missing ones in one transaction, so opening twice is harmless. The audit log is
//! append-only: SQL triggers refuse `UPDATE`/`DELETE`, and each row carries
//! `hash = SHA-256(prev_hash || fields)` so an edit or removal done behind SQLite's back is
//! found by [`Db::verify_audit`]. Times are Unix nanoseconds; callers pass "now".

use std::path::Path;

use mamori_core::{Alert, Severity, Timestamp};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use crate::error::{Result, StoreError};
use crate::manifest::{hex, GENESIS};

/// Largest page of alerts or audit rows returned by one list call.
pub const MAX_PAGE: u32 = 1000;
/// SQLite busy timeout.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Numbered migrations; never edit a released one, append a new one.
pub const MIGRATIONS: &[(i64, &str)] = &[(
    1,
    r#"
CREATE TABLE alerts (
  id INTEGER PRIMARY KEY,
  dedup_key TEXT NOT NULL UNIQUE,
  rule_id TEXT NOT NULL,
  severity INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 4),
  status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new','acknowledged','closed')),
  assignee TEXT,
  entities TEXT NOT NULL DEFAULT '{}',
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  count INTEGER NOT NULL DEFAULT 1,
  body TEXT NOT NULL DEFAULT '{}',
  updated INTEGER NOT NULL
);
CREATE INDEX alerts_status_last ON alerts(status, last_seen);
CREATE INDEX alerts_rule ON alerts(rule_id);
CREATE TABLE alert_comments (
  id INTEGER PRIMARY KEY,
  alert_id INTEGER NOT NULL REFERENCES alerts(id),
  time INTEGER NOT NULL,
  author TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE TABLE cases (
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','in_progress','closed')),
  severity INTEGER NOT NULL DEFAULT 2,
  assignee TEXT,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL
);
CREATE TABLE case_alerts (
  case_id INTEGER NOT NULL REFERENCES cases(id),
  alert_id INTEGER NOT NULL REFERENCES alerts(id),
  PRIMARY KEY (case_id, alert_id)
);
CREATE TABLE case_timeline (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases(id),
  time INTEGER NOT NULL,
  actor TEXT NOT NULL,
  kind TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE TABLE exclusions (
  id INTEGER PRIMARY KEY,
  rule_id TEXT,
  field TEXT NOT NULL,
  value TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created INTEGER NOT NULL,
  expires INTEGER
);
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  password_hash TEXT,
  totp_secret TEXT,
  created INTEGER NOT NULL
);
CREATE TABLE api_tokens (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  created INTEGER NOT NULL,
  last_used INTEGER,
  expires INTEGER
);
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TABLE scan_results (
  id INTEGER PRIMARY KEY,
  scan_id TEXT NOT NULL,
  time INTEGER NOT NULL,
  target TEXT NOT NULL,
  kind TEXT NOT NULL,
  severity INTEGER,
  body TEXT NOT NULL
);
CREATE INDEX scan_results_scan ON scan_results(scan_id);
CREATE TABLE schedules (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  spec TEXT NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1,
  last_run INTEGER,
  body TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
"#,
)];

/// Workflow status of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// Not looked at.
    New,
    /// Someone is on it.
    Acknowledged,
    /// Done.
    Closed,
}

impl AlertStatus {
    /// Stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::New => "new",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Closed => "closed",
        }
    }
    /// Parse stored text.
    pub fn parse(s: &str) -> Option<AlertStatus> {
        Some(match s {
            "new" => AlertStatus::New,
            "acknowledged" => AlertStatus::Acknowledged,
            "closed" => AlertStatus::Closed,
            _ => return None,
        })
    }
}

/// An alert to insert or merge (by `dedup_key`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    /// Merge key: same key, same row.
    pub dedup_key: String,
    /// `rule.id`.
    pub rule_id: String,
    /// Severity.
    pub severity: Severity,
    /// Entities (JSON object: `source.ip`, `user.name`, …).
    pub entities: Json,
    /// First occurrence.
    pub first_seen: Timestamp,
    /// Latest occurrence.
    pub last_seen: Timestamp,
    /// Occurrences.
    pub count: u64,
    /// The full alert as ECS JSON.
    pub body: Json,
}

impl NewAlert {
    /// From a core [`Alert`]: the dedup key is the rule id plus its entities.
    pub fn from_alert(a: &Alert) -> NewAlert {
        let mut ent = serde_json::Map::new();
        if let Some(ip) = a.source_ip {
            ent.insert("source.ip".into(), Json::String(ip.to_string()));
        }
        if let Some(ip) = a.destination_ip {
            ent.insert("destination.ip".into(), Json::String(ip.to_string()));
        }
        if let Some(p) = a.destination_port {
            ent.insert("destination.port".into(), Json::from(p));
        }
        if let Some(u) = &a.user_name {
            ent.insert("user.name".into(), Json::String(u.clone()));
        }
        if let Some(h) = &a.host_name {
            ent.insert("host.name".into(), Json::String(h.clone()));
        }
        let entities = Json::Object(ent);
        NewAlert {
            dedup_key: format!("{}|{}", a.rule_id, entities),
            rule_id: a.rule_id.to_string(),
            severity: a.severity,
            entities,
            first_seen: a.first_seen,
            last_seen: a.last_seen,
            count: a.count,
            body: a.to_event().to_json(),
        }
    }
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRow {
    /// Row id.
    pub id: i64,
    /// Merge key.
    pub dedup_key: String,
    /// `rule.id`.
    pub rule_id: String,
    /// Severity.
    pub severity: Severity,
    /// Workflow status.
    pub status: AlertStatus,
    /// Assigned analyst.
    pub assignee: Option<String>,
    /// Entities JSON.
    pub entities: Json,
    /// First occurrence.
    pub first_seen: Timestamp,
    /// Latest occurrence.
    pub last_seen: Timestamp,
    /// Occurrences.
    pub count: u64,
    /// Full alert JSON.
    pub body: Json,
}

/// Filters and paging for [`Db::list_alerts`] (newest `last_seen` first).
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// Only this status.
    pub status: Option<AlertStatus>,
    /// At least this severity.
    pub min_severity: Option<Severity>,
    /// Only this rule.
    pub rule_id: Option<String>,
    /// Only this assignee.
    pub assignee: Option<String>,
    /// `last_seen >= since`.
    pub since: Option<Timestamp>,
    /// Page size (capped at [`MAX_PAGE`]; 0 means [`MAX_PAGE`]).
    pub limit: u32,
    /// Rows to skip.
    pub offset: u32,
}

/// A comment on an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comment {
    /// Row id.
    pub id: i64,
    /// Alert.
    pub alert_id: i64,
    /// When.
    pub time: Timestamp,
    /// Who.
    pub author: String,
    /// Text.
    pub body: String,
}

/// One audit log row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Row id.
    pub id: i64,
    /// When.
    pub time: Timestamp,
    /// Who (user name, `system`, `retention`).
    pub actor: String,
    /// What (`alert.ack`, `retention.delete`, …).
    pub action: String,
    /// On what (`alert:12`, a segment path, …).
    pub target: String,
    /// Details (JSON text).
    pub details: String,
    /// Previous row's hash.
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
}

/// Where the audit chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditBreak {
    /// Row id where the break was found.
    pub id: i64,
    /// What is wrong.
    pub reason: String,
}

fn audit_hash(
    prev: &str,
    id: i64,
    time: i64,
    actor: &str,
    action: &str,
    target: &str,
    details: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(id.to_le_bytes());
    h.update(time.to_le_bytes());
    for s in [actor, action, target, details] {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    }
    hex(&h.finalize())
}

/// The SQLite database.
#[derive(Debug)]
pub struct Db {
    conn: Connection,
}

fn sev(n: i64) -> Severity {
    Severity::parse(&n.to_string()).unwrap_or(Severity::Low)
}

impl Db {
    /// Open (creating) the database at `path` and run missing migrations.
    pub fn open(path: &Path) -> Result<Db> {
        let conn = Connection::open(path)?;
        Db::init(conn)
    }

    /// An in-memory database (tests, dry runs).
    pub fn open_in_memory() -> Result<Db> {
        Db::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Db> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let _mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut db = Db { conn };
        db.migrate()?;
        Ok(db)
    }

    /// Apply migrations newer than the recorded version; returns the version afterwards.
    pub fn migrate(&mut self) -> Result<i64> {
        let tx = self.conn.transaction()?;
        tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
        let cur: i64 = tx.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |r| r.get(0),
        )?;
        let mut v = cur;
        for (n, sql) in MIGRATIONS {
            if *n > cur {
                tx.execute_batch(sql)?;
                tx.execute("INSERT INTO schema_version(version) VALUES (?1)", [n])?;
                v = *n;
            }
        }
        tx.commit()?;
        Ok(v)
    }

    /// The schema version.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |r| r.get(0),
        )?)
    }

    /// Raw connection for basic CRUD on the other tables (cases, exclusions, users, tokens,
    /// scan results, schedules, settings).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Insert an alert or merge it into the row with the same dedup key (count added,
    /// first/last seen widened, body replaced, a closed alert reopened as `new`).
    pub fn upsert_alert(&mut self, a: &NewAlert, now: Timestamp) -> Result<i64> {
        let id: i64 = self.conn.query_row(
            "INSERT INTO alerts (dedup_key, rule_id, severity, status, entities, first_seen, last_seen, count, body, updated)
             VALUES (?1, ?2, ?3, 'new', ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT(dedup_key) DO UPDATE SET
               first_seen = MIN(first_seen, excluded.first_seen),
               last_seen = MAX(last_seen, excluded.last_seen),
               count = count + excluded.count,
               severity = MAX(severity, excluded.severity),
               body = excluded.body,
               status = CASE WHEN status = 'closed' THEN 'new' ELSE status END,
               updated = excluded.updated
             RETURNING id",
            params![
                a.dedup_key,
                a.rule_id,
                a.severity.number(),
                a.entities.to_string(),
                a.first_seen.unix_nanos(),
                a.last_seen.unix_nanos(),
                i64::try_from(a.count).unwrap_or(i64::MAX),
                a.body.to_string(),
                now.unix_nanos()
            ],
            |r| r.get(0),
        )?;
        Ok(id)
    }

    fn row_to_alert(r: &rusqlite::Row<'_>) -> rusqlite::Result<AlertRow> {
        let status: String = r.get(4)?;
        let entities: String = r.get(6)?;
        let body: String = r.get(10)?;
        let count: i64 = r.get(9)?;
        Ok(AlertRow {
            id: r.get(0)?,
            dedup_key: r.get(1)?,
            rule_id: r.get(2)?,
            severity: sev(r.get(3)?),
            status: AlertStatus::parse(&status).unwrap_or(AlertStatus::New),
            assignee: r.get(5)?,
            entities: serde_json::from_str(&entities).unwrap_or(Json::Null),
            first_seen: Timestamp::from_unix_nanos(r.get(7)?),
            last_seen: Timestamp::from_unix_nanos(r.get(8)?),
            count: u64::try_from(count).unwrap_or(0),
            body: serde_json::from_str(&body).unwrap_or(Json::Null),
        })
    }

    const ALERT_COLS: &'static str =
        "id, dedup_key, rule_id, severity, status, assignee, entities, first_seen, last_seen, count, body";

    /// One alert.
    pub fn get_alert(&self, id: i64) -> Result<AlertRow> {
        self.conn
            .query_row(
                &format!("SELECT {} FROM alerts WHERE id = ?1", Self::ALERT_COLS),
                [id],
                Self::row_to_alert,
            )
            .optional()?
            .ok_or(StoreError::NotFound {
                what: "alert",
                id: id.to_string(),
            })
    }

    /// Alerts matching the filter, newest `last_seen` first, one page.
    pub fn list_alerts(&self, f: &AlertFilter) -> Result<Vec<AlertRow>> {
        let limit = if f.limit == 0 {
            MAX_PAGE
        } else {
            f.limit.min(MAX_PAGE)
        };
        let sql = format!(
            "SELECT {} FROM alerts
             WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR severity >= ?2)
               AND (?3 IS NULL OR rule_id = ?3) AND (?4 IS NULL OR assignee = ?4)
               AND (?5 IS NULL OR last_seen >= ?5)
             ORDER BY last_seen DESC, id DESC LIMIT ?6 OFFSET ?7",
            Self::ALERT_COLS
        );
        let mut st = self.conn.prepare(&sql)?;
        let rows = st.query_map(
            params![
                f.status.map(AlertStatus::as_str),
                f.min_severity.map(Severity::number),
                f.rule_id,
                f.assignee,
                f.since.map(Timestamp::unix_nanos),
                limit,
                f.offset
            ],
            Self::row_to_alert,
        )?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn set_status(
        &mut self,
        ids: &[i64],
        status: AlertStatus,
        actor: &str,
        now: Timestamp,
    ) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let mut n = 0;
        for id in ids {
            let changed = tx.execute(
                "UPDATE alerts SET status = ?1, updated = ?2 WHERE id = ?3",
                params![status.as_str(), now.unix_nanos(), id],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound {
                    what: "alert",
                    id: id.to_string(),
                });
            }
            n += changed;
            append_audit_tx(
                &tx,
                now,
                actor,
                &format!("alert.{}", status.as_str()),
                &format!("alert:{id}"),
                "{}",
            )?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// Acknowledge one alert (audited).
    pub fn ack_alert(&mut self, id: i64, actor: &str, now: Timestamp) -> Result<()> {
        self.set_status(&[id], AlertStatus::Acknowledged, actor, now)
            .map(|_| ())
    }

    /// Acknowledge many alerts in one transaction (all or none); returns how many.
    pub fn bulk_ack(&mut self, ids: &[i64], actor: &str, now: Timestamp) -> Result<usize> {
        self.set_status(ids, AlertStatus::Acknowledged, actor, now)
    }

    /// Close one alert (audited).
    pub fn close_alert(&mut self, id: i64, actor: &str, now: Timestamp) -> Result<()> {
        self.set_status(&[id], AlertStatus::Closed, actor, now)
            .map(|_| ())
    }

    /// Assign (or with `None` unassign) an alert (audited).
    pub fn assign_alert(
        &mut self,
        id: i64,
        assignee: Option<&str>,
        actor: &str,
        now: Timestamp,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE alerts SET assignee = ?1, updated = ?2 WHERE id = ?3",
            params![assignee, now.unix_nanos(), id],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "alert",
                id: id.to_string(),
            });
        }
        let details = serde_json::json!({ "assignee": assignee }).to_string();
        append_audit_tx(
            &tx,
            now,
            actor,
            "alert.assign",
            &format!("alert:{id}"),
            &details,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Comment on an alert (audited); returns the comment id.
    pub fn comment_alert(
        &mut self,
        id: i64,
        author: &str,
        body: &str,
        now: Timestamp,
    ) -> Result<i64> {
        let tx = self.conn.transaction()?;
        let exists: Option<i64> = tx
            .query_row("SELECT id FROM alerts WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        if exists.is_none() {
            return Err(StoreError::NotFound {
                what: "alert",
                id: id.to_string(),
            });
        }
        tx.execute(
            "INSERT INTO alert_comments (alert_id, time, author, body) VALUES (?1, ?2, ?3, ?4)",
            params![id, now.unix_nanos(), author, body],
        )?;
        let cid = tx.last_insert_rowid();
        append_audit_tx(
            &tx,
            now,
            author,
            "alert.comment",
            &format!("alert:{id}"),
            &serde_json::json!({ "comment": cid }).to_string(),
        )?;
        tx.commit()?;
        Ok(cid)
    }

    /// Comments of an alert, oldest first.
    pub fn comments(&self, alert_id: i64) -> Result<Vec<Comment>> {
        let mut st = self
            .conn
            .prepare("SELECT id, alert_id, time, author, body FROM alert_comments WHERE alert_id = ?1 ORDER BY id")?;
        let rows = st.query_map([alert_id], |r| {
            Ok(Comment {
                id: r.get(0)?,
                alert_id: r.get(1)?,
                time: Timestamp::from_unix_nanos(r.get(2)?),
                author: r.get(3)?,
                body: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Append to the audit log.
    pub fn append_audit(
        &mut self,
        now: Timestamp,
        actor: &str,
        action: &str,
        target: &str,
        details: &str,
    ) -> Result<AuditEntry> {
        let tx = self.conn.transaction()?;
        let e = append_audit_tx(&tx, now, actor, action, target, details)?;
        tx.commit()?;
        Ok(e)
    }

    /// Audit rows, oldest first, one page.
    pub fn list_audit(&self, limit: u32, offset: u32) -> Result<Vec<AuditEntry>> {
        let limit = if limit == 0 {
            MAX_PAGE
        } else {
            limit.min(MAX_PAGE)
        };
        let mut st = self.conn.prepare(
            "SELECT id, time, actor, action, target, details, prev_hash, hash FROM audit_log ORDER BY id LIMIT ?1 OFFSET ?2",
        )?;
        let rows = st.query_map(params![limit, offset], audit_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Walk the whole audit chain; `Err` names the first broken row.
    pub fn verify_audit(&self) -> Result<Result<u64, AuditBreak>> {
        let mut st = self.conn.prepare(
            "SELECT id, time, actor, action, target, details, prev_hash, hash FROM audit_log ORDER BY id",
        )?;
        let mut rows = st.query([])?;
        let mut prev = GENESIS.to_owned();
        let mut n = 0u64;
        while let Some(r) = rows.next()? {
            let e = audit_row(r)?;
            if e.prev_hash != prev {
                return Ok(Err(AuditBreak {
                    id: e.id,
                    reason: "prev_hash does not match the previous row (row removed or reordered)"
                        .into(),
                }));
            }
            let h = audit_hash(
                &e.prev_hash,
                e.id,
                e.time.unix_nanos(),
                &e.actor,
                &e.action,
                &e.target,
                &e.details,
            );
            if h != e.hash {
                return Ok(Err(AuditBreak {
                    id: e.id,
                    reason: "row content does not match its hash (row edited)".into(),
                }));
            }
            prev = e.hash;
            n += 1;
        }
        Ok(Ok(n))
    }

    /// Set a setting.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO settings(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Read a setting.
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }
}

fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.get(0)?,
        time: Timestamp::from_unix_nanos(r.get(1)?),
        actor: r.get(2)?,
        action: r.get(3)?,
        target: r.get(4)?,
        details: r.get(5)?,
        prev_hash: r.get(6)?,
        hash: r.get(7)?,
    })
}

fn append_audit_tx(
    tx: &rusqlite::Transaction<'_>,
    now: Timestamp,
    actor: &str,
    action: &str,
    target: &str,
    details: &str,
) -> Result<AuditEntry> {
    let last: Option<(i64, String)> = tx
        .query_row(
            "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (id, prev) = match last {
        Some((id, h)) => (id + 1, h),
        None => (1, GENESIS.to_owned()),
    };
    let t = now.unix_nanos();
    let hash = audit_hash(&prev, id, t, actor, action, target, details);
    tx.execute(
        "INSERT INTO audit_log (id, time, actor, action, target, details, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![id, t, actor, action, target, details, prev, hash],
    )?;
    Ok(AuditEntry {
        id,
        time: now,
        actor: actor.to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        details: details.to_owned(),
        prev_hash: prev,
        hash,
    })
}
