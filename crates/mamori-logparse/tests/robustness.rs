//! Malformed, truncated and random input: never a panic, always an event, counted.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use mamori_core::Timestamp;
use mamori_logparse::{Framer, LineContext, LineStatus, LogParser};
use proptest::prelude::*;

fn ctx(hint: Option<&str>) -> LineContext<'_> {
    LineContext {
        received: Timestamp::from_unix_secs(1_795_400_000),
        source: "fuzz",
        source_ip: None,
        hint,
    }
}

const SAMPLES: &[&str] = &[
    "<38>Nov 23 10:00:01 gw sshd[1234]: Accepted password for alice from 192.168.1.10 port 51234 ssh2",
    "Nov 23 10:02:00 fw kernel: [UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.9 DST=192.168.1.2 PROTO=TCP SPT=1 DPT=22",
    "1795395900.123    150 192.168.1.10 TCP_MISS/200 5120 GET http://example.jp/ - HIER_DIRECT/93.184.216.34 text/html",
    "Nov 23 10:09:00 ns1 named[800]: client @0x7f 192.168.1.10#53211 (example.jp): query: example.jp IN A + (192.168.1.1)",
    "<166>Nov 23 2026 10:06:00 fw01 : %ASA-6-302013: Built inbound TCP connection 1 for outside:1.2.3.4/5 (1.2.3.4/5) to inside:10.0.0.1/22 (10.0.0.1/22)",
    "CEF:0|V|P|1|100|N|5|src=1.2.3.4 msg=a\\=b",
    "LEEF:2.0|V|P|1|E|x5E|src=1.2.3.4^usrName=x",
    r#"{"timestamp":"2026-11-23T01:14:01Z","event_type":"alert","alert":{"signature_id":1}}"#,
    r#"{"winlog":{"channel":"Security","event_id":4624,"event_data":{"IpAddress":"1.2.3.4"}}}"#,
    "date=2026-11-23 time=10:04:00 devname=fg logid=1 type=traffic srcip=1.2.3.4 action=deny",
    "2026-11-23 10:11:07 1tABCd-000123-AB <= a@b H=x [1.2.3.4]",
    "[Mon Nov 23 10:08:02.1 2026] [core:error] [pid 1:tid 2] [client 1.2.3.4:5] AH00126: x",
    "filterlog[1]: 5,,,1000000103,igb0,match,block,in,4,0x0,,64,1,0,DF,6,tcp,60,1.2.3.4,5.6.7.8,1,2,0",
    "Mon Nov 23 10:13:01 2026 [pid 4321] [bob] FAIL LOGIN: Client \"1.2.3.4\"",
    "<13>Nov 23 10:18:02 WS02 MSWinEventLog\t1\tSecurity\t123\tMon Nov 23 10:18:02 2026\t4624\tP\tN/A\tN/A\tSuccess Audit\tWS02\tLogon\t\tmsg",
];

#[test]
fn every_prefix_of_known_lines_is_handled() {
    let mut p = LogParser::default();
    for line in SAMPLES {
        for cut in 0..=line.len() {
            if !line.is_char_boundary(cut) {
                continue;
            }
            let x = p.explain_line(&line.as_bytes()[..cut], &ctx(None));
            // Whatever happened, the event is usable and says what happened.
            match x.status {
                LineStatus::Raw => assert_eq!(x.event.get_str("event.outcome"), Some("unknown")),
                LineStatus::Partial(r) => {
                    assert_eq!(x.event.get_str("mamori.parse_error"), Some(r))
                }
                LineStatus::Parsed | LineStatus::Metadata => {}
            }
        }
    }
    assert!(p.counters().total() > 0);
}

#[test]
fn garbage_and_invalid_utf8_are_raw() {
    let mut p = LogParser::default();
    for g in [
        &b"\xff\xfe\x00garbage\x80"[..],
        b"<",
        b"<191>",
        b"<192>x",
        b"1 ",
        b"{",
        b"{\"event_type\":",
        b"CEF:",
        b"LEEF:2.0|",
        b"%ASA-",
        b"#fields\t",
        b"\t\t\t",
        b"[",
        b"IN= OUT= SRC=",
    ] {
        let e = p.parse_line(g, &ctx(None));
        assert!(e.get("event.ingested").is_some());
    }
}

#[test]
fn oversized_line_is_cut_and_flagged() {
    let mut p = LogParser::default();
    let mut line = b"Nov 23 10:00:01 gw app: ".to_vec();
    line.extend(std::iter::repeat_n(
        b'a',
        mamori_logparse::dispatch::MAX_LINE_LEN + 10,
    ));
    let e = p.parse_line(&line, &ctx(None));
    assert_eq!(
        e.get("mamori.log.truncated").as_deref(),
        Some(&mamori_core::Value::Bool(true))
    );
    assert_eq!(p.counters().get("line_truncated"), 1);
}

