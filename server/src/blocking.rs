//! Blocked clients (BLPOP, BZPOPMIN, ... ) and their wake-ups.
//!
//! A blocking command that finds nothing to serve leaves a `BlockRequest`; the client is then
//! queued, in the order clients blocked, on every key it waits for. A write to such a key marks
//! it ready (through `State::key_modified`, the one place writes announce themselves), and after
//! each command the clients waiting on ready keys are served first come, first served: their
//! command runs again, whole, on their behalf, as Redis 7.2 re-processes it. A client served this
//! way gets its reply queued and its task woken; one that would block again keeps its place.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::client::ClientId;
use crate::commands::{self, After, BlockRequest};
use crate::protocol::{OwnedArgs, ReplyBuf};
use crate::state::{Shared, State};

type WaitKey = (usize, Vec<u8>);

/// What a blocked client waits for.
#[derive(Debug, Clone)]
pub struct Blocked {
    pub args: OwnedArgs,
    pub db: usize,
    pub keys: Vec<Vec<u8>>,
    pub deadline_ms: Option<i64>,
    pub waits_for: &'static str,
    pub on_missing_key: Option<&'static str>,
}

#[derive(Debug, Default)]
pub struct Blocking {
    /// Clients waiting on each key, in the order they blocked.
    waiting: HashMap<WaitKey, VecDeque<ClientId>, ahash::RandomState>,
    /// Keys written since blocked clients were last served, in the order they were written.
    ready: VecDeque<WaitKey>,
    ready_set: HashSet<WaitKey, ahash::RandomState>,
    /// True while a blocked client's command runs again: a command that would block again
    /// leaves the client where it was instead of queueing it anew.
    pub reprocessing: bool,
}

impl Blocking {
    /// Marks `key` ready if anyone waits for it.
    pub fn key_written(&mut self, db: usize, key: &[u8]) {
        if self.waiting.is_empty() {
            return;
        }
        let wait_key = (db, key.to_vec());
        if self.waiting.contains_key(&wait_key) && self.ready_set.insert(wait_key.clone()) {
            self.ready.push_back(wait_key);
        }
    }

    /// The keys of database `db` someone waits for.
    pub fn waiting_keys_in(&self, db: usize) -> Vec<Vec<u8>> {
        self.waiting
            .keys()
            .filter(|(waiting_db, _)| *waiting_db == db)
            .map(|(_, key)| key.clone())
            .collect()
    }

    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    fn forget(&mut self, id: ClientId, db: usize, keys: &[Vec<u8>]) {
        for key in keys {
            let wait_key = (db, key.clone());
            if let Some(queue) = self.waiting.get_mut(&wait_key) {
                queue.retain(|&waiting| waiting != id);
                if queue.is_empty() {
                    self.waiting.remove(&wait_key);
                }
            }
        }
    }
}

/// Queues `client_id` on the keys of `request` (called by the dispatcher when a command blocks).
pub fn block(
    state: &mut State,
    client_id: ClientId,
    args: OwnedArgs,
    db: usize,
    request: BlockRequest,
) {
    for key in &request.keys {
        let queue = state.blocking.waiting.entry((db, key.clone())).or_default();
        if !queue.contains(&client_id) {
            queue.push_back(client_id);
        }
    }
    if let Some(client) = state.clients.get_mut(&client_id) {
        client.blocked = Some(Box::new(Blocked {
            args,
            db,
            keys: request.keys,
            deadline_ms: request.deadline_ms,
            waits_for: request.waits_for,
            on_missing_key: request.on_missing_key,
        }));
    }
}

/// Takes a client out of every queue it waits in; the caller writes its reply.
pub fn unblock(state: &mut State, client_id: ClientId) -> Option<Box<Blocked>> {
    let blocked = state.clients.get_mut(&client_id)?.blocked.take()?;
    state.blocking.forget(client_id, blocked.db, &blocked.keys);
    Some(blocked)
}

/// Unblocks a client as if its timeout had passed, writing the timeout reply into `out`: a null
/// array for every blocking command (Redis's replyToBlockedClientTimedOut).
pub fn time_out(state: &mut State, client_id: ClientId, out: &mut ReplyBuf) {
    if unblock(state, client_id).is_some() {
        out.null_array();
    }
}

/// A disconnecting client leaves no trace in the queues.
pub fn forget_client(state: &mut State, client_id: ClientId) {
    unblock(state, client_id);
}

/// Serves the clients waiting on keys written since the last call, first come first served.
pub fn serve_ready(shared: &Shared, state: &mut State) {
    while let Some(wait_key) = state.blocking.ready.pop_front() {
        state.blocking.ready_set.remove(&wait_key);
        let Some(queue) = state.blocking.waiting.get(&wait_key) else {
            continue;
        };
        let candidates: Vec<ClientId> = queue.iter().copied().collect();
        let (db, key) = &wait_key;
        for id in candidates {
            let Some(blocked) = state.clients.get(&id).and_then(|c| c.blocked.clone()) else {
                continue;
            };
            let holds = state.dbs[*db].keys.get(key).map(|e| e.value.type_name());
            let resp = state.clients.get(&id).map(|c| c.resp).unwrap_or_default();
            if holds != Some(blocked.waits_for) {
                if let Some(text) = blocked.on_missing_key {
                    unblock(state, id);
                    state.count_error(text.as_bytes());
                    let mut reply = ReplyBuf::new(resp);
                    reply.error(text);
                    if let Some(client) = state.clients.get_mut(&id) {
                        client.pending_output.extend_from_slice(&reply.buf);
                        client.task.wakeup.notify_one();
                    }
                }
                continue;
            }
            let mut reply = ReplyBuf::new(resp);
            state.blocking.reprocessing = true;
            let after = commands::run(shared, state, id, blocked.args.args(), &mut reply);
            state.blocking.reprocessing = false;
            if after == After::Blocked {
                // A pop that finds nothing leaves nothing for those behind it either; stream
                // readers take nothing away, so each of them gets its own look.
                if blocked.waits_for == "stream" {
                    continue;
                }
                break;
            }
            unblock(state, id);
            if let Some(client) = state.clients.get_mut(&id) {
                client.pending_output.extend_from_slice(&reply.buf);
                client.task.wakeup.notify_one();
            }
        }
    }
}

/// How many clients are blocked, for INFO.
pub fn blocked_count(state: &State) -> usize {
    state
        .clients
        .values()
        .filter(|c| c.blocked.is_some())
        .count()
}
