//! The checks, grouped by the records they read: flow records ([`flow`]), DNS and DHCP
//! ([`dns`]), and application records — TLS, HTTP, mail, FTP, LDAP, SNMP, SMB ([`app`]).
//!
//! Each check reads ECS fields by the names of EVENTS.md and the flow/protocol specs, keeps
//! bounded state, and hands a [`crate::engine::Hit`] to the engine, which applies exclusions,
//! authorised-scanner suppression and dedup.

pub(crate) mod app;
pub(crate) mod dns;
pub(crate) mod flow;

use std::collections::VecDeque;
use std::net::IpAddr;

use mamori_core::Timestamp;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::engine::{Engine, Key};

/// Most client→server:port pairs followed for beaconing (`beacon_state_full` beyond).
pub const MAX_BEACON_PAIRS: usize = 500_000;
/// Connection start times kept per beacon pair.
pub const BEACON_HISTORY: usize = 32;
/// Most connections followed for long-lived detection (`long_lived_state_full`).
pub const MAX_LONG_LIVED: usize = 200_000;
/// Most internal admin pairs learned (`lateral_learning_full` beyond).
pub const MAX_LEARNED_PAIRS: usize = 1_000_000;
/// Most DHCP servers remembered for the rogue-server heuristic.
pub const MAX_DHCP_SERVERS: usize = 64;
/// Gap after which a flow record does not continue an earlier one (long-lived joining).
pub const CONTINUATION_GAP_SECS: i64 = 60;

/// Connection starts of one client→server:port pair; the history is only allocated from the
/// second connection on (most pairs are seen once).
#[derive(Debug, Default)]
pub(crate) struct Beacon {
    pub(crate) first: Option<Timestamp>,
    pub(crate) last: Timestamp,
    pub(crate) hist: VecDeque<Timestamp>,
}

/// Check state that is not a simple window tally.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) beacons: FxHashMap<Key, Beacon>,
    pub(crate) long_lived: FxHashMap<Key, (Timestamp, Timestamp)>,
    pub(crate) learned: FxHashSet<(IpAddr, IpAddr, u16)>,
    pub(crate) dhcp_servers: Vec<IpAddr>,
}

/// Drop state that can no longer matter at watermark `wm`.
pub(crate) fn prune_state(e: &mut Engine, wm: Timestamp) {
    let max_iv = mamori_core::Duration::from_nanos(
        (e.th(crate::CheckId::Beaconing, "max_interval_secs") * 1e9) as i64,
    );
    e.state.beacons.retain(|_, v| wm - v.last <= max_iv);
    let gap = mamori_core::Duration::from_secs(CONTINUATION_GAP_SECS * 10);
    e.state.long_lived.retain(|_, v| wm - v.1 <= gap);
}
