//! CPU overload: busy threads at a target utilisation.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Burns `threads` threads at `percent` utilisation each until dropped.
pub struct CpuHog {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl CpuHog {
    pub fn start(threads: usize, percent: f64) -> CpuHog {
        let stop = Arc::new(AtomicBool::new(false));
        let busy = Duration::from_micros((percent.clamp(1.0, 100.0) * 100.0) as u64); // of 10 ms
        let handles = (0..threads)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let period = Duration::from_millis(10);
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let t = Instant::now();
                        while t.elapsed() < busy {
                            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                        }
                        std::hint::black_box(x);
                        if let Some(rest) = period.checked_sub(t.elapsed()) {
                            std::thread::sleep(rest);
                        }
                    }
                })
            })
            .collect();
        CpuHog {
            stop,
            threads: handles,
        }
    }
}

impl Drop for CpuHog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
