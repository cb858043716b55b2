//! Protocol identification and dissector dispatch for one flow.
//!
//! A flow's first payload (per direction, reassembled for TCP) goes to
//! [`mamori_proto::app::identify`]. `NeedMore` retries with more data up to
//! [`IDENT_MAX_PACKETS`] payload packets / [`IDENT_MAX_BYTES`] bytes per direction, then the
//! flow is `unknown`. The payload seen while identifying is kept (bounded) and replayed, in
//! arrival order, to the dissector once the protocol is known.
//!
//! A dissector that answers `NotThisProtocol` before emitting any record turns the flow
//! `unknown` (`dissector_not_this_protocol`); once it has emitted records the protocol is
//! confirmed and stays, only dissection stops (`dissector_late_reject`: e.g. one side's
//! handshake was seen, the other side's start was not captured). The dissector's counters are
//! merged into [`crate::L7Stats::dissectors`] when it is dropped or the flow ends.

use mamori_core::{Fields, Timestamp};
use mamori_proto::app::{Dir, Dissector, FlowMeta, Identified, Progress, ProtocolDef, Record};

use crate::reassembly::{Chunk, ReassemblyStats, Stream};
use crate::L7Stats;

/// Payload packets (both directions) examined before a flow is declared `unknown`.
pub const IDENT_MAX_PACKETS: u8 = 5;
/// Payload bytes per direction kept for identification and replay.
pub const IDENT_MAX_BYTES: usize = 4096;

/// Identification outcome kept on the flow (survives dropping the [`L7`] state).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) enum App {
    /// No payload yet, or still identifying.
    #[default]
    Pending,
    /// Identified.
    Known(&'static ProtocolDef),
    /// Nothing matched (or the dissector rejected the data).
    Unknown,
}

/// The identification function (the protocol registry's; tests substitute their own).
pub(crate) type IdentifyFn = fn(&FlowMeta, Dir, &[u8]) -> Identified;

/// Per-call context.
pub(crate) struct Ctx<'a> {
    pub identify: IdentifyFn,
    pub meta: FlowMeta,
    pub ts: Timestamp,
    pub max_bytes: u64,
    pub stats: &'a mut L7Stats,
    pub records: &'a mut Vec<Record>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Identifying,
    Dissecting,
    Done,
}

/// Lazily allocated L7 state of a flow.
pub(crate) struct L7 {
    streams: [Stream; 2],
    core: Core,
}

struct Core {
    phase: Phase,
    dissector: Option<Box<dyn Dissector>>,
    bufs: [Vec<u8>; 2],
    order: Vec<(Dir, u32)>,
    packets: u8,
    no_match: [bool; 2],
    fed: u64,
    /// The dissector has emitted a record: the protocol is confirmed.
    confirmed: bool,
}

pub(crate) fn dir_index(d: Dir) -> usize {
    match d {
        Dir::ToServer => 0,
        Dir::ToClient => 1,
    }
}

impl L7 {
    /// New state; `isn` is the initial sequence number per direction when a SYN was seen.
    pub fn new(isn: [Option<u32>; 2]) -> L7 {
        let mk = |i: Option<u32>| i.map_or_else(Stream::default, Stream::with_isn);
        L7 {
            streams: [mk(isn[0]), mk(isn[1])],
            core: Core {
                phase: Phase::Identifying,
                dissector: None,
                bufs: [Vec::new(), Vec::new()],
                order: Vec::new(),
                packets: 0,
                no_match: [false, false],
                fed: 0,
                confirmed: false,
            },
        }
    }

    /// Whether payload is still wanted.
    pub fn wants_data(&self) -> bool {
        self.core.phase != Phase::Done
    }

    /// Whether the state can be dropped entirely (nothing wanted, no dissector to finish).
    pub fn is_spent(&self) -> bool {
        self.core.phase == Phase::Done && self.core.dissector.is_none()
    }

    /// Release buffers that are no longer needed once feeding stopped.
    pub fn shrink(&mut self) {
        if self.core.phase == Phase::Done {
            for s in &mut self.streams {
                s.clear();
            }
            self.core.bufs = [Vec::new(), Vec::new()];
            self.core.order = Vec::new();
        }
    }

