//! Listening-port audit of the local host (Linux `/proc`) and comparison with a baseline.
//!
//! Reads `/proc/net/{tcp,tcp6,udp,udp6}` for listening TCP sockets and unconnected UDP sockets,
//! maps socket inodes to processes through `/proc/<pid>/fd` links, and uids to user names
//! through `/etc/passwd`. Sockets of other users' processes need root to attribute; those are
//! still listed, without a process, and counted as `audit_fd_unreadable`.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use mamori_core::Counters;
use serde::{Deserialize, Serialize};

/// Most lines read from one `/proc/net` table.
pub const AUDIT_MAX_SOCKETS: usize = 1 << 20;
/// Most processes examined.
pub const AUDIT_MAX_PROCESSES: usize = 1 << 18;

/// A listening socket.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Listener {
    /// `tcp` or `udp`.
    pub protocol: String,
    /// Local address (`0.0.0.0`, `::` for all).
    pub addr: IpAddr,
    /// Local port.
    pub port: u16,
    /// Owning uid.
    pub uid: u32,
    /// User name.
    pub user: Option<String>,
    /// Owning process id.
    pub pid: Option<u32>,
    /// Process name (`comm`).
    pub process: Option<String>,
    /// Socket inode.
    pub inode: u64,
}

impl Listener {
    /// Identity for baseline comparison: protocol, address, port and process name
    /// (pids and inodes change across restarts).
    pub fn key(&self) -> (String, IpAddr, u16, String) {
        (
            self.protocol.clone(),
            self.addr,
            self.port,
            self.process.clone().unwrap_or_default(),
        )
    }
}

/// Result of an audit.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Audit {
    /// Listening sockets, sorted.
    pub listeners: Vec<Listener>,
    /// Unreadable or malformed input.
    pub counters: Counters,
}

/// Where to read from (tests point these at generated trees).
#[derive(Debug, Clone)]
pub struct AuditPaths {
    /// `/proc`.
    pub proc_root: PathBuf,
    /// `/etc/passwd`.
    pub passwd: PathBuf,
}

impl Default for AuditPaths {
    fn default() -> Self {
        AuditPaths {
            proc_root: PathBuf::from("/proc"),
            passwd: PathBuf::from("/etc/passwd"),
        }
    }
}

/// Decode a `/proc/net` address (`0100007F:0016`, or 32 hex digits for IPv6).
pub fn parse_hex_endpoint(s: &str) -> Option<(IpAddr, u16)> {
    let (a, p) = s.split_once(':')?;
    let port = u16::from_str_radix(p, 16).ok()?;
    let ip = match a.len() {
        8 => IpAddr::V4(Ipv4Addr::from(
            u32::from_str_radix(a, 16).ok()?.swap_bytes(),
        )),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                let word = u32::from_str_radix(a.get(i * 8..i * 8 + 8)?, 16).ok()?;
                chunk.copy_from_slice(&word.swap_bytes().to_be_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some((ip, port))
}

/// Parse one `/proc/net/{tcp,udp}[6]` table; only listening TCP (state `0A`) and unconnected
/// UDP (state `07`, no remote) sockets are returned.
pub fn parse_proc_net(text: &str, protocol: &str, counters: &mut Counters) -> Vec<Listener> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1).take(AUDIT_MAX_SOCKETS) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(remote), Some(st), Some(uid), Some(inode)) =
            (f.get(1), f.get(2), f.get(3), f.get(7), f.get(9))
        else {
            if !line.trim().is_empty() {
                counters.incr_with_sample("audit_bad_line", || {
                    format!("{protocol} line {}: {line}", i + 1)
                });
            }
            continue;
        };
        let listening = match protocol {
            "tcp" => *st == "0A",
            _ => *st == "07" && parse_hex_endpoint(remote).is_some_and(|(_, p)| p == 0),
        };
        if !listening {
            continue;
        }
        let (Some((addr, port)), Ok(uid), Ok(inode)) = (
            parse_hex_endpoint(local),
            uid.parse::<u32>(),
            inode.parse::<u64>(),
        ) else {
            counters.incr_with_sample("audit_bad_line", || {
                format!("{protocol} line {}: {line}", i + 1)
            });
            continue;
        };
        out.push(Listener {
            protocol: protocol.into(),
            addr,
            port,
            uid,
            user: None,
            pid: None,
            process: None,
            inode,
        });
    }
    out
}

