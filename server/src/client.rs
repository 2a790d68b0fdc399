//! What the server knows about each connected client. Clients live in the server state, under
//! the same lock as the keyspace, so CLIENT LIST, CLIENT KILL and (later) pub/sub and blocking
//! wake-ups see and change them consistently.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

use crate::protocol::Resp;

pub type ClientId = u64;

/// CLIENT REPLY's modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplyMode {
    #[default]
    On,
    Off,
    /// Skip the reply of the next command only.
    SkipNext,
    /// Skipping the reply of the command now running.
    Skipping,
}

/// What a client shares with its connection's task, read and written without the state lock
/// (one allocation for both: every connected client holds it).
#[derive(Debug, Default)]
pub struct TaskLink {
    /// Wakes the task when someone else queued output or asked it to close.
    pub wakeup: Notify,
    /// Bytes of replies the task has taken out and is still writing; counted with
    /// `pending_output` against the output buffer limits. The task clears it after writing.
    pub output_in_flight: AtomicUsize,
}

#[derive(Debug)]
pub struct Client {
    pub id: ClientId,
    pub addr: String,
    pub laddr: String,
    pub fd: i64,
    pub name: Vec<u8>,
    pub lib_name: Vec<u8>,
    pub lib_ver: Vec<u8>,
    pub created_ms: i64,
    pub last_interaction_ms: i64,
    pub db: usize,
    pub resp: Resp,
    pub authenticated: bool,
    /// Full name of the last command run (`client|list`), for CLIENT LIST's `cmd=`.
    pub last_command: &'static str,
    pub reply_mode: ReplyMode,
    pub no_evict: bool,
    pub no_touch: bool,
    /// Set by CLIENT KILL, SHUTDOWN or a protocol error: close once what is queued is written.
    pub close_asap: bool,
    /// Bytes queued for this client by others (pub/sub messages, wake-ups), written by its task.
    pub pending_output: Vec<u8>,
    /// Bytes in the connection's query buffer, as of its last read.
    pub query_buffer_len: usize,
    /// What the connection's task shares with the client without the lock.
    pub task: Arc<TaskLink>,
    pub is_unix_socket: bool,
    /// Set while the client waits in a blocking command (boxed: most clients never block,
    /// and every client's size counts once thousands are connected).
    pub blocked: Option<Box<crate::blocking::Blocked>>,
    /// Commands queued since MULTI; `None` outside a transaction.
    pub multi: Option<Vec<crate::protocol::OwnedArgs>>,
    /// A command was refused while queueing: EXEC will abort (Redis's CLIENT_DIRTY_EXEC).
    pub multi_refused: bool,
    /// Keys this client WATCHes, with whether each had already expired when watched.
    pub watched: Vec<WatchedKey>,
    /// A watched key was written: EXEC will fail (Redis's CLIENT_DIRTY_CAS).
    pub watch_broken: bool,
    /// Channels, patterns and shard channels this client is subscribed to.
    pub subscriptions: crate::pubsub::Subscriptions,
    /// Set by MONITOR: every command run is streamed to this client.
    pub monitor: bool,
    /// Since when its output has been over the soft output buffer limit, if it is.
    pub soft_limit_since_ms: Option<i64>,
}

/// A key under WATCH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedKey {
    pub db: usize,
    pub key: Vec<u8>,
    pub expired_when_watched: bool,
}

impl Client {
    pub fn new(id: ClientId, addr: String, laddr: String, fd: i64, now_ms: i64) -> Self {
        Client {
            id,
            addr,
            laddr,
            fd,
            name: Vec::new(),
            lib_name: Vec::new(),
            lib_ver: Vec::new(),
            created_ms: now_ms,
            last_interaction_ms: now_ms,
            db: 0,
            resp: Resp::V2,
            authenticated: false,
            last_command: "NULL",
            reply_mode: ReplyMode::On,
            no_evict: false,
            no_touch: false,
            close_asap: false,
            pending_output: Vec::new(),
            query_buffer_len: 0,
            task: Arc::default(),
            is_unix_socket: false,
            blocked: None,
            multi: None,
            multi_refused: false,
            watched: Vec::new(),
            watch_broken: false,
            subscriptions: Default::default(),
            monitor: false,
            soft_limit_since_ms: None,
        }
    }

    /// Bytes of output queued for this client and not yet written: CLIENT LIST's `omem`, and
    /// what the output buffer limits measure.
    pub fn output_bytes(&self) -> usize {
        self.pending_output.len() + self.task.output_in_flight.load(Ordering::Relaxed)
    }

    /// Asks the client's task to close the connection.
    pub fn kill(&mut self) {
        self.close_asap = true;
        self.task.wakeup.notify_one();
    }
}
