//! One client connection: read what arrived, run every whole request in it under one hold of the
//! state lock, write all the replies with one write, repeat.

use std::cell::RefCell;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::futures::Notified;
use tokio::sync::Notify;

use crate::client::Client;
use crate::commands::table::{flags, CommandTable, Lookup};
use crate::commands::{self, After};
use crate::protocol::request::{Decoded, Limits, Request};
use crate::protocol::{ReplyBuf, Resp};
use crate::state::Shared;
use crate::store::clock::monotonic_ns;

const READ_CHUNK: usize = 16 * 1024;
/// Output buffers that grew past this (a large reply) are given back after the write.
const OUTPUT_KEEP: usize = 64 * 1024;

thread_local! {
    /// The read buffer the connections of a worker thread share: a connection reads into it
    /// and runs what arrived from it, and keeps a buffer of its own only while part of a
    /// request is left over. An idle connection then holds no read buffer, and the one buffer
    /// stays in the cache however many connections take turns.
    static SHARED_INPUT: RefCell<BytesMut> = RefCell::new(BytesMut::new());
}

/// Who is on the other end, as CLIENT LIST shows it.
pub struct Peer {
    pub addr: String,
    pub laddr: String,
    pub fd: i64,
    pub unix_socket: bool,
}

/// A stream whose readiness can be awaited apart from the read itself, so that a connection
/// needs no buffer while it waits.
pub trait Socket: AsyncRead + AsyncWrite + Unpin + Send + Sync {
    /// Ready once the stream is readable; the waker is kept in the stream's registration (as
    /// `poll_read` keeps it), so the wait holds no waiter of its own.
    fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>>;
    fn try_read_into(&self, buf: &mut BytesMut) -> std::io::Result<usize>;
}

/// Reads into `buf`'s spare room; a read that did not fill it emptied the socket, so the
/// readiness is dropped along with it (as tokio's own `poll_read` does): the next round waits
/// for new data instead of finding out with a read that returns nothing.
macro_rules! socket_impl {
    ($stream:ty) => {
        impl Socket for $stream {
            fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
                self.poll_read_ready(cx)
            }

            fn try_read_into(&self, buf: &mut BytesMut) -> std::io::Result<usize> {
                let room = buf.capacity() - buf.len();
                let mut got = 0;
                let drained = self.try_io(tokio::io::Interest::READABLE, || {
                    got = self.try_read_buf(buf)?;
                    if got > 0 && got < room {
                        Err(std::io::ErrorKind::WouldBlock.into())
                    } else {
                        Ok(got)
                    }
                });
                match drained {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && got > 0 => Ok(got),
                    other => other,
                }
            }
        }
    };
}

socket_impl!(tokio::net::TcpStream);
#[cfg(unix)]
socket_impl!(tokio::net::UnixStream);