    /// Buffered bytes held (reassembly and identification).
    pub fn buffered(&self) -> usize {
        self.streams.iter().map(Stream::buffered).sum::<usize>()
            + self.core.bufs.iter().map(Vec::len).sum::<usize>()
    }

    /// A TCP segment of direction `dir`.
    #[allow(clippy::too_many_arguments)]
    pub fn tcp(
        &mut self,
        app: &mut App,
        dir: Dir,
        seq: u32,
        data: &[u8],
        ooo_limit: usize,
        rs: &mut ReassemblyStats,
        ctx: &mut Ctx<'_>,
    ) {
        if self.core.phase == Phase::Done {
            return;
        }
        let Some(stream) = self.streams.get_mut(dir_index(dir)) else {
            return;
        };
        let core = &mut self.core;
        stream.push(seq, data, ooo_limit, rs, &mut |c| {
            core.deliver(app, dir, c, true, ctx)
        });
    }

    /// A UDP datagram of direction `dir`.
    pub fn udp(&mut self, app: &mut App, dir: Dir, data: &[u8], ctx: &mut Ctx<'_>) {
        if self.core.phase == Phase::Done || data.is_empty() {
            return;
        }
        self.core.deliver(app, dir, Chunk::Data(data), false, ctx);
    }

    /// The flow ended: flush reassembly (reporting gaps) and finish the dissector.
    pub fn finish(&mut self, app: &mut App, rs: &mut ReassemblyStats, ctx: &mut Ctx<'_>) {
        if self.core.phase != Phase::Done {
            for dir in [Dir::ToServer, Dir::ToClient] {
                let Some(stream) = self.streams.get_mut(dir_index(dir)) else {
                    continue;
                };
                let core = &mut self.core;
                stream.flush(rs, &mut |c| core.deliver(app, dir, c, true, ctx));
            }
            if self.core.phase == Phase::Identifying {
                // Ran out of data before a decision.
                self.core.phase = Phase::Done;
                *app = App::Unknown;
                *ctx.stats.protocols.entry("unknown").or_default() += 1;
            }
        }
        // The dissector stays for `flow_fields`; `finish` runs once, when the flow ends.
        if let Some(d) = self.core.dissector.as_mut() {
            d.finish(ctx.ts, ctx.records);
            if let (App::Known(p), Some(c)) = (*app, d.counters()) {
                ctx.stats.merge_dissector(p.name, c);
            }
        }
    }

    /// Protocol summary fields for the flow record.
    pub fn flow_fields(&self, fields: &mut Fields) {
        if let Some(d) = self.core.dissector.as_ref() {
            d.flow_fields(fields);
        }
    }
}

impl Core {
    fn deliver(&mut self, app: &mut App, dir: Dir, c: Chunk<'_>, stream: bool, ctx: &mut Ctx<'_>) {
        match self.phase {
            Phase::Done => {}
            Phase::Dissecting => match c {
                Chunk::Data(d) => self.feed(app, dir, d, ctx),
                Chunk::Gap(n) => {
                    if let Some(d) = self.dissector.as_mut() {
                        d.gap(dir, n);
                    }
                }
            },
            Phase::Identifying => match c {
                // Identification needs the start of the stream; a gap ends it.
                Chunk::Gap(_) => self.give_up(app, ctx),
                Chunk::Data(d) => self.identify(app, dir, d, stream, ctx),
            },
        }
    }

    fn give_up(&mut self, app: &mut App, ctx: &mut Ctx<'_>) {
        self.phase = Phase::Done;
        *app = App::Unknown;
        *ctx.stats.protocols.entry("unknown").or_default() += 1;
    }

