//! BitTorrent: the peer-wire handshake over TCP (`\x13BitTorrent protocol`, BEP 3) and the
//! Mainline DHT over UDP (bencoded KRPC, BEP 5): info hash, peer id and DHT query type.

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::http::text::{bounded_str, hex_lower};
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record, Transport};

/// The 20-byte handshake prefix.
pub const HANDSHAKE_PREFIX: &[u8] = b"\x13BitTorrent protocol";
/// Length of a complete handshake (prefix, reserved, info hash, peer id).
pub const HANDSHAKE_LEN: usize = 68;
/// Bencode nesting followed.
pub const MAX_DEPTH: usize = 8;
/// DHT records per flow.
pub const MAX_RECORDS_PER_FLOW: usize = 64;
/// Bencode items examined per datagram.
const MAX_ITEMS: usize = 512;

/// DHT message prefixes: a query (`d1:ad2:id20:`) or a response (`d1:rd2:id20:`).
const DHT_PREFIXES: &[&[u8]] = &[b"d1:ad2:id20:", b"d1:rd2:id20:"];

/// Probe: the peer-wire handshake (TCP) or a DHT KRPC message (UDP).
pub fn probe(meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    let prefixes: &[&[u8]] = match meta.transport {
        Transport::Tcp => &[HANDSHAKE_PREFIX],
        Transport::Udp => DHT_PREFIXES,
    };
    for p in prefixes {
        if data.len() >= p.len() {
            if data.starts_with(p) {
                return Probe::Yes;
            }
        } else if !data.is_empty() && p.starts_with(data) {
            return Probe::Maybe;
        }
    }
    Probe::No
}

/// A fresh BitTorrent dissector.
pub fn new_dissector(meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::new(BitTorrentDissector {
        udp: Some(meta.transport == Transport::Udp),
        ..BitTorrentDissector::default()
    })
}