/// `peer` comes boxed: the task's future keeps its arguments for as long as it runs, and every
/// idle connection holds one.
pub async fn serve<S: Socket>(shared: Arc<Shared>, mut stream: S, peer: Box<Peer>) {
    let mut input = BytesMut::new();
    let mut out = ReplyBuf::new(Resp::V2);
    let mut request = Request::default();
    let registered = {
        let mut state = loop {
            if let Some(state) = shared.lock_unless_busy() {
                break state;
            }
            // A busy script holds the state: answer what comes meanwhile without it.
            // Boxed, as the other rare waits below: the task's future is as large as its
            // largest wait, and every idle connection holds one.
            if !Box::pin(serve_unregistered_while_busy(
                &shared,
                &mut stream,
                &mut input,
                &mut request,
                &mut out,
            ))
            .await
            {
                return;
            }
        };
        let max = state.config.int("maxclients") as usize;
        state.stats.total_connections_received += 1;
        if state.clients.len() >= max {
            state.stats.rejected_connections += 1;
            None
        } else {
            let id = state.next_client_id;
            state.next_client_id += 1;
            // Out of its box, which goes at the block's end: moving fields out of `peer`
            // itself would keep the allocation for as long as the task.
            let peer = {
                let boxed = peer;
                *boxed
            };
            let mut client = Client::new(id, peer.addr, peer.laddr, peer.fd, shared.clock.now_ms());
            client.authenticated = !commands::auth_required(&state);
            client.is_unix_socket = peer.unix_socket;
            let task = client.task.clone();
            state.clients.insert(id, Box::new(client));
            Some((id, task))
        }
    };
    let Some((id, task)) = registered else {
        let _ = stream
            .write_all(b"-ERR max number of clients reached\r\n")
            .await;
        return;
    };
    tracing::debug!(id, "client connected");

    // Both waits live as long as the connection: re-creating them on every round would
    // register and unregister a waiter each time. The stop's is made before the flag is first
    // read, so a stop is either seen by the flag or wakes the wait.
    let stop_wakeup = shared.stop_wakeup.notified();
    tokio::pin!(stop_wakeup);
    let notified = task.wakeup.notified();
    tokio::pin!(notified);
    // Requests that arrived while a busy script kept this connection from registering run
    // at once.
    let mut outcome = Outcome {
        paused_for: (!input.is_empty()).then_some(Duration::ZERO),
        ..Outcome::default()
    };
    let mut last_read_ns = monotonic_ns();
    let mut more_output = false;
    let mut timer = None;

    while !outcome.close {
        if shared.stopping.load(Ordering::Acquire) {
            break;
        }
        let wake_in = outcome.wake_in(last_read_ns);
        let mut readable = false;
        let mut pushed = false;
        // Output queued while the last replies were being written is taken at once.
        if !std::mem::take(&mut more_output) {
            // Input first: a connection with requests waiting never polls the other two,
            // whose polls take a lock each. What others queued is taken by every round of
            // processing anyway, and a stop is seen at the top of the loop.
            tokio::select! {
                biased;
                ready = std::future::poll_fn(|cx| stream.poll_readable(cx)) => match ready {
                    Ok(()) => readable = true,
                    Err(_) => break,
                },
                _ = &mut notified => {
                    notified.set(task.wakeup.notified());
                    pushed = true;
                }
                _ = &mut stop_wakeup => break,
                _ = sleep_or_never(&mut timer, wake_in) => {
                    if outcome.idle_timeout.is_some_and(|t| since(last_read_ns) >= t) {
                        tracing::debug!(id, "closing idle client");
                        break;
                    }
                }
            }
        }
        if pushed {
            // Others queued output for this client (messages, a blocked command's reply): the
            // connections ready now run first, so that what they publish goes out in the same
            // write, as Redis writes each client's output once per event-loop round.
            tokio::task::yield_now().await;
        }
        outcome = if readable {
            match read_and_process(&shared, id, &stream, &mut input, &mut request, &mut out) {
                Read::Processed(outcome) => {
                    last_read_ns = monotonic_ns();
                    shared.busy_poll.input_arrived(last_read_ns);
                    outcome
                }
                Read::Nothing => continue,
                Read::Closed => break,
            }
        } else {
            process(&shared, id, &mut input, 0, &mut request, &mut out)
        };
        if input.is_empty() && input.capacity() > 0 {
            input = BytesMut::new();
        }
        if !out.buf.is_empty() {
            task.output_in_flight
                .store(out.buf.len(), Ordering::Relaxed);
            let written = write_unless_closed(
                &mut stream,
                &out.buf,
                &task.wakeup,
                notified.as_mut(),
                &shared,
                id,
            )
            .await;
            task.output_in_flight.store(0, Ordering::Relaxed);
            match written {
                Written::All { woken } => more_output = woken,
                Written::Closed => break,
            }
            out.buf.clear();
            if out.buf.capacity() > OUTPUT_KEEP {
                out.buf = Vec::new();
            }
        }
    }

    let _ = stream.shutdown().await;
    let mut state = Box::pin(shared.lock_when_not_busy()).await;
    crate::blocking::forget_client(&mut state, id);
    commands::transactions::forget_watches(&mut state, id);
    crate::pubsub::forget_client(&mut state, id);
    commands::monitor::stop(&mut state, id);
    state.clients.remove(&id);
    drop(state);
    tracing::debug!(id, "client disconnected");
}

