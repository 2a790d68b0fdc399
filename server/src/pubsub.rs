//! Pub/Sub: who listens to which channels and patterns, and the delivery of messages into the
//! subscribers' output. Delivery appends to the subscriber's `pending_output` (its task writes it)
//! and enforces `client-output-buffer-limit`, so a publisher never waits for a slow subscriber:
//! the subscriber is cut off instead, as in Redis.

use std::collections::{HashMap, HashSet};

use crate::client::{Client, ClientId};
use crate::config::{ClientClass, OutputLimit};
use crate::state::State;

type Subscribers = HashMap<Vec<u8>, Vec<ClientId>, ahash::RandomState>;

/// The server's side: every channel, pattern and shard channel with its subscribers, in
/// subscription order.
#[derive(Debug, Default)]
pub struct PubSub {
    channels: Subscribers,
    patterns: Subscribers,
    shard_channels: Subscribers,
}

/// A client's side: what it is subscribed to. Most clients never subscribe, so the sets are
/// made at the first subscription and dropped with the last (three empty sets would otherwise
/// be 192 of every client's bytes).
#[derive(Debug, Default)]
pub struct Subscriptions(Option<Box<[NameSet; 3]>>); // indexed by `Kind as usize`

type NameSet = HashSet<Vec<u8>, ahash::RandomState>;

impl Subscriptions {
    /// The names of one kind.
    pub fn names(&self, kind: Kind) -> impl Iterator<Item = &Vec<u8>> {
        self.0
            .iter()
            .flat_map(move |sets| sets[kind as usize].iter())
    }

    pub fn len(&self, kind: Kind) -> usize {
        self.0.as_ref().map_or(0, |sets| sets[kind as usize].len())
    }

    /// Adds a name; false if it was there already.
    pub fn insert(&mut self, kind: Kind, name: &[u8]) -> bool {
        let sets = self.0.get_or_insert_with(Default::default);
        let set = &mut sets[kind as usize];
        !set.contains(name) && set.insert(name.to_vec())
    }

    /// Removes a name; false if it was not there.
    pub fn remove(&mut self, kind: Kind, name: &[u8]) -> bool {
        let Some(sets) = self.0.as_mut() else {
            return false;
        };
        let removed = sets[kind as usize].remove(name);
        if sets.iter().all(|set| set.is_empty()) {
            self.0 = None;
        }
        removed
    }

    /// Redis's subscription count for SUBSCRIBE and PSUBSCRIBE replies: channels and patterns.
    pub fn count(&self) -> usize {
        self.len(Kind::Channel) + self.len(Kind::Pattern)
    }

    /// Is the client in Pub/Sub mode (Redis's CLIENT_PUBSUB)?
    pub fn any(&self) -> bool {
        self.0.is_some()
    }
}

/// The three kinds of subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Channel = 0,
    Pattern = 1,
    ShardChannel = 2,
}

impl Kind {
    pub fn subscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"subscribe",
            Kind::Pattern => b"psubscribe",
            Kind::ShardChannel => b"ssubscribe",
        }
    }

    pub fn unsubscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"unsubscribe",
            Kind::Pattern => b"punsubscribe",
            Kind::ShardChannel => b"sunsubscribe",
        }
    }

    fn of_server(self, pubsub: &mut PubSub) -> &mut Subscribers {
        match self {
            Kind::Channel => &mut pubsub.channels,
            Kind::Pattern => &mut pubsub.patterns,
            Kind::ShardChannel => &mut pubsub.shard_channels,
        }
    }

    /// The count a (un)subscribe confirmation carries: shard channels are counted apart.
    pub fn count(self, subs: &Subscriptions) -> usize {
        match self {
            Kind::Channel | Kind::Pattern => subs.count(),
            Kind::ShardChannel => subs.len(Kind::ShardChannel),
        }
    }
}

/// Subscribes `id` to `name`; returns the count its confirmation carries.
pub fn subscribe(state: &mut State, id: ClientId, kind: Kind, name: &[u8]) -> usize {
    let Some(client) = state.clients.get_mut(&id) else {
        return 0;
    };
    if client.subscriptions.insert(kind, name) {
        kind.of_server(&mut state.pubsub)
            .entry(name.to_vec())
            .or_default()
            .push(id);
    }
    kind.count(&client.subscriptions)
}

