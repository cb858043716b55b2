//! The hash-chained, signed manifest of sealed segments, and `verify`.
//!
//! `manifest/manifest.jsonl` holds one JSON entry per line. Each entry records an operation
//! (`seal` of a segment with its SHA-256, size, rows, dataset, day and time range, or
//! `delete` of a sealed segment by retention), the previous entry's hash and its own hash
//! `SHA-256(prev_hash_hex || canonical JSON of the entry without "hash")`. After every
//! change the head (entry count + last hash) is signed with ed25519 into
//! `manifest/head.json`; the public key is kept next to it (`manifest/signing.pub`) and
//! the secret key outside the data directory (see [`crate::keys`]).
//!
//! Archived segments keep their manifest identity: [`Manifest::locate`] looks for
//! `segments/<rel>` and then `archive/<rel>`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Result, StoreError};

/// Manifest file name inside `manifest/`.
pub const MANIFEST_FILE: &str = "manifest.jsonl";
/// Signed head file name inside `manifest/`.
pub const HEAD_FILE: &str = "head.json";
/// Public key file name inside `manifest/`.
pub const PUBKEY_FILE: &str = "signing.pub";
/// Longest manifest line accepted.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Read buffer for hashing segment files.
pub const HASH_BUF_BYTES: usize = 256 * 1024;
/// Hash of the (empty) start of the chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a manifest entry records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// A segment was sealed.
    Seal,
    /// A sealed segment (`of`) was deleted by retention.
    Delete,
}

/// One manifest entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the chain (0-based).
    pub seq: u64,
    /// Operation.
    pub op: Op,
    /// Segment path relative to `segments/` (and `archive/`), e.g. `sshd/2026-11-23/000000000003.parquet`.
    pub path: String,
    /// Hex SHA-256 of the segment file.
    pub sha256: String,
    /// File size in bytes.
    pub size: u64,
    /// Rows in the segment.
    pub rows: u64,
    /// `event.dataset`.
    pub dataset: String,
    /// UTC day `yyyy-mm-dd`.
    pub day: String,
    /// Earliest `@timestamp` (ns).
    pub min_ts: i64,
    /// Latest `@timestamp` (ns).
    pub max_ts: i64,
    /// WAL files up to this sequence are covered by sealed segments.
    pub wal_through: Option<u64>,
    /// For `delete`: the `seq` of the sealed entry removed.
    pub of: Option<u64>,
    /// Hash of the previous entry (hex), [`GENESIS`] for the first.
    pub prev: String,
    /// This entry's hash (hex).
    pub hash: String,
}

impl Entry {
    /// Compute the hash of this entry given its `prev`.
    pub fn compute_hash(&self) -> String {
        let mut c = self.clone();
        c.hash = String::new();
        let body = serde_json::to_vec(&c).unwrap_or_default();
        let mut h = Sha256::new();
        h.update(self.prev.as_bytes());
        h.update(&body);
        hex(&h.finalize())
    }
}

/// The signed head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// Number of entries.
    pub entries: u64,
    /// Hash of the last entry (hex), [`GENESIS`] when empty.
    pub hash: String,
    /// ed25519 signature (hex) over [`Head::message`].
    pub signature: String,
    /// Public key (hex) that signed it.
    pub public_key: String,
}

impl Head {
    /// The signed message: `mamori-manifest-v1:<entries>:<hash>`.
    pub fn message(entries: u64, hash: &str) -> String {
        format!("mamori-manifest-v1:{entries}:{hash}")
    }
    /// One printable line for an external anchor (syslog, paper, ticket).
    pub fn anchor_line(&self) -> String {
        format!(
            "mamori-anchor v1 entries={} head={} sig={} key={}",
            self.entries, self.hash, self.signature, self.public_key
        )
    }
}

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

/// Parse lower/upper-case hex into exactly `N` bytes.
pub fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        let hi = (*b.get(2 * i)? as char).to_digit(16)?;
        let lo = (*b.get(2 * i + 1)? as char).to_digit(16)?;
        *o = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

