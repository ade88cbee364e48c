//! `rondevu server`: the signaling server, configured from flags and the spec's environment
//! variables (`PORT`, `AUTH_SECRET`, `OFFER_*`, `MAX_*`, `CLEANUP_INTERVAL`, `CORS_ORIGINS`).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use rondevu_server::{serve, AuthSecret, ServerConfig};

use crate::shutdown::wait_for_signal;

/// Flags of `rondevu server`.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Address to listen on [default: 127.0.0.1 with port $PORT or 3000]. Port 0 picks a free one.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Keep offers in this SQLite file (created if missing) instead of in memory, so they
    /// survive a restart.
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Credential key: 64 hex characters. Without it (or $AUTH_SECRET) a random key is used and
    /// credentials stop working when the server stops.
    #[arg(long, value_name = "HEX", env = "AUTH_SECRET", hide_env_values = true)]
    auth_secret: Option<String>,
}

/// Runs the server until Ctrl-C or SIGTERM.
pub fn run(args: ServerArgs) -> Result<(), String> {
    let config = config_from(args)?;
    let server = serve(config).map_err(|error| format!("the server could not start: {error}"))?;
    println!("listening on {}", server.url());
    let _ = std::io::stdout().flush();
    wait_for_signal()?;
    tracing::info!("stopping");
    server.shutdown();
    Ok(())
}

fn config_from(args: ServerArgs) -> Result<ServerConfig, String> {
    let mut config = ServerConfig::from_env().map_err(|error| error.to_string())?;
    if let Some(listen) = args.listen {
        config.bind = listen.ip();
        config.port = listen.port();
    }
    if let Some(hex) = args.auth_secret {
        config.auth_secret = Some(
            AuthSecret::from_hex(&hex)
                .map_err(|error| format!("--auth-secret is not a valid key: {error}"))?,
        );
    }
    config.db_path = args.db;
    Ok(config)
}
