//! # mamori-flow
//!
//! Flow table, TCP state and reassembly, protocol identification and L7 dispatch: packets
//! in, flow records and protocol records ([`mamori_core::Event`]s, ECS fields) out.
//!
//! [`Sensor`] is the entry point: it decodes each [`RawPacket`] with its own
//! [`mamori_proto::packet::Decoder`], tracks bidirectional flows keyed by 5-tuple, VLANs and
//! tunnel, reassembles TCP streams for the dissectors of [`mamori_proto::app`], and appends
//! events as they complete. Time is event time only: timeouts advance on a watermark (the
//! largest packet timestamp seen), checked once per [`table::EXPIRY_CHECK_INTERVAL`] of
//! event time with work proportional to what expires. The same input always gives the same
//! output in the same order.
//!
//! ## Flow records (`event.dataset: flow`)
//! * `source.*` is the client: the sender of a SYN without ACK, the receiver of a SYN-ACK
//!   seen first, otherwise the sender of the first packet.
//! * `source.bytes`/`packets` (IP length), `mamori.flow.source_payload_bytes`, and the same
//!   for `destination.*`; `network.bytes`/`packets` are the sums.
//! * `mamori.flow.tcp_flags` is the union of both sides' flags as letters in bit order
//!   `FSRPAUEC` (e.g. `FSPA`); `mamori.flow.source_tcp_flags` / `destination_tcp_flags` per side.
//! * `mamori.flow.state`: TCP `established`, `rejected`, `half_open`, `no_reply`, `reset`,
//!   `closed`, `midstream`; other protocols `no_reply` or `established` (both ways seen).
//! * `event.reason`: `idle_timeout`, `active_timeout`, `tcp_close`, `evicted`, `end_of_capture`.
//! * Active timeout: a long flow is exported every `active_timeout` as a partial record with
//!   `event.type: ["connection"]`, `mamori.flow.continuing: true` and `mamori.flow.segment`
//!   (0, 1, …). Counters are **deltas**: each record counts the packets since the previous
//!   one (IPFIX style); TCP flags and state are cumulative. The final record has
//!   `event.type: ["connection", "end"]` (and `continuing: false` when it had predecessors).
//! * ICMP errors that quote a known flow (`inner` tuple) are attached to **that** flow only
//!   (`mamori.flow.icmp_errors`, `mamori.flow.icmp_error: "port_unreachable"`) and do not
//!   create an ICMP flow; unmatched errors become ICMP flows of their own. Both are counted.
//! * `@timestamp` is the flow's last packet (`event.end`).
//! * `network.protocol` is the identified protocol, or `unknown` when payload was seen but
//!   nothing matched; it is absent when the flow carried no TCP/UDP payload at all.
//!
//! The flow map hashes with `foldhash` (fast on small fixed-size keys, no dependencies, and
//! randomly seeded per table so crafted tuples cannot be aimed at one bucket chain); output
//! order never depends on map order. Per flow the table keeps [`FLOW_STATE_SIZE`] bytes plus
//! L7 state that is allocated on the first payload and released once dissection stops.
//!
//! Protocol records carry the dissector's fields plus `source.*`/`destination.*`,
//! `network.transport`, `network.protocol`, `network.community_id`, `network.direction`,
//! MACs and VLAN of their flow, and `event.category`/`event.type` from the table in [`ecs`]
//! (unless the dissector set them). Every record has `observer.type: sensor`, and
//! `observer.name` when [`SensorConfig::observer_name`] is set (the caller passes e.g. the
//! host name; the crate does no I/O to find one).
//!
//! ```
//! use mamori_core::Timestamp;
//! use mamori_flow::{Sensor, SensorConfig};
//! use mamori_proto::packet::{Decoded, IpHeader, Transport};
//!
//! let mut sensor = Sensor::new(SensorConfig::default());
//! let payload = [0u8; 8];
//! let pkt = Decoded {
//!     ts: Timestamp::from_unix_secs(1_700_000_000),
//!     src_mac: None,
//!     dst_mac: None,
//!     vlan: None,
//!     inner_vlan: None,
//!     tunnel: None,
//!     ip: IpHeader {
//!         src: "10.0.0.1".parse().unwrap(),
//!         dst: "192.0.2.1".parse().unwrap(),
//!         protocol: 17,
//!         ttl: 64,
//!         len: 36,
//!         reassembled: false,
//!     },
//!     transport: Transport::Udp { src_port: 40000, dst_port: 9999, payload: &payload },
//!     wire_len: 50,
//! };
//! let mut out = Vec::new();
//! sensor.process_decoded(&pkt, &mut out);
//! sensor.finish(&mut out);
//! let flow = out.iter().find(|e| e.dataset == "flow").unwrap();
//! assert_eq!(flow.get_str("network.transport"), Some("udp"));
//! assert_eq!(flow.get_str("network.direction"), Some("outbound"));
//! assert_eq!(flow.get_str("mamori.flow.state"), Some("no_reply"));
//! assert_eq!(flow.get_str("event.reason"), Some("end_of_capture"));
//! ```

