//! [`Notifier`]: the dispatcher on a worker thread behind a bounded queue, so the detection
//! path only hands alerts over (never blocks; drops are counted when the queue is full).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration as StdDuration;

use mamori_core::{Alert, Counters};

use crate::config::Config;
use crate::dispatch::{reason, Clock, DeadLetter, Dispatcher, EndpointStats, NotifyError};

/// Default capacity of the hand-over queue.
pub const QUEUE_CAPACITY: usize = 4_096;
/// How often the worker wakes up to flush digests and run retries.
pub const TICK_INTERVAL: StdDuration = StdDuration::from_millis(200);

/// What readers see without waiting for a delivery in progress (refreshed after each step).
#[derive(Debug, Default, Clone)]
struct Snapshot {
    stats: BTreeMap<String, EndpointStats>,
    dead: Vec<DeadLetter>,
    counters: Counters,
}

fn refresh(d: &Dispatcher, snap: &Mutex<Snapshot>) {
    let s = Snapshot {
        stats: d.stats(),
        dead: d.dead_letters(),
        counters: d.counters().clone(),
    };
    *snap
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = s;
}

enum Msg {
    Alert(Box<Alert>),
    Wake,
    Shutdown,
}

/// Notifications off the detection path.
pub struct Notifier {
    tx: SyncSender<Msg>,
    shared: Arc<Mutex<Dispatcher>>,
    snapshot: Arc<Mutex<Snapshot>>,
    dropped: Arc<AtomicU64>,
    clock: Arc<dyn Clock>,
    worker: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("dropped", &self.dropped.load(Ordering::Relaxed))
            .finish()
    }
}

fn lock(m: &Mutex<Dispatcher>) -> MutexGuard<'_, Dispatcher> {
    // A panic inside a delivery cannot leave the dispatcher in a state worse than "one message
    // lost", so keep going with the inner value.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Notifier {
    /// Start the worker with [`QUEUE_CAPACITY`].
    pub fn start(config: Config, clock: Arc<dyn Clock>) -> std::io::Result<Notifier> {
        Notifier::with_capacity(config, clock, QUEUE_CAPACITY)
    }

    /// Start the worker with a queue of `capacity` alerts (at least 1).
    pub fn with_capacity(
        config: Config,
        clock: Arc<dyn Clock>,
        capacity: usize,
    ) -> std::io::Result<Notifier> {
        let (tx, rx) = sync_channel::<Msg>(capacity.max(1));
        let dispatcher = Dispatcher::new(config);
        let snapshot = Arc::new(Mutex::new(Snapshot::default()));
        refresh(&dispatcher, &snapshot);
        let shared = Arc::new(Mutex::new(dispatcher));
        let (s2, snap2, c2) = (
            Arc::clone(&shared),
            Arc::clone(&snapshot),
            Arc::clone(&clock),
        );
        let worker = std::thread::Builder::new()
            .name("mamori-notify".into())
            .spawn(move || loop {
                let msg = rx.recv_timeout(TICK_INTERVAL);
                let mut d = lock(&s2);
                match msg {
                    Ok(Msg::Alert(a)) => d.handle_alert(&a, c2.now_ms()),
                    Ok(Msg::Wake) | Err(RecvTimeoutError::Timeout) => d.tick(c2.now_ms()),
                    Ok(Msg::Shutdown) | Err(RecvTimeoutError::Disconnected) => {
                        // Handle what was handed over, then send pending digests.
                        while let Ok(m) = rx.try_recv() {
                            if let Msg::Alert(a) = m {
                                d.handle_alert(&a, c2.now_ms());
                            }
                        }
                        let now = c2.now_ms();
                        d.flush(now);
                        d.tick(now);
                        refresh(&d, &snap2);
                        return;
                    }
                }
                refresh(&d, &snap2);
            })?;
        Ok(Notifier {
            tx,
            shared,
            snapshot,
            dropped: Arc::new(AtomicU64::new(0)),
            clock,
            worker: Some(worker),
        })
    }

    /// Hand an alert over without blocking; `false` (and a `queue_full` count) when the queue
    /// is full or the worker stopped.
    pub fn submit(&self, alert: Alert) -> bool {
        match self.tx.try_send(Msg::Alert(Box::new(alert))) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Alerts dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn snap(&self) -> MutexGuard<'_, Snapshot> {
        self.snapshot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Send a test message to `recipient` now and report the result (waits for a delivery
    /// in progress on the worker).
    pub fn test_send(&self, recipient: &str) -> Result<(), NotifyError> {
        let now = self.clock.now_ms();
        let mut d = lock(&self.shared);
        let r = d.test_send(recipient, now);
        refresh(&d, &self.snapshot);
        r
    }

    /// The dead-letter list as of the worker's last step (never waits for a delivery).
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        self.snap().dead.clone()
    }

    /// Queue dead letter `id` for another round of attempts.
    pub fn retry_dead_letter(&self, id: u64) -> Result<(), NotifyError> {
        let now = self.clock.now_ms();
        {
            let mut d = lock(&self.shared);
            d.retry_dead_letter(id, now)?;
            refresh(&d, &self.snapshot);
        }
        // If the queue is full the periodic tick sends it instead.
        let _ = self.tx.try_send(Msg::Wake);
        Ok(())
    }

    /// Statistics per endpoint as of the worker's last step (never waits for a delivery).
    pub fn stats(&self) -> BTreeMap<String, EndpointStats> {
        self.snap().stats.clone()
    }

    /// Counters, including `queue_full` (never waits for a delivery).
    pub fn counters(&self) -> Counters {
        let mut c = self.snap().counters.clone();
        c.add(reason::QUEUE_FULL, self.dropped());
        c
    }

    /// Stop the worker after it has handled queued alerts and sent pending digests.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(w) = self.worker.take() {
            // Blocking send: the worker is draining, so this returns quickly.
            let _ = self.tx.send(Msg::Shutdown);
            let _ = w.join();
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.stop();
    }
}
