//! The sans-IO peer: one `str0m::Rtc` carrying one data channel, driven by datagrams and time
//! passed in, giving datagrams, events and deadlines out.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::channel::{ChannelConfig, ChannelId};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tracing::{debug, trace, warn};

use crate::candidate::{parse_remote, CandidateOutcome, IceCandidateInit, SkipReason};
use crate::sdp_limits;
use crate::Error;

/// The data channel label the original plugin uses.
pub const DEFAULT_LABEL: &str = "webtorrent";

/// How a [`Peer`] is set up.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// Label of the data channel this peer opens when it makes the offer. The answering side
    /// accepts any label the remote chose.
    pub label: String,
    /// How many bytes the data channel may hold unacknowledged before
    /// [`Peer::write`] refuses more (str0m's default is 128 KiB, too small for speed).
    pub max_buffered_amount: usize,
    /// [`PeerEvent::BufferedAmountLow`] fires when the buffered amount drops to this.
    pub buffered_amount_low_threshold: usize,
    /// Use, announce and accept only loopback addresses (127.0.0.0/8, ::1). Tests set this;
    /// remote candidates and datagrams from elsewhere are dropped, and nothing is sent elsewhere.
    pub loopback_only: bool,
    /// Give up when ICE and DTLS are not up this long after the remote description arrived.
    pub connect_timeout: Duration,
    /// Give up when ICE stays disconnected this long after having been connected.
    pub disconnect_timeout: Duration,
}

impl Default for PeerConfig {
    fn default() -> Self {
        PeerConfig {
            label: DEFAULT_LABEL.to_owned(),
            max_buffered_amount: 256 * 1024,
            buffered_amount_low_threshold: 128 * 1024,
            loopback_only: false,
            connect_timeout: Duration::from_secs(30),
            disconnect_timeout: Duration::from_secs(15),
        }
    }
}

/// What a peer tells its driver and its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerEvent {
    /// A local candidate to trickle to the remote (in the browser's JSON form). Candidates
    /// gathered before the local description existed are reported right after it is created.
    LocalCandidate(IceCandidateInit),
    /// ICE connection state changed.
    IceState(IceConnectionState),
    /// ICE and DTLS are up.
    Connected,
    /// The data channel is open; `label` is whatever the opening side chose.
    ChannelOpen {
        /// The channel's label.
        label: String,
    },
    /// A message arrived on the data channel.
    Data(Vec<u8>),
    /// The channel's buffered amount dropped to the low threshold: write more.
    BufferedAmountLow,
    /// The channel or the whole connection closed.
    Closed,
    /// The connection failed; nothing more will happen. The text says why.
    Failed(String),
}

/// One datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The local address to send from (one of the local candidates' bases).
    pub source: SocketAddr,
    /// Where to send it.
    pub destination: SocketAddr,
    /// The datagram.
    pub contents: Vec<u8>,
}

/// What [`Peer::poll_output`] yields; poll until [`PeerOutput::Timeout`].
#[derive(Debug)]
pub enum PeerOutput {
    /// Send this datagram.
    Transmit(Transmit),
    /// Something happened.
    Event(PeerEvent),
    /// Nothing more to do until this instant (or until input arrives).
    Timeout(Instant),
}

/// Where the offer/answer exchange stands.
#[derive(Debug)]
enum Signaling {
    /// No description yet.
    Fresh,
    /// We made an offer and wait for the answer.
    OfferSent(SdpPendingOffer),
    /// Offer and answer are both applied.
    Stable,
    /// A remote description was rejected; the peer is unusable.
    Broken,
}

