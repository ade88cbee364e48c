//! The manager task: owns discovery's state — the offer pools, answer polling, rounds by
//! topic, slot accounting, the tie-break, server health and credentials — and spawns one
//! task per connection attempt (`link`).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bt_wire::InfoHash;
use rondevu_api::{Answer, Credentials, NewOffer};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::events::{DiscoveryEvent, TorrentCounters};
use crate::link::{self, LinkCommand, LinkId, LinkReport, LinkSpec, Outcome, Start};
use crate::manager::{lock, Command, DiscoveryError, Shared};
use crate::metered::ByteCounters;
use crate::signaling::{Signaling, SignalingError};
use crate::sink::PeerSink;
use crate::transport::Transport;
use crate::{keeps_connection, AdaptivePoll, Backoff, KnownPeers, OfferPool, Role};

/// How long before expiry an offer is replaced.
const REFRESH_MARGIN: Duration = Duration::from_secs(10);
/// A connection that moved less than this in a whole refresh interval is idle.
const IDLE_BYTES: u64 = 16 * 1024;
/// Offers asked for per by-topic query.
const TOPIC_QUERY_LIMIT: u32 = 50;
/// Rounds by topic come this soon after a torrent is added, a round answered someone, or a
/// slot freed; each round that finds nobody doubles the wait, up to the refresh interval.
const ROUND_FAST: Duration = Duration::from_millis(250);
/// Offer ids we answered are not tried again for this long.
const TRIED_OFFER_MEMORY: Duration = Duration::from_secs(120);
/// How long `destroy` waits for connections to close.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Rounds of deletions `destroy` makes while the server is unreachable.
const DESTROY_ATTEMPTS: u32 = 3;

/// Logs at `info` with the `debug` option, at `debug` otherwise.
macro_rules! note {
    ($debug:expr, $($arg:tt)+) => {
        if $debug { tracing::info!($($arg)+) } else { tracing::debug!($($arg)+) }
    };
}

/// One connection attempt as the manager tracks it.
struct LinkEntry {
    info_hash: InfoHash,
    offer_id: String,
    /// Unknown while our offer waits for an answer.
    peer_id: Option<String>,
    role: Role,
    /// Since when the channel is open.
    opened_at: Option<Instant>,
    /// Bytes both ways at the last idle check.
    bytes_at_check: u64,
    bytes: Arc<ByteCounters>,
    /// Closed to make room (idle while the torrent was full): cool the peer down.
    rotated: bool,
    commands: mpsc::UnboundedSender<LinkCommand>,
}

impl LinkEntry {
    fn is_open(&self) -> bool {
        self.opened_at.is_some()
    }
}

/// Discovery state of one torrent.
struct TorrentDiscovery {
    topic: String,
    pool: OfferPool<String>,
    known: KnownPeers,
    counters: Arc<TorrentCounters>,
    /// When the next round by topic is due.
    rounds: AdaptivePoll,
    /// When open connections are next checked for idleness.
    next_idle_check: Instant,
    tried_offers: HashMap<String, Instant>,
}

/// Whether the server answers, and when to try again if not.
struct ServerHealth {
    up: bool,
    backoff: Backoff,
    retry_at: Option<Instant>,
}

/// The manager task.
pub(crate) struct Coordinator<S: Signaling, T: Transport, P: PeerSink> {
    shared: Arc<Shared<S, T, P>>,
    torrents_watch: watch::Receiver<BTreeSet<InfoHash>>,
    torrents: HashMap<InfoHash, TorrentDiscovery>,
    links: HashMap<LinkId, LinkEntry>,
    next_link: LinkId,
    tasks: JoinSet<()>,
    reports: mpsc::UnboundedSender<LinkReport>,
    /// Our published offers not yet deleted: offer id → link.
    offers: HashMap<String, LinkId>,
    /// Offers to delete on the server (retried while it is unreachable).
    to_delete: Vec<String>,
    answer_poll: AdaptivePoll,
    server: ServerHealth,
    debug: bool,
}

/// Stop the current round of work (the server is unreachable, or we must register again).
struct Interrupted;

