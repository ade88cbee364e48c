//! One connection attempt and its life: the offerer side (candidates posted from the start,
//! waiting for the answer the manager passes in) or the answerer side (answer first, then
//! candidates), adaptive candidate polling, the open stream handed to the sink, and the
//! watch until it closes.

use std::sync::Arc;
use std::time::Instant;

use bt_wire::InfoHash;
use rondevu_api::Credentials;
use tokio::sync::mpsc;

use crate::events::TorrentCounters;
use crate::manager::Shared;
use crate::metered::{ByteCounters, MeteredStream};
use crate::signaling::{Signaling, SignalingError};
use crate::sink::PeerSink;
use crate::transport::{Connection, ConnectionEvent, Transport};
use crate::AdaptivePoll;

/// The manager's name for a link.
pub(crate) type LinkId = u64;

/// Slowest candidate polling while a connection is being made (the reference client polls
/// every second).
const CANDIDATE_POLL_MAX: std::time::Duration = std::time::Duration::from_millis(500);

/// What the manager tells a link.
#[derive(Debug)]
pub(crate) enum LinkCommand {
    /// The remote answered our offer with this SDP.
    Answer(String),
    /// Close the link (lost a tie-break, torrent removed, manager destroyed).
    Cancel,
}

/// How a link ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The channel never opened: the text says why.
    Failed(String),
    /// The channel was open and is closed now.
    Disconnected,
    /// The offer we answered was taken or gone: normal, not a failure.
    Stale,
    /// The manager closed it.
    Cancelled,
    /// The server refused our credentials.
    Unauthorized,
}

/// What a link tells the manager.
#[derive(Debug)]
pub(crate) enum LinkReport {
    /// The channel is open and its stream is with the sink.
    Connected(LinkId),
    /// The link is over.
    Ended(LinkId, Outcome),
}

/// How a link starts.
pub(crate) enum Start<C> {
    /// We published an offer made by this connection.
    Offerer(C),
    /// We answer the remote's offer.
    Answerer {
        /// The remote's SDP offer.
        offer_sdp: String,
    },
}

/// Everything a link needs besides its start.
pub(crate) struct LinkSpec {
    pub(crate) id: LinkId,
    pub(crate) info_hash: InfoHash,
    pub(crate) offer_id: String,
    pub(crate) credentials: Credentials,
    pub(crate) counters: Arc<TorrentCounters>,
    /// This connection's own byte counts.
    pub(crate) bytes: Arc<ByteCounters>,
}

/// Runs a link to its end and reports how it ended.
pub(crate) async fn run<S: Signaling, T: Transport, P: PeerSink>(
    shared: Arc<Shared<S, T, P>>,
    spec: LinkSpec,
    start: Start<T::Connection>,
    mut commands: mpsc::UnboundedReceiver<LinkCommand>,
    reports: mpsc::UnboundedSender<LinkReport>,
) {
    let outcome = drive(&shared, &spec, start, &mut commands, &reports).await;
    tracing::debug!(link = spec.id, offer = %spec.offer_id, ?outcome, "link ended");
    let _ = reports.send(LinkReport::Ended(spec.id, outcome));
}

fn signaling_outcome(error: &SignalingError) -> Option<Outcome> {
    if error.is_unauthorized() {
        Some(Outcome::Unauthorized)
    } else if matches!(error, SignalingError::Refused { status: 404, .. }) {
        Some(Outcome::Failed(format!("the offer is gone: {error}")))
    } else {
        None
    }
}