/// SHA-256 of a file (streamed) and its size.
pub fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    use std::io::Read;
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; HASH_BUF_BYTES];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(buf.get(..k).unwrap_or_default());
        n += k as u64;
    }
    Ok((hex(&h.finalize()), n))
}

/// Parse manifest text into entries. Lines that do not parse are reported, not skipped silently.
pub fn parse_manifest(text: &str) -> (Vec<Entry>, Vec<Problem>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if line.len() > MAX_LINE_BYTES {
            problems.push(Problem::ManifestUnreadable {
                line: i + 1,
                reason: format!("line of {} bytes over limit", line.len()),
            });
            continue;
        }
        match serde_json::from_str::<Entry>(line) {
            Ok(e) => out.push(e),
            Err(e) => problems.push(Problem::ManifestUnreadable {
                line: i + 1,
                reason: e.to_string(),
            }),
        }
    }
    (out, problems)
}

/// Check the hash chain of parsed entries.
pub fn check_chain(entries: &[Entry]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut prev = GENESIS.to_owned();
    for (i, e) in entries.iter().enumerate() {
        if e.seq != i as u64 {
            problems.push(Problem::ManifestChainBroken {
                seq: e.seq,
                reason: format!(
                    "entry at position {i} has seq {} (reordered or removed entries)",
                    e.seq
                ),
            });
        }
        if e.prev != prev {
            problems.push(Problem::ManifestChainBroken {
                seq: e.seq,
                reason: "prev hash does not match the previous entry".into(),
            });
        }
        if e.compute_hash() != e.hash {
            problems.push(Problem::ManifestChainBroken {
                seq: e.seq,
                reason: "entry content does not match its hash (entry rewritten)".into(),
            });
        }
        prev = e.hash.clone();
    }
    problems
}

/// One integrity problem found by [`Manifest::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// A listed segment is gone (removed outside retention).
    SegmentMissing {
        /// Manifest seq.
        seq: u64,
        /// Relative path.
        path: String,
    },
    /// A segment's size differs (truncated or extended).
    SegmentSizeMismatch {
        /// Manifest seq.
        seq: u64,
        /// Relative path.
        path: String,
        /// Size recorded.
        expected: u64,
        /// Size found.
        actual: u64,
    },
    /// A segment's content differs (flipped byte, replaced file).
    SegmentHashMismatch {
        /// Manifest seq.
        seq: u64,
        /// Relative path.
        path: String,
    },
    /// A segment holds the content of another listed segment (files swapped or reordered).
    SegmentMisplaced {
        /// Manifest seq whose path was checked.
        seq: u64,
        /// Relative path.
        path: String,
        /// The seq whose content it actually holds.
        holds_seq: u64,
    },
    /// A Parquet file in `segments/` or `archive/` that the manifest does not list.
    UnlistedSegment {
        /// Path relative to the data dir.
        path: String,
    },
    /// A manifest line could not be parsed.
    ManifestUnreadable {
        /// 1-based line.
        line: usize,
        /// Why.
        reason: String,
    },
    /// The manifest hash chain is broken (an entry edited, removed or reordered).
    ManifestChainBroken {
        /// Entry seq.
        seq: u64,
        /// What is wrong.
        reason: String,
    },
    /// The manifest has fewer entries than the signed head (entries cut off the end).
    ManifestTruncated {
        /// Entries signed.
        signed: u64,
        /// Entries present.
        present: u64,
    },
    /// The manifest's head does not match the signed head (manifest rewritten).
    HeadMismatch {
        /// Signed head hash.
        signed: String,
        /// Computed head hash.
        computed: String,
    },
    /// The head signature does not verify, or the head file is missing/unreadable.
    BadSignature {
        /// Why.
        reason: String,
    },
    /// The public key in the data dir differs from the trusted key.
    KeyMismatch {
        /// Key found in the data dir (hex).
        found: String,
        /// Trusted key (hex).
        trusted: String,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::SegmentMissing { seq, path } => write!(f, "segment #{seq} {path} is missing (removed)"),
            Problem::SegmentSizeMismatch { seq, path, expected, actual } => write!(
                f,
                "segment #{seq} {path} has {actual} bytes, manifest says {expected} (truncated or extended)"
            ),
            Problem::SegmentHashMismatch { seq, path } => {
                write!(f, "segment #{seq} {path} content differs from its recorded sha-256 (modified or replaced)")
            }
            Problem::SegmentMisplaced { seq, path, holds_seq } => write!(
                f,
                "segment #{seq} {path} holds the content of segment #{holds_seq} (segments swapped or reordered)"
            ),
            Problem::UnlistedSegment { path } => write!(f, "{path} is not listed in the manifest"),
            Problem::ManifestUnreadable { line, reason } => write!(f, "manifest line {line} unreadable: {reason}"),
            Problem::ManifestChainBroken { seq, reason } => write!(f, "manifest entry #{seq}: {reason}"),
            Problem::ManifestTruncated { signed, present } => write!(
                f,
                "manifest has {present} entries but {signed} were signed (entries removed)"
            ),
            Problem::HeadMismatch { signed, computed } => write!(
                f,
                "manifest head {computed} differs from the signed head {signed} (manifest rewritten)"
            ),
            Problem::BadSignature { reason } => write!(f, "manifest head signature invalid: {reason}"),
            Problem::KeyMismatch { found, trusted } => {
                write!(f, "manifest public key {found} is not the trusted key {trusted}")
            }
        }
    }
}

