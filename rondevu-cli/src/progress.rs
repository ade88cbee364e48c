//! Showing a torrent's progress: a bar on a terminal, plain periodic lines otherwise (so logs
//! stay readable in CI).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use bt_swarm::TorrentStats;
use indicatif::{ProgressBar, ProgressStyle};

/// How often a plain line is printed when the output is not a terminal.
const PLAIN_LINE_EVERY: Duration = Duration::from_secs(2);

/// Whether the view is downloading (percent, ETA) or seeding (upload only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `rondevu get`.
    Download,
    /// `rondevu seed`.
    Upload,
}

/// A progress display on standard error.
pub struct ProgressView {
    direction: Direction,
    bar: Option<ProgressBar>,
    last_line: Option<Instant>,
}

impl ProgressView {
    /// A bar when standard error is a terminal (and `quiet` is off), plain lines otherwise.
    pub fn new(direction: Direction, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(0);
            let template = match direction {
                Direction::Download => {
                    "{spinner} {percent:>3}% [{wide_bar}] {bytes}/{total_bytes} {msg} ETA {eta}"
                }
                Direction::Upload => "{spinner} seeding {msg}",
            };
            bar.set_style(
                ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            direction,
            bar,
            last_line: None,
        }
    }

    /// Shows the latest figures.
    pub fn update(&mut self, stats: &TorrentStats) {
        let peers = stats.peers.len();
        let progress = &stats.progress;
        match &self.bar {
            Some(bar) => {
                bar.set_length(progress.total_bytes);
                bar.set_position(progress.verified_bytes);
                bar.set_message(match self.direction {
                    Direction::Download => {
                        format!("{} {}", rate(stats.download_rate), peer_count(peers))
                    }
                    Direction::Upload => format!(
                        "{} up, {} sent, {}",
                        rate(stats.upload_rate),
                        bytes(stats.uploaded),
                        peer_count(peers)
                    ),
                });
            }
            None => {
                let now = Instant::now();
                if self
                    .last_line
                    .is_some_and(|last| now - last < PLAIN_LINE_EVERY)
                {
                    return;
                }
                self.last_line = Some(now);
                match self.direction {
                    Direction::Download => eprintln!(
                        "{:>5.1}% {} of {}, {} down, {}",
                        percent(progress.verified_bytes, progress.total_bytes),
                        bytes(progress.verified_bytes),
                        bytes(progress.total_bytes),
                        rate(stats.download_rate),
                        peer_count(peers)
                    ),
                    Direction::Upload => eprintln!(
                        "seeding: {} up, {} sent, {}",
                        rate(stats.upload_rate),
                        bytes(stats.uploaded),
                        peer_count(peers)
                    ),
                }
            }
        }
    }

    /// Prints a line without tearing the bar.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the bar (the final summary is printed by the caller).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn percent(done: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        done as f64 * 100.0 / total as f64
    }
}

fn peer_count(peers: usize) -> String {
    match peers {
        1 => "1 peer".to_string(),
        n => format!("{n} peers"),
    }
}

/// Bytes per second in binary units.
pub fn rate(bytes_per_second: u64) -> String {
    format!("{}/s", bytes(bytes_per_second))
}

/// A byte count in binary units.
pub fn bytes(count: u64) -> String {
    indicatif::BinaryBytes(count).to_string()
}