fn is_gone(error: &SignalingError) -> bool {
    matches!(error, SignalingError::Refused { status: 404, .. })
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

async fn drive<S: Signaling, T: Transport, P: PeerSink>(
    shared: &Shared<S, T, P>,
    spec: &LinkSpec,
    start: Start<T::Connection>,
    commands: &mut mpsc::UnboundedReceiver<LinkCommand>,
    reports: &mpsc::UnboundedSender<LinkReport>,
) -> Outcome {
    let options = &shared.options;
    let signaling = &shared.signaling;
    let credentials = &spec.credentials;
    let (mut connection, mut remote_known) = match start {
        Start::Offerer(connection) => (connection, false),
        Start::Answerer { offer_sdp } => {
            let (connection, answer_sdp) = match shared.transport.answer(&offer_sdp).await {
                Ok(made) => made,
                Err(error) => return Outcome::Failed(error.to_string()),
            };
            // The answer goes first: the server takes candidates only from the answerer.
            match signaling
                .answer(credentials, &spec.offer_id, &answer_sdp)
                .await
            {
                Ok(()) => {}
                Err(error) if error.is_stale_offer() => return Outcome::Stale,
                Err(error) if error.is_unauthorized() => return Outcome::Unauthorized,
                Err(error) => return Outcome::Failed(error.to_string()),
            }
            (connection, true)
        }
    };

    let now = Instant::now();
    let mut poll = AdaptivePoll::new(now, options.fast_poll, CANDIDATE_POLL_MAX);
    let mut connect_deadline = None;
    if remote_known {
        poll.kick(now);
        connect_deadline = Some(now + options.connect_timeout);
    }
    let mut since = None;
    let mut unposted: Vec<serde_json::Value> = Vec::new();
    let mut offer_gone = false;
    // The other side's candidates are usually posted already: the first poll is immediate.
    let mut poll_now = remote_known;

    let stream = loop {
        if !unposted.is_empty() && !offer_gone {
            // Every candidate, those gathered before the offer id was known included; a
            // failed post is retried on the next turn.
            match signaling
                .post_candidates(credentials, &spec.offer_id, unposted.clone())
                .await
            {
                Ok(()) => unposted.clear(),
                Err(error) if remote_known && is_gone(&error) => {
                    // The offerer deleted its offer: it is connected and needs nothing more.
                    offer_gone = true;
                    unposted.clear();
                }
                Err(error) => {
                    if let Some(outcome) = signaling_outcome(&error) {
                        return outcome;
                    }
                    tracing::debug!(%error, "candidates not posted yet");
                }
            }
        }
        let poll_at = (remote_known && !offer_gone).then(|| {
            if poll_now {
                Instant::now()
            } else {
                poll.deadline()
            }
        });
        tokio::select! {
            event = connection.next_event() => match event {
                ConnectionEvent::LocalCandidate(candidate) => unposted.push(candidate),
                ConnectionEvent::Open(stream) => break stream,
                ConnectionEvent::Closed(reason) => return Outcome::Failed(reason),
            },
            command = commands.recv() => match command {
                Some(LinkCommand::Answer(sdp)) if !remote_known => {
                    if let Err(error) = connection.accept_answer(&sdp).await {
                        return Outcome::Failed(error.to_string());
                    }
                    let now = Instant::now();
                    remote_known = true;
                    connect_deadline = Some(now + options.connect_timeout);
                    poll.kick(now);
                    poll_now = true;
                }
                Some(LinkCommand::Answer(_)) => {}
                Some(LinkCommand::Cancel) | None => return Outcome::Cancelled,
            },
            () = sleep_until(poll_at) => {
                poll_now = false;
                let result = signaling.candidates(credentials, &spec.offer_id, since).await;
                let now = Instant::now();
                match result {
                    Ok(candidates) => {
                        poll.polled(now, !candidates.is_empty());
                        for candidate in candidates {
                            since = since.max(Some(candidate.created_at));
                            if let Err(error) = connection.add_remote_candidate(candidate.candidate).await {
                                tracing::debug!(%error, "remote candidate refused");
                            }
                        }
                    }
                    // Gone once the offerer is connected (it deletes the offer then): keep
                    // waiting for our side of the channel until the deadline.
                    Err(error) if is_gone(&error) => offer_gone = true,
                    Err(error) => {
                        if let Some(outcome) = signaling_outcome(&error) {
                            return outcome;
                        }
                        poll.polled(now, false);
                    }
                }
            }
            () = sleep_until(connect_deadline) => {
                return Outcome::Failed("the data channel did not open in time".to_string());
            }
        }
    };

    let (metered, mut control) =
        MeteredStream::new(stream, [spec.counters.bytes.clone(), spec.bytes.clone()]);
    if let Err(refused) = shared.sink.add_peer(&spec.info_hash, Box::new(metered)) {
        return Outcome::Failed(refused.to_string());
    }
    let _ = reports.send(LinkReport::Connected(spec.id));
    loop {
        tokio::select! {
            event = connection.next_event() => {
                if let ConnectionEvent::Closed(_) = event {
                    control.cut();
                    return Outcome::Disconnected;
                }
            }
            () = control.dropped() => return Outcome::Disconnected,
            command = commands.recv() => match command {
                Some(LinkCommand::Answer(_)) => {}
                Some(LinkCommand::Cancel) | None => {
                    control.cut();
                    return Outcome::Cancelled;
                }
            },
        }
    }
}
