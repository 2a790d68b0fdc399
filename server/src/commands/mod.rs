//! Commands: the table, the context a handler runs in, and the path every request takes from
//! lookup to reply (`run`). One file per command family.

pub mod bitmaps;
pub mod client;
pub mod command;
pub mod connection;
pub mod databases;
pub mod functions;
pub mod hashes;
pub mod keys;
pub mod lists;
pub mod monitor;
pub mod persistence;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod sets;
pub mod sort;
pub mod sorted_sets;
pub mod streams;
pub mod strings;
pub mod table;
pub mod transactions;

use std::borrow::Cow;

use crate::client::{ClientId, ReplyMode};
use crate::protocol::{Args, ReplyBuf};
use crate::state::{Shared, SlowlogEntry, State};
use crate::store::Db;
use table::{flags, CommandTable, Lookup};

/// A command's handler: reads `ctx.args`, changes `ctx.state`, writes its reply to `ctx.out`.
/// An `Err` is written as the error reply; a handler must not have written anything before it.
pub type Handler = fn(&mut Ctx<'_>) -> CmdResult;
pub type CmdResult = Result<(), CmdError>;

/// An error reply, starting with its code (`ERR ...`, `WRONGTYPE ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdError(pub Cow<'static, str>);

impl From<&'static str> for CmdError {
    fn from(text: &'static str) -> Self {
        CmdError(Cow::Borrowed(text))
    }
}

impl From<String> for CmdError {
    fn from(text: String) -> Self {
        CmdError(Cow::Owned(text))
    }
}

/// Error texts shared by several families, exactly as Redis writes them.
pub mod errors {
    pub const SYNTAX: &str = "ERR syntax error";
    pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
    pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
    /// getIntFromObjectOrReply's text for an integer outside 32 bits.
    pub const NOT_INT32: &str =
        "ERR value is out of range, value must between -2147483648 and 2147483647";
    pub const NOT_FLOAT: &str = "ERR value is not a valid float";
    pub const NO_SUCH_KEY: &str = "ERR no such key";
    pub const DB_INDEX_OUT_OF_RANGE: &str = "ERR DB index is out of range";
    pub const NOAUTH: &str = "NOAUTH Authentication required.";
    pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
    pub const LOADING: &str = "LOADING Redis is loading the dataset in memory";
    pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
    pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's \
        currently unable to persist to disk. Commands that may modify the data set are \
        disabled, because this instance is configured to report errors during writes if RDB \
        snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs \
        for details about the RDB error.";
}

/// What a handler works with.
pub struct Ctx<'a> {
    pub args: Args<'a>,
    pub state: &'a mut State,
    pub shared: &'a Shared,
    pub client_id: ClientId,
    /// The selected database.
    pub db: usize,
    pub out: &'a mut ReplyBuf,
    /// The time this command runs at, in ms of the server's clock; fixed for the whole command.
    pub now_ms: i64,
}

