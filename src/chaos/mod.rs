//! Faults during a workload: a TCP proxy that injects network faults, CPU overload, and
//! (for managed instances) killing and pausing the server, failing over a cluster;
//! scenarios against a baseline.

pub mod cpu;
pub mod failover;
mod links;
pub mod proxy;
pub mod scenario;

pub use proxy::{Direction, Faults, Proxy};
