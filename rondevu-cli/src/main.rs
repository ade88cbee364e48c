//! `rondevu`: run a Rondevu signaling server, and (soon) seed and fetch torrents with
//! WebTorrent peers found through one.
//!
//! ```text
//! rondevu server --listen 127.0.0.1:3000 --db rondevu.sqlite
//! ```

mod logging;
mod server;
mod shutdown;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Share and fetch torrents with WebTorrent peers, found through a Rondevu signaling server.
#[derive(Debug, Parser)]
#[command(name = "rondevu", version, about, propagate_version = true)]
struct Cli {
    /// More log output (-v: debug, -vv: trace). RUST_LOG overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Only warnings and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the Rondevu signaling server.
    Server(server::ServerArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.verbose, cli.quiet);
    let result = match cli.command {
        Command::Server(args) => server::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