/// What a read on a readable stream led to.
enum Read {
    /// Bytes arrived and what they completed ran.
    Processed(Outcome),
    /// The readiness was spurious.
    Nothing,
    /// The peer closed, or the read failed.
    Closed,
}

/// Reads what the stream has and runs the whole requests in it. A connection holding part of
/// a request reads the rest into its own buffer, after that part; otherwise the thread's
/// shared buffer takes the read, and the connection keeps only what is left of it once the
/// requests ran.
fn read_and_process<S: Socket>(
    shared: &Shared,
    id: u64,
    stream: &S,
    input: &mut BytesMut,
    request: &mut Request,
    out: &mut ReplyBuf,
) -> Read {
    if !input.is_empty() {
        return read_then_process(shared, id, stream, input, request, out);
    }
    SHARED_INPUT.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            let read = read_then_process(shared, id, stream, &mut buf, request, out);
            if !buf.is_empty() {
                input.extend_from_slice(&buf);
                buf.clear();
            }
            read
        }
        // The shared buffer is never lent across an await, so it is free whenever a
        // connection runs; should that ever not hold, the connection's own buffer serves.
        Err(_) => read_then_process(shared, id, stream, input, request, out),
    })
}

fn read_then_process<S: Socket>(
    shared: &Shared,
    id: u64,
    stream: &S,
    buf: &mut BytesMut,
    request: &mut Request,
    out: &mut ReplyBuf,
) -> Read {
    if buf.capacity() - buf.len() < 1024 {
        buf.reserve(READ_CHUNK);
    }
    match stream.try_read_into(buf) {
        Ok(0) => Read::Closed,
        Ok(n) => Read::Processed(process(shared, id, buf, n, request, out)),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Read::Nothing,
        Err(_) => Read::Closed,
    }
}

/// What the connection does after a round of processing.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// Close once the replies are written.
    close: bool,
    /// Requests are held by CLIENT PAUSE for this long.
    paused_for: Option<Duration>,
    /// The client waits in a blocking command (it is not idle meanwhile)...
    blocked: bool,
    /// ... until this long from now, if its command has a timeout.
    blocked_for: Option<Duration>,
    /// The `timeout` parameter: close after this long without a request.
    idle_timeout: Option<Duration>,
}

impl Outcome {
    fn closing() -> Self {
        Outcome {
            close: true,
            ..Outcome::default()
        }
    }

    /// When to look again without input: the end of a pause, a blocking command's timeout, or
    /// the idle deadline (a blocked client is not idle).
    fn wake_in(&self, last_read_ns: u64) -> Option<Duration> {
        let idle = if self.blocked {
            None
        } else {
            self.idle_timeout
                .map(|t| t.saturating_sub(since(last_read_ns)))
        };
        [self.paused_for, self.blocked_for, idle]
            .into_iter()
            .flatten()
            .min()
    }
}

/// How a write of the replies ended.
enum Written {
    /// All written; `woken`: someone queued more output for this client meanwhile.
    All { woken: bool },
    /// The peer went away, or the client was closed meanwhile.
    Closed,
}

/// Writes `buf` whole, unless the client is closed meanwhile (an output buffer limit passed, a
/// CLIENT KILL): a subscriber that does not read must not hold its task, or its memory, forever.
async fn write_unless_closed<'a, S>(
    stream: &mut S,
    buf: &[u8],
    waker: &'a Notify,
    mut notified: Pin<&mut Notified<'a>>,
    shared: &Shared,
    id: u64,
) -> Written
where
    S: AsyncWrite + Unpin,
{
    let mut written = 0;
    let mut woken = false;
    while written < buf.len() {
        tokio::select! {
            biased;
            result = stream.write(&buf[written..]) => match result {
                Ok(0) | Err(_) => return Written::Closed,
                Ok(n) => written += n,
            },
            _ = notified.as_mut() => {
                notified.set(waker.notified());
                let closing = shared
                    .state
                    .lock()
                    .clients
                    .get(&id)
                    .is_none_or(|c| c.close_asap);
                if closing {
                    return Written::Closed;
                }
                woken = true;
            }
        }
    }
    Written::All { woken }
}

