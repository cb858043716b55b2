//! The delivery engine: routing through recipient filters, rate limits with overflow summaries,
//! digest batching, retries with exponential backoff and jitter, the dead-letter list and
//! per-endpoint statistics.
//!
//! [`Dispatcher`] is synchronous and takes the time as an argument (milliseconds since the Unix
//! epoch), so tests drive it with a manual clock; [`crate::Notifier`] runs it on a worker thread.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration as StdDuration;

use mamori_core::{Alert, Counters, Severity, Timestamp};
use serde::Serialize;

use crate::config::{Config, Mode};
use crate::render::{render, NoteKind, Notification, Payload, MAX_LISTED_ALERTS};
use crate::transport::{deliver, DeliveryError};

/// Rate-limit window.
pub const RATE_WINDOW_MS: u64 = 60_000;
/// Most alerts buffered per digest; the rest are counted in the digest.
pub const MAX_DIGEST_ALERTS: usize = 1_000;
/// Most messages waiting for a retry; beyond, a failing message goes straight to dead letters.
pub const MAX_RETRY_QUEUE: usize = 10_000;
/// Most dead letters kept; the oldest is evicted (and counted) beyond.
pub const MAX_DEAD_LETTERS: usize = 1_000;
/// Longest error text kept in statistics and dead letters.
pub const MAX_ERROR_TEXT: usize = 512;

/// Counter names (stable, snake_case).
pub mod reason {
    /// An alert was not accepted because the notifier queue was full.
    pub const QUEUE_FULL: &str = "queue_full";
    /// An alert was held back by a recipient's rate limit (it is summarised later).
    pub const RATE_LIMITED: &str = "rate_limited";
    /// A digest was full; the alert is only counted.
    pub const DIGEST_OVERFLOW: &str = "digest_overflow";
    /// A rate-limit summary was full; the alert is only counted.
    pub const SUMMARY_OVERFLOW: &str = "summary_overflow";
    /// A message exhausted its attempts (or failed permanently).
    pub const DEAD_LETTERED: &str = "dead_lettered";
    /// The oldest dead letter was dropped to make room.
    pub const DEAD_LETTER_EVICTED: &str = "dead_letter_evicted";
    /// The retry queue was full.
    pub const RETRY_QUEUE_FULL: &str = "retry_queue_full";
    /// A UDP syslog message was cut to the datagram limit.
    pub const SYSLOG_UDP_TRUNCATED: &str = "syslog_udp_truncated";
}

/// A source of "now" in milliseconds since the Unix epoch.
pub trait Clock: Send + Sync {
    /// Current time.
    fn now_ms(&self) -> u64;
}

/// The system wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock moved by hand (tests, replays).
#[derive(Debug, Default)]
pub struct ManualClock(std::sync::atomic::AtomicU64);

impl ManualClock {
    /// Start at `ms`.
    pub fn new(ms: u64) -> ManualClock {
        ManualClock(std::sync::atomic::AtomicU64::new(ms))
    }
    /// Move forward by `ms`.
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Delivery statistics of one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EndpointStats {
    /// Messages delivered.
    pub sent: u64,
    /// Messages given up on (now dead letters).
    pub failed: u64,
    /// Retries scheduled.
    pub retried: u64,
    /// Alerts held back by rate limits (summarised, not sent one by one).
    pub dropped_rate_limited: u64,
    /// Last error text.
    pub last_error: Option<String>,
    /// When the last error happened (ms).
    pub last_error_at_ms: Option<u64>,
    /// When the last delivery succeeded (ms).
    pub last_success_at_ms: Option<u64>,
}

/// A message that could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    /// Id for [`Dispatcher::retry_dead_letter`].
    pub id: u64,
    /// Recipient id.
    pub recipient: String,
    /// Endpoint id.
    pub endpoint: String,
    /// When the message was first created (ms).
    pub created_ms: u64,
    /// When it was given up (ms).
    pub failed_ms: u64,
    /// Attempts made.
    pub attempts: u32,
    /// Last error.
    pub last_error: String,
    /// Subject / summary line.
    pub summary: String,
    /// The rendered message, kept for a manual retry.
    #[serde(skip)]
    pub payload: Payload,
}

/// Errors of the notifier API.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// No recipient with that id.
    #[error("unknown recipient `{0}`")]
    UnknownRecipient(String),
    /// No dead letter with that id.
    #[error("unknown dead letter {0}")]
    UnknownDeadLetter(u64),
    /// The delivery failed.
    #[error("delivery failed: {0}")]
    Delivery(#[from] DeliveryError),
    /// The worker thread is gone.
    #[error("notifier worker is not running")]
    Stopped,
}

