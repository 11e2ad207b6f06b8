//! What a run is: the workload TOML file and flags ([`file`]) resolved into one typed
//! [`WorkloadConfig`] ([`spec`]): the settings every run has, plus a [`WorkloadSpec`] that
//! carries only the chosen workload's own settings. Plain data, read by the workloads that
//! run it and by the result model that records it.

pub mod file;
pub mod spec;

pub use file::{
    check_weights, ConfigError, CustomOperations, StageSetting, TpsSetting, WorkloadFile,
};
pub use spec::{
    CustomQuery, OpMix, ParamSpec, Pattern, PgbenchScript, Tpcc, TpccMode, WorkloadConfig,
    WorkloadSpec, WritersReaders, YcsbWorkload, PATTERN_NAMES, PGBENCH_SCRIPTS, YCSB_WORKLOADS,
};