/// Sleeps for `duration` on the connection's timer, made the first time one is needed and
/// reset after: most connections never set one, and a timer is large.
async fn sleep_or_never(
    timer: &mut Option<Pin<Box<tokio::time::Sleep>>>,
    duration: Option<Duration>,
) {
    let Some(duration) = duration else {
        return std::future::pending().await;
    };
    let deadline = tokio::time::Instant::now() + duration;
    let sleep = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
    sleep.as_mut().reset(deadline);
    sleep.await
}

/// Is this request held back by CLIENT PAUSE? ALL holds everything; WRITE holds commands that
/// write or may replicate (Redis's rule), so reads keep flowing.
fn held_by_pause(
    state: &crate::state::State,
    request: crate::protocol::Args<'_>,
    now_ms: i64,
) -> bool {
    if state.pause_until_ms <= now_ms {
        return false;
    }
    if !state.pause_writes_only {
        return true;
    }
    match CommandTable::get().lookup(request) {
        Lookup::Found(cmd) => cmd.has(flags::WRITE) || cmd.has(flags::MAY_REPLICATE),
        _ => false,
    }
}

/// Runs every whole request in `input` that may run now; `bytes_read` arrived since last time.
pub(super) fn process(
    shared: &Shared,
    id: u64,
    input: &mut BytesMut,
    bytes_read: usize,
    request: &mut Request,
    out: &mut ReplyBuf,
) -> Outcome {
    let Some(mut state) = shared.lock_unless_busy() else {
        return serve_while_busy(shared, input, request, out);
    };
    let logged_before = crate::persistence::aof::buffered(&state);
    let idle_timeout = match state.config.hot.timeout {
        0 => None,
        seconds => Some(Duration::from_secs(seconds)),
    };
    let Some(client) = state.clients.get_mut(&id) else {
        return Outcome::closing();
    };
    // Output others queued for us goes first: it was produced before these requests ran.
    if !client.pending_output.is_empty() {
        out.buf.extend_from_slice(&client.pending_output);
        client.pending_output.clear();
    }
    if client.close_asap {
        return Outcome::closing();
    }
    if let Some(blocked) = &client.blocked {
        let now_ms = shared.clock.now_ms();
        match blocked.deadline_ms {
            Some(deadline) if deadline <= now_ms => {
                crate::blocking::time_out(&mut state, id, out);
            }
            deadline => {
                // Still waiting: its input stays queued until it is served or times out.
                return Outcome {
                    blocked: true,
                    blocked_for: deadline
                        .map(|d| Duration::from_millis((d - now_ms).max(1) as u64)),
                    idle_timeout,
                    ..Outcome::default()
                };
            }
        }
    }
    let Some(client) = state.clients.get_mut(&id) else {
        return Outcome::closing();
    };
    let query_limit = shared.query_buffer_limit.load(Ordering::Relaxed);
    if input.len() as i64 > query_limit {
        tracing::warn!(id, "closing client that reached max query buffer length");
        return Outcome::closing();
    }
    let mut paused_for = None;
    let mut blocked = false;
    let mut blocked_for = None;
    client.query_buffer_len = input.len();
    state.stats.net_input_bytes += bytes_read as u64;

    let proto_max_bulk_len = shared.proto_max_bulk_len.load(Ordering::Relaxed);
    let mut consumed = 0;
    let mut close = false;
    while consumed < input.len() {
        let authenticated = state
            .clients
            .get(&id)
            .map(|c| c.authenticated)
            .unwrap_or(false);
        let limits = Limits {
            proto_max_bulk_len,
            authenticated,
        };
        let buf = &input[consumed..];
        match request.decode(buf, limits) {
            Decoded::Incomplete => break,
            Decoded::Skip(n) => consumed += n,
            Decoded::Error(text) => {
                tracing::debug!(id, text, "protocol error");
                out.error(text);
                close = true;
                break;
            }
            Decoded::Command(n) => {
                let now_ms = shared.clock.now_ms();
                if held_by_pause(&state, request.args(buf), now_ms) {
                    let remaining = (state.pause_until_ms - now_ms).max(1) as u64;
                    paused_for = Some(Duration::from_millis(remaining));
                    break;
                }
                let after = commands::run(shared, &mut state, id, request.args(buf), out);
                consumed += n;
                // Writes of this command may let blocked clients through, before anything else.
                if state.blocking.has_ready() {
                    crate::blocking::serve_ready(shared, &mut state);
                }
                match after {
                    After::Continue => {}
                    After::Close => {
                        close = true;
                        break;
                    }
                    After::Blocked => {
                        let deadline = state
                            .clients
                            .get(&id)
                            .and_then(|c| c.blocked.as_ref())
                            .and_then(|b| b.deadline_ms);
                        blocked = true;
                        blocked_for =
                            deadline.map(|d| Duration::from_millis((d - now_ms).max(1) as u64));
                        break;
                    }
                }
            }
        }
    }
    input.advance(consumed);
    // The batch's writes reach the AOF (and the disk, under `appendfsync always`) before its
    // replies are sent. Where Redis exits rather than acknowledge writes under `always` that
    // are not on disk, the client whose writes could not be logged is closed without replies
    // (a batch that logged nothing, reads, is answered).
    let logged_now = crate::persistence::aof::buffered(&state) > logged_before;
    if !crate::persistence::aof::flush_batch(&mut state) && logged_now {
        tracing::warn!(
            id,
            "Can't write the AOF under appendfsync always: closing the client unacknowledged"
        );
        out.buf.clear();
        return Outcome::closing();
    }
    state.stats.net_output_bytes += out.buf.len() as u64;
    let limits = state.config.hot.output_limits;
    if let Some(client) = state.clients.get_mut(&id) {
        // What is left unprocessed: CLIENT LIST's `qbuf` between requests.
        client.query_buffer_len = input.len();
        // The replies about to be written count against the client's output buffer limit too.
        client
            .task
            .output_in_flight
            .store(out.buf.len(), Ordering::Relaxed);
        if !crate::pubsub::check_output_limit(client, &limits, shared.clock.now_ms()) {
            out.buf.clear();
            return Outcome::closing();
        }
    }
    Outcome {
        close,
        paused_for,
        blocked,
        blocked_for,
        idle_timeout,
    }
}

