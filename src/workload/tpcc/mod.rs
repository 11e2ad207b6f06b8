//! TPC-C-like: the nine tables and their initial data (`schema.rs`, `load.rs`, with the
//! specification's random rules in `random.rs`), the five transactions (`transactions.rs`)
//! as one engine source (`source.rs`), tpmC, NOPM and the response-time limits
//! (`results.rs`), and the consistency conditions checked after every run and on demand
//! (`consistency.rs`). Built from the TPC-C specification, revision 5.11; not an audited
//! result.

pub mod consistency;
pub mod load;
pub mod random;
pub mod results;
pub mod schema;
pub mod source;
pub mod transactions;

use super::run::{RunEnv, RunOptions};
use crate::config::{Tpcc, TpccMode, WorkloadConfig};
use crate::db::{Connection, DbUrl};
use crate::engine::ProgressSink;
use crate::metrics::result::TpccCondition;
use crate::metrics::RunResult;
use crate::schema::SchemaError;
use crate::Error;
use std::sync::Arc;

/// What the loader recorded in `tpcc_meta`.
pub struct Loaded {
    pub warehouses: u32,
    pub c_last: i64,
}

/// Reads `tpcc_meta`, or says how to load the tables.
pub async fn loaded(c: &mut Connection, url: &DbUrl) -> Result<Loaded, Error> {
    let tables = c
        .list_tables()
        .await
        .map_err(|e| Error::db("listing tables", e))?;
    let missing: Vec<&str> = schema::TABLES
        .iter()
        .chain(std::iter::once(&schema::META))
        .copied()
        .filter(|t| !tables.iter().any(|e| e.eq_ignore_ascii_case(t)))
        .collect();
    if !missing.is_empty() {
        return Err(SchemaError::TpccNotLoaded {
            db: url.redacted(),
            missing: format!("missing: {}", missing.join(", ")),
        }
        .into());
    }
    let rows = c
        .query_text(&format!("SELECT name, value FROM {}", schema::META))
        .await
        .map_err(|e| Error::db("reading tpcc_meta", e))?;
    let get = |k: &str| {
        rows.iter()
            .find(|r| r.first().and_then(|v| v.as_deref()) == Some(k))
            .and_then(|r| r.get(1)?.as_deref()?.parse::<i64>().ok())
    };
    match (get("warehouses"), get("c_last")) {
        (Some(w), Some(c_last)) if w > 0 => Ok(Loaded {
            warehouses: w as u32,
            c_last,
        }),
        _ => Err(SchemaError::TpccNotLoaded {
            db: url.redacted(),
            missing: "tpcc_meta is incomplete: the load did not finish".into(),
        }
        .into()),
    }
}

/// Runs TPC-C-like on the engine, then checks the consistency conditions.
pub fn run(
    env: &mut RunEnv,
    cfg: &WorkloadConfig,
    tpcc: &Tpcc,
    opts: &RunOptions,
    progress: &mut dyn ProgressSink,
) -> Result<RunResult, Error> {
    let url = env.url.clone();
    let (meta, orders_before) = env.block_on(async |c| {
        let meta = loaded(c, &url).await?;
        let n = next_order_ids(c).await?;
        Ok((meta, n))
    })?;
    let warehouses = match tpcc.warehouses {
        Some(w) if w > meta.warehouses => {
            return Err(Error::Usage(format!(
                "--warehouses {w}, but the database holds {} warehouse(s); load more with `dbarena seed --preset tpcc --warehouses {w} --truncate` or give --warehouses {}",
                meta.warehouses, meta.warehouses
            )))
        }
        Some(w) => w,
        None => meta.warehouses,
    };
    let mut cfg = cfg.clone();
    let mut notes = vec![
        "TPC-C-like workload built from the TPC-C specification 5.11; not an audited TPC-C result"
            .to_string(),
    ];
    // Each terminal runs whole business transactions on a connection of its own.
    cfg.pipeline = 1;
    let ceiling = match tpcc.mode {
        TpccMode::Spec => {
            let terminals = results::TERMINALS * warehouses;
            let cycle = results::mean_cycle_s(&tpcc.weights);
            if cfg.connections != terminals as usize || cfg.think_time.is_some() {
                notes.push(format!(
                    "spec mode: {terminals} terminals (10 per warehouse) with keying and think times; --connections and --think-time are set by the mode"
                ));
            }
            cfg.connections = terminals as usize;
            cfg.tps = None;
            // The terminals pause by transaction type (TpccSource::pause).
            cfg.think_time = None;
            notes.push(format!(
                "spec mode: each terminal keys and thinks for clause 5.2.5's times by transaction type (keying 18/3/2/2/2 s, think times exponential with means 12/12/10/5/5 s, capped at ten means): a mean cycle of {cycle:.2} s at this mix"
            ));
            Some(results::ceiling_tpmc(terminals, &tpcc.weights))
        }
        TpccMode::Throughput => None,
    };
    if url.blocking() {
        cfg.threads = cfg.connections;
    }
    let seed = cfg.seed.unwrap_or_else(crate::datagen::Rng::seed_from_time);
    let counts = Arc::new(source::Counts::default());
    let workload = Arc::new(source::TpccWorkload {
        warehouses: warehouses as i64,
        weights: tpcc.weights,
        consts: random::Constants::for_run(meta.c_last, seed),
        counts: counts.clone(),
        spec_pauses: tpcc.mode == TpccMode::Spec,
    });
    let out = env.run_engine(&cfg, workload, opts, progress)?;
    let engine_minutes = (out.ended_at_us - out.started_at_us) as f64 / 60e6;
    (opts.log)("checking the TPC-C consistency conditions…");
    let (orders_after, consistency) = env.block_on(async |c| {
        let n = next_order_ids(c).await?;
        let k = consistency::check(c)
            .await
            .map_err(|e| Error::db("checking the TPC-C consistency conditions", e))?;
        Ok((n, k))
    })?;
    let names: Vec<String> = transactions::NAMES.iter().map(|s| s.to_string()).collect();
    let mut result = env.result(&cfg, &names, out, notes);
    let mut stats = results::stats(
        &result,
        &counts,
        results::Extra {
            warehouses,
            mode: tpcc.mode.name().into(),
            nopm: if engine_minutes > 0.0 {
                (orders_after - orders_before) as f64 / engine_minutes
            } else {
                0.0
            },
            ceiling_tpmc: ceiling,
        },
    );
    stats.consistency = consistency;
    result.tpcc = Some(stats);
    Ok(result)
}

/// The sum of D_NEXT_O_ID: how many orders the districts have taken (HammerDB's NOPM count).
async fn next_order_ids(c: &mut Connection) -> Result<i64, Error> {
    let rows = c
        .query_text("SELECT SUM(d_next_o_id) FROM district")
        .await
        .map_err(|e| Error::db("reading D_NEXT_O_ID", e))?;
    Ok(rows
        .first()
        .and_then(|r| r.first()?.as_deref()?.trim().parse::<f64>().ok())
        .unwrap_or(0.0) as i64)
}

/// `--check-consistency`: checks a loaded database without running anything.
pub fn check_only(url: &DbUrl) -> Result<Vec<TpccCondition>, Error> {
    let rt = crate::util::runtime::current_thread()?;
    rt.block_on(async {
        let mut c = Connection::connect(url).await?;
        loaded(&mut c, url).await?;
        consistency::check(&mut c)
            .await
            .map_err(|e| Error::db("checking the TPC-C consistency conditions", e))
    })
}