impl<'a> Ctx<'a> {
    pub fn arg(&self, i: usize) -> &'a [u8] {
        self.args.get(i)
    }

    pub fn argc(&self) -> usize {
        self.args.len()
    }

    /// The selected database.
    pub fn db(&mut self) -> &mut Db {
        let db = &mut self.state.dbs[self.db];
        db.clock_ms = self.now_ms;
        db
    }

    pub fn client(&mut self) -> &mut crate::client::Client {
        self.state
            .clients
            .get_mut(&self.client_id)
            .expect("a running command's client is registered")
    }

    /// Whether a command that finds nothing to serve may block. Inside MULTI or a script it may
    /// not, and answers as if its timeout had passed.
    pub fn may_block(&self) -> bool {
        !self.state.in_exec && !self.state.in_script && !self.state.propagation.replaying
    }

    /// Logs `commands` to the AOF instead of this command's own arguments (Redis's
    /// rewriteClientCommandVector/alsoPropagate): for writes whose effect depends on the time
    /// or on chance. Each call adds one; a handler that calls it and then fails logs nothing
    /// more than what it added.
    pub fn propagate(&mut self, command: Vec<Vec<u8>>) {
        if !self.state.logs_writes() {
            return;
        }
        self.state
            .propagation
            .replacement
            .get_or_insert_with(Vec::new)
            .push(command);
    }

    /// Logs this command's own arguments even though it changed nothing (FLUSHALL on an
    /// empty server: Redis's forceCommandPropagation).
    pub fn force_propagation(&mut self) {
        self.state.propagation.forced = true;
    }

    /// Blocks the client: see [`BlockRequest`].
    pub fn block_on(&mut self, request: BlockRequest) {
        self.state.block_request = Some(request);
    }

    /// Announces that `key` in the selected database was written.
    pub fn modified(&mut self, key: &[u8]) {
        self.state.key_modified(self.db, key);
    }

    /// Announces a keyspace event (Redis's notifyKeyspaceEvent) on `key` of the selected
    /// database: `class` is one of `crate::notify`'s, `event` Redis's name for it.
    pub fn notify(&mut self, class: u32, event: &'static str, key: &[u8]) {
        self.state
            .notify_keyspace_event(class, event, key, self.db, self.now_ms);
    }

    /// Sends this command's MONITOR line now. Scripts' commands (EVAL*, FCALL*) are skipped by
    /// the dispatcher and announce themselves when they start, so that the commands they run
    /// appear after them, as in Redis.
    pub fn feed_monitors(&mut self) {
        if !self.state.monitors.is_empty() {
            feed_monitors(self.shared, self.state, self.client_id, self.db, self.args);
        }
    }

    /// Is argument `i` equal to `word`, ignoring ASCII case?
    pub fn arg_is(&self, i: usize, word: &str) -> bool {
        self.arg(i).eq_ignore_ascii_case(word.as_bytes())
    }

    pub fn arg_str(&self, i: usize) -> Cow<'a, str> {
        String::from_utf8_lossy(self.arg(i))
    }
}

/// What a blocking command answers where it may not block (inside MULTI or a script): BLPOP-like
/// commands a null array, BLMOVE-like ones a null bulk string. (A timeout of a client that did
/// block is always a null array, in Redis as here.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutReply {
    NullArray,
    NullBulk,
}

/// A blocking command that found nothing to serve asks to wait with this. It wrote no reply;
/// it runs again, whole, when one of `keys` (in the selected database) is written, and answers a
/// null array at the deadline (`None`: wait forever).
#[derive(Debug, Clone)]
pub struct BlockRequest {
    pub keys: Vec<Vec<u8>>,
    pub deadline_ms: Option<i64>,
    /// The type (`Value::type_name`) the command pops from: a write that leaves a key of
    /// another type serves nobody, as in Redis.
    pub waits_for: &'static str,
    /// The arguments to run again instead of the request's own, when the request named a
    /// position that moves (XREAD's `$`: the last id when the client blocked, not when served).
    pub rewritten_args: Option<Vec<Vec<u8>>>,
    /// The error a waiter gets when its key is deleted or replaced by another type, instead of
    /// waiting on (XREADGROUP: its group went with the key).
    pub on_missing_key: Option<&'static str>,
}

/// Redis's timeout argument of blocking commands: seconds, fractions allowed; 0 waits forever.
/// Returns the deadline in ms of the server clock. Redis converts `seconds * 1000` to an integer
/// with a C cast, so fractions of a millisecond truncate (a tiny negative is 0: forever) and
/// values too large for 64 bits, `inf` included, come out negative.
pub fn parse_block_timeout(arg: &[u8], now_ms: i64) -> Result<Option<i64>, CmdError> {
    const NOT_A_FLOAT: &str = "ERR timeout is not a float or out of range";
    let text = std::str::from_utf8(arg).map_err(|_| NOT_A_FLOAT)?;
    if text.is_empty() || text.starts_with(|c: char| c.is_ascii_whitespace()) {
        return Err(NOT_A_FLOAT.into());
    }
    let seconds: f64 = text.parse().map_err(|_| NOT_A_FLOAT)?;
    if seconds.is_nan() {
        return Err(NOT_A_FLOAT.into());
    }
    let ms = (seconds * 1000.0).trunc();
    let ms = if ms.abs() < 9_223_372_036_854_775_808.0 {
        ms as i64
    } else {
        i64::MIN
    };
    deadline_after_ms(ms, now_ms)
}

