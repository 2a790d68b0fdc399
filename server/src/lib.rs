//! Understudy: a Redis-compatible server, as a library and as the `understudy` binary.
//!
//! Start one inside a test, on a free port, and point any Redis client at it:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use std::time::Duration;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let server = understudy::Server::builder().port(0).start().await?;
//! let mut conn = tokio::net::TcpStream::connect(server.addr()).await?;
//! conn.write_all(b"SET session abc EX 60\r\nTTL session\r\n").await?;
//! let mut reply = vec![0; 64];
//! let mut got = 0;
//! while got < 9 {
//!     got += conn.read(&mut reply[got..]).await?;
//! }
//! assert_eq!(&reply[..got], b"+OK\r\n:60\r\n");
//!
//! // Move the server's clock: the key's 60 seconds are over at once.
//! server.advance_time(Duration::from_secs(61));
//! conn.write_all(b"GET session\r\n").await?;
//! let n = conn.read(&mut reply).await?;
//! assert_eq!(&reply[..n], b"$-1\r\n");
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Each server is fully isolated: its own keyspace, clock, config and clients, so a test suite
//! may start one per test.

mod blocking;
mod client;
mod commands;
pub mod config;
mod cron;
mod latency;
mod memory;
mod net;
mod notify;
mod persistence;
pub mod protocol;
mod pubsub;
mod scripting;
mod state;
mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use config::Config;
#[doc(hidden)]
pub use net::in_process::InProcess;
pub use state::MemoryProbe;
use state::Shared;
use tokio::task::JoinHandle;

/// The Redis version Understudy reports (HELLO, INFO) and behaves as.
pub const REDIS_VERSION: &str = "7.2.4";

/// Entry point of the embedding API.
pub struct Server;

impl Server {
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }
}

/// Configures a server before it starts. Defaults: loopback, port 6379, no password, 16
/// databases; any Redis parameter Understudy has can be set with [`ServerBuilder::config`].
#[derive(Debug, Clone)]
pub struct ServerBuilder {
    config: Config,
    errors: Vec<String>,
    memory_probe: Option<MemoryProbe>,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        let mut config = Config::default();
        // An embedded server listens on IPv4 loopback only unless told otherwise, and takes
        // no snapshots unless asked (`save` rules, SAVE, BGSAVE), so that tests leave no files.
        config
            .set_at_startup("bind", "127.0.0.1")
            .expect("bind is a parameter");
        config
            .set_at_startup("save", "")
            .expect("save is a parameter");
        ServerBuilder {
            config,
            errors: Vec::new(),
            memory_probe: None,
        }
    }
}

impl ServerBuilder {
    /// The TCP port; 0 picks a free one (see [`ServerHandle::addr`]).
    pub fn port(self, port: u16) -> Self {
        self.config("port", &port.to_string())
    }

    /// Addresses to listen on, in redis.conf's `bind` syntax (`"127.0.0.1 ::1"`).
    pub fn bind(self, addresses: &str) -> Self {
        self.config("bind", addresses)
    }

    /// Require clients to AUTH with this password.
    pub fn requirepass(self, password: &str) -> Self {
        self.config("requirepass", password)
    }

    pub fn databases(self, count: usize) -> Self {
        self.config("databases", &count.to_string())
    }

    /// Also listen on a Unix socket at `path`.
    pub fn unix_socket(self, path: &str) -> Self {
        self.config("unixsocket", path)
    }

    /// Sets any parameter by its redis.conf name; an invalid one makes `start` fail.
    pub fn config(mut self, name: &str, value: &str) -> Self {
        if let Err(e) = self.config.set_at_startup(name, value) {
            self.errors.push(format!("{name}: {e:?}"));
        }
        self
    }