/// A WebRTC peer connection with one data channel, as a sans-IO state machine.
///
/// Mutations (`handle_*`, `write`, the offer/answer calls, candidates) must each be followed by
/// polling [`Peer::poll_output`] until it returns [`PeerOutput::Timeout`], as with
/// `str0m::Rtc`. See the crate root for a whole driver loop.
pub struct Peer {
    rtc: Rtc,
    config: PeerConfig,
    signaling: Signaling,
    channel: Option<ChannelId>,
    local_mid: Option<String>,
    local_ufrag: Option<String>,
    unannounced_local: Vec<Candidate>,
    early_remote: Vec<Candidate>,
    remote_max_message_size: usize,
    events: VecDeque<PeerEvent>,
    connected: bool,
    connect_deadline: Option<Instant>,
    /// A remote description arrived and the peer has not been given the time since: the
    /// next deadline is "now", so the driver hands it the clock (ICE starts, and the
    /// connect timeout is armed from the real time).
    needs_clock: bool,
    disconnected_since: Option<Instant>,
    last_now: Instant,
    finished: bool,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("signaling", &self.signaling)
            .field("channel", &self.channel)
            .field("connected", &self.connected)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl Peer {
    /// A new peer, with no candidates and no descriptions yet. `now` starts its clock.
    pub fn new(config: PeerConfig, now: Instant) -> Self {
        let rtc = Rtc::builder()
            .set_sctp_max_buffered_amount(config.max_buffered_amount)
            .build(now);
        Peer {
            rtc,
            config,
            signaling: Signaling::Fresh,
            channel: None,
            local_mid: None,
            local_ufrag: None,
            unannounced_local: Vec::new(),
            early_remote: Vec::new(),
            remote_max_message_size: sdp_limits::DEFAULT_REMOTE_MAX_MESSAGE_SIZE,
            events: VecDeque::new(),
            connected: false,
            connect_deadline: None,
            needs_clock: false,
            disconnected_since: None,
            last_now: now,
            finished: false,
        }
    }

    /// The configuration this peer was made with.
    pub fn config(&self) -> &PeerConfig {
        &self.config
    }

    /// Adds a local host candidate: `addr` is a bound UDP socket's address.
    pub fn add_host_candidate(&mut self, addr: SocketAddr) -> Result<(), Error> {
        let candidate = Candidate::host(addr, "udp").map_err(|error| Error::BadLocalCandidate {
            addr,
            reason: error.to_string(),
        })?;
        self.add_local_candidate(candidate)
    }

    /// Adds a server-reflexive candidate: `mapped` is what a STUN server saw for the socket
    /// bound at `base`.
    pub fn add_server_reflexive_candidate(
        &mut self,
        mapped: SocketAddr,
        base: SocketAddr,
    ) -> Result<(), Error> {
        let candidate = Candidate::server_reflexive(mapped, base, "udp").map_err(|error| {
            Error::BadLocalCandidate {
                addr: mapped,
                reason: error.to_string(),
            }
        })?;
        self.add_local_candidate(candidate)
    }

    fn add_local_candidate(&mut self, candidate: Candidate) -> Result<(), Error> {
        let addr = candidate.addr();
        if !self.address_in_scope(addr.ip()) || !self.address_in_scope(candidate.local().ip()) {
            return Err(Error::BadLocalCandidate {
                addr,
                reason: "not a loopback address, and this peer is loopback-only".to_owned(),
            });
        }
        match self.rtc.add_local_candidate(candidate) {
            Some(added) => {
                let added = added.clone();
                if self.local_mid.is_some() {
                    self.announce(&added);
                } else {
                    self.unannounced_local.push(added);
                }
            }
            None => debug!(%addr, "local candidate redundant, not announced"),
        }
        Ok(())
    }

    /// Makes the offer (SDP text) with one data channel labelled [`PeerConfig::label`].
    pub fn create_offer(&mut self) -> Result<String, Error> {
        if !matches!(self.signaling, Signaling::Fresh) {
            return Err(Error::WrongSignalingState {
                operation: "create_offer",
                reason: "this peer already has a description",
            });
        }
        let mut api = self.rtc.sdp_api();
        let channel = api.add_channel_with_config(ChannelConfig {
            label: self.config.label.clone(),
            ..ChannelConfig::default()
        });
        let (offer, pending) = api.apply().ok_or(Error::WrongSignalingState {
            operation: "create_offer",
            reason: "nothing to offer",
        })?;
        self.channel = Some(channel);
        self.signaling = Signaling::OfferSent(pending);
        let sdp = offer.to_sdp_string();
        self.local_description_ready(&sdp);
        Ok(sdp)
    }

    /// Accepts the remote's offer (SDP text) and returns our answer (SDP text).
    pub fn accept_offer(&mut self, sdp: &str) -> Result<String, Error> {
        if !matches!(self.signaling, Signaling::Fresh) {
            return Err(Error::WrongSignalingState {
                operation: "accept_offer",
                reason: "this peer already has a description",
            });
        }
        let offer =
            SdpOffer::from_sdp_string(&sdp_limits::without_candidates(sdp)).map_err(|error| {
                Error::MalformedSdp {
                    kind: "offer",
                    reason: error.to_string(),
                }
            })?;
        let answer = match self.rtc.sdp_api().accept_offer(offer) {
            Ok(answer) => answer,
            Err(source) => {
                self.signaling = Signaling::Broken;
                return Err(Error::RemoteSdpRejected {
                    kind: "offer",
                    source,
                });
            }
        };
        self.signaling = Signaling::Stable;
        self.remote_description_applied(sdp);
        let answer = answer.to_sdp_string();
        self.local_description_ready(&answer);
        Ok(answer)
    }

    /// Accepts the remote's answer (SDP text) to the offer this peer made.
    pub fn accept_answer(&mut self, sdp: &str) -> Result<(), Error> {
        if !matches!(self.signaling, Signaling::OfferSent(_)) {
            return Err(Error::WrongSignalingState {
                operation: "accept_answer",
                reason: "no offer of ours is waiting for an answer",
            });
        }
        let answer =
            SdpAnswer::from_sdp_string(&sdp_limits::without_candidates(sdp)).map_err(|error| {
                Error::MalformedSdp {
                    kind: "answer",
                    reason: error.to_string(),
                }
            })?;
        let Signaling::OfferSent(pending) =
            std::mem::replace(&mut self.signaling, Signaling::Broken)
        else {
            unreachable!("checked above");
        };
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|source| Error::RemoteSdpRejected {
                kind: "answer",
                source,
            })?;
        self.signaling = Signaling::Stable;
        self.remote_description_applied(sdp);
        Ok(())
    }