/// The deadline `ms` milliseconds after `now_ms` for a blocking command's timeout: 0 waits
/// forever, with Redis's errors for negative and overflowing timeouts.
pub fn deadline_after_ms(ms: i64, now_ms: i64) -> Result<Option<i64>, CmdError> {
    if ms < 0 {
        return Err("ERR timeout is negative".into());
    }
    if ms == 0 {
        return Ok(None);
    }
    if ms > i64::MAX - now_ms {
        return Err("ERR timeout is out of range".into());
    }
    Ok(Some(now_ms + ms))
}

/// What the connection should do after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Continue,
    /// Write what is queued, then close (QUIT, a kill, SHUTDOWN).
    Close,
    /// The command blocked: run nothing more for this client until it is served or times out.
    Blocked,
}

/// Redis's writeCommandsDeniedByDiskError: writes (and PING, as a health check) are refused
/// while the last snapshot failed (`stop-writes-on-bgsave-error` with `save` rules set), or
/// while the AOF cannot be written.
fn disk_error(state: &State) -> Option<String> {
    if !state.persistence.last_save_ok
        && state.config.flag("stop-writes-on-bgsave-error")
        && !state.config.text("save").trim().is_empty()
    {
        return Some(errors::MISCONF.to_string());
    }
    let aof_error = state.persistence.aof.as_ref()?.last_write_error.as_ref()?;
    Some(format!(
        "MISCONF Errors writing to the AOF file: {aof_error}"
    ))
}

/// Runs one request for `client_id`, writing its reply to `out`. The caller holds the state lock.
pub fn run(
    shared: &Shared,
    state: &mut State,
    client_id: ClientId,
    args: Args<'_>,
    out: &mut ReplyBuf,
) -> After {
    let table = CommandTable::get();
    let now_ms = shared.clock.now_ms();
    let (db, authenticated, in_multi) = {
        let client = state
            .clients
            .get_mut(&client_id)
            .expect("client registered");
        client.last_interaction_ms = now_ms;
        if client.reply_mode == ReplyMode::SkipNext {
            client.reply_mode = ReplyMode::Skipping;
        }
        (client.db, client.authenticated, client.multi.is_some())
    };
    let reply_start = out.len();

    let cmd = match table.lookup(args) {
        Lookup::Found(cmd) => cmd,
        Lookup::UnknownCommand => {
            refuse_in_multi(state, client_id, in_multi);
            reject_bytes(state, out, &unknown_command_error(args));
            return finish(state, client_id, reply_start, out, "NULL", db);
        }
        Lookup::UnknownSubcommand(container) => {
            let mut text = b"ERR unknown subcommand '".to_vec();
            text.extend_from_slice(c_string(&args[1], 128));
            text.extend_from_slice(
                format!("'. Try {} HELP.", container.def.name.to_ascii_uppercase()).as_bytes(),
            );
            refuse_in_multi(state, client_id, in_multi);
            reject_bytes(state, out, &text);
            return finish(state, client_id, reply_start, out, "NULL", db);
        }
    };
    let arity = cmd.def.arity;
    let argc = args.len() as i32;
    if (arity > 0 && arity != argc) || argc < -arity {
        let text = format!(
            "ERR wrong number of arguments for '{}' command",
            cmd.fullname
        );
        refuse_in_multi(state, client_id, in_multi);
        reject(state, out, text);
        count_rejected(state, cmd);
        return finish(state, client_id, reply_start, out, cmd.fullname, db);
    }
    if !authenticated && !cmd.has(flags::NO_AUTH) && auth_required(state) {
        refuse_in_multi(state, client_id, in_multi);
        reject(state, out, errors::NOAUTH.to_string());
        count_rejected(state, cmd);
        return finish(state, client_id, reply_start, out, cmd.fullname, db);
    }
    // A blocked client's command, re-run when its key was written, was admitted already.
    if state.config.hot.maxmemory != 0
        && !state.blocking.reprocessing
        && refused_for_memory(state, client_id, cmd, args, in_multi, now_ms)
    {
        refuse_in_multi(state, client_id, in_multi);
        reject(state, out, errors::OOM.to_string());
        count_rejected(state, cmd);
        return finish(state, client_id, reply_start, out, cmd.fullname, db);
    }
    if let Some(text) = refused_in_client_mode(state, client_id, cmd) {
        refuse_in_multi(state, client_id, in_multi);
        reject(state, out, text);
        count_rejected(state, cmd);
        return finish(state, client_id, reply_start, out, cmd.fullname, db);
    }
    if cmd.has(flags::WRITE) || cmd.fullname == "ping" {
        if let Some(text) = disk_error(state) {
            refuse_in_multi(state, client_id, in_multi);
            reject(state, out, text);
            count_rejected(state, cmd);
            return finish(state, client_id, reply_start, out, cmd.fullname, db);
        }
    }
    if state.persistence.loading && !state.propagation.replaying && !cmd.has(flags::LOADING) {
        refuse_in_multi(state, client_id, in_multi);
        reject(state, out, errors::LOADING.to_string());
        count_rejected(state, cmd);
        return finish(state, client_id, reply_start, out, cmd.fullname, db);
    }
    if in_multi && !runs_inside_multi(cmd.fullname) {
        if cmd.has(flags::NO_MULTI) {
            refuse_in_multi(state, client_id, in_multi);
            reject(
                state,
                out,
                "ERR Command not allowed inside a transaction".into(),
            );
            count_rejected(state, cmd);
        } else {
            let queued = crate::protocol::OwnedArgs::from_args(args);
            if let Some(queue) = state
                .clients
                .get_mut(&client_id)
                .and_then(|c| c.multi.as_mut())
            {
                queue.push(queued);
            }
            out.simple("QUEUED");
        }
        return finish(state, client_id, reply_start, out, cmd.fullname, db);
    }

    let invoked = invoke(shared, state, cmd, client_id, args, db, out, now_ms);
    let (new_db, elapsed_us) = (invoked.db, invoked.elapsed_us);
    let block_request = invoked.block_request;
    if !cmd.has(flags::SKIP_SLOWLOG) {
        record_slowlog(state, client_id, args, elapsed_us as i64, now_ms);
    }
    if !state.in_exec && !state.in_script {
        crate::persistence::aof::commit(state);
    }
    let monitored = !state.monitors.is_empty()
        && !cmd.has(flags::SKIP_MONITOR)
        && !cmd.has(flags::ADMIN)
        && !state.blocking.reprocessing;
    let mut after = finish(state, client_id, reply_start, out, cmd.fullname, new_db);
    put_own_messages_first(state, client_id, reply_start, out);
    if let Some(request) = block_request {
        if !state.blocking.reprocessing {
            let owned = match &request.rewritten_args {
                Some(rewritten) => {
                    let mut owned = crate::protocol::OwnedArgs::default();
                    for arg in rewritten {
                        owned.push(arg);
                    }
                    owned
                }
                None => crate::protocol::OwnedArgs::from_args(args),
            };
            crate::blocking::block(state, client_id, owned, new_db, request);
        }
        after = After::Blocked;
    }
    // After the reply: a client monitoring itself sees its command's line after its reply.
    if monitored {
        feed_monitors(shared, state, client_id, new_db, args);
    }
    after
}