/// Unsubscribes `id` from `name` (nothing happens if it was not subscribed); returns the count
/// its confirmation carries.
pub fn unsubscribe(state: &mut State, id: ClientId, kind: Kind, name: &[u8]) -> usize {
    let Some(client) = state.clients.get_mut(&id) else {
        return 0;
    };
    if client.subscriptions.remove(kind, name) {
        let server = kind.of_server(&mut state.pubsub);
        if let Some(ids) = server.get_mut(name) {
            ids.retain(|&other| other != id);
            if ids.is_empty() {
                // Channels nobody listens to any more are forgotten, so that a client cannot
                // grow the server by subscribing to millions of names and leaving.
                server.remove(name);
            }
        }
    }
    kind.count(&client.subscriptions)
}

/// What `id` is subscribed to, of one kind.
pub fn subscribed(state: &State, id: ClientId, kind: Kind) -> Vec<Vec<u8>> {
    let Some(client) = state.clients.get(&id) else {
        return Vec::new();
    };
    client.subscriptions.names(kind).cloned().collect()
}

/// Drops every subscription of `id` (a disconnect, RESET), without confirmations.
pub fn forget_client(state: &mut State, id: ClientId) {
    for kind in [Kind::Channel, Kind::Pattern, Kind::ShardChannel] {
        for name in subscribed(state, id, kind) {
            unsubscribe(state, id, kind, &name);
        }
    }
}

/// Publishes `message` on `channel` (a shard channel when `shard`), to the channel's
/// subscribers and then, for plain channels, to every client of every matching pattern.
/// Returns how many deliveries were made, as PUBLISH answers.
pub fn publish(
    state: &mut State,
    channel: &[u8],
    message: &[u8],
    shard: bool,
    now_ms: i64,
) -> usize {
    let mut receivers = 0;
    let mut frames = Frames::default();
    let subscribers = if shard {
        &state.pubsub.shard_channels
    } else {
        &state.pubsub.channels
    };
    if let Some(ids) = subscribers.get(channel) {
        let kind: &[u8] = if shard { b"smessage" } else { b"message" };
        for id in ids {
            if let Some(client) = state.clients.get_mut(id) {
                let frame = frames.get(client.resp, &[kind, channel, message]);
                deliver(client, frame, &state.config.hot.output_limits, now_ms);
                receivers += 1;
            }
        }
    }
    if shard {
        return receivers;
    }
    let mut pattern_frames = Frames::default();
    for (pattern, ids) in &state.pubsub.patterns {
        if !crate::store::glob::matches(pattern, channel, false) {
            continue;
        }
        pattern_frames.clear();
        for id in ids {
            if let Some(client) = state.clients.get_mut(id) {
                let parts: [&[u8]; 4] = [b"pmessage", pattern, channel, message];
                let frame = pattern_frames.get(client.resp, &parts);
                deliver(client, frame, &state.config.hot.output_limits, now_ms);
                receivers += 1;
            }
        }
    }
    receivers
}

/// Active channels (of the kind given) matching `pattern`, for PUBSUB CHANNELS/SHARDCHANNELS.
pub fn active_channels(state: &State, shard: bool, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
    let channels = if shard {
        &state.pubsub.shard_channels
    } else {
        &state.pubsub.channels
    };
    channels
        .keys()
        .filter(|name| pattern.is_none_or(|p| crate::store::glob::matches(p, name, false)))
        .cloned()
        .collect()
}

/// How many clients are subscribed to `channel`, for PUBSUB NUMSUB/SHARDNUMSUB.
pub fn subscriber_count(state: &State, shard: bool, channel: &[u8]) -> usize {
    let channels = if shard {
        &state.pubsub.shard_channels
    } else {
        &state.pubsub.channels
    };
    channels.get(channel).map_or(0, Vec::len)
}

/// How many patterns have subscribers, for PUBSUB NUMPAT.
pub fn pattern_count(state: &State) -> usize {
    state.pubsub.patterns.len()
}