/// Result of [`Manifest::verify`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// No problem found (the CLI exits non-zero otherwise).
    pub ok: bool,
    /// Segments checked (hash and size).
    pub segments_checked: u64,
    /// Entries in the manifest.
    pub entries: u64,
    /// Everything that is wrong.
    pub problems: Vec<Problem>,
}

/// Summary of one live (sealed, not deleted) segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    /// The seal entry.
    pub entry: Entry,
    /// Current location.
    pub path: PathBuf,
    /// Whether it lives under `archive/`.
    pub archived: bool,
}

/// The manifest of one data directory.
#[derive(Debug)]
pub struct Manifest {
    data: PathBuf,
    entries: Vec<Entry>,
    key: SigningKey,
}

impl Manifest {
    /// Load (creating) the manifest of `data`, signing with `key`. The manifest must be
    /// readable and chained; problems here stop the store (run `verify` for details).
    pub fn open(data: &Path, key: SigningKey) -> Result<Manifest> {
        let dir = data.join("manifest");
        fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        let path = dir.join(MANIFEST_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        // A torn last line (crash during append) is cut off; it was never signed.
        let text = if !text.is_empty() && !text.ends_with('\n') {
            let cut = text.rfind('\n').map_or(0, |i| i + 1);
            let f = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|e| StoreError::io(&path, e))?;
            f.set_len(cut as u64)
                .map_err(|e| StoreError::io(&path, e))?;
            f.sync_all().map_err(|e| StoreError::io(&path, e))?;
            text.get(..cut).unwrap_or_default().to_owned()
        } else {
            text
        };
        let (entries, mut problems) = parse_manifest(&text);
        problems.extend(check_chain(&entries));
        if let Some(p) = problems.first() {
            return Err(StoreError::Corrupt {
                location: path.display().to_string(),
                reason: p.to_string(),
            });
        }
        let pubkey = dir.join(PUBKEY_FILE);
        let vk = hex(key.verifying_key().as_bytes());
        if !pubkey.exists() {
            write_durable(&pubkey, format!("{vk}\n").as_bytes())?;
        }
        let m = Manifest {
            data: data.to_owned(),
            entries,
            key,
        };
        if !dir.join(HEAD_FILE).exists() {
            m.sign_head()?;
        }
        Ok(m)
    }

    /// All entries.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Highest WAL sequence covered by sealed segments.
    pub fn wal_through(&self) -> Option<u64> {
        self.entries.iter().filter_map(|e| e.wal_through).max()
    }

