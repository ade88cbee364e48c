//! `rondevu get`: fetch a torrent from peers found through Rondevu, verifying every piece,
//! into an output folder (resuming what is already there).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bt_swarm::layout::LayoutError;
use bt_swarm::{AddTorrentError, Storage, TorrentEvent, TorrentState};
use clap::Args;

use crate::discovery_args::DiscoveryArgs;
use crate::progress::{bytes, Direction, ProgressView};
use crate::session::Session;
use crate::shutdown::signal;
use crate::torrent_input::TorrentInput;

/// Flags of `rondevu get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// A magnet link, an info-hash (40 hex or 32 base32 characters) or a .torrent file.
    #[arg(value_name = "MAGNET|TORRENT|INFOHASH")]
    torrent: String,
    /// The folder to download into (created if missing; what it holds already is checked
    /// and kept).
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    output: PathBuf,
    /// Keep seeding after the download completes, until Ctrl-C.
    #[arg(long)]
    seed_after: bool,
    /// Give up after this many seconds without completing.
    #[arg(long, value_name = "SECS")]
    timeout: Option<u64>,
    #[command(flatten)]
    discovery: DiscoveryArgs,
}

/// Downloads; succeeds only when every piece is verified.
pub async fn run(args: GetArgs, verbose: bool, quiet: bool) -> Result<(), String> {
    let input = TorrentInput::parse(&args.torrent)?;
    ensure_writable(&args.output)?;
    let session = Session::start(&args.discovery, None, verbose).await?;
    let torrent = match session
        .manager
        .add_torrent(input.source(), Storage::Disk(args.output.clone()))
    {
        Ok(torrent) => torrent,
        Err(error) => {
            let _ = session.stop(Duration::from_secs(5)).await;
            return Err(match error {
                AddTorrentError::Layout(LayoutError::UnsafePath { .. }) => format!(
                    "torrent refused because a file name would leave the output folder ({error})"
                ),
                error => format!("cannot fetch {}: {error}", input.display_name()),
            });
        }
    };
    eprintln!(
        "fetching {} (info-hash {}) into {}",
        input.display_name(),
        input.info_hash(),
        args.output.display()
    );
    let events_task = session.watch_events(&args.discovery);
    let mut events = torrent.subscribe();
    let mut view = ProgressView::new(Direction::Download, quiet);
    let deadline = args
        .timeout
        .map(|secs| Instant::now() + Duration::from_secs(secs));
    let timed_out = async move {
        match deadline {
            Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(timed_out);
    let interrupted = signal();
    tokio::pin!(interrupted);
    let mut downloading_since: Option<Instant> = None;
    let outcome = loop {
        let progress = torrent.progress();
        if progress.is_complete() {
            break Ok(progress);
        }
        if progress.state == TorrentState::Failed {
            break Err("torrent refused (the log above says why)".to_string());
        }
        if downloading_since.is_none() && progress.state == TorrentState::Downloading {
            downloading_since = Some(Instant::now());
        }
        tokio::select! {
            result = &mut interrupted => break result.and(Err("interrupted; run the same command again to resume".to_string())),
            () = &mut timed_out => break Err(format!(
                "gave up after {} s: {} of {} pieces verified",
                args.timeout.unwrap_or_default(), progress.verified_pieces, progress.piece_count
            )),
            event = events.recv() => match event {
                Some(TorrentEvent::Stats(stats)) => view.update(&stats),
                Some(TorrentEvent::MetadataReceived { name, piece_count }) => {
                    view.println(&format!("got the torrent's metadata: {name}, {piece_count} pieces"));
                }
                Some(TorrentEvent::PeerBanned { reason, .. }) => view.println(&format!("banned a peer: {reason}")),
                Some(TorrentEvent::Failed { reason }) => break Err(format!("torrent refused: {reason}")),
                Some(_) => {}
                None => break Err("the torrent stopped".to_string()),
            },
        }
    };
    view.finish();
    let result = match outcome {
        Ok(progress) => {
            let elapsed = downloading_since.map_or(Duration::ZERO, |since| since.elapsed());
            let stats = torrent.stats().await.ok();
            let resumed = stats.as_ref().map_or(0, |stats| stats.pieces_resumed);
            let downloaded = stats.as_ref().map_or(0, |stats| stats.pieces_downloaded);
            let seconds = elapsed.as_secs_f64().max(0.001);
            println!(
                "complete: {} ({}), every one of {} pieces verified ({} downloaded, {} already on disk) in {:.2} s, {:.1} MB/s",
                input.display_name(),
                bytes(progress.total_bytes),
                progress.piece_count,
                downloaded,
                resumed,
                seconds,
                progress.total_bytes as f64 / seconds / 1e6
            );
            if args.seed_after {
                println!("seeding (Ctrl-C to stop)");
                let _ = signal().await;
            }
            Ok(())
        }
        Err(error) => Err(error),
    };
    let stopped = session.stop(Duration::from_secs(10)).await;
    events_task.abort();
    result.and(stopped)
}

/// Creates `folder` if needed and checks a file can be written in it.
fn ensure_writable(folder: &Path) -> Result<(), String> {
    let shown = folder.display();
    std::fs::create_dir_all(folder)
        .map_err(|error| format!("the output folder {shown} is not writable: {error}"))?;
    let probe = folder.join(format!(".rondevu-write-check-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|error| format!("the output folder {shown} is not writable: {error}"))
}