/// How many channels and patterns have subscribers, for INFO's `pubsub_channels` /
/// `pubsub_patterns` / `pubsubshard_channels`.
pub fn totals(state: &State) -> (usize, usize, usize) {
    (
        state.pubsub.channels.len(),
        state.pubsub.patterns.len(),
        state.pubsub.shard_channels.len(),
    )
}

/// A message frame encoded once per protocol version, however many subscribers get it.
#[derive(Default)]
struct Frames {
    resp2: Option<Vec<u8>>,
    resp3: Option<Vec<u8>>,
}

impl Frames {
    fn get(&mut self, resp: crate::protocol::Resp, parts: &[&[u8]]) -> &[u8] {
        let (slot, marker) = match resp {
            crate::protocol::Resp::V2 => (&mut self.resp2, b'*'),
            crate::protocol::Resp::V3 => (&mut self.resp3, b'>'),
        };
        slot.get_or_insert_with(|| encode_frame(marker, parts))
    }

    fn clear(&mut self) {
        self.resp2 = None;
        self.resp3 = None;
    }
}

/// `*N` (RESP2) or `>N` (RESP3 push) followed by each part as a bulk string.
fn encode_frame(marker: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(16 + parts.iter().map(|p| p.len() + 16).sum::<usize>());
    frame.push(marker);
    frame.extend_from_slice(parts.len().to_string().as_bytes());
    frame.extend_from_slice(b"\r\n");
    for part in parts {
        frame.push(b'$');
        frame.extend_from_slice(part.len().to_string().as_bytes());
        frame.extend_from_slice(b"\r\n");
        frame.extend_from_slice(part);
        frame.extend_from_slice(b"\r\n");
    }
    frame
}

/// Queues `bytes` for `client` (a message, a MONITOR line) and wakes its task, unless that pushes
/// its output past `client-output-buffer-limit`: then the client is closed and what it held is
/// released at once.
pub fn deliver(client: &mut Client, bytes: &[u8], limits: &[OutputLimit; 3], now_ms: i64) {
    if client.close_asap {
        return;
    }
    client.pending_output.extend_from_slice(bytes);
    if check_output_limit(client, limits, now_ms) {
        client.task.wakeup.notify_one();
    }
}

/// Applies the client's class limits to its queued output; returns false when the client was
/// closed for passing them.
pub fn check_output_limit(client: &mut Client, limits: &[OutputLimit; 3], now_ms: i64) -> bool {
    let limit = limits[output_class(client) as usize];
    let used = client.output_bytes() as u64;
    let hard = limit.hard > 0 && used >= limit.hard;
    let mut soft = false;
    if limit.soft > 0 && used >= limit.soft {
        match client.soft_limit_since_ms {
            None => client.soft_limit_since_ms = Some(now_ms),
            Some(since) => soft = now_ms - since > limit.soft_seconds * 1000,
        }
    } else {
        client.soft_limit_since_ms = None;
    }
    if !(hard || soft) {
        return true;
    }
    tracing::warn!(
        id = client.id,
        addr = %client.addr,
        "Client scheduled to be closed ASAP for overcoming of output buffer limits."
    );
    client.pending_output = Vec::new();
    client.kill();
    false
}

