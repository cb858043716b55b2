//! Built-in async TCP connect scanner with banner grabbing, for hosts without nmap.
//!
//! Bounded concurrency (a semaphore), a per-connection timeout, a banner timeout and an overall
//! budget; results use the same [`ScanResult`] model as nmap. A refused connection means
//! `closed`, a timeout `filtered`. Banners: services that speak first (SSH, FTP, SMTP, POP3,
//! IMAP, MySQL) are read; on HTTP ports, or when nothing arrives, `HEAD /` is sent and the
//! `Server` header read.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mamori_core::Timestamp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::ident::{identify_banner, sanitize_banner};
use crate::model::{AddrKind, Address, Host, Port, ScanInfo, ScanResult, Service, SCANNER_CONNECT};
use crate::target::Target;

/// Most addresses one scan expands to.
pub const CONNECT_MAX_HOSTS: usize = 65_536;
/// Largest concurrency accepted.
pub const CONNECT_MAX_CONCURRENCY: usize = 4096;
/// Bytes read for a banner.
pub const CONNECT_BANNER_BYTES: usize = 2048;
/// Ports where the client speaks first with HTTP.
pub const HTTP_PORTS: &[u16] = &[
    80, 81, 591, 3000, 5000, 8000, 8008, 8080, 8081, 8088, 8888, 9000,
];

/// Options of a connect scan.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Targets.
    pub targets: Vec<Target>,
    /// TCP ports.
    pub ports: Vec<u16>,
    /// Connections in flight at most.
    pub concurrency: usize,
    /// Per-connection timeout.
    pub connect_timeout: Duration,
    /// Time to wait for a banner (each of the two reads).
    pub banner_timeout: Duration,
    /// Overall budget; the result is labelled partial when it runs out.
    pub budget: Duration,
    /// Read banners from open ports.
    pub banners: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            targets: Vec::new(),
            ports: crate::top_ports::top(1000).to_vec(),
            concurrency: 512,
            connect_timeout: Duration::from_millis(1500),
            banner_timeout: Duration::from_millis(1500),
            budget: Duration::from_secs(3600),
            banners: true,
        }
    }
}

/// Errors before any scanning started.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Bad options.
    #[error("invalid connect-scan option {option}: {reason}")]
    BadOption {
        /// Option.
        option: &'static str,
        /// Why.
        reason: String,
    },
    /// Runtime creation failed.
    #[error("starting the scanner runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

#[derive(Debug)]
enum Outcome {
    Open(Option<Vec<u8>>),
    Closed,
    Filtered(&'static str),
}

fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_unix_parts(
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        d.subsec_nanos(),
    )
}

async fn read_some(s: &mut TcpStream, wait: Duration) -> Vec<u8> {
    let mut buf = vec![0u8; CONNECT_BANNER_BYTES];
    let mut got = 0;
    let deadline = tokio::time::Instant::now() + wait;
    while got < buf.len() {
        let Some(slot) = buf.get_mut(got..) else {
            break;
        };
        match tokio::time::timeout_at(deadline, s.read(slot)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                got += n;
                // A greeting line is enough unless this is an HTTP head.
                let head = buf.get(..got).unwrap_or(&[]);
                let http = head.starts_with(b"HTTP/");
                if (!http && head.contains(&b'\n'))
                    || (http && head.windows(4).any(|w| w == b"\r\n\r\n"))
                {
                    break;
                }
                // MySQL handshake: binary, ends without newline; length-prefixed.
                if head.len() >= 4 && head.get(4) == Some(&10) {
                    let len = usize::from(head[0])
                        | usize::from(head[1]) << 8
                        | usize::from(head[2]) << 16;
                    if got >= len + 4 {
                        break;
                    }
                }
            }
        }
    }
    buf.truncate(got);
    buf
}

