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
                // Named so that its CPU time can be found in /proc (and in top).
                std::thread::Builder::new()
                    .name("dbarena-cpuhog".into())
                    .spawn(move || {
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
            .filter_map(Result::ok)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// CPU seconds used so far by this process's hog threads (utime + stime, in ticks of
    /// 1/100 s, the kernel's USER_HZ on Linux).
    fn hog_cpu_s() -> f64 {
        let mut ticks = 0u64;
        for t in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
            let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
            if comm.trim() != "dbarena-cpuhog" {
                continue;
            }
            let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
            let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
            let f: Vec<&str> = rest.split_whitespace().collect();
            // state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
            for i in [11, 12] {
                ticks += f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
            }
        }
        ticks as f64 / 100.0
    }

    #[test]
    fn hogs_burn_about_the_share_asked_for() {
        let hog = CpuHog::start(2, 50.0);
        std::thread::sleep(Duration::from_millis(1500));
        let used = hog_cpu_s();
        drop(hog);
        // Two threads at 50% for 1.5 s: 1.5 CPU seconds. On a machine busy with other work
        // they get less (0.47 s seen while two builds ran), never more: the upper bound is
        // the check, the lower one only that they burn at all.
        assert!((0.2..=2.2).contains(&used), "used {used} CPU seconds");
    }
}