/// Messages a command published to its own client (a RESP3 subscriber publishing, keyspace
/// events of its own writes) were queued while it ran; in Redis they precede its reply.
fn put_own_messages_first(
    state: &mut State,
    client_id: ClientId,
    reply_start: usize,
    out: &mut ReplyBuf,
) {
    if let Some(client) = state.clients.get_mut(&client_id) {
        if !client.pending_output.is_empty() {
            let own = std::mem::take(&mut client.pending_output);
            out.buf.splice(reply_start..reply_start, own);
        }
    }
}

/// Redis's maxmemory step of processCommand: evicts what the policy allows, then refuses a
/// command that could grow memory (and, inside MULTI, the queueing of anything but what ends
/// the transaction) if memory is still over the limit. Scripts and transactions remember the
/// verdict, for their first write.
fn refused_for_memory(
    state: &mut State,
    client_id: ClientId,
    cmd: &table::Command,
    args: Args<'_>,
    in_multi: bool,
    now_ms: i64,
) -> bool {
    let out_of_memory =
        crate::memory::perform_evictions(state, now_ms) == crate::memory::Outcome::OutOfMemory;
    if matches!(
        cmd.fullname,
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro" | "exec"
    ) {
        state.eviction.out_of_memory_at_start = out_of_memory;
    }
    if !out_of_memory {
        return false;
    }
    let ends_transaction = matches!(cmd.fullname, "exec" | "discard" | "quit" | "reset");
    may_grow_memory(state, cmd, args)
        || (in_multi && !ends_transaction)
        || (cmd.fullname == "exec" && queues_memory_growth(state, client_id))
}