fn parse_passwd(text: &str) -> HashMap<u32, String> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let uid = f.nth(1)?.parse().ok()?;
            Some((uid, name.to_string()))
        })
        .collect()
}

fn inode_owners(
    proc_root: &Path,
    wanted: &BTreeSet<u64>,
    counters: &mut Counters,
) -> HashMap<u64, (u32, String)> {
    let mut owners = HashMap::new();
    let Ok(dir) = std::fs::read_dir(proc_root) else {
        counters.incr("audit_proc_unreadable");
        return owners;
    };
    for entry in dir.flatten().take(AUDIT_MAX_PROCESSES) {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let fd_dir = entry.path().join("fd");
        let Ok(fds) = std::fs::read_dir(&fd_dir) else {
            counters.incr("audit_fd_unreadable");
            continue;
        };
        let mut comm: Option<String> = None;
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let t = target.to_string_lossy();
            let Some(inode) = t
                .strip_prefix("socket:[")
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            if !wanted.contains(&inode) || owners.contains_key(&inode) {
                continue;
            }
            let c = comm
                .get_or_insert_with(|| {
                    std::fs::read_to_string(entry.path().join("comm"))
                        .map(|s| s.trim().to_string())
                        .unwrap_or_default()
                })
                .clone();
            owners.insert(inode, (pid, c));
        }
    }
    owners
}

/// Audit this host's listening sockets.
pub fn audit() -> Audit {
    audit_paths(&AuditPaths::default())
}

/// Audit with explicit paths.
pub fn audit_paths(paths: &AuditPaths) -> Audit {
    let mut a = Audit::default();
    for (file, proto) in [
        ("tcp", "tcp"),
        ("tcp6", "tcp"),
        ("udp", "udp"),
        ("udp6", "udp"),
    ] {
        let p = paths.proc_root.join("net").join(file);
        match std::fs::read_to_string(&p) {
            Ok(t) => a
                .listeners
                .extend(parse_proc_net(&t, proto, &mut a.counters)),
            Err(_) => a
                .counters
                .incr_with_sample("audit_table_unreadable", || p.display().to_string()),
        }
    }
    let wanted: BTreeSet<u64> = a
        .listeners
        .iter()
        .map(|l| l.inode)
        .filter(|i| *i != 0)
        .collect();
    let owners = inode_owners(&paths.proc_root, &wanted, &mut a.counters);
    let users = std::fs::read_to_string(&paths.passwd)
        .map(|t| parse_passwd(&t))
        .unwrap_or_default();
    for l in &mut a.listeners {
        if let Some((pid, comm)) = owners.get(&l.inode) {
            l.pid = Some(*pid);
            l.process = (!comm.is_empty()).then(|| comm.clone());
        }
        l.user = users.get(&l.uid).cloned();
    }
    a.listeners.sort();
    a.listeners
        .dedup_by(|a, b| a.key() == b.key() && a.pid == b.pid);
    a
}

/// Listeners that appeared or disappeared relative to an approved baseline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BaselineDiff {
    /// Listening now, not in the baseline (alert).
    pub new: Vec<Listener>,
    /// In the baseline, not listening now.
    pub removed: Vec<Listener>,
}

