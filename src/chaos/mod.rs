//! Faults during a workload: a TCP proxy that injects network faults, CPU overload, and
//! (for managed instances) killing and pausing the server; scenarios against a baseline.

pub mod cpu;
mod links;
pub mod proxy;
pub mod scenario;

pub use proxy::{Direction, Faults, Proxy};
