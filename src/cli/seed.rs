//! `dbarena seed`

use crate::db::DbUrl;
use crate::seed::generators::Locale;
use crate::seed::{run_seed, SeedOptions, Source};
use crate::{Error, ExitCode};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Database URL [default: sqlite://dbarena.db]; also DBARENA_DB, then DATABASE_URL.
    #[arg(long, env = "DBARENA_DB")]
    db: Option<String>,
    /// Seed rules in TOML.
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
    /// Built-in dataset: ecommerce (default without --config/--rows), pgbench, ycsb,
    /// timeseries, tpcc (with --warehouses).
    #[arg(long)]
    preset: Option<String>,
    /// small, medium or large: multiplies preset row counts by 0.1, 1 or 10 [default: medium]
    #[arg(long)]
    size: Option<String>,
    /// pgbench scale factor (100,000 accounts per unit), like pgbench -s [default: 1]
    #[arg(long, short = 's', value_parser = super::count::<u64>, allow_negative_numbers = true)]
    scale: Option<u64>,
    /// Row counts, table=N,...: overrides a preset's or config's count, or (alone) fills your
    /// own tables with generators inferred from their definitions.
    #[arg(long, value_delimiter = ',')]
    rows: Vec<String>,
    /// Seed of the generated data: the same seed gives the same rows on every database.
    #[arg(long)]
    seed: Option<u64>,
    /// tpcc preset: number of warehouses (100,000 stock rows and 30,000 customers each)
    /// [default: 1]
    #[arg(long, value_parser = super::count::<u32>, allow_negative_numbers = true)]
    warehouses: Option<u32>,
    /// Rows per batch (one transaction or COPY each).
    #[arg(long, value_parser = super::count::<usize>, allow_negative_numbers = true)]
    batch_size: Option<usize>,
    /// Empty the tables first (presets: drop and recreate them).
    #[arg(long, conflicts_with = "incremental")]
    truncate: bool,
    /// With --truncate: also empty tables outside the list whose rows reference emptied ones.
    #[arg(long, requires = "truncate")]
    cascade: bool,
    /// Append after the rows already there.
    #[arg(long)]
    incremental: bool,
    /// Loader connections for network databases [default: number of cores]
    #[arg(long, short = 'n', value_parser = super::count::<usize>, allow_negative_numbers = true)]
    connections: Option<usize>,
    /// Language of names: en, de, fr.
    #[arg(long)]
    locale: Option<String>,
    /// Print the (inferred or preset) rules as seed TOML and exit without loading.
    #[arg(long)]
    print_config: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// No progress bars.
    #[arg(long, short = 'q')]
    quiet: bool,
}

fn parse_rows(items: &[String]) -> Result<Vec<(String, u64)>, Error> {
    items
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (t, n) = s.split_once('=').ok_or_else(|| {
                Error::Usage(format!(
                    "invalid --rows '{s}': expected table=N, e.g. users=100000"
                ))
            })?;
            let n = n.replace('_', "").parse::<u64>().map_err(|_| {
                Error::Usage(format!("invalid --rows '{s}': '{n}' is not a row count"))
            })?;
            if n == 0 {
                return Err(Error::Usage(format!(
                    "invalid --rows '{s}': a row count must be at least 1 (leave the table out to load none)"
                )));
            }
            Ok((t.trim().to_string(), n))
        })
        .collect()
}

pub fn run(a: SeedArgs) -> anyhow::Result<ExitCode> {
    let locale = match a.locale.as_deref() {
        None => Locale::En,
        Some(l) => Locale::parse(l)
            .ok_or_else(|| Error::Usage(format!("unknown --locale '{l}': use en, de or fr")))?,
    };
    let factor = match a.size.as_deref().unwrap_or("medium") {
        "small" => 0.1,
        "medium" => 1.0,
        "large" => 10.0,
        other => {
            return Err(Error::Usage(format!(
                "unknown --size '{other}': use small, medium or large"
            ))
            .into())
        }
    };
    let rows = parse_rows(&a.rows)?;
    if a.warehouses.is_some()
        && !a
            .preset
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case("tpcc"))
    {
        return Err(Error::Usage(
            "--warehouses belongs to --preset tpcc; add --preset tpcc or remove it".into(),
        )
        .into());
    }
    let config = match &a.config {
        Some(p) => Some(
            crate::seed::config::SeedConfig::load(p, locale).map_err(|e| Error::Seed(e.into()))?,
        ),
        None => None,
    };
    let source = match (&a.preset, config.clone()) {
        (Some(_), Some(_)) => {
            return Err(Error::Usage("use either --preset or --config, not both".into()).into())
        }
        (Some(p), None) if p.eq_ignore_ascii_case("tpcc") => {
            if a.print_config || !rows.is_empty() || a.incremental {
                return Err(Error::Usage(
                    "the tpcc preset follows the TPC-C specification's rules: it has no seed rules to print, no --rows and no --incremental; give --warehouses W (and --truncate to reload)".into(),
                )
                .into());
            }
            Source::Tpcc {
                warehouses: a.warehouses.unwrap_or(1),
            }
        }
        (Some(p), None) => Source::Preset {
            name: p.clone(),
            factor,
            scale: a.scale.unwrap_or(1),
        },
        (None, Some(c)) => Source::Config(c),
        (None, None) if !rows.is_empty() => Source::Schema,
        (None, None) => Source::Preset {
            name: "ecommerce".into(),
            factor,
            scale: a.scale.unwrap_or(1),
        },
    };
    let db =
        a.db.or_else(|| std::env::var("DATABASE_URL").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "sqlite://dbarena.db".into());
    let db = super::resolve_db(db)?;
    let url = DbUrl::parse(&db).map_err(Error::from)?;
    let seed = a.seed.or(config.as_ref().and_then(|c| c.global_seed));
    let batch_size = a.batch_size.or(config.as_ref().and_then(|c| c.batch_size));
    let stop = super::stop_on_ctrl_c();
    let opts = SeedOptions {
        url,
        source,
        rows,
        seed,
        batch_size,
        truncate: a.truncate,
        cascade: a.cascade,
        incremental: a.incremental,
        connections: a.connections,
        locale,
        stop,
    };
    if a.print_config {
        let text = crate::seed::run::print_config(&opts)?;
        print!("{text}");
        return Ok(ExitCode::Success);
    }
    let mut progress = crate::report::seed_progress::for_stderr(a.quiet);
    let report = run_seed(opts, progress.as_mut())?;
    for n in &report.notes {
        eprintln!("note: {n}");
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", crate::report::seed_progress::render(&report));
    }
    Ok(ExitCode::Success)
}