#[derive(Debug, Clone)]
struct Job {
    id: u64,
    recipient: usize,
    payload: Payload,
    attempts: u32,
    due_ms: u64,
    created_ms: u64,
}

#[derive(Debug, Default)]
struct RecipientState {
    digest: Vec<Alert>,
    digest_omitted: u64,
    digest_start: Option<u64>,
    window_start: u64,
    window_sent: u32,
    suppressed: Vec<Alert>,
    suppressed_omitted: u64,
}

/// The synchronous delivery engine.
pub struct Dispatcher {
    config: Config,
    state: Vec<RecipientState>,
    retry: Vec<Job>,
    dead: VecDeque<DeadLetter>,
    stats: Vec<EndpointStats>,
    counters: Counters,
    rng: u64,
    next_id: u64,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("recipients", &self.config.recipients.len())
            .field("retry", &self.retry.len())
            .field("dead", &self.dead.len())
            .finish()
    }
}

fn cut(mut s: String) -> String {
    if s.len() > MAX_ERROR_TEXT {
        let mut c = MAX_ERROR_TEXT;
        while !s.is_char_boundary(c) {
            c -= 1;
        }
        s.truncate(c);
    }
    s
}

impl Dispatcher {
    /// A dispatcher over a validated config.
    pub fn new(config: Config) -> Dispatcher {
        Dispatcher {
            state: config
                .recipients
                .iter()
                .map(|_| RecipientState::default())
                .collect(),
            stats: vec![EndpointStats::default(); config.endpoints.len()],
            config,
            retry: Vec::new(),
            dead: VecDeque::new(),
            counters: Counters::new(),
            rng: 0x9E37_79B9_7F4A_7C15,
            next_id: 1,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn timeout(&self) -> StdDuration {
        StdDuration::from_millis(self.config.delivery.timeout_ms)
    }

    fn rand(&mut self) -> u64 {
        // xorshift64*: jitter only, not security.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Delay before retry number `attempts` (1-based): exponential, capped, with "equal jitter"
    /// (uniform in the upper half), so retries of many messages spread out.
    pub fn backoff_ms(&mut self, attempts: u32) -> u64 {
        let d = self.config.delivery;
        let exp = attempts.saturating_sub(1).min(40);
        let base = d
            .backoff_initial_ms
            .saturating_mul(1u64 << exp)
            .min(d.backoff_max_ms);
        let half = base / 2;
        half + self.rand() % (base - half + 1)
    }

    /// Route one alert to every matching recipient (immediate sends happen now).
    pub fn handle_alert(&mut self, alert: &Alert, now_ms: u64) {
        for ri in 0..self.config.recipients.len() {
            let Some(r) = self.config.recipients.get(ri) else {
                continue;
            };
            if !r.filter.matches(alert) {
                continue;
            }
            let ep = r.endpoint;
            let limit = r.rate_limit_per_minute;
            let digest = r.digest_ms.is_some();
            let Some(st) = self.state.get_mut(ri) else {
                continue;
            };
            if digest {
                st.digest_start.get_or_insert(now_ms);
                if st.digest.len() < MAX_DIGEST_ALERTS {
                    st.digest.push(alert.clone());
                } else {
                    st.digest_omitted += 1;
                    self.counters.incr(reason::DIGEST_OVERFLOW);
                }
                continue;
            }
            if let Some(limit) = limit {
                if now_ms >= st.window_start.saturating_add(RATE_WINDOW_MS) {
                    st.window_start = now_ms;
                    st.window_sent = 0;
                }
                if st.window_sent >= limit {
                    if st.suppressed.len() < MAX_LISTED_ALERTS {
                        st.suppressed.push(alert.clone());
                    } else {
                        st.suppressed_omitted += 1;
                        self.counters.incr(reason::SUMMARY_OVERFLOW);
                    }
                    self.counters.incr(reason::RATE_LIMITED);
                    if let Some(s) = self.stats.get_mut(ep) {
                        s.dropped_rate_limited += 1;
                    }
                    continue;
                }
                st.window_sent += 1;
            }
            let n = Notification {
                kind: NoteKind::Alert,
                alerts: vec![alert.clone()],
                omitted: 0,
            };
            self.send_new(ri, &n, now_ms);
        }
        self.tick(now_ms);
    }

    fn send_new(&mut self, ri: usize, n: &Notification, now_ms: u64) {
        let (Some(r), id) = (self.config.recipients.get(ri), self.next_id) else {
            return;
        };
        let Some(ep) = self.config.endpoints.get(r.endpoint) else {
            return;
        };
        let payload = render(n, r, ep, now_ms);
        self.next_id += 1;
        self.attempt(
            Job {
                id,
                recipient: ri,
                payload,
                attempts: 0,
                due_ms: now_ms,
                created_ms: now_ms,
            },
            now_ms,
        );
    }

    fn attempt(&mut self, mut job: Job, now_ms: u64) {
        let Some(r) = self.config.recipients.get(job.recipient) else {
            return;
        };
        let Some(ep) = self.config.endpoints.get(r.endpoint) else {
            return;
        };
        let epi = r.endpoint;
        job.attempts += 1;
        let result = deliver(ep, &r.to, &job.payload, now_ms, job.id, self.timeout());
        let rid = r.id.clone();
        let eid = ep.id.clone();
        let max = self.config.delivery.max_attempts;
        match result {
            Ok(truncated) => {
                self.counters.add(reason::SYSLOG_UDP_TRUNCATED, truncated);
                if let Some(s) = self.stats.get_mut(epi) {
                    s.sent += 1;
                    s.last_success_at_ms = Some(now_ms);
                }
            }
            Err(e) => {
                let text = cut(e.to_string());
                if let Some(s) = self.stats.get_mut(epi) {
                    s.last_error = Some(text.clone());
                    s.last_error_at_ms = Some(now_ms);
                }
                let retry_full = self.retry.len() >= MAX_RETRY_QUEUE;
                if !e.is_permanent() && job.attempts < max && !retry_full {
                    job.due_ms = now_ms.saturating_add(self.backoff_ms(job.attempts));
                    if let Some(s) = self.stats.get_mut(epi) {
                        s.retried += 1;
                    }
                    self.retry.push(job);
                } else {
                    if retry_full && !e.is_permanent() && job.attempts < max {
                        self.counters.incr(reason::RETRY_QUEUE_FULL);
                    }
                    if let Some(s) = self.stats.get_mut(epi) {
                        s.failed += 1;
                    }
                    self.counters.incr(reason::DEAD_LETTERED);
                    if self.dead.len() >= MAX_DEAD_LETTERS {
                        self.dead.pop_front();
                        self.counters.incr(reason::DEAD_LETTER_EVICTED);
                    }
                    self.dead.push_back(DeadLetter {
                        id: job.id,
                        recipient: rid,
                        endpoint: eid,
                        created_ms: job.created_ms,
                        failed_ms: now_ms,
                        attempts: job.attempts,
                        last_error: text,
                        summary: job.payload.summary(),
                        payload: job.payload,
                    });
                }
            }
        }
    }

    /// Flush digests and rate-limit summaries whose window has ended and run due retries.
    pub fn tick(&mut self, now_ms: u64) {
        self.flush_windows(now_ms, false);
        let mut due = Vec::new();
        let mut i = 0;
        while i < self.retry.len() {
            if self.retry.get(i).is_some_and(|j| j.due_ms <= now_ms) {
                due.push(self.retry.swap_remove(i));
            } else {
                i += 1;
            }
        }
        due.sort_by_key(|j| (j.due_ms, j.id));
        for job in due {
            self.attempt(job, now_ms);
        }
    }

    /// Send every pending digest and rate-limit summary now (shutdown).
    pub fn flush(&mut self, now_ms: u64) {
        self.flush_windows(now_ms, true);
    }

    fn flush_windows(&mut self, now_ms: u64, force: bool) {
        for ri in 0..self.state.len() {
            let Some(r) = self.config.recipients.get(ri) else {
                continue;
            };
            let digest_ms = r.digest_ms;
            let Some(st) = self.state.get_mut(ri) else {
                continue;
            };
            let mut out = Vec::new();
            if let (Some(len), Some(start)) = (digest_ms, st.digest_start) {
                if force || now_ms >= start.saturating_add(len) {
                    out.push(Notification {
                        kind: NoteKind::Digest,
                        alerts: std::mem::take(&mut st.digest),
                        omitted: std::mem::take(&mut st.digest_omitted),
                    });
                    st.digest_start = None;
                }
            }
            let window_over = now_ms >= st.window_start.saturating_add(RATE_WINDOW_MS);
            if (!st.suppressed.is_empty() || st.suppressed_omitted > 0) && (force || window_over) {
                out.push(Notification {
                    kind: NoteKind::RateLimited,
                    alerts: std::mem::take(&mut st.suppressed),
                    omitted: std::mem::take(&mut st.suppressed_omitted),
                });
                // The summary opens the next window and counts in it.
                st.window_start = now_ms;
                st.window_sent = 1;
            }
            for n in out {
                self.send_new(ri, &n, now_ms);
            }
        }
    }

    /// Earliest time something is due (retry, digest or summary), if any.
    pub fn next_due(&self) -> Option<u64> {
        let retry = self.retry.iter().map(|j| j.due_ms).min();
        let windows = self
            .state
            .iter()
            .zip(&self.config.recipients)
            .filter_map(|(st, r)| {
                let d = match (r.digest_ms, st.digest_start) {
                    (Some(len), Some(s)) => Some(s.saturating_add(len)),
                    _ => None,
                };
                let s = (!st.suppressed.is_empty() || st.suppressed_omitted > 0)
                    .then(|| st.window_start.saturating_add(RATE_WINDOW_MS));
                d.into_iter().chain(s).min()
            })
            .min();
        retry.into_iter().chain(windows).min()
    }

    /// Send a test message to `recipient` now, bypassing filters, rate limit and retries.
    pub fn test_send(&mut self, recipient: &str, now_ms: u64) -> Result<(), NotifyError> {
        let ri = self
            .config
            .recipients
            .iter()
            .position(|r| r.id == recipient)
            .ok_or_else(|| NotifyError::UnknownRecipient(recipient.to_owned()))?;
        let (Some(r), id) = (self.config.recipients.get(ri), self.next_id) else {
            return Err(NotifyError::UnknownRecipient(recipient.to_owned()));
        };
        let ep = self
            .config
            .endpoints
            .get(r.endpoint)
            .ok_or_else(|| NotifyError::UnknownRecipient(recipient.to_owned()))?;
        self.next_id += 1;
        let at = Timestamp::from_unix_millis(i64::try_from(now_ms).unwrap_or(0));
        let mut a = Alert::new(
            "mamori.notify.test",
            "Notification test",
            Severity::Low,
            at,
            format!("Test message for recipient {recipient}"),
        );
        a.rule_name_ja = "通知テスト".into();
        a.message_ja = Some(format!("受信者 {recipient} へのテスト送信です"));
        let n = Notification {
            kind: NoteKind::Test,
            alerts: vec![a],
            omitted: 0,
        };
        let payload = render(&n, r, ep, now_ms);
        let epi = r.endpoint;
        let res = deliver(ep, &r.to, &payload, now_ms, id, self.timeout());
        if let Some(s) = self.stats.get_mut(epi) {
            match &res {
                Ok(_) => {
                    s.sent += 1;
                    s.last_success_at_ms = Some(now_ms);
                }
                Err(e) => {
                    s.last_error = Some(cut(e.to_string()));
                    s.last_error_at_ms = Some(now_ms);
                }
            }
        }
        res.map(|_| ()).map_err(NotifyError::from)
    }

    /// The dead-letter list, oldest first.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        self.dead.iter().cloned().collect()
    }

    /// Move dead letter `id` back into the retry queue with fresh attempts (sent at the next
    /// [`Dispatcher::tick`]).
    pub fn retry_dead_letter(&mut self, id: u64, now_ms: u64) -> Result<(), NotifyError> {
        let pos = self
            .dead
            .iter()
            .position(|d| d.id == id)
            .ok_or(NotifyError::UnknownDeadLetter(id))?;
        let d = self
            .dead
            .remove(pos)
            .ok_or(NotifyError::UnknownDeadLetter(id))?;
        let Some(ri) = self
            .config
            .recipients
            .iter()
            .position(|r| r.id == d.recipient)
        else {
            // The recipient was removed by a reload; keep the letter.
            self.dead.insert(pos, d);
            return Err(NotifyError::UnknownDeadLetter(id));
        };
        self.retry.push(Job {
            id: d.id,
            recipient: ri,
            payload: d.payload,
            attempts: 0,
            due_ms: now_ms,
            created_ms: d.created_ms,
        });
        Ok(())
    }

    /// Statistics per endpoint id.
    pub fn stats(&self) -> BTreeMap<String, EndpointStats> {
        self.config
            .endpoints
            .iter()
            .zip(&self.stats)
            .map(|(e, s)| (e.id.clone(), s.clone()))
            .collect()
    }

    /// Counters of dropped / overflowed items.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Messages waiting for a retry.
    pub fn pending_retries(&self) -> usize {
        self.retry.len()
    }

    /// Alerts waiting in digests.
    pub fn pending_digest_alerts(&self) -> usize {
        self.state.iter().map(|s| s.digest.len()).sum()
    }
}

/// Mode of a recipient as configured (for listings).
pub fn mode_of(r: &crate::config::Recipient) -> Mode {
    if r.digest_ms.is_some() {
        Mode::Digest
    } else {
        Mode::Immediate
    }
}