pub mod community_id;
pub mod config;
pub mod ecs;
pub mod key;
pub mod l7;
pub mod reassembly;
pub mod table;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use mamori_core::{Counters, Event, Timestamp};
use mamori_proto::capture::RawPacket;
use mamori_proto::packet::{Decoded, Decoder};

pub use config::SensorConfig;
pub use key::FlowKey;
pub use reassembly::ReassemblyStats;
pub use table::{ExportReason, FLOW_STATE_SIZE};

/// Packets between copies of the decoder's counters into [`SensorStats::decoder`].
pub const DECODER_SYNC_INTERVAL: u64 = 4096;

/// Counters of L7 dispatch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct L7Stats {
    /// Flows whose dissector reached the per-flow byte limit (`l7_byte_limit`).
    pub byte_limit: u64,
    /// Dissectors that reported `NotThisProtocol` (`dissector_not_this_protocol`); the flow
    /// becomes `unknown`.
    pub not_this_protocol: u64,
    /// Dissectors that reported `NotThisProtocol` after they had emitted records
    /// (`dissector_late_reject`): the protocol is kept, dissection stops.
    pub late_reject: u64,
    /// Flows identified per `network.protocol` (including `unknown`).
    pub protocols: BTreeMap<&'static str, u64>,
    /// Dissectors' own counters (malformed messages, limits…), merged when a flow's
    /// dissector is finished or dropped, named `<protocol>.<reason>` (e.g.
    /// `dns.malformed_message`; a reason already starting with `<protocol>_` loses that
    /// prefix, so `ftp_pending_overflow` becomes `ftp.pending_overflow`).
    pub dissectors: Counters,
}

impl L7Stats {
    /// Merge the counters of a dissector of protocol `proto` into [`L7Stats::dissectors`].
    pub fn merge_dissector(&mut self, proto: &str, counters: &Counters) {
        for (name, c) in counters.iter() {
            let reason = name
                .strip_prefix(proto)
                .and_then(|r| r.strip_prefix('_'))
                .filter(|r| !r.is_empty())
                .unwrap_or(name);
            let key = format!("{proto}.{reason}");
            match &c.sample {
                Some(sample) if c.count > 0 => {
                    self.dissectors.incr_with_sample(&key, || sample.clone());
                    self.dissectors.add(&key, c.count - 1);
                }
                _ => self.dissectors.add(&key, c.count),
            }
        }
    }
}

/// What a [`Sensor`] has seen and done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SensorStats {
    /// Frames given to [`Sensor::process`] or [`Sensor::process_decoded`].
    pub packets: u64,
    /// Their wire length.
    pub bytes: u64,
    /// Packets that decoded to IP and reached the flow table.
    pub decoded: u64,
    /// Frames that did not decode, by reason (`non_ip`, `fragment_held`, decoder reasons);
    /// always current. The decoder counts the same reasons in [`SensorStats::decoder`].
    pub skipped: Counters,
    /// Copy of the decoder's own counters (refreshed every [`DECODER_SYNC_INTERVAL`]
    /// packets and at [`Sensor::finish`]; not per packet, to keep the hot path free of
    /// allocation).
    pub decoder: Counters,
    /// Flows created.
    pub flows_created: u64,
    /// Flows ended by idle timeout or TCP close.
    pub flows_expired: u64,
    /// Flows evicted from a full table (`flow_evicted`).
    pub flows_evicted: u64,
    /// Flows exported at end of input.
    pub flows_flushed: u64,
    /// Partial records of long flows (active timeout).
    pub partial_records: u64,
    /// Flows currently in the table.
    pub active_flows: u64,
    /// Protocol records emitted.
    pub records: u64,
    /// TCP reassembly counters.
    pub reassembly: ReassemblyStats,
    /// L7 dispatch counters.
    pub l7: L7Stats,
    /// ICMP errors attached to the flow they quote.
    pub icmp_errors_attached: u64,
    /// ICMP errors quoting no known flow (`icmp_error_unmatched`; kept as ICMP flows).
    pub icmp_errors_unmatched: u64,
}