    /// Next segment number.
    pub fn next_seq(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Where a segment with relative path `rel` is now (hot or archived).
    pub fn locate(&self, rel: &str) -> (PathBuf, bool) {
        let hot = self.data.join("segments").join(rel);
        if hot.exists() {
            return (hot, false);
        }
        let arch = self.data.join("archive").join(rel);
        if arch.exists() {
            return (arch, true);
        }
        (hot, false)
    }

    /// Sealed segments not deleted, in seal order.
    pub fn live_segments(&self) -> Vec<SegmentInfo> {
        let deleted: HashSet<u64> = self
            .entries
            .iter()
            .filter(|e| e.op == Op::Delete)
            .filter_map(|e| e.of)
            .collect();
        self.entries
            .iter()
            .filter(|e| e.op == Op::Seal && !deleted.contains(&e.seq))
            .map(|e| {
                let (path, archived) = self.locate(&e.path);
                SegmentInfo {
                    entry: e.clone(),
                    path,
                    archived,
                }
            })
            .collect()
    }

    /// Append an entry (filling seq, prev and hash), make it durable and re-sign the head.
    pub fn append(&mut self, mut e: Entry) -> Result<Entry> {
        e.seq = self.entries.len() as u64;
        e.prev = self
            .entries
            .last()
            .map_or_else(|| GENESIS.to_owned(), |l| l.hash.clone());
        e.hash = e.compute_hash();
        let path = self.data.join("manifest").join(MANIFEST_FILE);
        let mut line = serde_json::to_string(&e).map_err(|err| StoreError::Corrupt {
            location: path.display().to_string(),
            reason: err.to_string(),
        })?;
        line.push('\n');
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|err| StoreError::io(&path, err))?;
        let before = f
            .metadata()
            .map_err(|err| StoreError::io(&path, err))?
            .len();
        if let Err(err) = f.write_all(line.as_bytes()).and_then(|_| f.sync_data()) {
            let _ = f.set_len(before);
            return Err(StoreError::io(&path, err));
        }
        self.entries.push(e.clone());
        self.sign_head()?;
        Ok(e)
    }

    /// The current head, signed.
    pub fn head(&self) -> Head {
        let hash = self
            .entries
            .last()
            .map_or_else(|| GENESIS.to_owned(), |l| l.hash.clone());
        let n = self.entries.len() as u64;
        let sig = self.key.sign(Head::message(n, &hash).as_bytes());
        Head {
            entries: n,
            hash,
            signature: hex(&sig.to_bytes()),
            public_key: hex(self.key.verifying_key().as_bytes()),
        }
    }

    fn sign_head(&self) -> Result<()> {
        let head = self.head();
        let path = self.data.join("manifest").join(HEAD_FILE);
        let body = serde_json::to_vec_pretty(&head).unwrap_or_default();
        write_durable(&path, &body)
    }