async fn probe(addr: SocketAddr, opts: Arc<ConnectOptions>) -> Outcome {
    let stream = match tokio::time::timeout(opts.connect_timeout, TcpStream::connect(addr)).await {
        Err(_) => return Outcome::Filtered("connect_timeout"),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Outcome::Closed,
        Ok(Err(_)) => return Outcome::Filtered("connect_unreachable"),
        Ok(Ok(s)) => s,
    };
    if !opts.banners {
        return Outcome::Open(None);
    }
    let mut s = stream;
    let http_first = HTTP_PORTS.contains(&addr.port());
    let mut banner = if http_first {
        Vec::new()
    } else {
        read_some(&mut s, opts.banner_timeout).await
    };
    if banner.is_empty() {
        let req = format!(
            "HEAD / HTTP/1.0\r\nHost: {}\r\nUser-Agent: mamori-scan\r\n\r\n",
            addr.ip()
        );
        if s.write_all(req.as_bytes()).await.is_ok() {
            banner = read_some(&mut s, opts.banner_timeout).await;
        }
    }
    Outcome::Open((!banner.is_empty()).then_some(banner))
}

fn expand(targets: &[Target]) -> Result<Vec<(String, IpAddr)>, ConnectError> {
    let mut out = Vec::new();
    for t in targets {
        match t {
            Target::Ip(ip) => out.push((ip.to_string(), *ip)),
            Target::Net(n) => {
                let single = n.prefix_len() == n.max_prefix_len();
                for ip in n.hosts() {
                    out.push((ip.to_string(), ip));
                    if out.len() > CONNECT_MAX_HOSTS {
                        break;
                    }
                }
                if single && out.is_empty() {
                    out.push((n.addr().to_string(), n.addr()));
                }
            }
            Target::Hostname(h) => {
                let addrs = std::net::ToSocketAddrs::to_socket_addrs(&(h.as_str(), 0));
                if let Some(a) = addrs.ok().and_then(|mut a| a.next()) {
                    out.push((h.clone(), a.ip()));
                }
            }
        }
        if out.len() > CONNECT_MAX_HOSTS {
            return Err(ConnectError::BadOption {
                option: "targets",
                reason: format!("more than {CONNECT_MAX_HOSTS} addresses"),
            });
        }
    }
    Ok(out)
}

/// Run a connect scan on a private single-threaded tokio runtime.
///
/// ```no_run
/// use mamori_scan::{connect::{scan, ConnectOptions}, target::Target};
/// let r = scan(&ConnectOptions {
///     targets: vec![Target::parse("127.0.0.1").unwrap()],
///     ports: vec![22, 80],
///     ..ConnectOptions::default()
/// }).unwrap();
/// println!("{} open", r.hosts.iter().map(|h| h.open_ports().count()).sum::<usize>());
/// ```
pub fn scan(opts: &ConnectOptions) -> Result<ScanResult, ConnectError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(scan_async(opts))
}

