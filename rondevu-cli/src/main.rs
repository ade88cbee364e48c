//! `rondevu`: share and fetch torrents with WebTorrent peers found through a Rondevu
//! signaling server, or run such a server.
//!
//! ```text
//! rondevu server --listen 127.0.0.1:3000
//! rondevu seed movie.mkv --server http://127.0.0.1:3000
//! rondevu get 'magnet:?xt=urn:btih:…' -o downloads --server http://127.0.0.1:3000
//! ```

mod credentials_file;
mod discovery_args;
mod get;
mod logging;
mod make_torrent;
mod progress;
mod seed;
mod server;
mod session;
mod shutdown;
mod torrent_input;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Share and fetch torrents with WebTorrent peers, found through a Rondevu signaling server.
#[derive(Debug, Parser)]
#[command(name = "rondevu", version, about, propagate_version = true)]
struct Cli {
    /// More log output (-v: debug, -vv: trace). RUST_LOG overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Only warnings and errors, and no progress display.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the Rondevu signaling server.
    Server(server::ServerArgs),
    /// Share files: print a magnet link and seed to peers until interrupted.
    Seed(seed::SeedArgs),
    /// Fetch a torrent by magnet link, info-hash or .torrent file, verifying every piece.
    Get(get::GetArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.verbose, cli.quiet);
    let verbose = cli.verbose > 0;
    let result = match cli.command {
        Command::Server(args) => server::run(args),
        Command::Seed(args) => in_runtime(seed::run(args, verbose, cli.quiet)),
        Command::Get(args) => in_runtime(get::run(args, verbose, cli.quiet)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `work` on a multi-threaded tokio runtime.
fn in_runtime(work: impl std::future::Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("could not start the async runtime: {error}"))?
        .block_on(work)
}