/// Bencoded values the DHT dissector looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bencode<'a> {
    /// Integer.
    Int(i64),
    /// Byte string.
    Bytes(&'a [u8]),
    /// List.
    List(Vec<Bencode<'a>>),
    /// Dictionary (keys in wire order).
    Dict(Vec<(&'a [u8], Bencode<'a>)>),
}

impl<'a> Bencode<'a> {
    /// Look a key up in a dictionary.
    pub fn get(&self, key: &[u8]) -> Option<&Bencode<'a>> {
        match self {
            Bencode::Dict(d) => d.iter().find(|(k, _)| *k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    /// The bytes of a byte string.
    pub fn bytes(&self) -> Option<&'a [u8]> {
        match self {
            Bencode::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

/// Parse one bencoded value (depth- and size-bounded); returns it and the rest.
pub fn parse_bencode(b: &[u8]) -> Option<(Bencode<'_>, &[u8])> {
    let mut items = 0;
    parse_at(b, 0, &mut items)
}

fn parse_at<'a>(b: &'a [u8], depth: usize, items: &mut usize) -> Option<(Bencode<'a>, &'a [u8])> {
    *items += 1;
    if depth > MAX_DEPTH || *items > MAX_ITEMS {
        return None;
    }
    match *b.first()? {
        b'i' => {
            let end = b.iter().position(|&c| c == b'e')?;
            let s = std::str::from_utf8(b.get(1..end)?).ok()?;
            Some((Bencode::Int(s.parse().ok()?), b.get(end + 1..)?))
        }
        b'l' => {
            let mut rest = b.get(1..)?;
            let mut v = Vec::new();
            while rest.first()? != &b'e' {
                let (x, r) = parse_at(rest, depth + 1, items)?;
                v.push(x);
                rest = r;
            }
            Some((Bencode::List(v), rest.get(1..)?))
        }
        b'd' => {
            let mut rest = b.get(1..)?;
            let mut v = Vec::new();
            while rest.first()? != &b'e' {
                let (k, r) = parse_at(rest, depth + 1, items)?;
                let k = k.bytes()?;
                let (x, r) = parse_at(r, depth + 1, items)?;
                v.push((k, x));
                rest = r;
            }
            Some((Bencode::Dict(v), rest.get(1..)?))
        }
        b'0'..=b'9' => {
            let colon = b.iter().take(8).position(|&c| c == b':')?;
            let n: usize = std::str::from_utf8(b.get(..colon)?).ok()?.parse().ok()?;
            let s = b.get(colon + 1..colon + 1 + n)?;
            Some((Bencode::Bytes(s), b.get(colon + 1 + n..)?))
        }
        _ => None,
    }
}

/// BitTorrent dissector (peer wire or DHT).
#[derive(Debug, Default)]
pub struct BitTorrentDissector {
    /// Handshake bytes per direction (client, server).
    buf: [Vec<u8>; 2],
    /// Handshake complete per direction.
    shaken: [bool; 2],
    /// DHT datagrams (UDP) rather than the peer wire (TCP); `None` when built without the
    /// flow (`Default`): then a first payload starting a dictionary means DHT.
    udp: Option<bool>,
    info_hash: Option<String>,
    peer_ids: Vec<String>,
    handshakes: usize,
    records: usize,
    counters: Counters,
}

/// Peer ids are mostly `-XX1234-` + random: keep the printable client prefix.
fn peer_id_str(id: &[u8]) -> String {
    let printable = id.iter().take_while(|b| b.is_ascii_graphic()).count();
    if printable >= 8 {
        bounded_str(id.get(..printable).unwrap_or(id), 20)
    } else {
        hex_lower(id)
    }
}

impl BitTorrentDissector {
    /// Counters of dropped input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn dht(&mut self, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        let Some((msg, _)) = parse_bencode(data) else {
            self.counters.incr("bittorrent_bad_bencode");
            return if self.records == 0 {
                Progress::NotThisProtocol
            } else {
                Progress::Continue
            };
        };
        if self.records >= MAX_RECORDS_PER_FLOW {
            self.counters.incr("records_over_limit");
            return Progress::Continue;
        }
        let mut f = Fields::new();
        if let Some(y) = msg.get(b"y").and_then(Bencode::bytes) {
            f.insert(
                "mamori.bittorrent.dht_type".into(),
                Value::from(bounded_str(y, 8)),
            );
        }
        if let Some(q) = msg.get(b"q").and_then(Bencode::bytes) {
            f.insert(
                "mamori.bittorrent.dht_query".into(),
                Value::from(bounded_str(q, 32)),
            );
        }
        if let Some(h) = msg
            .get(b"a")
            .and_then(|a| a.get(b"info_hash"))
            .and_then(Bencode::bytes)
        {
            let h = hex_lower(h);
            if self.info_hash.is_none() {
                self.info_hash = Some(h.clone());
            }
            f.insert("mamori.bittorrent.info_hash".into(), Value::from(h));
        }
        if let Some(id) = msg
            .get(b"a")
            .or_else(|| msg.get(b"r"))
            .and_then(|a| a.get(b"id"))
            .and_then(Bencode::bytes)
        {
            f.insert(
                "mamori.bittorrent.node_id".into(),
                Value::from(hex_lower(id)),
            );
        }
        self.records += 1;
        out.push(Record {
            dataset: "bittorrent",
            ts,
            fields: f,
        });
        Progress::Continue
    }
}

impl Dissector for BitTorrentDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        let i = usize::from(dir == Dir::ToClient);
        let (Some(buf), Some(&shaken)) = (self.buf.get_mut(i), self.shaken.get(i)) else {
            return Progress::Done;
        };
        // DHT datagrams start with a dictionary; peer-wire streams with the handshake.
        let dht = match self.udp {
            Some(udp) => udp,
            None => self.handshakes == 0 && buf.is_empty() && data.first() == Some(&b'd'),
        };
        if dht {
            return self.dht(data, ts, out);
        }
        if shaken {
            return Progress::Continue;
        }
        let need = HANDSHAKE_LEN - buf.len().min(HANDSHAKE_LEN);
        buf.extend_from_slice(data.get(..need.min(data.len())).unwrap_or(&[]));
        if buf.len() < HANDSHAKE_LEN {
            if !buf.is_empty()
                && !HANDSHAKE_PREFIX.starts_with(buf.get(..buf.len().min(20)).unwrap_or(&[]))
            {
                return Progress::NotThisProtocol;
            }
            return Progress::Continue;
        }
        let hs = std::mem::take(buf);
        if !hs.starts_with(HANDSHAKE_PREFIX) {
            return Progress::NotThisProtocol;
        }
        if let Some(s) = self.shaken.get_mut(i) {
            *s = true;
        }
        self.handshakes += 1;
        let hash = hex_lower(hs.get(28..48).unwrap_or(&[]));
        let peer = peer_id_str(hs.get(48..68).unwrap_or(&[]));
        if self.info_hash.is_none() {
            self.info_hash = Some(hash.clone());
        }
        self.peer_ids.push(peer.clone());
        let mut f = Fields::new();
        f.insert("mamori.bittorrent.info_hash".into(), Value::from(hash));
        f.insert("mamori.bittorrent.peer_id".into(), Value::from(peer));
        f.insert(
            "mamori.bittorrent.reserved".into(),
            Value::from(hex_lower(hs.get(20..28).unwrap_or(&[]))),
        );
        out.push(Record {
            dataset: "bittorrent",
            ts,
            fields: f,
        });
        // One handshake per direction; then the peer-wire messages are opaque.
        if self.handshakes >= 2 {
            Progress::Done
        } else {
            Progress::Continue
        }
    }

    fn flow_fields(&self, f: &mut Fields) {
        if let Some(h) = &self.info_hash {
            f.insert("mamori.bittorrent.info_hash".into(), Value::from(h.clone()));
        }
    }
}