    /// Verify every segment, the chain, the signature and look for unlisted files.
    /// `trusted` is the public key to trust (from the key directory or an external anchor);
    /// without it the key stored in the data dir is used.
    pub fn verify(data: &Path, trusted: Option<&VerifyingKey>) -> VerifyReport {
        let mut r = VerifyReport::default();
        let dir = data.join("manifest");
        let text = fs::read_to_string(dir.join(MANIFEST_FILE)).unwrap_or_default();
        let (entries, problems) = parse_manifest(&text);
        r.problems.extend(problems);
        r.problems.extend(check_chain(&entries));
        r.entries = entries.len() as u64;
        let computed = entries
            .last()
            .map_or_else(|| GENESIS.to_owned(), |e| e.hash.clone());
        // Signature.
        let stored_key = fs::read_to_string(dir.join(PUBKEY_FILE))
            .ok()
            .and_then(|s| unhex::<32>(s.trim()))
            .and_then(|b| VerifyingKey::from_bytes(&b).ok());
        if let (Some(found), Some(t)) = (&stored_key, trusted) {
            if found != t {
                r.problems.push(Problem::KeyMismatch {
                    found: hex(found.as_bytes()),
                    trusted: hex(t.as_bytes()),
                });
            }
        }
        let key = trusted.copied().or(stored_key);
        match fs::read(dir.join(HEAD_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice::<Head>(&b).ok())
        {
            None => r.problems.push(Problem::BadSignature {
                reason: "head.json missing or unreadable".into(),
            }),
            Some(head) => {
                let sig_ok = match (&key, unhex::<64>(&head.signature)) {
                    (Some(k), Some(sig)) => k
                        .verify(
                            Head::message(head.entries, &head.hash).as_bytes(),
                            &Signature::from_bytes(&sig),
                        )
                        .is_ok(),
                    (None, _) => false,
                    (_, None) => false,
                };
                if !sig_ok {
                    r.problems.push(Problem::BadSignature {
                        reason: if key.is_none() {
                            "no public key to verify with".into()
                        } else {
                            "signature does not match the head".into()
                        },
                    });
                }
                if head.entries > r.entries {
                    r.problems.push(Problem::ManifestTruncated {
                        signed: head.entries,
                        present: r.entries,
                    });
                } else if head.hash != computed || head.entries != r.entries {
                    r.problems.push(Problem::HeadMismatch {
                        signed: head.hash.clone(),
                        computed: computed.clone(),
                    });
                }
            }
        }
        // Segments.
        let deleted: HashSet<u64> = entries
            .iter()
            .filter(|e| e.op == Op::Delete)
            .filter_map(|e| e.of)
            .collect();
        let by_hash: HashMap<&str, u64> = entries
            .iter()
            .filter(|e| e.op == Op::Seal)
            .map(|e| (e.sha256.as_str(), e.seq))
            .collect();
        let mut listed: HashSet<PathBuf> = HashSet::new();
        for e in entries.iter().filter(|e| e.op == Op::Seal) {
            let hot = data.join("segments").join(&e.path);
            let arch = data.join("archive").join(&e.path);
            listed.insert(hot.clone());
            listed.insert(arch.clone());
            if deleted.contains(&e.seq) {
                continue;
            }
            let path = if hot.exists() { hot } else { arch };
            r.segments_checked += 1;
            match hash_file(&path) {
                Err(_) => r.problems.push(Problem::SegmentMissing {
                    seq: e.seq,
                    path: e.path.clone(),
                }),
                Ok((h, size)) => {
                    if h == e.sha256 {
                        continue;
                    }
                    if let Some(&other) = by_hash.get(h.as_str()) {
                        r.problems.push(Problem::SegmentMisplaced {
                            seq: e.seq,
                            path: e.path.clone(),
                            holds_seq: other,
                        });
                    } else if size != e.size {
                        r.problems.push(Problem::SegmentSizeMismatch {
                            seq: e.seq,
                            path: e.path.clone(),
                            expected: e.size,
                            actual: size,
                        });
                    } else {
                        r.problems.push(Problem::SegmentHashMismatch {
                            seq: e.seq,
                            path: e.path.clone(),
                        });
                    }
                }
            }
        }
        let mut found = Vec::new();
        for top in ["segments", "archive"] {
            walk_parquet(&data.join(top), &mut found);
        }
        found.sort();
        for p in found {
            if !listed.contains(&p) {
                let rel = p.strip_prefix(data).unwrap_or(&p).display().to_string();
                r.problems.push(Problem::UnlistedSegment { path: rel });
            }
        }
        r.ok = r.problems.is_empty();
        r
    }

    /// Counts of live segments per dataset (for reports).
    pub fn datasets(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for s in self.live_segments() {
            *m.entry(s.entry.dataset.clone()).or_insert(0) += 1;
        }
        m
    }
}

fn walk_parquet(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for ent in rd.flatten() {
        let p = ent.path();
        if p.is_dir() {
            walk_parquet(&p, out);
        } else if p.extension().is_some_and(|x| x == "parquet") {
            out.push(p);
        }
    }
}

/// Write a file atomically and durably (temp file, fsync, rename, fsync dir).
pub fn write_durable(path: &Path, body: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
    f.write_all(body)
        .and_then(|_| f.sync_all())
        .map_err(|e| StoreError::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| StoreError::io(path, e))?;
    if let Some(d) = path.parent() {
        File::open(d)
            .and_then(|f| f.sync_all())
            .map_err(|e| StoreError::io(d, e))?;
    }
    Ok(())
}