/// Whether a command is `denyoom`, the way Redis's getCommandFlags tells: a script or function
/// that declares flags may grow memory unless it is `allow-oom` or `no-writes`. Such a script
/// is refused here, before it starts, so the check Redis repeats when a script starts
/// ("allow-oom flag is not set on the script") has nothing left to catch.
fn may_grow_memory(state: &State, cmd: &table::Command, args: Args<'_>) -> bool {
    match state.scripting.declared_flags(cmd.fullname, args) {
        Some(declared) => !(declared.allow_oom || declared.no_writes),
        None => cmd.has(flags::DENYOOM),
    }
}

/// Whether the client's queued transaction holds a command that could grow memory.
fn queues_memory_growth(state: &State, client_id: ClientId) -> bool {
    let table = CommandTable::get();
    let Some(queue) = state.clients.get(&client_id).and_then(|c| c.multi.as_ref()) else {
        return false;
    };
    queue.iter().any(|queued| {
        let args = queued.args();
        matches!(table.lookup(args), Lookup::Found(cmd) if may_grow_memory(state, cmd, args))
    })
}

/// Commands a client may not run in its current mode: a RESP2 subscriber only (un)subscribes,
/// pings, quits or resets; a MONITOR client does not touch the keyspace.
fn refused_in_client_mode(
    state: &State,
    client_id: ClientId,
    cmd: &table::Command,
) -> Option<String> {
    let client = state.clients.get(&client_id)?;
    // Inside EXEC the queue runs whole: a SUBSCRIBE in it does not stop the commands after it.
    if client.subscriptions.any()
        && !state.in_exec
        && client.resp == crate::protocol::Resp::V2
        && !matches!(
            cmd.fullname,
            "ping"
                | "subscribe"
                | "ssubscribe"
                | "unsubscribe"
                | "sunsubscribe"
                | "psubscribe"
                | "punsubscribe"
                | "quit"
                | "reset"
        )
    {
        return Some(format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET \
             are allowed in this context",
            cmd.fullname
        ));
    }
    if client.monitor
        && (cmd.has(flags::WRITE) || cmd.has(flags::READONLY) || cmd.has(flags::MAY_REPLICATE))
    {
        return Some("ERR Replica can't interact with the keyspace".into());
    }
    None
}

fn feed_monitors(
    shared: &Shared,
    state: &mut State,
    client_id: ClientId,
    db: usize,
    args: Args<'_>,
) {
    let Some(client) = state.clients.get(&client_id) else {
        return;
    };
    let addr = if client.is_unix_socket {
        format!("unix:{}", state.config.text("unixsocket"))
    } else {
        client.addr.clone()
    };
    monitor::feed(state, &addr, db, args, shared.clock.now_us());
}

/// What running a handler left: the database selected afterwards, how long it took, and the
/// wait it asked for if it blocked.
struct Invoked {
    db: usize,
    elapsed_us: u64,
    block_request: Option<BlockRequest>,
}

/// Runs `cmd`'s handler, and what every run of a command does after it whatever the caller:
/// expiry and propagation announced, an error written and counted, the command's statistics.
#[allow(clippy::too_many_arguments)]
fn invoke(
    shared: &Shared,
    state: &mut State,
    cmd: &table::Command,
    client_id: ClientId,
    args: Args<'_>,
    db: usize,
    out: &mut ReplyBuf,
    now_ms: i64,
) -> Invoked {
    let handler = cmd
        .def
        .handler
        .expect("containers are looked up to a subcommand");
    let started_ns = crate::store::clock::monotonic_ns();
    let dirty_before = state.dirty;
    let mut ctx = Ctx {
        args,
        state,
        shared,
        client_id,
        db,
        out,
        now_ms,
    };
    let result = handler(&mut ctx);
    let new_db = ctx.db;
    // Keys the command found expired are logged (as DEL) before what it did to them.
    ctx.state.announce_expired(now_ms);
    propagate_command(ctx.state, cmd, db, args, dirty_before);
    let block_request = ctx.state.block_request.take();
    if let Err(CmdError(text)) = &result {
        ctx.out.error(text);
        ctx.state.count_error(text.as_bytes());
    }
    let failed = result.is_err() | std::mem::take(&mut state.reply_failed);
    let elapsed_ns = crate::store::clock::monotonic_ns().saturating_sub(started_ns);
    state.stats.total_commands_processed += 1;
    let entry = state.command_stats_mut(cmd.id);
    entry.calls += 1;
    entry.usec += elapsed_ns / 1_000;
    entry.latency.record(elapsed_ns);
    if failed {
        entry.failed_calls += 1;
    }
    Invoked {
        db: new_db,
        elapsed_us: elapsed_ns / 1_000,
        block_request,
    }
}