/// The async scan (run inside an existing tokio runtime with IO and time enabled).
pub async fn scan_async(opts: &ConnectOptions) -> Result<ScanResult, ConnectError> {
    if opts.concurrency == 0 || opts.concurrency > CONNECT_MAX_CONCURRENCY {
        return Err(ConnectError::BadOption {
            option: "concurrency",
            reason: format!(
                "{} is not between 1 and {CONNECT_MAX_CONCURRENCY}",
                opts.concurrency
            ),
        });
    }
    if opts.ports.is_empty() || opts.ports.contains(&0) {
        return Err(ConnectError::BadOption {
            option: "ports",
            reason: "empty list or port 0".into(),
        });
    }
    let hosts = expand(&opts.targets)?;
    let started = Instant::now();
    let mut result = ScanResult {
        scanner: SCANNER_CONNECT.into(),
        scanner_version: Some(env!("CARGO_PKG_VERSION").into()),
        args: Some(format!(
            "connect ports={} concurrency={} timeout={}ms",
            opts.ports.len(),
            opts.concurrency,
            opts.connect_timeout.as_millis()
        )),
        targets: opts.targets.iter().map(Target::to_string).collect(),
        scan_info: vec![ScanInfo {
            scan_type: "connect".into(),
            protocol: "tcp".into(),
            num_services: u32::try_from(opts.ports.len()).ok(),
        }],
        start: Some(now()),
        ..ScanResult::default()
    };
    let unresolved = opts
        .targets
        .iter()
        .filter(|t| matches!(t, Target::Hostname(h) if !hosts.iter().any(|(n, _)| n == h)))
        .count();
    result
        .counters
        .add("connect_unresolved_target", unresolved as u64);

    let opts_arc = Arc::new(opts.clone());
    let sem = Arc::new(Semaphore::new(opts.concurrency));
    let mut set: JoinSet<(usize, u16, Outcome)> = JoinSet::new();
    let deadline = tokio::time::Instant::now() + opts.budget;
    let mut outcomes: BTreeMap<usize, Vec<(u16, Outcome)>> = BTreeMap::new();
    let mut timed_out = false;
    let mut pending = hosts.iter().enumerate().flat_map(|(hi, (_, ip))| {
        opts.ports
            .iter()
            .map(move |p| (hi, SocketAddr::new(*ip, *p)))
    });
    loop {
        // Keep the set filled up to the concurrency bound.
        while set.len() < opts.concurrency {
            let Some((hi, addr)) = pending.next() else {
                break;
            };
            let o = opts_arc.clone();
            let permit = sem.clone().acquire_owned();
            set.spawn(async move {
                let _p = permit.await;
                (hi, addr.port(), probe(addr, o).await)
            });
        }
        if set.is_empty() {
            break;
        }
        match tokio::time::timeout_at(deadline, set.join_next()).await {
            Ok(Some(Ok((hi, port, out)))) => outcomes.entry(hi).or_default().push((port, out)),
            Ok(Some(Err(_))) => result.counters.incr("connect_task_failed"),
            Ok(None) => break,
            Err(_) => {
                timed_out = true;
                set.abort_all();
                break;
            }
        }
    }
    if timed_out {
        result.mark_partial(format!("time budget of {:?} exceeded", opts.budget));
    }
    for (hi, (name, ip)) in hosts.iter().enumerate() {
        let mut host = Host {
            addresses: vec![Address {
                addr: ip.to_string(),
                kind: if ip.is_ipv4() {
                    AddrKind::Ipv4
                } else {
                    AddrKind::Ipv6
                },
                vendor: None,
            }],
            ..Host::default()
        };
        if name != &ip.to_string() {
            host.hostnames.push(name.clone());
        }
        let mut closed = 0u32;
        let mut filtered = 0u32;
        let mut outs = outcomes.remove(&hi).unwrap_or_default();
        outs.sort_by_key(|(p, _)| *p);
        for (port, out) in outs {
            match out {
                Outcome::Closed => closed += 1,
                Outcome::Filtered(why) => {
                    filtered += 1;
                    result.counters.incr(why);
                }
                Outcome::Open(banner) => {
                    let mut p = Port {
                        protocol: "tcp".into(),
                        port,
                        state: "open".into(),
                        reason: Some("syn-ack".into()),
                        ..Port::default()
                    };
                    if let Some(raw) = banner {
                        p.banner = Some(sanitize_banner(&raw));
                        let ids = identify_banner(&raw, port);
                        if let Some(first) = ids.first() {
                            p.service = Some(Service {
                                name: Some(first.service.clone()),
                                product: Some(first.product.clone()),
                                version: first.version.clone(),
                                method: Some("banner".into()),
                                conf: Some(first.confidence),
                                cpes: ids
                                    .iter()
                                    .flat_map(|i| i.cpes.iter().map(|c| c.to_string()))
                                    .collect(),
                                ..Service::default()
                            });
                        }
                    }
                    host.ports.push(p);
                }
            }
        }
        if closed > 0 {
            host.extra_ports.push(("closed".into(), closed));
        }
        if filtered > 0 {
            host.extra_ports.push(("filtered".into(), filtered));
        }
        // A refused connection proves the host answered.
        host.status = if !host.ports.is_empty() || closed > 0 {
            "up"
        } else {
            "down"
        }
        .into();
        host.status_reason = Some(
            if host.ports.is_empty() && closed > 0 {
                "conn-refused"
            } else if host.ports.is_empty() {
                "no-response"
            } else {
                "syn-ack"
            }
            .into(),
        );
        result.hosts.push(host);
    }
    result.hosts_up = Some(result.hosts.iter().filter(|h| h.status == "up").count() as u64);
    result.hosts_down = Some(result.hosts.iter().filter(|h| h.status != "up").count() as u64);
    result.end = Some(now());
    result.elapsed_secs = Some(started.elapsed().as_secs_f64());
    result.exit = Some(if timed_out { "budget" } else { "success" }.into());
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// A loopback service answering with `greeting` (or to `HEAD` with `http`).
    fn serve(greeting: &'static [u8], http: Option<&'static [u8]>) -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let mut s = s;
                if let Some(resp) = http {
                    let mut buf = [0u8; 512];
                    let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
                    if let Ok(n) = s.read(&mut buf) {
                        if buf[..n].starts_with(b"HEAD / ") {
                            let _ = s.write_all(resp);
                        }
                    }
                } else {
                    let _ = s.write_all(greeting);
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        });
        port
    }

    fn closed_port() -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
        // dropped: nothing listens there any more
    }

    #[test]
    fn loopback_open_closed_and_banners() {
        let ssh = serve(b"SSH-2.0-OpenSSH_7.4\r\n", None);
        let ftp = serve(b"220 (vsFTPd 2.3.4)\r\n", None);
        let http = serve(
            b"",
            Some(b"HTTP/1.1 200 OK\r\nServer: nginx/1.18.0\r\n\r\n"),
        );
        let closed = closed_port();
        let opts = ConnectOptions {
            targets: vec![Target::parse("127.0.0.1").unwrap()],
            ports: vec![ssh, ftp, http, closed],
            banner_timeout: Duration::from_millis(500),
            ..ConnectOptions::default()
        };
        let r = scan(&opts).unwrap();
        assert!(!r.partial);
        assert_eq!(r.scanner, SCANNER_CONNECT);
        let h = &r.hosts[0];
        assert_eq!(h.status, "up");
        let open: Vec<u16> = h.open_ports().map(|p| p.port).collect();
        let mut want = vec![ssh, ftp, http];
        want.sort_unstable();
        assert_eq!(open, want);
        assert_eq!(h.extra_ports, vec![("closed".to_string(), 1)]);
        let port = |n| h.ports.iter().find(|p| p.port == n).unwrap();
        assert_eq!(port(ssh).banner.as_deref(), Some("SSH-2.0-OpenSSH_7.4"));
        let svc = port(ssh).service.as_ref().unwrap();
        assert_eq!(svc.cpes[0], "cpe:2.3:a:openbsd:openssh:7.4:*:*:*:*:*:*:*");
        assert_eq!(svc.method.as_deref(), Some("banner"));
        assert_eq!(
            port(ftp).service.as_ref().unwrap().version.as_deref(),
            Some("2.3.4")
        );
        let hs = port(http).service.as_ref().unwrap();
        assert_eq!(hs.product.as_deref(), Some("nginx"));
        assert_eq!(hs.version.as_deref(), Some("1.18.0"));
    }

    #[test]
    fn thousand_ports_on_loopback_fast() {
        let ssh = serve(b"SSH-2.0-OpenSSH_7.4\r\n", None);
        let mut ports: Vec<u16> = crate::top_ports::top(1000).to_vec();
        ports.retain(|p| *p != ssh);
        ports.push(ssh);
        let opts = ConnectOptions {
            targets: vec![Target::parse("127.0.0.1").unwrap()],
            ports,
            banner_timeout: Duration::from_millis(300),
            ..ConnectOptions::default()
        };
        let t = Instant::now();
        let r = scan(&opts).unwrap();
        let took = t.elapsed();
        eprintln!("connect scan of 1001 loopback ports took {took:?}");
        assert!(r.hosts[0].open_ports().any(|p| p.port == ssh));
        // Whatever else listens on this machine, every port got a verdict.
        let listed = r.hosts[0].ports.len() as u32
            + r.hosts[0].extra_ports.iter().map(|(_, n)| n).sum::<u32>();
        assert_eq!(listed, 1001);
        assert!(took < Duration::from_secs(2), "took {took:?}");
    }

    #[test]
    fn budget_marks_partial() {
        // A listener that accepts but never speaks: banner reads wait; the budget cuts in first.
        let quiet = serve(b"", Some(b""));
        let opts = ConnectOptions {
            targets: vec![Target::parse("127.0.0.1").unwrap()],
            ports: vec![quiet],
            banner_timeout: Duration::from_secs(5),
            budget: Duration::from_millis(300),
            ..ConnectOptions::default()
        };
        let r = scan(&opts).unwrap();
        assert!(r.partial);
        assert!(r.partial_reason.unwrap().contains("budget"));
    }

    #[test]
    fn bad_options() {
        let mut o = ConnectOptions {
            targets: vec![Target::parse("127.0.0.1").unwrap()],
            ..ConnectOptions::default()
        };
        o.concurrency = 0;
        assert!(scan(&o).is_err());
        o.concurrency = 10;
        o.ports = vec![];
        assert!(scan(&o).is_err());
    }
}