    /// Uses a whole configuration (as the binary builds it from flags and a config file).
    pub fn with_config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Tells the server how to read the bytes the process has allocated (from the global
    /// allocator's statistics), for INFO's `used_memory`. Without it, INFO reports an estimate
    /// computed from the keyspace's tables and a sample of its values.
    pub fn memory_probe(mut self, probe: MemoryProbe) -> Self {
        self.memory_probe = Some(probe);
        self
    }

    /// Binds the listeners and starts serving on the current tokio runtime.
    pub async fn start(self) -> std::io::Result<ServerHandle> {
        if !self.errors.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                self.errors.join("; "),
            ));
        }
        let config = self.config;
        let port = u16::try_from(config.int("port")).unwrap_or(6379);
        let bind = config.text("bind").to_string();
        let unix_socket = config.text("unixsocket").to_string();
        let unix_perm = u32::from_str_radix(config.text("unixsocketperm"), 8).unwrap_or(0);
        let shared = Shared::new(config);
        shared.state.lock().memory_probe = self.memory_probe;
        let mut tasks = Vec::new();

        let listeners = if port == 0 && bind.is_empty() {
            Vec::new()
        } else {
            net::listener::bind_tcp(&bind, port).await?
        };
        let addr = match listeners.first() {
            Some(l) => Some(l.local_addr()?),
            None => None,
        };
        *shared.local_addr.lock() = addr;
        for listener in listeners {
            tasks.push(tokio::spawn(net::listener::accept_tcp(
                shared.clone(),
                listener,
            )));
        }
        #[cfg(unix)]
        if !unix_socket.is_empty() {
            let _ = std::fs::remove_file(&unix_socket);
            let listener = tokio::net::UnixListener::bind(&unix_socket)?;
            if unix_perm != 0 {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&unix_socket, std::fs::Permissions::from_mode(unix_perm))?;
            }
            tasks.push(tokio::spawn(net::listener::accept_unix(
                shared.clone(),
                listener,
                unix_socket.clone(),
            )));
        }
        load_data(&shared).await?;
        tasks.push(tokio::spawn(cron::run(shared.clone())));
        tasks.push(tokio::spawn(net::busy_poll::run(shared.clone())));
        match addr {
            Some(addr) => tracing::info!("Ready to accept connections tcp on {addr}"),
            None => tracing::info!("Ready to accept connections"),
        }
        Ok(ServerHandle {
            shared,
            addr,
            tasks,
        })
    }

    /// Starts the server on a runtime of its own, in a background thread, for synchronous tests.
    /// The runtime is multi-threaded (one worker) so that a script running past
    /// `busy-reply-threshold` leaves the other connections served (-BUSY, SCRIPT KILL).
    pub fn start_blocking(self) -> std::io::Result<BlockingServerHandle> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let handle = runtime.block_on(self.start())?;
        let shared = handle.shared.clone();
        let addr = handle.addr;
        let thread = std::thread::Builder::new()
            .name("understudy".into())
            .spawn(move || runtime.block_on(handle.wait()))?;
        Ok(BlockingServerHandle {
            shared,
            addr,
            thread: Some(thread),
        })
    }
}

/// Loads the data at start: from the AOF when `appendonly` is on and one exists (it wins over
/// the RDB file, as in Redis), otherwise from the RDB file; then, with `appendonly` on, opens
/// the AOF for the writes to come, creating it (its base is the data just loaded) if needed.
async fn load_data(shared: &Arc<Shared>) -> std::io::Result<()> {
    let config = shared.state.lock().config.clone();
    if !config.flag("appendonly") {
        return load_snapshot(shared).await;
    }
    let invalid = |text: String| std::io::Error::new(std::io::ErrorKind::InvalidData, text);
    let manifest = persistence::aof::read_manifest(&config).map_err(invalid)?;
    match &manifest {
        Some(manifest) => {
            {
                let mut state = shared.state.lock();
                state.persistence.loading = true;
                state.persistence.loading_started_s = shared.clock.now_ms() / 1000;
            }
            let (loader, manifest) = (shared.clone(), manifest.clone());
            let loaded =
                tokio::task::spawn_blocking(move || persistence::aof::load(&loader, &manifest))
                    .await;
            shared.state.lock().persistence.loading = false;
            match loaded {
                Ok(Ok(())) => {}
                Ok(Err(text)) => return Err(invalid(text)),
                Err(e) => return Err(std::io::Error::other(e)),
            }
        }
        None => load_snapshot(shared).await?,
    }
    let mut state = shared.state.lock();
    let aof = persistence::aof::Aof::open(&state, manifest, shared.clock.now_ms())?;
    state.persistence.aof = Some(aof);
    Ok(())
}