#[test]
fn hint_for_every_parser_on_garbage_does_not_panic() {
    let mut p = LogParser::default();
    let names: Vec<&str> = mamori_logparse::Catalog::parsers()
        .map(|i| i.name)
        .collect();
    for n in names {
        for line in SAMPLES {
            let _ = p.parse_line(line.as_bytes(), &ctx(Some(n)));
            let half = &line.as_bytes()[..line.len() / 2];
            let _ = p.parse_line(half, &ctx(Some(n)));
        }
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut p = LogParser::default();
        let _ = p.parse_line(&bytes, &ctx(None));
    }

    #[test]
    fn mutated_samples_never_panic(i in 0..SAMPLES.len(), pos in 0usize..200, byte in any::<u8>()) {
        let mut line = SAMPLES[i].as_bytes().to_vec();
        let at = pos % (line.len() + 1);
        line.insert(at, byte);
        let mut p = LogParser::default();
        let _ = p.parse_line(&line, &ctx(None));
    }

    #[test]
    fn framing_is_independent_of_split_points(
        msgs in proptest::collection::vec("<[0-9]{1,3}>[a-z <>0-9]{0,40}|[a-z <>0-9]{1,40}", 1..8),
        cuts in proptest::collection::vec(0usize..400, 0..10),
        counted in any::<bool>(),
    ) {
        let mut stream = Vec::new();
        // A counted stream starts with a PRI (that is how it is recognised).
        let mut msgs = msgs;
        if counted && !msgs[0].starts_with('<') {
            msgs[0].insert_str(0, "<1>");
        }
        // A newline stream that starts like "12 <" is taken for octet counting (RFC 6587
        // leaves that ambiguous); keep the generated newline streams unambiguous.
        if !counted && msgs[0].starts_with(|c: char| c.is_ascii_digit()) {
            msgs[0].insert(0, 'x');
        }
        for m in &msgs {
            if counted {
                stream.extend_from_slice(format!("{} {m}", m.len()).as_bytes());
            } else {
                stream.extend_from_slice(m.as_bytes());
                stream.push(b'\n');
            }
        }
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (stream.len() + 1)).collect();
        cuts.sort_unstable();
        let mut f = Framer::new();
        let mut got = Vec::new();
        let mut prev = 0;
        for c in cuts.into_iter().chain([stream.len()]) {
            got.extend(f.push(&stream[prev..c]).map(|fr| fr.data));
            prev = c;
        }
        got.extend(f.finish().map(|fr| fr.data));
        // Newline framing drops messages that are blank after trimming CR/NUL.
        let want: Vec<Vec<u8>> = msgs.iter().map(|m| m.as_bytes().to_vec()).collect();
        if counted {
            prop_assert_eq!(got, want);
        } else {
            let want: Vec<Vec<u8>> = want.into_iter().filter(|m| !m.is_empty()).collect();
            prop_assert_eq!(got, want);
        }
    }
}

#[cfg(feature = "evtx")]
mod evtx_files {
    use super::*;
    use mamori_core::Counters;

    /// A valid EVTX file header (4 KiB) with no chunks.
    fn empty_evtx() -> Vec<u8> {
        let mut h = vec![0u8; 4096];
        h[..8].copy_from_slice(b"ElfFile\0");
        // first chunk 0, last chunk 0, next record id 1
        h[24..32].copy_from_slice(&1u64.to_le_bytes());
        h[32..36].copy_from_slice(&128u32.to_le_bytes()); // header size
        h[36..38].copy_from_slice(&1u16.to_le_bytes()); // minor
        h[38..40].copy_from_slice(&3u16.to_le_bytes()); // major
        h[40..42].copy_from_slice(&4096u16.to_le_bytes()); // header block size
        h[42..44].copy_from_slice(&0u16.to_le_bytes()); // chunk count
        let crc = crc32(&h[..120]);
        h[124..128].copy_from_slice(&crc.to_le_bytes());
        h
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0xedb8_8320
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    #[test]
    fn header_only_file_yields_no_events() {
        let mut counters = Counters::new();
        let mut n = 0;
        let stats = mamori_logparse::for_each_evtx_event(
            empty_evtx(),
            ctx(None).received,
            &mut counters,
            |_| n += 1,
        )
        .expect("valid empty evtx");
        assert_eq!(stats.records, 0);
        assert_eq!(n, 0);
    }

    #[test]
    fn not_evtx_is_an_error() {
        let mut counters = Counters::new();
        let r = mamori_logparse::for_each_evtx_event(
            b"ElfFile\0short".to_vec(),
            ctx(None).received,
            &mut counters,
            |_| {},
        );
        assert!(r.is_err());
        let r = mamori_logparse::for_each_evtx_event(
            vec![0; 10],
            ctx(None).received,
            &mut counters,
            |_| {},
        );
        assert!(r.is_err());
    }

    #[test]
    fn garbage_chunk_is_counted_not_panicking() {
        let mut data = empty_evtx();
        data[42..44].copy_from_slice(&1u16.to_le_bytes());
        let crc = crc32(&data[..120]);
        data[124..128].copy_from_slice(&crc.to_le_bytes());
        let mut chunk = vec![0u8; 65536];
        chunk[..8].copy_from_slice(b"ElfChnk\0");
        data.extend(chunk);
        let mut counters = Counters::new();
        let _ =
            mamori_logparse::for_each_evtx_event(data, ctx(None).received, &mut counters, |_| {});
    }
}
