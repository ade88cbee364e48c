//! `rondevu seed`: make (or read) a torrent, print its info-hash and magnet link, and seed it
//! to peers found through Rondevu until interrupted.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bt_swarm::{Storage, TorrentEvent, TorrentSource, TorrentState};
use bt_wire::Metainfo;
use clap::Args;

use crate::discovery_args::DiscoveryArgs;
use crate::make_torrent::make_torrent;
use crate::progress::{Direction, ProgressView};
use crate::session::Session;
use crate::shutdown::signal;
use crate::torrent_input::read_torrent_file;

/// Flags of `rondevu seed`.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// The file or folder to share (several paths make one multi-file torrent), or one
    /// `.torrent` file whose data is in --data.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// The torrent's name [default: the file's or folder's].
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Also write the torrent to this file.
    #[arg(long, value_name = "FILE")]
    torrent_out: Option<PathBuf>,
    /// With a `.torrent` PATH: the folder holding its data [default: the .torrent's folder].
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Host the signaling server here too (at ADDR, default 127.0.0.1:3000), and use it.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:3000")]
    with_server: Option<SocketAddr>,
    #[command(flatten)]
    discovery: DiscoveryArgs,
}

/// Seeds until Ctrl-C or SIGTERM, then deletes our offers.
pub async fn run(args: SeedArgs, verbose: bool, quiet: bool) -> Result<(), String> {
    let (metainfo, storage) = torrent_and_storage(&args)?;
    if let Some(out) = &args.torrent_out {
        std::fs::write(out, metainfo.to_bytes())
            .map_err(|error| format!("cannot write {}: {error}", out.display()))?;
    }
    let info = &metainfo.info;
    println!("name: {}", info.name());
    println!(
        "size: {} bytes in {} pieces",
        info.total_length(),
        info.pieces().len()
    );
    println!("info-hash: {}", info.info_hash());
    println!("magnet: {}", metainfo.magnet());

    let session = Session::start(&args.discovery, args.with_server, verbose).await?;
    let torrent = session
        .manager
        .add_torrent(TorrentSource::from(info.clone()), storage)
        .map_err(|error| format!("cannot seed: {error}"))?;
    let events_task = session.watch_events(&args.discovery);
    let mut events = torrent.subscribe();
    let check = torrent
        .wait_for(|progress| {
            matches!(
                progress.state,
                TorrentState::Downloading | TorrentState::Seeding
            )
        })
        .await
        .map_err(|_| "the torrent stopped while its files were checked".to_string())?;
    // Every piece verified: the engine marks the torrent seeding right after.
    let check = if !check.is_complete() && check.verified_pieces == check.piece_count {
        torrent
            .wait_complete()
            .await
            .map_err(|_| "the torrent stopped while its files were checked".to_string())?
    } else {
        check
    };
    if !check.is_complete() {
        let _ = session.stop(Duration::from_secs(5)).await;
        return Err(format!(
            "the files do not match the torrent: {} of {} pieces verified",
            check.verified_pieces, check.piece_count
        ));
    }
    println!("seeding (Ctrl-C to stop)");
    let mut view = ProgressView::new(Direction::Upload, quiet);
    let interrupted = signal();
    tokio::pin!(interrupted);
    let outcome = loop {
        tokio::select! {
            result = &mut interrupted => break result,
            event = events.recv() => match event {
                Some(TorrentEvent::Stats(stats)) => view.update(&stats),
                Some(TorrentEvent::Failed { reason }) => break Err(format!("seeding stopped: {reason}")),
                Some(_) => {}
                None => break Err("the torrent stopped".to_string()),
            },
        }
    };
    view.finish();
    eprintln!("stopping: deleting our offers");
    let stopped = session.stop(Duration::from_secs(10)).await;
    events_task.abort();
    outcome.and(stopped)
}

/// The torrent to seed and where its pieces are read from.
fn torrent_and_storage(args: &SeedArgs) -> Result<(Metainfo, Storage), String> {
    let is_torrent_file = |path: &PathBuf| path.extension().is_some_and(|ext| ext == "torrent");
    if let [path] = args.paths.as_slice() {
        if is_torrent_file(path) && path.is_file() {
            let metainfo = read_torrent_file(path)?;
            let data = match &args.data {
                Some(dir) => dir.clone(),
                None => path
                    .parent()
                    .map(|parent| {
                        if parent.as_os_str().is_empty() {
                            PathBuf::from(".")
                        } else {
                            parent.to_path_buf()
                        }
                    })
                    .unwrap_or_else(|| PathBuf::from(".")),
            };
            return Ok((metainfo, Storage::Disk(data)));
        }
    }
    if args.data.is_some() {
        return Err("--data only goes with a .torrent file".to_string());
    }
    eprintln!(
        "hashing {} …",
        args.paths
            .iter()
            .map(|path| path.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let made = make_torrent(&args.paths, args.name.as_deref())?;
    let storage = made.storage()?;
    Ok((made.metainfo, storage))
}