/// Which `client-output-buffer-limit` class applies (Redis's getClientType: MONITOR clients are
/// normal ones).
pub fn output_class(client: &Client) -> ClientClass {
    if client.subscriptions.any() {
        ClientClass::PubSub
    } else {
        ClientClass::Normal
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::protocol::Resp;

    fn state_with_clients(n: u64) -> State {
        let mut state = State::new(Config::default(), 0);
        for id in 1..=n {
            let client = Client::new(id, format!("127.0.0.1:{id}"), String::new(), 0, 0);
            state.clients.insert(id, Box::new(client));
        }
        state
    }

    fn take_output(state: &mut State, id: ClientId) -> Vec<u8> {
        std::mem::take(&mut state.clients.get_mut(&id).unwrap().pending_output)
    }

    #[test]
    fn messages_reach_channel_and_pattern_subscribers() {
        let mut state = state_with_clients(3);
        assert_eq!(subscribe(&mut state, 1, Kind::Channel, b"news"), 1);
        assert_eq!(subscribe(&mut state, 1, Kind::Channel, b"news"), 1);
        assert_eq!(subscribe(&mut state, 2, Kind::Pattern, b"n*"), 1);
        assert_eq!(subscribe(&mut state, 2, Kind::Pattern, b"*s"), 2);
        state.clients.get_mut(&2).unwrap().resp = Resp::V3;
        assert_eq!(publish(&mut state, b"news", b"hi", false, 0), 3);
        assert_eq!(
            take_output(&mut state, 1),
            b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
        );
        let out = take_output(&mut state, 2);
        assert_eq!(out.iter().filter(|&&b| b == b'>').count(), 2);
        assert!(take_output(&mut state, 3).is_empty());
        assert_eq!(publish(&mut state, b"news", b"x", true, 0), 0);
    }

    #[test]
    fn unsubscribing_forgets_empty_channels() {
        let mut state = state_with_clients(2);
        subscribe(&mut state, 1, Kind::Channel, b"a");
        subscribe(&mut state, 2, Kind::Channel, b"a");
        subscribe(&mut state, 1, Kind::ShardChannel, b"s");
        assert_eq!(subscriber_count(&state, false, b"a"), 2);
        assert_eq!(unsubscribe(&mut state, 1, Kind::Channel, b"a"), 0);
        assert_eq!(subscriber_count(&state, false, b"a"), 1);
        forget_client(&mut state, 2);
        assert!(active_channels(&state, false, None).is_empty());
        assert_eq!(
            active_channels(&state, true, Some(b"s*")),
            vec![b"s".to_vec()]
        );
        assert_eq!(unsubscribe(&mut state, 1, Kind::ShardChannel, b"s"), 0);
        assert_eq!(totals(&state), (0, 0, 0));
    }

    #[test]
    fn a_subscriber_past_the_hard_limit_is_cut_off_and_its_output_released() {
        let mut state = state_with_clients(2);
        state
            .config
            .set("client-output-buffer-limit", "pubsub 1000 0 0")
            .unwrap();
        subscribe(&mut state, 1, Kind::Channel, b"c");
        let payload = vec![b'x'; 300];
        for _ in 0..3 {
            publish(&mut state, b"c", &payload, false, 0);
        }
        assert!(!state.clients[&1].close_asap);
        publish(&mut state, b"c", &payload, false, 0);
        let client = &state.clients[&1];
        assert!(client.close_asap);
        assert_eq!(client.pending_output.capacity(), 0);
    }

    #[test]
    fn a_client_holds_subscription_sets_only_while_subscribed() {
        let mut subs = Subscriptions::default();
        assert!(!subs.any());
        assert!(subs.insert(Kind::Pattern, b"n*"));
        assert!(!subs.insert(Kind::Pattern, b"n*"));
        assert!(subs.insert(Kind::ShardChannel, b"s"));
        assert_eq!((subs.count(), subs.len(Kind::ShardChannel)), (1, 1));
        assert!(subs.remove(Kind::Pattern, b"n*"));
        assert!(!subs.remove(Kind::Channel, b"n*"));
        assert!(
            subs.any(),
            "a shard channel keeps the client in Pub/Sub mode"
        );
        assert!(subs.remove(Kind::ShardChannel, b"s"));
        assert!(subs.0.is_none());
        assert_eq!(subs.names(Kind::Channel).count(), 0);
    }

    #[test]
    fn the_soft_limit_needs_to_last() {
        let mut client = Client::new(1, String::new(), String::new(), 0, 0);
        client.subscriptions.insert(Kind::Channel, b"c");
        let mut config = Config::default();
        config
            .set("client-output-buffer-limit", "pubsub 0 100 2")
            .unwrap();
        let limits = config.hot.output_limits;
        client.pending_output = vec![0; 200];
        assert!(check_output_limit(&mut client, &limits, 1_000));
        assert!(check_output_limit(&mut client, &limits, 3_000));
        client.pending_output.truncate(10);
        assert!(check_output_limit(&mut client, &limits, 3_500));
        client.pending_output.resize(200, 0);
        assert!(check_output_limit(&mut client, &limits, 4_000));
        assert!(!check_output_limit(&mut client, &limits, 6_001));
    }
}