/// How long ago `at_ns` (`monotonic_ns`) was.
fn since(at_ns: u64) -> Duration {
    Duration::from_nanos(monotonic_ns().saturating_sub(at_ns))
}

/// Answers the requests in `input` while a script that ran past busy-reply-threshold holds the
/// state: SCRIPT KILL, FUNCTION KILL and SHUTDOWN NOSAVE reach the script through its watch,
/// QUIT closes, everything else gets -BUSY.
fn serve_while_busy(
    shared: &Shared,
    input: &mut BytesMut,
    request: &mut Request,
    out: &mut ReplyBuf,
) -> Outcome {
    let watch = &shared.script_watch;
    let busy_error = if watch.is_function.load(Ordering::Acquire) {
        crate::scripting::BUSY_FUNCTION
    } else {
        crate::scripting::BUSY_EVAL
    };
    let limits = Limits {
        proto_max_bulk_len: shared.proto_max_bulk_len.load(Ordering::Relaxed),
        authenticated: true,
    };
    let mut consumed = 0;
    let mut close = false;
    while consumed < input.len() && !close {
        let buf = &input[consumed..];
        match request.decode(buf, limits) {
            Decoded::Incomplete => break,
            Decoded::Skip(n) => consumed += n,
            Decoded::Error(text) => {
                out.error(text);
                close = true;
            }
            Decoded::Command(n) => {
                if !watch.busy.load(Ordering::Acquire) {
                    // The script just ended: the rest runs normally, under the lock.
                    break;
                }
                consumed += n;
                let args = request.args(buf);
                let name = args.get(0);
                let sub_is = |word: &str| {
                    args.len() == 2 && args.get(1).eq_ignore_ascii_case(word.as_bytes())
                };
                if name.eq_ignore_ascii_case(b"script") && sub_is("kill") {
                    match crate::scripting::kill(watch, false) {
                        Ok(()) => out.ok(),
                        Err(text) => out.error(text),
                    }
                } else if name.eq_ignore_ascii_case(b"function") && sub_is("kill") {
                    match crate::scripting::kill(watch, true) {
                        Ok(()) => out.ok(),
                        Err(text) => out.error(text),
                    }
                } else if name.eq_ignore_ascii_case(b"function") && sub_is("stats") {
                    if let Err(text) = crate::scripting::function_stats(watch, out) {
                        out.error(text);
                    }
                } else if name.eq_ignore_ascii_case(b"shutdown")
                    && args
                        .iter()
                        .skip(1)
                        .any(|a| a.eq_ignore_ascii_case(b"nosave"))
                {
                    watch.kill.store(true, Ordering::Release);
                    shared.request_shutdown();
                    close = true;
                } else if name.eq_ignore_ascii_case(b"quit") {
                    out.ok();
                    close = true;
                } else {
                    out.error(busy_error);
                }
            }
        }
    }
    let leftover = consumed < input.len();
    input.advance(consumed);
    Outcome {
        close,
        // Look again soon: the script may end without anyone waking this connection, and
        // requests left in `input` then run normally.
        paused_for: Some(Duration::from_millis(if leftover { 1 } else { 10 })),
        ..Outcome::default()
    }
}