impl SensorStats {
    /// Everything dropped, skipped or over a limit as named counters (stable snake_case):
    /// the decoder's counters (skip reasons, fragment handling; current as of the last sync,
    /// complete after [`Sensor::finish`]), the flow table's own, and the dissectors' (per
    /// protocol, `dns.malformed_message`; counted when a flow's dissector ends).
    pub fn counters(&self) -> Counters {
        let mut c = Counters::new();
        c.merge(&self.decoder);
        c.add("flow_evicted", self.flows_evicted);
        c.add("tcp_retransmit", self.reassembly.retransmit);
        c.add("tcp_gap", self.reassembly.gaps);
        c.add("tcp_gap_bytes", self.reassembly.gap_bytes);
        c.add("tcp_ooo_dropped", self.reassembly.ooo_dropped);
        c.add("l7_byte_limit", self.l7.byte_limit);
        c.add("dissector_not_this_protocol", self.l7.not_this_protocol);
        c.add("dissector_late_reject", self.l7.late_reject);
        c.add("icmp_error_unmatched", self.icmp_errors_unmatched);
        c.merge(&self.l7.dissectors);
        c
    }
}

/// Packets to flow and protocol events.
pub struct Sensor {
    decoder: Decoder,
    engine: table::Engine,
}

impl Sensor {
    /// A sensor with `config`.
    pub fn new(config: SensorConfig) -> Sensor {
        Sensor {
            decoder: Decoder::new(),
            engine: table::Engine::new(config),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &SensorConfig {
        &self.engine.cfg
    }

    /// Decode one frame, update its flow, run dissectors and append completed events.
    pub fn process(&mut self, pkt: &RawPacket<'_>, out: &mut Vec<Event>) {
        let st = &mut self.engine.stats;
        st.packets += 1;
        st.bytes += u64::from(pkt.orig_len);
        let periodic = st.packets.is_multiple_of(DECODER_SYNC_INTERVAL);
        match self.decoder.decode_raw(pkt) {
            Ok(d) => self.engine.process(&d, out),
            Err(skip) => {
                self.engine.stats.skipped.incr(skip.reason());
                self.engine.advance(pkt.ts, out);
            }
        }
        if periodic {
            self.engine.stats.decoder.clone_from(&self.decoder.counters);
        }
    }

    /// Process an already decoded packet (for callers with their own decoder, and tests);
    /// counts it in `packets` and its `wire_len` in `bytes` like [`Sensor::process`].
    pub fn process_decoded(&mut self, d: &Decoded<'_>, out: &mut Vec<Event>) {
        self.engine.stats.packets += 1;
        self.engine.stats.bytes += u64::from(d.wire_len);
        self.engine.process(d, out);
    }

    /// End of input: export every flow (`event.reason: end_of_capture`) and pending records.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        self.engine.finish(out);
        // IP fragments still waiting for their missing parts are counted as timed out.
        self.decoder.expire_fragments(Timestamp::MAX);
        self.engine.stats.decoder.clone_from(&self.decoder.counters);
    }

    /// Statistics so far.
    pub fn stats(&self) -> &SensorStats {
        &self.engine.stats
    }

    /// Flows currently tracked.
    pub fn active_flows(&self) -> usize {
        self.engine.len()
    }

    /// Bytes held by L7 state (reassembly and identification buffers) of all flows.
    pub fn buffered_bytes(&self) -> usize {
        self.engine.buffered_bytes()
    }
}
