//! A TCP proxy between dbarena and the server, listening on loopback only, that injects
//! latency (with jitter), bandwidth limits, resets, blackholes and slow closes, per direction
//! and for a share of connections. Faults are read per chunk, so they reach connections that
//! are already open.

use crate::datagen::Rng;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Which way a fault applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Client to server.
    Upstream,
    /// Server to client.
    Downstream,
    #[default]
    Both,
}

/// The faults in force; `Faults::default()` is a clean pass-through.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Faults {
    /// Added delay per chunk, milliseconds.
    pub latency_ms: f64,
    /// Jitter around the delay, milliseconds (uniform ±jitter, or the normal's sd).
    pub jitter_ms: f64,
    /// Draw jitter from a normal distribution instead of uniform.
    pub normal: bool,
    /// Bytes per second; 0 means unlimited.
    pub bandwidth_bps: u64,
    /// Close connections with a reset.
    pub reset: bool,
    /// Swallow data without forwarding it (connections stay open).
    pub blackhole: bool,
    /// Delay before passing a close on, milliseconds.
    pub slow_close_ms: u64,
    pub direction: Direction,
    /// Share of connections affected, 0..1 (1 when unset).
    pub toxicity: Option<f64>,
}

impl Faults {
    fn applies(&self, up: bool, toxic_draw: f64) -> bool {
        let dir = match self.direction {
            Direction::Both => true,
            Direction::Upstream => up,
            Direction::Downstream => !up,
        };
        dir && toxic_draw < self.toxicity.unwrap_or(1.0)
    }

    fn is_clean(&self) -> bool {
        *self == Faults::default()
            || (self.latency_ms == 0.0
                && self.jitter_ms == 0.0
                && self.bandwidth_bps == 0
                && !self.reset
                && !self.blackhole
                && self.slow_close_ms == 0)
    }
}

struct Shared {
    faults: RwLock<Faults>,
    version: AtomicU64,
    stop: AtomicBool,
}

/// A running proxy; dropping it stops it.
pub struct Proxy {
    local: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// Starts a proxy on 127.0.0.1 (a free port) forwarding to `upstream` (host:port).
    pub fn start(upstream: &str) -> std::io::Result<Proxy> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let local = std_listener.local_addr()?;
        let shared = Arc::new(Shared {
            faults: RwLock::new(Faults::default()),
            version: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let upstream = upstream.to_string();
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("dbarena-proxy".into())
            .spawn(move || {
                let Ok(rt) = crate::util::runtime::current_thread() else {
                    return;
                };
                rt.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(std_listener) else {
                        return;
                    };
                    let mut seq = 0u64;
                    while !s.stop.load(Ordering::Relaxed) {
                        let accepted =
                            tokio::time::timeout(Duration::from_millis(100), listener.accept())
                                .await;
                        let Ok(Ok((client, _))) = accepted else {
                            continue;
                        };
                        seq += 1;
                        let s = s.clone();
                        let upstream = upstream.clone();
                        tokio::spawn(async move {
                            let Ok(server) = TcpStream::connect(&upstream).await else {
                                return;
                            };
                            let _ = client.set_nodelay(true);
                            let _ = server.set_nodelay(true);
                            let draw = Rng::new(seq.wrapping_mul(0x9E37_79B9)).f64();
                            let (cr, cw) = client.into_split();
                            let (sr, sw) = server.into_split();
                            let cancel = Arc::new(tokio::sync::Notify::new());
                            let a = tokio::spawn(pump(
                                cr,
                                sw,
                                true,
                                s.clone(),
                                draw,
                                seq,
                                cancel.clone(),
                            ));
                            let b = tokio::spawn(pump(sr, cw, false, s, draw, seq + 1, cancel));
                            if let (Ok((cr, sw, r1)), Ok((sr, cw, r2))) = tokio::join!(a, b) {
                                if r1 || r2 {
                                    // Both sides see a reset (RST), not an orderly close.
                                    for sock in
                                        [cr.reunite(cw), sr.reunite(sw)].into_iter().flatten()
                                    {
                                        #[allow(deprecated)]
                                        let _ = sock.set_linger(Some(Duration::ZERO));
                                        drop(sock);
                                    }
                                }
                            }
                        });
                    }
                });
            })?;
        Ok(Proxy {
            local,
            shared,
            thread: Some(thread),
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.local
    }

    /// A handle that changes this proxy's faults from another thread.
    pub fn control(&self) -> ProxyControl {
        ProxyControl {
            shared: self.shared.clone(),
        }
    }

    /// Replaces the faults in force, for new and open connections alike.
    pub fn set(&self, f: Faults) {
        if let Ok(mut g) = self.shared.faults.write() {
            *g = f;
        }
        self.shared.version.fetch_add(1, Ordering::SeqCst);
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        self.shared
            .faults
            .read()
            .map(|g| g.clone())
            .unwrap_or_default()
    }
}

/// Changes a proxy's faults; cheap to clone and send to other threads.
#[derive(Clone)]
pub struct ProxyControl {
    shared: Arc<Shared>,
}

impl ProxyControl {
    /// Replaces the faults in force.
    pub fn set(&self, f: Faults) {
        if let Ok(mut g) = self.shared.faults.write() {
            if *g != f {
                *g = f;
                self.shared.version.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

type Halves = (
    tokio::net::tcp::OwnedReadHalf,
    tokio::net::tcp::OwnedWriteHalf,
    bool,
);

/// Copies one direction, applying the faults in force to each chunk. Returns its halves
/// (and whether the connection must be reset) so the caller can reset both sockets.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    up: bool,
    s: Arc<Shared>,
    draw: f64,
    seed: u64,
    cancel: Arc<tokio::sync::Notify>,
) -> Halves {
    let mut buf = vec![0u8; 64 * 1024];
    let mut rng = Rng::new(seed);
    loop {
        let read = tokio::select! {
            r = from.read(&mut buf) => r,
            _ = cancel.notified() => return (from, to, false),
        };
        let n = match read {
            Ok(0) | Err(_) => {
                let f = s.faults.read().map(|g| g.clone()).unwrap_or_default();
                if f.slow_close_ms > 0 && f.applies(up, draw) {
                    tokio::time::sleep(Duration::from_millis(f.slow_close_ms)).await;
                }
                // A half-close: the other direction carries on until its own end.
                let _ = to.shutdown().await;
                return (from, to, false);
            }
            Ok(n) => n,
        };
        let f = s.faults.read().map(|g| g.clone()).unwrap_or_default();
        if !f.is_clean() && f.applies(up, draw) {
            if f.reset {
                cancel.notify_one();
                return (from, to, true);
            }
            if f.blackhole {
                continue;
            }
            let mut delay = f.latency_ms;
            if f.jitter_ms > 0.0 {
                delay += if f.normal {
                    rng.normal() * f.jitter_ms
                } else {
                    (rng.f64() * 2.0 - 1.0) * f.jitter_ms
                };
            }
            if f.bandwidth_bps > 0 {
                delay += n as f64 * 1000.0 / f.bandwidth_bps as f64;
            }
            if delay > 0.0 {
                tokio::time::sleep(Duration::from_secs_f64(delay / 1000.0)).await;
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            cancel.notify_one();
            return (from, to, false);
        }
    }
}