/// Compare current listeners with a baseline by [`Listener::key`].
pub fn compare_baseline(baseline: &[Listener], current: &[Listener]) -> BaselineDiff {
    let bk: BTreeSet<_> = baseline.iter().map(Listener::key).collect();
    let ck: BTreeSet<_> = current.iter().map(Listener::key).collect();
    BaselineDiff {
        new: current
            .iter()
            .filter(|l| !bk.contains(&l.key()))
            .cloned()
            .collect(),
        removed: baseline
            .iter()
            .filter(|l| !ck.contains(&l.key()))
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:A1B2 0200007F:0016 01 00000000:00000000 00:00000000 00000000  1000        0 2222 1\n   2: garbage\n";
    const TCP6: &str = "  sl  local_address                         remote_address                        st\n   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 3333 1\n";
    const UDP: &str = "  sl  local_address rem_address   st\n  10: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 4444 2\n  11: 0100007F:9999 0100007F:0035 01 00000000:00000000 00:00000000 00000000   101        0 5555 2\n";

    #[test]
    fn parses_tables() {
        let mut c = Counters::new();
        let t = parse_proc_net(TCP, "tcp", &mut c);
        assert_eq!(t.len(), 1, "established socket is not a listener");
        assert_eq!(t[0].addr, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!((t[0].port, t[0].uid, t[0].inode), (22, 0, 1111));
        assert_eq!(c.get("audit_bad_line"), 1);
        let t6 = parse_proc_net(TCP6, "tcp", &mut c);
        assert_eq!(t6[0].addr, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(t6[0].port, 8080);
        let u = parse_proc_net(UDP, "udp", &mut c);
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].port, 53);
        assert!(parse_hex_endpoint("zz:1").is_none());
        assert!(parse_hex_endpoint("0100007F").is_none());
    }

    #[test]
    fn generated_proc_tree_with_owners() {
        let dir = std::env::temp_dir().join(format!("mamori-scan-audit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let proc_root = dir.join("proc");
        std::fs::create_dir_all(proc_root.join("net")).unwrap();
        std::fs::write(proc_root.join("net/tcp"), TCP).unwrap();
        std::fs::write(proc_root.join("net/tcp6"), TCP6).unwrap();
        std::fs::write(proc_root.join("net/udp"), UDP).unwrap();
        // udp6 missing: counted, not fatal
        std::fs::create_dir_all(proc_root.join("4242/fd")).unwrap();
        std::fs::write(proc_root.join("4242/comm"), "sshd\n").unwrap();
        std::os::unix::fs::symlink("socket:[1111]", proc_root.join("4242/fd/3")).unwrap();
        std::os::unix::fs::symlink("/dev/null", proc_root.join("4242/fd/0")).unwrap();
        std::fs::write(
            dir.join("passwd"),
            "root:x:0:0:root:/root:/bin/bash\nsvc:x:1000:1000::/home/svc:/bin/sh\n",
        )
        .unwrap();
        let a = audit_paths(&AuditPaths {
            proc_root: proc_root.clone(),
            passwd: dir.join("passwd"),
        });
        assert_eq!(a.listeners.len(), 3);
        let ssh = a.listeners.iter().find(|l| l.port == 22).unwrap();
        assert_eq!(
            (ssh.pid, ssh.process.as_deref(), ssh.user.as_deref()),
            (Some(4242), Some("sshd"), Some("root"))
        );
        let web = a.listeners.iter().find(|l| l.port == 8080).unwrap();
        assert_eq!((web.pid, web.user.as_deref()), (None, Some("svc")));
        assert_eq!(a.counters.get("audit_table_unreadable"), 1);
        // Baseline: the approved set lacks 8080; 53/udp went away.
        let mut baseline: Vec<Listener> = a
            .listeners
            .iter()
            .filter(|l| l.port != 8080)
            .cloned()
            .collect();
        let mut gone = baseline[0].clone();
        gone.port = 631;
        baseline.push(gone);
        let d = compare_baseline(&baseline, &a.listeners);
        assert_eq!(d.new.len(), 1);
        assert_eq!(d.new[0].port, 8080);
        assert_eq!(d.removed.len(), 1);
        assert_eq!(d.removed[0].port, 631);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn real_proc_does_not_fail() {
        // This host: the audit must finish and find the listener the test opens.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let a = audit();
        let me = a
            .listeners
            .iter()
            .find(|x| x.port == port && x.protocol == "tcp");
        let me = me.expect("own listener visible in /proc/net/tcp");
        assert_eq!(me.pid, Some(std::process::id()));
    }
}