    fn identify(&mut self, app: &mut App, dir: Dir, d: &[u8], stream: bool, ctx: &mut Ctx<'_>) {
        let di = dir_index(dir);
        self.packets = self.packets.saturating_add(1);
        let Some(buf) = self.bufs.get_mut(di) else {
            return;
        };
        let before = buf.len();
        let room = IDENT_MAX_BYTES.saturating_sub(before);
        if stream {
            // Kept even when this direction matched nothing: the other one may still
            // identify the flow, and the dissector then needs both streams from the start.
            buf.extend_from_slice(d.get(..room.min(d.len())).unwrap_or(&[]));
        }
        let outcome = if self.no_match.get(di).copied().unwrap_or(false) {
            Identified::Unknown
        } else if stream {
            (ctx.identify)(&ctx.meta, dir, buf)
        } else {
            (ctx.identify)(&ctx.meta, dir, d)
        };
        match outcome {
            Identified::Protocol(p) => {
                *app = App::Known(p);
                *ctx.stats.protocols.entry(p.name).or_default() += 1;
                match p.new {
                    Some(new) => {
                        self.dissector = Some(new(&ctx.meta));
                        self.phase = Phase::Dissecting;
                        self.replay(app, before, di, ctx);
                        if self.phase == Phase::Dissecting {
                            self.feed(app, dir, d, ctx);
                        }
                    }
                    None => self.phase = Phase::Done,
                }
                self.bufs = [Vec::new(), Vec::new()];
                self.order = Vec::new();
            }
            Identified::NeedMore | Identified::Unknown => {
                if matches!(outcome, Identified::Unknown) {
                    if let Some(m) = self.no_match.get_mut(di) {
                        *m = true;
                    }
                }
                // Keep the payload for replay (whole datagrams only for UDP).
                if stream {
                    let kept = buf.len() - before;
                    if kept > 0 {
                        self.order.push((dir, kept as u32));
                    }
                } else if d.len() <= room {
                    buf.extend_from_slice(d);
                    self.order.push((dir, d.len() as u32));
                }
                let full = buf.len() >= IDENT_MAX_BYTES;
                let both_no = self.no_match == [true, true];
                if both_no || self.packets >= IDENT_MAX_PACKETS || (full && stream) {
                    self.give_up(app, ctx);
                }
            }
        }
    }

    /// Feed what was kept while identifying, in arrival order. The current chunk's bytes
    /// (stored at `cur_from` of direction `cur_dir` for streams) are excluded.
    fn replay(&mut self, app: &mut App, cur_from: usize, cur_dir: usize, ctx: &mut Ctx<'_>) {
        let order = std::mem::take(&mut self.order);
        let bufs = std::mem::take(&mut self.bufs);
        let mut pos = [0usize; 2];
        for (dir, len) in order {
            let di = dir_index(dir);
            let (Some(p), Some(buf)) = (pos.get_mut(di), bufs.get(di)) else {
                continue;
            };
            let start = *p;
            let mut end = start.saturating_add(len as usize);
            if di == cur_dir {
                end = end.min(cur_from);
            }
            *p = end;
            if let Some(chunk) = buf.get(start..end).filter(|c| !c.is_empty()) {
                if self.phase != Phase::Dissecting {
                    break;
                }
                self.feed(app, dir, chunk, ctx);
            }
        }
    }

    fn feed(&mut self, app: &mut App, dir: Dir, d: &[u8], ctx: &mut Ctx<'_>) {
        let Some(dis) = self.dissector.as_mut() else {
            self.phase = Phase::Done;
            return;
        };
        let room = ctx.max_bytes.saturating_sub(self.fed);
        let take = usize::try_from(room).unwrap_or(usize::MAX).min(d.len());
        let part = d.get(..take).unwrap_or(&[]);
        self.fed += take as u64;
        let before = ctx.records.len();
        let progress = if part.is_empty() {
            Progress::Continue
        } else {
            dis.feed(dir, part, ctx.ts, ctx.records)
        };
        self.confirmed |= ctx.records.len() > before;
        match progress {
            Progress::Continue => {}
            Progress::Done => self.phase = Phase::Done,
            // Records already came out (e.g. one side's handshake, the capture having missed
            // the other side's start): the protocol stands, only dissection stops.
            Progress::NotThisProtocol if self.confirmed => {
                ctx.stats.late_reject += 1;
                self.phase = Phase::Done;
            }
            Progress::NotThisProtocol => {
                ctx.stats.not_this_protocol += 1;
                if let (App::Known(p), Some(c)) = (*app, dis.counters()) {
                    ctx.stats.merge_dissector(p.name, c);
                }
                self.dissector = None;
                self.phase = Phase::Done;
                *app = App::Unknown;
            }
        }
        if take < d.len() && self.phase == Phase::Dissecting {
            ctx.stats.byte_limit += 1;
            self.phase = Phase::Done;
        }
    }
}