    /// Adds a candidate the remote trickled. End-of-candidates, TCP, mDNS and out-of-scope
    /// candidates are skipped (logged at debug level), malformed ones are errors. Candidates
    /// that arrive before the remote description are kept until it does.
    pub fn add_remote_candidate(
        &mut self,
        init: &IceCandidateInit,
    ) -> Result<CandidateOutcome, Error> {
        match parse_remote(&init.candidate, self.config.loopback_only)? {
            Ok(candidate) => {
                if self.has_remote_description() {
                    self.rtc.add_remote_candidate(candidate);
                } else {
                    self.early_remote.push(candidate);
                }
                Ok(CandidateOutcome::Added)
            }
            Err(reason) => {
                if reason != SkipReason::EndOfCandidates {
                    debug!(candidate = %init.candidate, ?reason, "remote candidate skipped");
                }
                Ok(CandidateOutcome::Skipped(reason))
            }
        }
    }

    /// True when `datagram`, received on `destination` from `source`, belongs to this peer
    /// (drivers with many peers on one socket use it to pick the peer).
    pub fn accepts(&self, source: SocketAddr, destination: SocketAddr, datagram: &[u8]) -> bool {
        match Receive::new(Protocol::Udp, source, destination, datagram) {
            Ok(receive) => self.rtc.accepts(&Input::Receive(self.last_now, receive)),
            Err(_) => false,
        }
    }

