//! `dbarena instance …`

use crate::instance::Instance;
use crate::{Error, ExitCode};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum InstanceCommand {
    /// Create and start a private server: postgres or mariadb.
    Up {
        kind: String,
        /// Name to refer to it by (`--db instance:NAME`) [default: KIND-PORT]
        #[arg(long)]
        name: Option<String>,
        /// Port on 127.0.0.1; 0 picks a free one.
        #[arg(long, default_value = "0")]
        port: u16,
    },
    /// List instances with their state and URL.
    List,
    /// Print an instance's server log.
    Logs { name: String },
    /// Stop an instance and remove its data.
    Down { name: String },
    /// Shut the server down gracefully, keeping its data (`start` brings it back).
    Stop { name: String },
    /// Start a stopped (or killed) instance again.
    Start { name: String },
    /// kill -9 the server.
    Kill { name: String },
    /// SIGSTOP the server.
    Pause { name: String },
    /// SIGCONT the server.
    Resume { name: String },
}

pub fn run(cmd: InstanceCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        InstanceCommand::Up { kind, name, port } => {
            let i = Instance::up(&kind, name.as_deref(), port).map_err(Error::from)?;
            eprintln!("{} is up ({}, port {})", i.name, i.kind, i.port);
            println!("{}", i.url);
        }
        InstanceCommand::List => {
            for i in Instance::list() {
                let state = if i.pid().is_some() {
                    "running"
                } else {
                    "stopped"
                };
                println!("{:<20} {:<9} {:<8} {}", i.name, i.kind, state, i.url);
            }
        }
        InstanceCommand::Logs { name } => {
            let i = Instance::load(&name).map_err(Error::from)?;
            print!("{}", std::fs::read_to_string(i.log()).unwrap_or_default());
        }
        InstanceCommand::Down { name } => {
            Instance::load(&name)
                .and_then(|i| i.down())
                .map_err(Error::from)?;
            eprintln!("{name} is down");
        }
        InstanceCommand::Stop { name } => Instance::load(&name)
            .and_then(|i| i.stop())
            .map_err(Error::from)?,
        InstanceCommand::Start { name } => Instance::load(&name)
            .and_then(|i| i.start())
            .map_err(Error::from)?,
        InstanceCommand::Kill { name } => Instance::load(&name)
            .and_then(|i| i.kill())
            .map_err(Error::from)?,
        InstanceCommand::Pause { name } => Instance::load(&name)
            .and_then(|i| i.pause(true))
            .map_err(Error::from)?,
        InstanceCommand::Resume { name } => Instance::load(&name)
            .and_then(|i| i.pause(false))
            .map_err(Error::from)?,
    }
    Ok(ExitCode::Success)
}