/// Loads `dir/dbfilename` if it exists. The listeners already accept connections: until the
/// file is in, commands get `-LOADING` as Redis answers while it loads. A file that cannot be
/// read stops the start, as it stops Redis.
async fn load_snapshot(shared: &Arc<Shared>) -> std::io::Result<()> {
    let config = shared.state.lock().config.clone();
    let Some(bytes) = persistence::read_snapshot(&config)? else {
        return Ok(());
    };
    let count = {
        let mut state = shared.state.lock();
        state.persistence.loading = true;
        state.persistence.loading_total_bytes = bytes.len() as u64;
        state.persistence.loading_started_s = shared.clock.now_ms() / 1000;
        state.dbs.len()
    };
    let now_ms = shared.clock.now_ms();
    let parsed = tokio::task::spawn_blocking(move || {
        persistence::parse_snapshot(&bytes, &config, count, now_ms)
    })
    .await;
    let mut state = shared.state.lock();
    state.persistence.loading = false;
    match parsed {
        Ok(Ok(loaded)) => {
            persistence::install(&mut state, loaded);
            Ok(())
        }
        Ok(Err(e)) => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("Fatal error loading the DB: {e}. Exiting."),
        )),
        Err(e) => Err(std::io::Error::other(e)),
    }
}

/// A running server. Dropping it stops the server (without waiting); [`ServerHandle::shutdown`]
/// stops it and waits until every connection is closed.
pub struct ServerHandle {
    shared: Arc<Shared>,
    addr: Option<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
}

impl ServerHandle {
    /// The TCP address the server listens on (with the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr.expect("the server listens on TCP")
    }

    /// `redis://host:port`, ready for any client library.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr())
    }

    /// Moves this server's clock forward: TTLs, expiry and TIME behave as if `by` had passed.
    pub fn advance_time(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// Stops the server and waits for its listeners and background tasks to finish.
    pub async fn shutdown(mut self) {
        self.shared.request_shutdown();
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }

    /// Waits until the server stops (by SHUTDOWN, or a shutdown requested elsewhere).
    pub async fn wait(mut self) {
        let mut stopped = self.shared.shutdown.subscribe();
        let _ = stopped.wait_for(|stop| *stop).await;
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }

    /// A handle that can stop the server from elsewhere (a signal handler).
    pub fn stopper(&self) -> Stopper {
        Stopper(self.shared.clone())
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shared.request_shutdown();
    }
}

/// Stops a server from another task or thread.
#[derive(Clone)]
pub struct Stopper(Arc<Shared>);

impl Stopper {
    pub fn stop(&self) {
        self.0.request_shutdown();
    }

    /// Stops the server as SIGTERM stops Redis: with a final snapshot when `save` rules are
    /// set.
    /// Returns false, and leaves the server running, when the final snapshot fails, as Redis
    /// refuses to exit then.
    pub fn terminate(&self) -> bool {
        {
            let mut state = self.0.state.lock();
            let now_ms = self.0.clock.now_ms();
            if let Err(e) = persistence::shutdown_save(&mut state, now_ms, false, false) {
                tracing::warn!("Error trying to save the DB, can't exit: {e}");
                return false;
            }
            persistence::aof::shutdown(&mut state);
        }
        self.0.request_shutdown();
        true
    }
}

/// A server running on its own thread; see [`ServerBuilder::start_blocking`].
pub struct BlockingServerHandle {
    shared: Arc<Shared>,
    addr: Option<SocketAddr>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BlockingServerHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr.expect("the server listens on TCP")
    }

    pub fn url(&self) -> String {
        format!("redis://{}", self.addr())
    }

    pub fn advance_time(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// Stops the server and waits for its thread to finish.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.shared.request_shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for BlockingServerHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}
