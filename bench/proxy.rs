//! Latency the chaos proxy adds with no fault: round trips of 100 bytes to an echo server,
//! direct and through the proxy, alternately.
//!
//!   cargo bench --bench proxy
//!
//! Prints p50/p99 of each and the difference.

use dbarena::chaos::Proxy;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

fn echo() -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = s;
                let _ = s.set_nodelay(true);
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || s.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

fn samples(addr: &str, n: usize) -> Vec<Duration> {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let msg = [1u8; 100];
    let mut buf = [0u8; 100];
    (0..n)
        .map(|_| {
            let t = Instant::now();
            s.write_all(&msg).expect("write");
            let mut got = 0;
            while got < 100 {
                got += s.read(&mut buf[got..]).expect("read");
            }
            t.elapsed()
        })
        .collect()
}

fn pct(v: &mut [Duration], q: f64) -> f64 {
    v.sort();
    v[((v.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6
}

fn main() {
    let upstream = echo();
    let proxy = Proxy::start(&upstream).expect("proxy");
    let via = proxy.addr().to_string();
    let (mut direct, mut proxied) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        direct.extend(samples(&upstream, 4000));
        proxied.extend(samples(&via, 4000));
    }
    let (d50, d99) = (pct(&mut direct, 0.5), pct(&mut direct, 0.99));
    let (p50, p99) = (pct(&mut proxied, 0.5), pct(&mut proxied, 0.99));
    println!("| path | p50 µs | p99 µs |");
    println!("|---|---|---|");
    println!("| direct | {d50:.1} | {d99:.1} |");
    println!("| through the proxy | {p50:.1} | {p99:.1} |");
    println!("| added | {:.1} | {:.1} |", p50 - d50, p99 - d99);
}
