//! Requests run through the command layer without a socket, the way a connection's loop runs
//! what it read: the criterion benches in `benches/` time the hot commands with it, free of the
//! kernel's share of a round trip. Not part of the embedding API.

use std::sync::Arc;

use bytes::BytesMut;

use crate::client::Client;
use crate::config::Config;
use crate::protocol::request::Request;
use crate::protocol::{ReplyBuf, Resp};
use crate::state::Shared;

const CLIENT_ID: u64 = 1;

/// The one client of a server that has no listener.
pub struct InProcess {
    shared: Arc<Shared>,
    input: BytesMut,
    request: Request,
    out: ReplyBuf,
}

impl InProcess {
    pub fn new(config: Config) -> Self {
        let shared = Shared::new(config);
        let now_ms = shared.clock.now_ms();
        shared.state.lock().clients.insert(
            CLIENT_ID,
            Box::new(Client::new(
                CLIENT_ID,
                String::new(),
                String::new(),
                0,
                now_ms,
            )),
        );
        InProcess {
            shared,
            input: BytesMut::new(),
            request: Request::default(),
            out: ReplyBuf::new(Resp::V2),
        }
    }

    /// Runs the whole requests in `requests` (and keeps a partial one for the next call), and
    /// returns their replies.
    pub fn run(&mut self, requests: &[u8]) -> &[u8] {
        self.out.buf.clear();
        self.input.extend_from_slice(requests);
        super::connection::process(
            &self.shared,
            CLIENT_ID,
            &mut self.input,
            requests.len(),
            &mut self.request,
            &mut self.out,
        );
        &self.out.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_requests_and_keeps_a_partial_one() {
        let mut server = InProcess::new(Config::default());
        assert_eq!(
            server.run(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nGET k\r\n*2\r\n$3\r\nGET"),
            b"+OK\r\n$1\r\nv\r\n"
        );
        assert_eq!(server.run(b"\r\n$1\r\nk\r\n"), b"$1\r\nv\r\n");
        assert_eq!(
            server.run(b"LPUSH l a b\r\nLPOP l\r\n"),
            b":2\r\n$1\r\nb\r\n"
        );
    }
}