/// The same, for a connection that could not register yet because a busy script holds the
/// state. Returns false when the connection is to close.
async fn serve_unregistered_while_busy<S>(
    shared: &Shared,
    stream: &mut S,
    input: &mut BytesMut,
    request: &mut Request,
    out: &mut ReplyBuf,
) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    input.reserve(READ_CHUNK);
    tokio::select! {
        read = stream.read_buf(input) => match read {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        },
        _ = tokio::time::sleep(Duration::from_millis(10)) => {}
    }
    let outcome = serve_while_busy(shared, input, request, out);
    if !out.buf.is_empty() {
        if stream.write_all(&out.buf).await.is_err() {
            return false;
        }
        out.buf.clear();
    }
    !outcome.close
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use tokio::net::{TcpListener, TcpStream};

    async fn socket_pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    }

    /// Reads what `server` has once it is readable, as the connection loop does.
    async fn read_round(
        shared: &Shared,
        server: &TcpStream,
        input: &mut BytesMut,
        out: &mut ReplyBuf,
    ) -> Outcome {
        let mut request = Request::default();
        loop {
            std::future::poll_fn(|cx| server.poll_readable(cx))
                .await
                .unwrap();
            match read_and_process(shared, 1, server, input, &mut request, out) {
                Read::Processed(outcome) => return outcome,
                Read::Nothing => continue,
                Read::Closed => panic!("the connection closed"),
            }
        }
    }

    #[tokio::test]
    async fn only_a_partial_request_is_kept_by_the_connection() {
        let shared = Shared::new(Config::default());
        shared.state.lock().clients.insert(
            1,
            Box::new(Client::new(1, String::new(), String::new(), 0, 0)),
        );
        let (mut client, server) = socket_pair().await;
        let mut input = BytesMut::new();
        let mut out = ReplyBuf::new(Resp::V2);

        client
            .write_all(b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPI")
            .await
            .unwrap();
        read_round(&shared, &server, &mut input, &mut out).await;
        assert_eq!(out.buf, b"+PONG\r\n");
        assert_eq!(&input[..], b"*1\r\n$4\r\nPI");
        assert!(SHARED_INPUT.with(|buf| buf.borrow().is_empty()));

        out.buf.clear();
        client.write_all(b"NG\r\n").await.unwrap();
        read_round(&shared, &server, &mut input, &mut out).await;
        assert_eq!(out.buf, b"+PONG\r\n");
        assert!(input.is_empty());
    }

    #[tokio::test]
    async fn a_closed_peer_ends_the_read() {
        let shared = Shared::new(Config::default());
        let (client, server) = socket_pair().await;
        drop(client);
        std::future::poll_fn(|cx| server.poll_readable(cx))
            .await
            .unwrap();
        let mut input = BytesMut::new();
        let mut out = ReplyBuf::new(Resp::V2);
        let read = read_and_process(
            &shared,
            1,
            &server,
            &mut input,
            &mut Request::default(),
            &mut out,
        );
        assert!(matches!(read, Read::Closed));
    }
}
