//! One client connection: read what arrived, run every whole request in it under one hold of the
//! state lock, write all the replies with one write, repeat.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::client::Client;
use crate::commands::{self, After};
use crate::protocol::request::{Decoded, Limits, Request};
use crate::protocol::{ReplyBuf, Resp};
use crate::state::Shared;

const READ_CHUNK: usize = 16 * 1024;
/// Output buffers that grew past this (a large reply) are given back after the write.
const OUTPUT_KEEP: usize = 64 * 1024;

/// Who is on the other end, as CLIENT LIST shows it.
pub struct Peer {
    pub addr: String,
    pub laddr: String,
    pub fd: i64,
    pub unix_socket: bool,
}

pub async fn serve<S>(shared: Arc<Shared>, mut stream: S, peer: Peer)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let registered = {
        let mut state = shared.state.lock();
        let max = state.config.int("maxclients") as usize;
        state.stats.total_connections_received += 1;
        if state.clients.len() >= max {
            state.stats.rejected_connections += 1;
            None
        } else {
            let id = state.next_client_id;
            state.next_client_id += 1;
            let mut client = Client::new(id, peer.addr, peer.laddr, peer.fd, shared.clock.now_ms());
            client.authenticated = !commands::auth_required(&state);
            client.is_unix_socket = peer.unix_socket;
            let waker = client.waker.clone();
            state.clients.insert(id, client);
            Some((id, waker))
        }
    };
    let Some((id, waker)) = registered else {
        let _ = stream
            .write_all(b"-ERR max number of clients reached\r\n")
            .await;
        return;
    };
    tracing::debug!(id, "client connected");

    let mut shutdown = shared.shutdown.subscribe();
    let mut input = BytesMut::with_capacity(READ_CHUNK);
    let mut out = ReplyBuf::new(Resp::V2);
    let mut request = Request::default();
    let mut closing = false;

    while !closing {
        if *shutdown.borrow() {
            break;
        }
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = waker.notified() => {}
            read = stream.read_buf(&mut input) => match read {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            },
        }
        closing = process(&shared, id, &mut input, &mut request, &mut out);
        if !out.buf.is_empty() {
            if stream.write_all(&out.buf).await.is_err() {
                break;
            }
            out.buf.clear();
            if out.buf.capacity() > OUTPUT_KEEP {
                out.buf = Vec::new();
            }
        }
        if input.capacity() - input.len() < 1024 {
            input.reserve(READ_CHUNK);
        }
    }

    let _ = stream.shutdown().await;
    shared.state.lock().clients.remove(&id);
    tracing::debug!(id, "client disconnected");
}

/// Runs every whole request in `input`; true when the connection must close after writing.
fn process(
    shared: &Shared,
    id: u64,
    input: &mut BytesMut,
    request: &mut Request,
    out: &mut ReplyBuf,
) -> bool {
    let mut state = shared.state.lock();
    let Some(client) = state.clients.get_mut(&id) else {
        return true;
    };
    // Output others queued for us goes first: it was produced before these requests ran.
    if !client.pending_output.is_empty() {
        out.buf.extend_from_slice(&client.pending_output);
        client.pending_output.clear();
    }
    if client.close_asap {
        return true;
    }
    let query_limit = shared.query_buffer_limit.load(Ordering::Relaxed);
    if input.len() as i64 > query_limit {
        tracing::warn!(id, "closing client that reached max query buffer length");
        return true;
    }
    client.query_buffer_len = input.len();
    state.stats.net_input_bytes += input.len() as u64;

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
                let after = commands::run(shared, &mut state, id, request.args(buf), out);
                consumed += n;
                if after == After::Close {
                    close = true;
                    break;
                }
            }
        }
    }
    input.advance(consumed);
    state.stats.net_output_bytes += out.buf.len() as u64;
    close
}