/// Runs a command a script called (the caller checked arity, flags and permissions): its handler
/// in database `db`, with the statistics `run` keeps. Returns the database selected afterwards.
#[allow(clippy::too_many_arguments)]
pub fn execute(
    shared: &Shared,
    state: &mut State,
    client_id: ClientId,
    cmd: &table::Command,
    args: Args<'_>,
    db: usize,
    out: &mut ReplyBuf,
    now_ms: i64,
) -> usize {
    let invoked = invoke(shared, state, cmd, client_id, args, db, out, now_ms);
    // Commands in scripts never block: one that would answers as if it timed out.
    let new_db = invoked.db;
    if !cmd.has(flags::SKIP_SLOWLOG) {
        record_script_slowlog(state, args, invoked.elapsed_us as i64, now_ms);
    }
    if !state.monitors.is_empty() && !cmd.has(flags::SKIP_MONITOR) && !cmd.has(flags::ADMIN) {
        monitor::feed(state, "lua", new_db, args, shared.clock.now_us());
    }
    new_db
}

/// Adds what a command that ran in `db` has to log to the pending unit: its handler's
/// replacement, or its own arguments when it is a write that changed something.
fn propagate_command(
    state: &mut State,
    cmd: &table::Command,
    db: usize,
    args: Args<'_>,
    dirty_before: u64,
) {
    if !state.logs_writes() {
        state.propagation.forced = false;
        return;
    }
    let logged_kind = cmd.has(flags::WRITE) || cmd.has(flags::MAY_REPLICATE);
    let wrote = logged_kind
        && state.dirty != dirty_before
        && !crate::persistence::propagate::logs_through_what_it_runs(cmd.fullname);
    state
        .propagation
        .after_command(db, || args.iter().map(|a| a.to_vec()).collect(), wrote);
}

/// Records the end of a command on its client, and drops its reply under CLIENT REPLY OFF/SKIP.
fn finish(
    state: &mut State,
    client_id: ClientId,
    reply_start: usize,
    out: &mut ReplyBuf,
    fullname: &'static str,
    db: usize,
) -> After {
    let Some(client) = state.clients.get_mut(&client_id) else {
        return After::Close;
    };
    client.last_command = fullname;
    client.db = db;
    match client.reply_mode {
        ReplyMode::Off => out.buf.truncate(reply_start),
        ReplyMode::Skipping => {
            out.buf.truncate(reply_start);
            client.reply_mode = ReplyMode::On;
        }
        ReplyMode::On | ReplyMode::SkipNext => {}
    }
    if client.close_asap {
        After::Close
    } else {
        After::Continue
    }
}

/// Commands that act on the transaction itself (or the connection) run even inside MULTI;
/// everything else is queued.
fn runs_inside_multi(fullname: &str) -> bool {
    matches!(
        fullname,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

fn count_rejected(state: &mut State, cmd: &table::Command) {
    state.command_stats_mut(cmd.id).rejected_calls += 1;
}

/// A command refused while queueing makes the transaction's EXEC abort (EXECABORT).
fn refuse_in_multi(state: &mut State, client_id: ClientId, in_multi: bool) {
    if in_multi {
        if let Some(client) = state.clients.get_mut(&client_id) {
            client.multi_refused = true;
        }
    }
}

fn reject(state: &mut State, out: &mut ReplyBuf, text: String) {
    reject_bytes(state, out, text.as_bytes());
}

fn reject_bytes(state: &mut State, out: &mut ReplyBuf, text: &[u8]) {
    state.count_error(text);
    out.error_bytes(text);
}

pub fn auth_required(state: &State) -> bool {
    state.config.hot.requirepass_set
}

/// Redis's text: the name and the first arguments, each quoted, up to about 128 bytes, with the
/// client's bytes echoed as they came (C's `%.128s`: raw, cut at a NUL).
fn unknown_command_error(args: Args<'_>) -> Vec<u8> {
    let mut listed = Vec::new();
    for arg in args.iter().skip(1) {
        if listed.len() >= 128 {
            break;
        }
        let room = 128 - listed.len();
        listed.push(b'\'');
        listed.extend_from_slice(c_string(arg, room));
        listed.extend_from_slice(b"' ");
    }
    let mut text = b"ERR unknown command '".to_vec();
    text.extend_from_slice(c_string(&args[0], 128));
    text.extend_from_slice(b"', with args beginning with: ");
    text.extend_from_slice(&listed);
    text
}

/// What C's `%.{max}s` prints of `bytes`: up to the first NUL, at most `max` bytes.
fn c_string(bytes: &[u8], max: usize) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end.min(max)]
}

