//! Every tamper case `verify` must name.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed assertion"
)]

mod common;

use std::fs;
use std::path::PathBuf;

use common::*;
use mamori_store::manifest::{Manifest, Problem};
use mamori_store::Store;

/// A store with three sealed segments; returns their absolute paths.
fn setup(t: &TempDir) -> (Store, Vec<PathBuf>) {
    let mut s = open(t);
    for k in 0..3u64 {
        let evs: Vec<_> = (k * 100..k * 100 + 50)
            .map(common::event)
            .filter(|e| e.dataset == "sshd")
            .collect();
        s.append_batch(&evs).unwrap();
        s.seal().unwrap();
    }
    let paths: Vec<PathBuf> = s
        .manifest()
        .live_segments()
        .into_iter()
        .map(|x| x.path)
        .collect();
    assert_eq!(paths.len(), 3);
    let r = s.verify();
    assert!(r.ok, "{:?}", r.problems);
    assert_eq!(r.segments_checked, 3);
    (s, paths)
}

fn problems(s: &Store) -> Vec<Problem> {
    let r = s.verify();
    assert!(!r.ok);
    r.problems
}

#[test]
fn flipped_byte_names_the_segment() {
    let t = TempDir::new("flip");
    let (s, p) = setup(&t);
    let mut b = fs::read(&p[1]).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x01;
    fs::write(&p[1], b).unwrap();
    let pr = problems(&s);
    assert!(
        matches!(&pr[..], [Problem::SegmentHashMismatch { seq: 1, .. }]),
        "{pr:?}"
    );
    assert!(pr[0].to_string().contains("segment #1"));
}

#[test]
fn removed_segment() {
    let t = TempDir::new("removed");
    let (s, p) = setup(&t);
    fs::remove_file(&p[0]).unwrap();
    let pr = problems(&s);
    assert!(
        matches!(&pr[..], [Problem::SegmentMissing { seq: 0, .. }]),
        "{pr:?}"
    );
}

#[test]
fn truncated_segment() {
    let t = TempDir::new("trunc");
    let (s, p) = setup(&t);
    let b = fs::read(&p[2]).unwrap();
    fs::write(&p[2], &b[..b.len() - 10]).unwrap();
    let pr = problems(&s);
    assert!(
        matches!(&pr[..], [Problem::SegmentSizeMismatch { seq: 2, .. }]),
        "{pr:?}"
    );
}

#[test]
fn swapped_segments_are_reported_as_reordered() {
    let t = TempDir::new("swap");
    let (s, p) = setup(&t);
    let a = fs::read(&p[0]).unwrap();
    let b = fs::read(&p[1]).unwrap();
    fs::write(&p[0], &b).unwrap();
    fs::write(&p[1], &a).unwrap();
    let pr = problems(&s);
    assert!(
        pr.contains(&Problem::SegmentMisplaced {
            seq: 0,
            path: s.manifest().entries()[0].path.clone(),
            holds_seq: 1
        }),
        "{pr:?}"
    );
    assert!(pr.iter().any(|x| matches!(
        x,
        Problem::SegmentMisplaced {
            seq: 1,
            holds_seq: 0,
            ..
        }
    )));
}

#[test]
fn replaced_segment_with_other_content() {
    let t = TempDir::new("replace");
    let (s, p) = setup(&t);
    // A well-formed Parquet file with different events, written over segment 1.
    let other: Vec<_> = (900..910).map(common::event).collect();
    mamori_store::segment::write_segment(&p[1], &other).unwrap();
    let pr = problems(&s);
    assert!(
        pr.iter().any(|x| matches!(
            x,
            Problem::SegmentHashMismatch { seq: 1, .. }
                | Problem::SegmentSizeMismatch { seq: 1, .. }
        )),
        "{pr:?}"
    );
}

#[test]
fn extra_unlisted_segment() {
    let t = TempDir::new("extra");
    let (s, p) = setup(&t);
    let extra = p[0].with_file_name("999999999999.parquet");
    fs::copy(&p[0], &extra).unwrap();
    let pr = problems(&s);
    assert!(
        matches!(&pr[..], [Problem::UnlistedSegment { path }] if path.ends_with("999999999999.parquet")),
        "{pr:?}"
    );
}

fn manifest_path(t: &TempDir) -> PathBuf {
    t.data().join("manifest").join("manifest.jsonl")
}

#[test]
fn edited_manifest_entry_breaks_the_chain() {
    let t = TempDir::new("edit");
    let (s, _) = setup(&t);
    let text = fs::read_to_string(manifest_path(&t)).unwrap();
    let edited = text.replacen("\"rows\":", "\"rows\":1", 1);
    assert_ne!(edited, text);
    fs::write(manifest_path(&t), edited).unwrap();
    let pr = problems(&s);
    assert!(
        pr.iter()
            .any(|x| matches!(x, Problem::ManifestChainBroken { seq: 0, .. })),
        "{pr:?}"
    );
}

