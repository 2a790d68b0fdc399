//! Accepting connections, on TCP and on a Unix socket.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use super::connection::{serve, Peer};
use crate::state::Shared;

/// Binds every address of `bind` (Redis's syntax: space-separated, a leading `-` meaning "skip
/// if unavailable") on `port`. Port 0 binds the first address on a free port and the others on
/// the same one.
pub async fn bind_tcp(bind: &str, port: u16) -> std::io::Result<Vec<TcpListener>> {
    let mut listeners: Vec<TcpListener> = Vec::new();
    let mut port = port;
    for word in bind.split_whitespace() {
        let (optional, host) = match word.strip_prefix('-') {
            Some(host) => (true, host),
            None => (false, word),
        };
        let host = match host {
            "*" => "0.0.0.0",
            "::*" => "::",
            other => other,
        };
        let addr = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        match TcpListener::bind(&addr).await {
            Ok(listener) => {
                if port == 0 {
                    port = listener.local_addr()?.port();
                }
                listeners.push(listener);
            }
            Err(e) if optional => tracing::debug!("skipping optional bind {addr}: {e}"),
            Err(e) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("could not bind {addr}: {e}"),
                ))
            }
        }
    }
    if listeners.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "no address to listen on",
        ));
    }
    Ok(listeners)
}

pub async fn accept_tcp(shared: Arc<Shared>, listener: TcpListener) {
    let mut shutdown = shared.shutdown.subscribe();
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let fd = raw_fd(&stream);
        let peer = Peer {
            addr: display_addr(peer),
            laddr: local.clone(),
            fd,
            unix_socket: false,
        };
        tokio::spawn(serve(shared.clone(), stream, Box::new(peer)));
    }
}

#[cfg(unix)]
pub async fn accept_unix(shared: Arc<Shared>, listener: tokio::net::UnixListener, path: String) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        let fd = {
            use std::os::fd::AsRawFd;
            stream.as_raw_fd() as i64
        };
        let peer = Peer {
            addr: format!("{path}:0"),
            laddr: path.clone(),
            fd,
            unix_socket: true,
        };
        tokio::spawn(serve(shared.clone(), stream, Box::new(peer)));
    }
    let _ = std::fs::remove_file(&path);
}

fn display_addr(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => a.to_string(),
        SocketAddr::V6(a) => format!("{}:{}", a.ip(), a.port()),
    }
}

#[cfg(unix)]
fn raw_fd(stream: &tokio::net::TcpStream) -> i64 {
    use std::os::fd::AsRawFd;
    stream.as_raw_fd() as i64
}

#[cfg(not(unix))]
fn raw_fd(_stream: &tokio::net::TcpStream) -> i64 {
    -1
}