    /// Feeds a datagram received at `now` on the local socket `destination` from `source`.
    /// Datagrams that are not WebRTC, or come from outside the peer's scope, are dropped.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), Error> {
        if self.finished {
            return Ok(());
        }
        if !self.address_in_scope(source.ip()) {
            debug!(%source, "datagram from outside the peer's scope dropped");
            return self.handle_timeout(now);
        }
        let receive = match Receive::new(Protocol::Udp, source, destination, datagram) {
            Ok(receive) => receive,
            Err(error) => {
                trace!(%source, %error, "not a WebRTC datagram, dropped");
                return self.handle_timeout(now);
            }
        };
        self.clock(now);
        let result = self.rtc.handle_input(Input::Receive(now, receive));
        self.engine_result(result)
    }

    /// Tells the peer that time has passed (call it at the deadline from
    /// [`PeerOutput::Timeout`], or any time earlier). A connection that timed out is reported
    /// as [`PeerEvent::Failed`]; an engine failure is also returned as an error.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        if self.finished {
            return Ok(());
        }
        self.clock(now);
        if let Some(deadline) = self.connect_deadline {
            if !self.connected && now >= deadline {
                self.fail("ICE and DTLS did not connect in time".to_owned());
                return Ok(());
            }
        }
        if let Some(since) = self.disconnected_since {
            if now >= since + self.config.disconnect_timeout {
                self.fail("ICE stayed disconnected".to_owned());
                return Ok(());
            }
        }
        let result = self.rtc.handle_input(Input::Timeout(now));
        self.engine_result(result)
    }

    /// The next output: a datagram to send, an event, or the deadline for the next
    /// [`Peer::handle_timeout`]. Call until it returns [`PeerOutput::Timeout`].
    pub fn poll_output(&mut self) -> PeerOutput {
        loop {
            if let Some(event) = self.events.pop_front() {
                return PeerOutput::Event(event);
            }
            if self.finished {
                return PeerOutput::Timeout(self.last_now + Duration::from_secs(3600));
            }
            match self.rtc.poll_output() {
                Ok(Output::Transmit(transmit)) => {
                    if self.address_in_scope(transmit.destination.ip()) {
                        return PeerOutput::Transmit(Transmit {
                            source: transmit.source,
                            destination: transmit.destination,
                            contents: transmit.contents.into(),
                        });
                    }
                    debug!(destination = %transmit.destination, "transmit outside scope dropped");
                }
                Ok(Output::Event(event)) => self.on_engine_event(event),
                Ok(Output::Timeout(at)) => {
                    if !self.rtc.is_alive() {
                        self.finish(PeerEvent::Closed);
                        continue;
                    }
                    let mut at = at;
                    if self.needs_clock {
                        at = at.min(self.last_now);
                    }
                    if let (Some(deadline), false) = (self.connect_deadline, self.connected) {
                        at = at.min(deadline);
                    }
                    if let Some(since) = self.disconnected_since {
                        at = at.min(since + self.config.disconnect_timeout);
                    }
                    return PeerOutput::Timeout(at);
                }
                Err(error) => self.fail(format!("WebRTC engine failure: {error}")),
            }
        }
    }

    /// Sends one message on the data channel. `Ok(false)` means the send buffer is full: wait
    /// for [`PeerEvent::BufferedAmountLow`] and try again.
    pub fn write(&mut self, message: &[u8]) -> Result<bool, Error> {
        if message.len() > self.remote_max_message_size {
            return Err(Error::MessageTooLarge {
                len: message.len(),
                max: self.remote_max_message_size,
            });
        }
        let id = self
            .channel
            .filter(|_| !self.finished)
            .ok_or(Error::ChannelNotOpen)?;
        let mut channel = self.rtc.channel(id).ok_or(Error::ChannelNotOpen)?;
        Ok(channel.write(true, message)?)
    }

    /// Bytes written to the channel and not yet acknowledged by the remote.
    pub fn buffered_amount(&mut self) -> usize {
        match self.channel {
            Some(id) if !self.finished => self
                .rtc
                .channel(id)
                .map_or(0, |mut channel| channel.buffered_amount()),
            _ => 0,
        }
    }

    /// The largest message [`Peer::write`] takes: the remote's `a=max-message-size` (64 KiB
    /// until the remote description says otherwise, at most 256 KiB).
    pub fn max_message_size(&self) -> usize {
        self.remote_max_message_size
    }

    /// True while the data channel is open.
    pub fn is_channel_open(&mut self) -> bool {
        !self.finished
            && self
                .channel
                .is_some_and(|id| self.rtc.channel(id).is_some())
    }

    /// False once the peer closed or failed: it will produce nothing more.
    pub fn is_alive(&self) -> bool {
        !self.finished
    }

    /// Starts an orderly close (SCTP shutdown, DTLS close_notify); keep polling to send it.
    pub fn close(&mut self) {
        if !self.finished {
            if let Err(error) = self.rtc.close() {
                debug!(%error, "close failed, disconnecting");
                self.rtc.disconnect();
            }
        }
    }

    fn has_remote_description(&self) -> bool {
        matches!(self.signaling, Signaling::Stable)
    }

    fn address_in_scope(&self, ip: IpAddr) -> bool {
        !self.config.loopback_only || ip.is_loopback()
    }

    fn clock(&mut self, now: Instant) {
        self.last_now = now;
        self.needs_clock = false;
        if self.connect_deadline.is_none() && self.has_remote_description() {
            self.connect_deadline = Some(now + self.config.connect_timeout);
        }
    }

    fn remote_description_applied(&mut self, sdp: &str) {
        self.needs_clock = true;
        self.remote_max_message_size = sdp_limits::remote_max_message_size(sdp);
        for line in sdp_limits::candidate_lines(sdp) {
            match parse_remote(line, self.config.loopback_only) {
                Ok(Ok(candidate)) => self.rtc.add_remote_candidate(candidate),
                Ok(Err(reason)) => debug!(candidate = line, ?reason, "SDP candidate skipped"),
                Err(error) => debug!(%error, "SDP candidate skipped"),
            }
        }
        for candidate in std::mem::take(&mut self.early_remote) {
            self.rtc.add_remote_candidate(candidate);
        }
    }

    fn local_description_ready(&mut self, sdp: &str) {
        self.local_mid = sdp_limits::first_mid(sdp).or_else(|| Some("0".to_owned()));
        self.local_ufrag = sdp_limits::first_ice_ufrag(sdp);
        for candidate in std::mem::take(&mut self.unannounced_local) {
            self.announce(&candidate);
        }
    }

    fn announce(&mut self, candidate: &Candidate) {
        let init = IceCandidateInit::from_local(
            candidate,
            self.local_mid.as_deref(),
            self.local_ufrag.as_deref(),
        );
        self.events.push_back(PeerEvent::LocalCandidate(init));
    }

    fn on_engine_event(&mut self, event: Event) {
        match event {
            Event::Connected => {
                self.connected = true;
                self.events.push_back(PeerEvent::Connected);
            }
            Event::IceConnectionStateChange(state) => {
                self.disconnected_since = match state {
                    IceConnectionState::Disconnected if self.connected => {
                        self.disconnected_since.or(Some(self.last_now))
                    }
                    _ => None,
                };
                self.events.push_back(PeerEvent::IceState(state));
            }
            Event::ChannelOpen(id, label) => {
                if self.channel.is_none() || self.channel == Some(id) {
                    self.channel = Some(id);
                    if let Some(mut channel) = self.rtc.channel(id) {
                        channel.set_buffered_amount_low_threshold(
                            self.config.buffered_amount_low_threshold,
                        );
                    }
                    self.events.push_back(PeerEvent::ChannelOpen { label });
                } else {
                    debug!(label, "second data channel ignored");
                }
            }
            Event::ChannelData(data) if Some(data.id) == self.channel => {
                self.events.push_back(PeerEvent::Data(data.data));
            }
            Event::ChannelBufferedAmountLow(id) if Some(id) == self.channel => {
                self.events.push_back(PeerEvent::BufferedAmountLow);
            }
            Event::ChannelClose(id) if Some(id) == self.channel => {
                self.rtc.disconnect();
                self.finish(PeerEvent::Closed);
            }
            Event::Closed => self.finish(PeerEvent::Closed),
            other => trace!(?other, "engine event ignored"),
        }
    }

    fn engine_result(&mut self, result: Result<(), str0m::RtcError>) -> Result<(), Error> {
        result.map_err(|error| {
            warn!(%error, "WebRTC engine failure");
            self.fail(format!("WebRTC engine failure: {error}"));
            Error::Engine(error)
        })
    }

    fn fail(&mut self, reason: String) {
        self.rtc.disconnect();
        self.finish(PeerEvent::Failed(reason));
    }

    fn finish(&mut self, last: PeerEvent) {
        if !self.finished {
            self.finished = true;
            self.events.push_back(last);
        }
    }
}
