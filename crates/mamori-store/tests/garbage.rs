//! Property tests: decoders of stored data never panic on arbitrary input (the same entry
//! points as the `wal_replay` and `manifest_verify` fuzz targets).
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed assertion"
)]

use mamori_store::{codec, manifest, wal};
use proptest::prelude::*;

proptest! {
    #[test]
    fn wal_scan_never_panics_and_valid_prefix_rescans(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let mut n = 0usize;
        let (valid, _, _) = wal::scan_records(&data, None, |_| n += 1);
        prop_assert!(valid <= data.len());
        let mut m = 0usize;
        let (again, _, why) = wal::scan_records(&data[..valid], None, |_| m += 1);
        prop_assert_eq!(again, valid);
        prop_assert!(why.is_none());
        prop_assert_eq!(n, m);
        let _ = codec::decode_event(&data);
    }

    #[test]
    fn manifest_parse_never_panics(text in ".{0,2000}") {
        let (entries, _) = manifest::parse_manifest(&text);
        let _ = manifest::check_chain(&entries);
    }

    #[test]
    fn codec_round_trips_generated_events(secs in any::<i64>(), s in ".{0,40}", i in any::<i64>(), f in any::<f64>(), b in any::<bool>()) {
        let mut e = mamori_core::Event::new(mamori_core::Timestamp::from_unix_nanos(secs), "x");
        e.set("a", s).set("b", i).set("c", b);
        if !f.is_nan() {
            e.set("d", f);
        }
        let mut buf = Vec::new();
        codec::encode_event(&e, &mut buf);
        prop_assert_eq!(codec::decode_event(&buf).unwrap(), e);
    }
}
