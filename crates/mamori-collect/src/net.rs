//! Network listeners: syslog over UDP, TCP and TLS, and the NetFlow/IPFIX/sFlow collector.

use std::net::SocketAddr;
use std::sync::Arc;

use mamori_core::Timestamp;
use mamori_proto::netflow::FlowDecoder;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::framing::{Frame, Framer};
use crate::message::{now, FlowBatch, Input, RawMessage, SourceId, Transport};
use crate::stats::StatsHandle;
use crate::{CollectError, TcpConfig, UdpConfig};

/// Largest UDP payload (the receive buffer size).
pub const MAX_UDP_DATAGRAM: usize = 65_535;
/// Bytes read from a TCP connection at once.
pub const TCP_READ_CHUNK: usize = 64 * 1024;
/// Time allowed for a TLS handshake before the connection is dropped.
pub const TLS_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
pub const ACCEPT_ERROR_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);

/// Bind a UDP socket with a large receive buffer (the kernel caps it at `net.core.rmem_max`).
pub(crate) fn bind_udp(addr: SocketAddr, recv_buffer: usize) -> Result<UdpSocket, CollectError> {
    use socket2::{Domain, Protocol, Socket, Type};
    let io = |e| CollectError::Bind { addr, source: e };
    let sock =
        Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP)).map_err(io)?;
    // Best effort: an unprivileged process may get less than asked for.
    let _ = sock.set_recv_buffer_size(recv_buffer);
    sock.set_nonblocking(true).map_err(io)?;
    sock.bind(&addr.into()).map_err(io)?;
    UdpSocket::from_std(sock.into()).map_err(io)
}

fn shutting_down(rx: &watch::Receiver<bool>) -> bool {
    *rx.borrow()
}

/// Count messages that are not text (NUL bytes or invalid UTF-8): still delivered raw.
fn count_content(stats: &StatsHandle, bytes: &[u8], peer: SocketAddr) {
    if bytes.contains(&0) || std::str::from_utf8(bytes).is_err() {
        stats.incr_with_sample("non_text_message", || {
            let head: Vec<u8> = bytes.iter().take(32).copied().collect();
            format!("from {peer}: {:?}", String::from_utf8_lossy(&head))
        });
    }
}

fn trim_datagram(b: &[u8]) -> &[u8] {
    let mut end = b.len();
    while end > 0 && matches!(b.get(end - 1), Some(b'\n' | b'\r' | 0)) {
        end -= 1;
    }
    b.get(..end).unwrap_or_default()
}

pub(crate) async fn run_syslog_udp(
    sock: UdpSocket,
    cfg: UdpConfig,
    stats: StatsHandle,
    tx: mpsc::Sender<Input>,
    mut shutdown: watch::Receiver<bool>,
) {
    let name: Arc<str> = stats.name.clone();
    let mut buf = vec![0u8; MAX_UDP_DATAGRAM];
    while !shutting_down(&shutdown) {
        let r = tokio::select! {
            _ = shutdown.changed() => break,
            r = sock.recv_from(&mut buf) => r,
        };
        let (n, peer) = match r {
            Ok(x) => x,
            Err(e) => {
                stats.incr_with_sample("recv_error", || e.to_string());
                continue;
            }
        };
        let t = now();
        stats.received(Some(peer.ip()), n, t);
        let data = trim_datagram(buf.get(..n).unwrap_or_default());
        if data.is_empty() {
            stats.incr("empty_message");
            continue;
        }
        let truncated = data.len() > cfg.max_message;
        if truncated {
            stats.incr_with_sample("oversized", || format!("{n} bytes from {peer}"));
        }
        let bytes = data
            .get(..data.len().min(cfg.max_message))
            .unwrap_or_default();
        count_content(&stats, bytes, peer);
        let msg = RawMessage {
            received: t,
            source: SourceId {
                listener: name.clone(),
                peer: Some(peer),
            },
            transport: Transport::Udp,
            bytes: bytes.to_vec(),
            truncated,
        };
        match tx.try_send(Input::Message(msg)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => stats.incr("udp_dropped_queue_full"),
            Err(mpsc::error::TrySendError::Closed(_)) => break,
        }
    }
}

pub(crate) async fn run_netflow(
    sock: UdpSocket,
    stats: StatsHandle,
    tx: mpsc::Sender<Input>,
    mut shutdown: watch::Receiver<bool>,
) {
    let name: Arc<str> = stats.name.clone();
    let mut buf = vec![0u8; MAX_UDP_DATAGRAM];
    let mut decoder = FlowDecoder::new();
    while !shutting_down(&shutdown) {
        let r = tokio::select! {
            _ = shutdown.changed() => break,
            r = sock.recv_from(&mut buf) => r,
        };
        let (n, peer) = match r {
            Ok(x) => x,
            Err(e) => {
                stats.incr_with_sample("recv_error", || e.to_string());
                continue;
            }
        };
        let t = now();
        stats.received(Some(peer.ip()), n, t);
        let mut flows = Vec::new();
        if let Err(e) = decoder.decode(peer, buf.get(..n).unwrap_or_default(), t, &mut flows) {
            // The decoder counted the reason; keep one readable sample too.
            stats.incr_with_sample("undecodable_datagram", || e.to_string());
        }
        stats.merge(&std::mem::take(&mut decoder.counters));
        if flows.is_empty() {
            continue;
        }
        let batch = FlowBatch {
            received: t,
            source: SourceId {
                listener: name.clone(),
                peer: Some(peer),
            },
            flows,
        };
        match tx.try_send(Input::Flows(batch)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => stats.incr("udp_dropped_queue_full"),
            Err(mpsc::error::TrySendError::Closed(_)) => break,
        }
    }
}