#[test]
fn reordered_manifest_entries() {
    let t = TempDir::new("reorder");
    let (s, _) = setup(&t);
    let text = fs::read_to_string(manifest_path(&t)).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(0, 1);
    fs::write(manifest_path(&t), lines.join("\n") + "\n").unwrap();
    let pr = problems(&s);
    assert!(
        pr.iter()
            .any(|x| matches!(x, Problem::ManifestChainBroken { .. })),
        "{pr:?}"
    );
}

#[test]
fn truncated_manifest_and_deleted_segment() {
    let t = TempDir::new("mtrunc");
    let (s, p) = setup(&t);
    let text = fs::read_to_string(manifest_path(&t)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    fs::write(manifest_path(&t), lines[..2].join("\n") + "\n").unwrap();
    fs::remove_file(&p[2]).unwrap();
    let pr = problems(&s);
    assert!(
        pr.contains(&Problem::ManifestTruncated {
            signed: 3,
            present: 2
        }),
        "{pr:?}"
    );
}

#[test]
fn rewritten_manifest_with_consistent_chain_fails_the_signature_head() {
    let t = TempDir::new("rewrite");
    let (s, p) = setup(&t);
    // The attacker removes segment 2 and rebuilds a valid 2-entry chain... and even adds a
    // fake third entry so the count matches: the head hash differs from the signed one.
    let text = fs::read_to_string(manifest_path(&t)).unwrap();
    let mut entries: Vec<mamori_store::manifest::Entry> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    entries[2].rows += 1;
    entries[2].hash = entries[2].compute_hash();
    let out: String = entries
        .iter()
        .map(|e| serde_json::to_string(e).unwrap() + "\n")
        .collect();
    fs::write(manifest_path(&t), out).unwrap();
    let _ = p;
    let pr = problems(&s);
    assert!(
        pr.iter().any(|x| matches!(x, Problem::HeadMismatch { .. })),
        "{pr:?}"
    );
    // The chain itself is consistent: only the signed head catches it.
    assert!(
        !pr.iter()
            .any(|x| matches!(x, Problem::ManifestChainBroken { .. })),
        "{pr:?}"
    );
}

#[test]
fn bad_signature_and_foreign_key() {
    let t = TempDir::new("sig");
    let (s, _) = setup(&t);
    let head = t.data().join("manifest").join("head.json");
    let text = fs::read_to_string(&head).unwrap();
    let mut h: mamori_store::Head = serde_json::from_str(&text).unwrap();
    let mut sig: Vec<u8> = h.signature.bytes().collect();
    sig[0] = if sig[0] == b'0' { b'1' } else { b'0' };
    h.signature = String::from_utf8(sig).unwrap();
    fs::write(&head, serde_json::to_string(&h).unwrap()).unwrap();
    let pr = problems(&s);
    assert!(
        pr.iter().any(|x| matches!(x, Problem::BadSignature { .. })),
        "{pr:?}"
    );

    // A different public key dropped into the data dir is reported against the trusted key.
    let t2 = TempDir::new("sig2");
    let (s2, _) = setup(&t2);
    let other = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    fs::write(
        t2.data().join("manifest").join("signing.pub"),
        mamori_store::manifest::hex(other.verifying_key().as_bytes()),
    )
    .unwrap();
    let pr = problems(&s2);
    assert!(
        pr.iter().any(|x| matches!(x, Problem::KeyMismatch { .. })),
        "{pr:?}"
    );
}

#[test]
fn archived_segments_stay_verifiable() {
    let t = TempDir::new("archived");
    let (s, p) = setup(&t);
    let rel = &s.manifest().entries()[0].path;
    let dst = t.data().join("archive").join(rel);
    fs::create_dir_all(dst.parent().unwrap()).unwrap();
    fs::rename(&p[0], &dst).unwrap();
    let r = Manifest::verify(&t.data(), None);
    assert!(r.ok, "{:?}", r.problems);
    let mut b = fs::read(&dst).unwrap();
    b[10] ^= 0xff;
    fs::write(&dst, b).unwrap();
    let r = Manifest::verify(&t.data(), None);
    assert!(
        matches!(
            &r.problems[..],
            [Problem::SegmentHashMismatch { seq: 0, .. }]
        ),
        "{:?}",
        r.problems
    );
}

#[test]
fn garbage_manifest_is_reported_not_panicking() {
    let t = TempDir::new("garbage");
    let (s, _) = setup(&t);
    fs::write(manifest_path(&t), b"\xff\xfe not json\n{\"seq\":1}\n").unwrap();
    let pr = problems(&s);
    assert!(!pr.is_empty());
    // Opening a store over a broken manifest refuses with a clear error.
    drop(s);
    let err = Store::open(config(&t)).unwrap_err();
    assert!(err.to_string().contains("manifest"), "{err}");
}