impl<S: Signaling, T: Transport, P: PeerSink> Coordinator<S, T, P> {
    pub(crate) fn new(
        shared: Arc<Shared<S, T, P>>,
        torrents_watch: watch::Receiver<BTreeSet<InfoHash>>,
        reports: mpsc::UnboundedSender<LinkReport>,
    ) -> Self {
        let options = &shared.options;
        let now = Instant::now();
        let seed = fastrand::u64(..);
        Self {
            answer_poll: AdaptivePoll::new(now, options.fast_poll, options.answer_poll_idle),
            server: ServerHealth {
                up: true,
                backoff: Backoff::new(options.backoff_base, options.backoff_max, seed),
                retry_at: None,
            },
            debug: options.debug,
            shared,
            torrents_watch,
            torrents: HashMap::new(),
            links: HashMap::new(),
            next_link: 1,
            tasks: JoinSet::new(),
            reports,
            offers: HashMap::new(),
            to_delete: Vec::new(),
        }
    }

    pub(crate) async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut reports: mpsc::UnboundedReceiver<LinkReport>,
    ) {
        self.sync_torrents();
        loop {
            let _ = self.work().await;
            let deadline = self.next_deadline();
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Discover(info_hash, reply)) => {
                        let result = self.discover_now(&info_hash).await;
                        let _ = reply.send(result);
                    }
                    Some(Command::SyncTorrents(reply)) => {
                        self.sync_torrents();
                        let _ = self.delete_queued().await;
                        let _ = reply.send(());
                    }
                    Some(Command::Destroy(reply)) => {
                        let result = self.destroy(&mut reports).await;
                        let _ = reply.send(result);
                        return;
                    }
                    None => {
                        let _ = self.destroy(&mut reports).await;
                        return;
                    }
                },
                Some(report) = reports.recv() => self.on_report(report),
                changed = self.torrents_watch.changed() => {
                    if changed.is_ok() {
                        self.sync_torrents();
                    }
                }
                () = tokio::time::sleep_until(deadline.into()) => {}
                Some(_) = self.tasks.join_next(), if !self.tasks.is_empty() => {}
            }
        }
    }

    fn credentials(&self) -> Option<Credentials> {
        lock(&self.shared.credentials).clone()
    }

    fn own_peer_id(&self) -> Option<String> {
        lock(&self.shared.credentials)
            .as_ref()
            .map(|credentials| credentials.peer_id.clone())
    }

    /// Starts or stops following torrents to match the sink's set.
    fn sync_torrents(&mut self) {
        let wanted = self.torrents_watch.borrow_and_update().clone();
        let removed: Vec<InfoHash> = self
            .torrents
            .keys()
            .filter(|info_hash| !wanted.contains(info_hash))
            .copied()
            .collect();
        for info_hash in removed {
            self.withdraw(&info_hash);
        }
        let now = Instant::now();
        let options = &self.shared.options;
        for info_hash in wanted {
            if self.torrents.contains_key(&info_hash) {
                continue;
            }
            note!(self.debug, %info_hash, "discovering torrent");
            let counters = lock(&self.shared.counters)
                .entry(info_hash)
                .or_default()
                .clone();
            let own = self.own_peer_id().unwrap_or_default();
            self.torrents.insert(
                info_hash,
                TorrentDiscovery {
                    topic: info_hash.to_hex(),
                    pool: OfferPool::new(options.offer_pool_size, REFRESH_MARGIN),
                    known: KnownPeers::new(&own, options.retry_cool_down),
                    counters,
                    rounds: {
                        let mut rounds =
                            AdaptivePoll::new(now, ROUND_FAST, options.refresh_interval);
                        rounds.poll_now(now); // the first round comes at once
                        rounds
                    },
                    next_idle_check: now + options.refresh_interval,
                    tried_offers: HashMap::new(),
                },
            );
        }
    }

    /// Stops discovery for a torrent: links cancelled, offers queued for deletion.
    fn withdraw(&mut self, info_hash: &InfoHash) {
        let Some(mut torrent) = self.torrents.remove(info_hash) else {
            return;
        };
        note!(self.debug, %info_hash, "withdrawing torrent");
        torrent.pool.drain();
        for entry in self.links.values() {
            if entry.info_hash == *info_hash {
                let _ = entry.commands.send(LinkCommand::Cancel);
                if entry.role == Role::Offerer && !self.to_delete.contains(&entry.offer_id) {
                    // Deleted now, not when the link has wound down.
                    self.to_delete.push(entry.offer_id.clone());
                }
            }
        }
        lock(&self.shared.counters).remove(info_hash);
    }

    /// When something is next due.
    fn next_deadline(&self) -> Instant {
        let now = Instant::now();
        if let Some(retry_at) = self.server.retry_at {
            return retry_at.max(now);
        }
        let mut deadline = now + self.shared.options.refresh_interval;
        if !self.to_delete.is_empty() {
            return now;
        }
        let mut outstanding = false;
        for (info_hash, torrent) in &self.torrents {
            deadline = deadline
                .min(torrent.rounds.deadline())
                .min(torrent.next_idle_check);
            if let Some(refresh) = torrent.pool.next_refresh() {
                deadline = deadline.min(refresh);
            }
            if self.wanted_offers(info_hash, torrent) > 0 {
                return now;
            }
            outstanding |= !torrent.pool.outstanding().is_empty();
        }
        if outstanding {
            deadline = deadline.min(self.answer_poll.deadline());
        }
        deadline
    }

    /// Links of a torrent: (with a peer, waiting for an answer to our offer).
    fn link_counts(&self, info_hash: &InfoHash) -> (usize, usize) {
        let mut with_peer = 0;
        let mut waiting = 0;
        for entry in self.links.values() {
            if entry.info_hash == *info_hash {
                if entry.peer_id.is_some() {
                    with_peer += 1;
                } else {
                    waiting += 1;
                }
            }
        }
        (with_peer, waiting)
    }

    /// Peers the torrent may have now: the option, capped by what the sink still takes.
    fn peer_limit(&self, info_hash: &InfoHash, torrent: &TorrentDiscovery) -> usize {
        let connected = torrent
            .counters
            .connected
            .load(std::sync::atomic::Ordering::Relaxed) as usize;
        let sink_limit =
            connected.saturating_add(self.shared.sink.free_slots(info_hash, connected));
        self.shared.options.max_peers_per_torrent.min(sink_limit)
    }

    /// Offers to publish now for a torrent.
    fn wanted_offers(&self, info_hash: &InfoHash, torrent: &TorrentDiscovery) -> usize {
        if self.server.retry_at.is_some() {
            return 0;
        }
        let (with_peer, _) = self.link_counts(info_hash);
        let free = self
            .peer_limit(info_hash, torrent)
            .saturating_sub(with_peer);
        torrent.pool.wanted(free)
    }

    /// Offers we may answer now for a torrent.
    fn answer_budget(&self, info_hash: &InfoHash, torrent: &TorrentDiscovery) -> usize {
        let (with_peer, _) = self.link_counts(info_hash);
        self.peer_limit(info_hash, torrent)
            .saturating_sub(with_peer)
    }

    /// Classifies a signaling failure: unreachable → back off; 401 → register again.
    fn on_signaling_error(&mut self, what: &str, error: &SignalingError) -> Interrupted {
        if error.is_unauthorized() {
            self.lost_credentials(error);
        } else {
            if error.is_unreachable() && self.server.up {
                self.server.up = false;
                tracing::warn!(%error, "Rondevu server unreachable; backing off");
                self.shared.emit(DiscoveryEvent::ServerDown {
                    error: error.to_string(),
                });
            } else {
                note!(self.debug, %error, what, "signaling call failed; backing off");
            }
            let delay = self.server.backoff.next_delay();
            self.server.retry_at = Some(Instant::now() + delay);
        }
        Interrupted
    }

    fn on_signaling_success(&mut self) {
        self.server.retry_at = None;
        self.server.backoff.reset();
        if !self.server.up {
            self.server.up = true;
            tracing::info!("Rondevu server reachable again");
            self.shared.emit(DiscoveryEvent::ServerUp);
        }
    }

    /// Our credentials were refused: register again, and republish (the old offers belong
    /// to the old identity; the server forgets them at their expiry).
    fn lost_credentials(&mut self, error: &SignalingError) {
        let mut credentials = lock(&self.shared.credentials);
        if credentials.is_none() {
            return;
        }
        tracing::warn!(%error, "credentials refused; registering again");
        *credentials = None;
        drop(credentials);
        for torrent in self.torrents.values_mut() {
            for offer_id in torrent.pool.drain() {
                self.offers.remove(&offer_id);
            }
        }
        // Links waiting for answers to the orphaned offers have nothing left to wait for.
        for entry in self.links.values() {
            if entry.peer_id.is_none() {
                let _ = entry.commands.send(LinkCommand::Cancel);
            }
        }
        self.to_delete.clear();
    }

    /// Does whatever is due: register, delete, refresh and fill the pools, poll answers,
    /// run rounds by topic. Stops at the first sign of an unreachable server.
    async fn work(&mut self) -> Result<(), Interrupted> {
        let now = Instant::now();
        if self.server.retry_at.is_some_and(|at| now < at) {
            return Ok(());
        }
        self.server.retry_at = None;
        let credentials = match self.credentials() {
            Some(credentials) => credentials,
            None => self.register().await?,
        };
        self.delete_queued().await?;
        self.refresh_pools(&credentials).await?;
        if self.answer_poll.is_due(Instant::now())
            && self
                .torrents
                .values()
                .any(|torrent| !torrent.pool.outstanding().is_empty())
        {
            self.poll_answers(&credentials).await?;
        }
        let due: Vec<InfoHash> = self
            .torrents
            .iter()
            .filter(|(_, torrent)| torrent.rounds.is_due(Instant::now()))
            .map(|(info_hash, _)| *info_hash)
            .collect();
        for info_hash in due {
            self.round(&info_hash, &credentials).await?;
        }
        self.close_idle(Instant::now());
        Ok(())
    }

    /// Every refresh interval, a torrent at its peer limit closes its idlest connection if
    /// it moved almost nothing during the whole interval (a finished peer, or a cluster of
    /// peers none of which has the data), so newcomers and peers with data can get in. The
    /// closed peer cools down like a disconnected one.
    fn close_idle(&mut self, now: Instant) {
        let interval = self.shared.options.refresh_interval;
        let due: Vec<InfoHash> = self
            .torrents
            .iter()
            .filter(|(_, torrent)| torrent.next_idle_check <= now)
            .map(|(info_hash, _)| *info_hash)
            .collect();
        for info_hash in due {
            let full = match self.torrents.get(&info_hash) {
                Some(torrent) => self.answer_budget(&info_hash, torrent) == 0,
                None => continue,
            };
            let mut idlest: Option<(u64, LinkId)> = None;
            for (id, entry) in self.links.iter_mut() {
                if entry.info_hash != info_hash {
                    continue;
                }
                let total = entry.bytes.total();
                let moved = total - entry.bytes_at_check;
                entry.bytes_at_check = total;
                let open_all_interval = entry.opened_at.is_some_and(|at| at + interval <= now);
                if open_all_interval
                    && moved < IDLE_BYTES
                    && idlest.is_none_or(|(least, _)| moved < least)
                {
                    idlest = Some((moved, *id));
                }
            }
            if let Some(torrent) = self.torrents.get_mut(&info_hash) {
                torrent.next_idle_check = now + interval;
            }
            if let (true, Some((moved, id))) = (full, idlest) {
                if let Some(entry) = self.links.get_mut(&id) {
                    note!(self.debug, %info_hash, peer = ?entry.peer_id, moved, "closing an idle connection to make room");
                    entry.rotated = true;
                    let _ = entry.commands.send(LinkCommand::Cancel);
                }
            }
        }
    }

    async fn register(&mut self) -> Result<Credentials, Interrupted> {
        let result = self.shared.signaling.register().await;
        match result {
            Ok(credentials) => {
                self.on_signaling_success();
                note!(self.debug, peer_id = %credentials.peer_id, "registered");
                *lock(&self.shared.credentials) = Some(credentials.clone());
                for torrent in self.torrents.values_mut() {
                    torrent.known.set_own_peer_id(&credentials.peer_id);
                }
                self.shared.emit(DiscoveryEvent::Registered {
                    peer_id: credentials.peer_id.clone(),
                });
                Ok(credentials)
            }
            Err(error) => Err(self.on_signaling_error("register", &error)),
        }
    }

    /// Deletes the offers queued for deletion.
    async fn delete_queued(&mut self) -> Result<(), Interrupted> {
        let Some(credentials) = self.credentials() else {
            return Ok(());
        };
        while let Some(offer_id) = self.to_delete.last().cloned() {
            match self
                .shared
                .signaling
                .delete_offer(&credentials, &offer_id)
                .await
            {
                // 404: gone already (expired, or deleted by an earlier attempt).
                Ok(()) | Err(SignalingError::Refused { status: 404, .. }) => {
                    self.to_delete.pop();
                    self.offers.remove(&offer_id);
                }
                Err(error) => return Err(self.on_signaling_error("delete offer", &error)),
            }
        }
        Ok(())
    }

    /// Replaces expiring offers, withdraws surplus ones, and publishes what each pool wants.
    async fn refresh_pools(&mut self, credentials: &Credentials) -> Result<(), Interrupted> {
        let now = Instant::now();
        let info_hashes: Vec<InfoHash> = self.torrents.keys().copied().collect();
        for info_hash in info_hashes {
            let (with_peer, _) = self.link_counts(&info_hash);
            let Some(torrent) = self.torrents.get(&info_hash) else {
                continue;
            };
            let free = self
                .peer_limit(&info_hash, torrent)
                .saturating_sub(with_peer);
            let Some(torrent) = self.torrents.get_mut(&info_hash) else {
                continue;
            };
            let mut retired = torrent.pool.take_expiring(now);
            retired.extend(torrent.pool.take_surplus(free));
            let wanted = torrent.pool.wanted(free);
            for offer_id in retired {
                self.cancel_offer_link(&offer_id);
            }
            if wanted > 0 {
                self.publish(&info_hash, wanted, credentials).await?;
            }
        }
        self.delete_queued().await
    }

    /// Cancels the link waiting on one of our offers (the link's end queues the deletion).
    fn cancel_offer_link(&mut self, offer_id: &str) {
        match self
            .offers
            .get(offer_id)
            .and_then(|link| self.links.get(link))
        {
            Some(entry) => {
                let _ = entry.commands.send(LinkCommand::Cancel);
            }
            None => self.to_delete.push(offer_id.to_string()),
        }
    }

    /// Makes `count` offers for a torrent and publishes them in one request.
    async fn publish(
        &mut self,
        info_hash: &InfoHash,
        count: usize,
        credentials: &Credentials,
    ) -> Result<(), Interrupted> {
        let Some(topic) = self.torrents.get(info_hash).map(|t| t.topic.clone()) else {
            return Ok(());
        };
        let mut connections = Vec::with_capacity(count);
        let mut new_offers = Vec::with_capacity(count);
        for _ in 0..count {
            match self.shared.transport.offer().await {
                Ok((connection, sdp)) => {
                    let mut offer = NewOffer::new(sdp, [topic.clone()]);
                    offer.ttl = Some(self.shared.options.offer_ttl.as_millis() as u64);
                    new_offers.push(offer);
                    connections.push(connection);
                }
                Err(error) => {
                    tracing::warn!(%error, "could not make an offer");
                    let delay = self.server.backoff.next_delay();
                    self.server.retry_at = Some(Instant::now() + delay);
                    return Err(Interrupted);
                }
            }
        }
        let published_at = Instant::now();
        let result = self.shared.signaling.publish(credentials, new_offers).await;
        let published = match result {
            Ok(published) => published,
            Err(error) => return Err(self.on_signaling_error("publish", &error)),
        };
        self.on_signaling_success();
        // The lifetime we asked for (the server only lengthens it); no clock comparison with
        // the server needed.
        let lifetime = self.shared.options.offer_ttl;
        for (offer, connection) in published.into_iter().zip(connections) {
            let Some(torrent) = self.torrents.get_mut(info_hash) else {
                return Ok(());
            };
            torrent
                .pool
                .published(offer.id.clone(), published_at, published_at + lifetime);
            TorrentCounters::bump(&torrent.counters.offers_published);
            let counters = torrent.counters.clone();
            note!(self.debug, %info_hash, offer_id = %offer.id, "offer published");
            self.shared.emit(DiscoveryEvent::OfferPublished {
                info_hash: *info_hash,
                offer_id: offer.id.clone(),
            });
            self.spawn_link(
                *info_hash,
                offer.id,
                None,
                Role::Offerer,
                credentials,
                counters,
                Start::Offerer(connection),
            );
        }
        self.answer_poll.kick(Instant::now());
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn spawn_link(
        &mut self,
        info_hash: InfoHash,
        offer_id: String,
        peer_id: Option<String>,
        role: Role,
        credentials: &Credentials,
        counters: Arc<TorrentCounters>,
        start: Start<T::Connection>,
    ) {
        let id = self.next_link;
        self.next_link += 1;
        let (commands, command_rx) = mpsc::unbounded_channel();
        let bytes = Arc::new(ByteCounters::default());
        if role == Role::Offerer {
            self.offers.insert(offer_id.clone(), id);
        }
        self.links.insert(
            id,
            LinkEntry {
                info_hash,
                offer_id: offer_id.clone(),
                peer_id,
                role,
                opened_at: None,
                bytes_at_check: 0,
                bytes: bytes.clone(),
                rotated: false,
                commands,
            },
        );
        let spec = LinkSpec {
            id,
            info_hash,
            offer_id,
            credentials: credentials.clone(),
            counters,
            bytes,
        };
        self.tasks.spawn(link::run(
            self.shared.clone(),
            spec,
            start,
            command_rx,
            self.reports.clone(),
        ));
    }

    /// Polls answers to our offers and hands each new one to its link (or refuses it).
    async fn poll_answers(&mut self, credentials: &Credentials) -> Result<(), Interrupted> {
        let result = self.shared.signaling.answers(credentials).await;
        let answers = match result {
            Ok(answers) => answers,
            Err(error) => return Err(self.on_signaling_error("poll answers", &error)),
        };
        self.on_signaling_success();
        let mut progressed = false;
        for answer in answers {
            progressed |= self.on_answer(answer);
        }
        self.answer_poll.polled(Instant::now(), progressed);
        Ok(())
    }

    /// One answer to one of our offers: accept it, or refuse it when it would make a second
    /// connection with the same peer that the tie-break says to drop.
    fn on_answer(&mut self, answer: Answer) -> bool {
        let Some(&link_id) = self.offers.get(&answer.offer_id) else {
            return false;
        };
        let Some(entry) = self.links.get(&link_id) else {
            return false;
        };
        if entry.peer_id.is_some() || entry.role != Role::Offerer {
            return false; // handled already
        }
        let info_hash = entry.info_hash;
        let Some(own) = self.own_peer_id() else {
            return false;
        };
        // Published offers do not hold slots; an answer that would pass the limit is refused
        // (its offer deleted, so the answerer's candidate polling fails at once).
        let full = match self.torrents.get(&info_hash) {
            Some(torrent) => self.answer_budget(&info_hash, torrent) == 0,
            None => return false,
        };
        let Some(torrent) = self.torrents.get_mut(&info_hash) else {
            return false;
        };
        torrent.pool.answered(&answer.offer_id);
        TorrentCounters::bump(&torrent.counters.offers_answered);
        let peer = answer.answerer_id.clone();
        self.shared.emit(DiscoveryEvent::AnswerReceived {
            info_hash,
            offer_id: answer.offer_id.clone(),
            peer_id: peer.clone(),
        });
        note!(self.debug, %info_hash, offer_id = %answer.offer_id, %peer, "answer received");

        // One connection per pair: a second link with the same peer in this torrent.
        let others: Vec<(LinkId, Role)> = self
            .links
            .iter()
            .filter(|(id, other)| {
                **id != link_id
                    && other.info_hash == info_hash
                    && other.peer_id.as_deref() == Some(peer.as_str())
            })
            .map(|(id, other)| (*id, other.role))
            .collect();
        let keep_new = if others.is_empty() {
            !full
        } else if others.iter().any(|(_, role)| *role == Role::Offerer) {
            false // it answered another offer of ours already
        } else {
            keeps_connection(&own, &peer, Role::Offerer)
        };
        let Some(entry) = self.links.get_mut(&link_id) else {
            return false;
        };
        if !keep_new {
            note!(self.debug, %info_hash, %peer, full, "answer refused (peer limit or tie-break)");
            let _ = entry.commands.send(LinkCommand::Cancel);
            return true;
        }
        entry.peer_id = Some(peer.clone());
        let _ = entry.commands.send(LinkCommand::Answer(answer.sdp));
        for (other, _) in others {
            if let Some(loser) = self.links.get(&other) {
                note!(self.debug, %info_hash, %peer, "closing the duplicate we answered (tie-break)");
                let _ = loser.commands.send(LinkCommand::Cancel);
            }
        }
        if let Some(torrent) = self.torrents.get_mut(&info_hash) {
            torrent.known.connected(&peer);
            TorrentCounters::bump(&torrent.counters.attempted);
        }
        true
    }

    /// A round by topic now, replying to `discover_peers`.
    async fn discover_now(&mut self, info_hash: &InfoHash) -> Result<usize, DiscoveryError> {
        if !self.torrents.contains_key(info_hash) {
            return Err(DiscoveryError::UnknownTorrent(*info_hash));
        }
        let credentials = match self.credentials() {
            Some(credentials) => credentials,
            None => self.register().await.map_err(|_| DiscoveryError::Stopped)?,
        };
        let result = self.round(info_hash, &credentials).await;
        result.map_err(|Interrupted| {
            DiscoveryError::Signaling(SignalingError::Unreachable(
                "the round by topic did not complete".to_string(),
            ))
        })
    }

    /// Queries the torrent's topic (leaving out known peers with the bloom filter) and
    /// answers fresh offers of unknown peers, as many as free slots allow.
    async fn round(
        &mut self,
        info_hash: &InfoHash,
        credentials: &Credentials,
    ) -> Result<usize, Interrupted> {
        let Some(torrent) = self.torrents.get(info_hash) else {
            return Ok(0);
        };
        let mut budget = self.answer_budget(info_hash, torrent);
        let Some(torrent) = self.torrents.get_mut(info_hash) else {
            return Ok(0);
        };
        let now = Instant::now();
        // Slower next time unless this round answers someone (then fast again, below).
        torrent.rounds.polled(now, false);
        if budget == 0 {
            return Ok(0);
        }
        torrent
            .tried_offers
            .retain(|_, at| now.duration_since(*at) < TRIED_OFFER_MEMORY);
        let topic = torrent.topic.clone();
        let bloom = torrent.known.bloom(now).clone();
        let result = self
            .shared
            .signaling
            .offers_by_topic(&topic, TOPIC_QUERY_LIMIT, &bloom)
            .await;
        let found = match result {
            Ok(found) => found,
            Err(error) => return Err(self.on_signaling_error("offers by topic", &error)),
        };
        self.on_signaling_success();
        let own = credentials.peer_id.clone();
        let mut answered = 0;
        for offer in found.offers {
            if budget == 0 {
                break;
            }
            let Some(torrent) = self.torrents.get_mut(info_hash) else {
                break;
            };
            let now = Instant::now();
            let taken = offer.answerer_peer_id.is_some();
            if offer.peer_id == own
                || taken
                || torrent.known.is_known(&offer.peer_id, now)
                || torrent.tried_offers.contains_key(&offer.id)
            {
                continue;
            }
            torrent.tried_offers.insert(offer.id.clone(), now);
            torrent.known.connected(&offer.peer_id);
            TorrentCounters::bump(&torrent.counters.attempted);
            let counters = torrent.counters.clone();
            note!(self.debug, %info_hash, peer = %offer.peer_id, offer_id = %offer.id, "answering offer");
            self.spawn_link(
                *info_hash,
                offer.id,
                Some(offer.peer_id),
                Role::Answerer,
                credentials,
                counters,
                Start::Answerer {
                    offer_sdp: offer.sdp,
                },
            );
            budget -= 1;
            answered += 1;
        }
        if answered > 0 {
            if let Some(torrent) = self.torrents.get_mut(info_hash) {
                torrent.rounds.kick(Instant::now());
            }
        }
        Ok(answered)
    }

    fn on_report(&mut self, report: LinkReport) {
        match report {
            LinkReport::Connected(link_id) => {
                let Some(entry) = self.links.get_mut(&link_id) else {
                    return;
                };
                entry.opened_at = Some(Instant::now());
                let (info_hash, role) = (entry.info_hash, entry.role);
                let peer_id = entry.peer_id.clone().unwrap_or_default();
                if role == Role::Offerer {
                    // Candidates are no longer needed: the offer can go.
                    self.to_delete.push(entry.offer_id.clone());
                }
                if let Some(torrent) = self.torrents.get(&info_hash) {
                    torrent
                        .counters
                        .connected
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                note!(self.debug, %info_hash, %peer_id, ?role, "peer connected");
                self.shared.emit(DiscoveryEvent::PeerConnected {
                    info_hash,
                    peer_id,
                    role,
                });
            }
            LinkReport::Ended(link_id, outcome) => self.on_link_end(link_id, outcome),
        }
    }

    fn on_link_end(&mut self, link_id: LinkId, outcome: Outcome) {
        let Some(entry) = self.links.remove(&link_id) else {
            return;
        };
        if entry.role == Role::Offerer
            && self.offers.contains_key(&entry.offer_id)
            && !self.to_delete.contains(&entry.offer_id)
        {
            self.to_delete.push(entry.offer_id.clone());
        }
        let info_hash = entry.info_hash;
        let still_linked = entry.peer_id.as_ref().is_some_and(|peer| {
            self.links
                .values()
                .any(|other| other.info_hash == info_hash && other.peer_id.as_ref() == Some(peer))
        });
        let Some(torrent) = self.torrents.get_mut(&info_hash) else {
            return;
        };
        // A waiting offer that ended leaves the pool (it is replaced on the next turn).
        torrent.pool.answered(&entry.offer_id);
        if entry.is_open() {
            torrent
                .counters
                .connected
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        }
        torrent.rounds.kick(Instant::now());
        let was_open = entry.is_open();
        let Some(peer) = entry.peer_id else {
            return;
        };
        let now = Instant::now();
        if !still_linked {
            match outcome {
                // Hidden for the cool-down, then tried again.
                Outcome::Failed(_) | Outcome::Disconnected => torrent.known.failed(&peer, now),
                Outcome::Cancelled if entry.rotated => torrent.known.failed(&peer, now),
                _ => torrent.known.forget(&peer),
            }
        }
        match outcome {
            Outcome::Failed(reason) => {
                TorrentCounters::bump(&torrent.counters.failed);
                note!(self.debug, %info_hash, %peer, %reason, "connection failed");
                self.shared.emit(DiscoveryEvent::PeerFailed {
                    info_hash,
                    peer_id: peer,
                    reason,
                });
            }
            Outcome::Disconnected | Outcome::Cancelled if was_open => {
                note!(self.debug, %info_hash, %peer, "peer disconnected");
                self.shared.emit(DiscoveryEvent::PeerDisconnected {
                    info_hash,
                    peer_id: peer,
                });
            }
            Outcome::Unauthorized => {
                let error = SignalingError::Unauthorized("refused during a connection".into());
                self.lost_credentials(&error);
            }
            _ => {}
        }
    }

    /// Closes every link, deletes every offer we published, and waits (briefly) for the
    /// connections to close.
    async fn destroy(
        &mut self,
        reports: &mut mpsc::UnboundedReceiver<LinkReport>,
    ) -> Result<(), DiscoveryError> {
        note!(self.debug, "destroying the discovery manager");
        let topics: BTreeSet<String> = self.torrents.values().map(|t| t.topic.clone()).collect();
        for entry in self.links.values() {
            let _ = entry.commands.send(LinkCommand::Cancel);
        }
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            while !self.links.is_empty() {
                match reports.recv().await {
                    Some(report) => self.on_report(report),
                    None => break,
                }
            }
        })
        .await;
        self.tasks.abort_all();
        for offer_id in self.offers.keys() {
            if !self.to_delete.contains(offer_id) {
                self.to_delete.push(offer_id.clone());
            }
        }
        let Some(credentials) = self.credentials() else {
            return Ok(());
        };
        for attempt in 0..DESTROY_ATTEMPTS {
            self.server.retry_at = None;
            if self.delete_queued().await.is_ok() {
                // Anything published whose acknowledgement we never saw.
                match self.shared.signaling.my_offers(&credentials).await {
                    Ok(mine) => {
                        self.to_delete.extend(
                            mine.into_iter()
                                .filter(|offer| offer.topics.iter().any(|t| topics.contains(t)))
                                .map(|offer| offer.id),
                        );
                        if self.delete_queued().await.is_ok() {
                            return Ok(());
                        }
                    }
                    Err(error) => {
                        self.on_signaling_error("list my offers", &error);
                    }
                }
            }
            if attempt + 1 < DESTROY_ATTEMPTS {
                if let Some(at) = self.server.retry_at {
                    tokio::time::sleep_until(at.into()).await;
                }
            }
        }
        Err(DiscoveryError::OffersLeft(self.to_delete.len()))
    }
}