fn record_slowlog(state: &mut State, client_id: ClientId, args: Args<'_>, us: i64, now_ms: i64) {
    let threshold = state.config.hot.slowlog_log_slower_than;
    if threshold < 0 || us < threshold {
        return;
    }
    let (addr, name) = state
        .clients
        .get(&client_id)
        .map(|c| (c.addr.clone(), c.name.clone()))
        .unwrap_or_default();
    push_slowlog(state, args, us, now_ms, addr, name);
}

/// Logs a slow command a script ran: Redis shows its client, which has no connection, as `?:0`.
fn record_script_slowlog(state: &mut State, args: Args<'_>, us: i64, now_ms: i64) {
    let threshold = state.config.hot.slowlog_log_slower_than;
    if threshold < 0 || us < threshold {
        return;
    }
    push_slowlog(state, args, us, now_ms, "?:0".into(), Vec::new());
}

fn push_slowlog(
    state: &mut State,
    args: Args<'_>,
    us: i64,
    now_ms: i64,
    addr: String,
    name: Vec<u8>,
) {
    let max_len = state.config.hot.slowlog_max_len;
    // Redis keeps at most 32 arguments of at most 128 bytes each.
    let argc = args.len();
    let mut kept: Vec<Vec<u8>> = args
        .iter()
        .take(if argc > 32 { 31 } else { argc })
        .enumerate()
        .map(|(i, a)| {
            if monitor::is_redacted(args, i) {
                b"(redacted)".to_vec()
            } else if a.len() > 128 {
                let mut v = a[..128].to_vec();
                v.extend_from_slice(format!("... ({} more bytes)", a.len() - 128).as_bytes());
                v
            } else {
                a.to_vec()
            }
        })
        .collect();
    if argc > 32 {
        kept.push(format!("... ({} more arguments)", argc - 31).into_bytes());
    }
    let id = state.next_slowlog_id;
    state.next_slowlog_id += 1;
    state.slowlog.push_front(SlowlogEntry {
        id,
        at_s: now_ms / 1000,
        duration_us: us,
        args: kept,
        addr,
        name,
    });
    state.slowlog.truncate(max_len);
}

#[cfg(test)]
mod tests {
    use super::parse_block_timeout;

    fn parsed(arg: &str) -> Result<Option<i64>, String> {
        parse_block_timeout(arg.as_bytes(), 1_000).map_err(|e| e.0.into_owned())
    }

    #[test]
    fn block_timeouts_parse_as_redis_casts_them() {
        assert_eq!(parsed("0"), Ok(None));
        assert_eq!(parsed("1.5"), Ok(Some(2_500)));
        assert_eq!(parsed("0.0001"), Ok(None));
        assert_eq!(parsed("-0.0001"), Ok(None));
        let negative = Err("ERR timeout is negative".to_string());
        assert_eq!(parsed("-1"), negative);
        assert_eq!(parsed("inf"), negative);
        assert_eq!(parsed("9223372036854775807"), negative);
        let not_float = Err("ERR timeout is not a float or out of range".to_string());
        assert_eq!(parsed("abc"), not_float);
        assert_eq!(parsed(" 1"), not_float);
        assert_eq!(parsed("nan"), not_float);
        assert_eq!(parsed("1.5x"), not_float);
        // Between 2^53 and 2^63 ms Redis's cast is undefined behaviour and its answers vary;
        // those timeouts are centuries long either way.
    }
}