pub(crate) async fn run_syslog_tcp(
    listener: TcpListener,
    cfg: TcpConfig,
    tls: Option<TlsAcceptor>,
    stats: StatsHandle,
    tx: mpsc::Sender<Input>,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(cfg.max_connections.max(1)));
    let mut conns = JoinSet::new();
    while !shutting_down(&shutdown) {
        tokio::select! {
            _ = shutdown.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            r = listener.accept() => match r {
                Ok((stream, peer)) => {
                    let Ok(permit) = permits.clone().try_acquire_owned() else {
                        stats.incr_with_sample("connections_rejected_max", || {
                            format!("{peer}: over {} connections", cfg.max_connections)
                        });
                        drop(stream);
                        continue;
                    };
                    stats.incr("connections");
                    let (cfg, tls, stats, tx, sd) =
                        (cfg.clone(), tls.clone(), stats.clone(), tx.clone(), shutdown.clone());
                    conns.spawn(async move {
                        handle_conn(stream, peer, cfg, tls, stats, tx, sd).await;
                        drop(permit);
                    });
                }
                Err(e) => {
                    stats.incr_with_sample("accept_error", || e.to_string());
                    tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                }
            },
        }
    }
    drop(listener);
    while conns.join_next().await.is_some() {}
}

async fn handle_conn(
    stream: TcpStream,
    peer: SocketAddr,
    cfg: TcpConfig,
    tls: Option<TlsAcceptor>,
    stats: StatsHandle,
    tx: mpsc::Sender<Input>,
    shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    match tls {
        None => read_frames(stream, peer, Transport::Tcp, &cfg, &stats, &tx, shutdown).await,
        Some(acceptor) => {
            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(s)) => {
                    read_frames(s, peer, Transport::Tls, &cfg, &stats, &tx, shutdown).await;
                }
                Ok(Err(e)) => {
                    stats.incr_with_sample("tls_handshake_failed", || format!("{peer}: {e}"));
                }
                Err(_) => {
                    stats.incr_with_sample("tls_handshake_failed", || {
                        format!("{peer}: handshake timed out after {TLS_HANDSHAKE_TIMEOUT:?}")
                    });
                }
            }
        }
    }
}

async fn read_frames<S: AsyncRead + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    transport: Transport,
    cfg: &TcpConfig,
    stats: &StatsHandle,
    tx: &mpsc::Sender<Input>,
    mut shutdown: watch::Receiver<bool>,
) {
    let source = SourceId {
        listener: stats.name.clone(),
        peer: Some(peer),
    };
    let mut framer = Framer::new(cfg.max_message);
    let mut buf = vec![0u8; TCP_READ_CHUNK];
    let to_input = |f: Frame, t: Timestamp| {
        count_content(stats, &f.bytes, peer);
        Input::Message(RawMessage {
            received: t,
            source: source.clone(),
            transport: transport.clone(),
            bytes: f.bytes,
            truncated: f.truncated,
        })
    };
    let mut batch = Vec::new();
    'conn: while !shutting_down(&shutdown) {
        let r = tokio::select! {
            _ = shutdown.changed() => break,
            r = tokio::time::timeout(cfg.idle_timeout, stream.read(&mut buf)) => r,
        };
        let n = match r {
            Err(_) => {
                stats.incr_with_sample("idle_timeout", || format!("{peer}"));
                break;
            }
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                stats.incr_with_sample("read_error", || format!("{peer}: {e}"));
                break;
            }
        };
        framer.feed(buf.get(..n).unwrap_or_default());
        let t = now();
        let mut bytes = 0;
        while let Some(f) = framer.next_frame() {
            bytes += f.bytes.len();
            batch.push(to_input(f, t));
        }
        stats.received_batch(Some(peer.ip()), batch.len() as u64, bytes, t);
        stats.merge(&std::mem::take(&mut framer.counters));
        for m in batch.drain(..) {
            // Backpressure: wait for room rather than drop; the peer's TCP window fills up.
            if tx.send(m).await.is_err() {
                break 'conn;
            }
        }
    }
    if let Some(f) = framer.finish() {
        let t = now();
        stats.received(Some(peer.ip()), f.bytes.len(), t);
        let _ = tx.send(to_input(f, t)).await;
    }
    stats.merge(&framer.counters);
}
