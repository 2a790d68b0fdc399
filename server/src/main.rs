//! The `understudy` binary, with redis-server's conventions:
//! `understudy [/path/to/redis.conf] [--port 6380] [--any-parameter value ...]`.

use std::process::ExitCode;

use understudy::{Config, MemoryProbe, Server, REDIS_VERSION};

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc returns freed pages to the system from a thread of its own, as redis-server has it
/// do (`jemalloc-bg-thread yes`): otherwise the purge runs inside whatever call frees, and a
/// mass expiry or a big DEL stalls the command loop for milliseconds at a time.
#[cfg(not(target_env = "msvc"))]
fn purge_in_background() {
    if let Err(e) = tikv_jemalloc_ctl::background_thread::write(true) {
        tracing::warn!("jemalloc: no background purging thread: {e}");
    }
}

/// jemalloc's count of allocated bytes (its statistics refresh when the epoch advances).
#[cfg(not(target_env = "msvc"))]
fn jemalloc_allocated() -> u64 {
    let _ = tikv_jemalloc_ctl::epoch::advance();
    tikv_jemalloc_ctl::stats::allocated::read().unwrap_or(0) as u64
}

#[cfg(not(target_env = "msvc"))]
const MEMORY_PROBE: Option<MemoryProbe> = Some(MemoryProbe {
    allocated: jemalloc_allocated,
    allocator: "jemalloc",
});
#[cfg(target_env = "msvc")]
const MEMORY_PROBE: Option<MemoryProbe> = None;

const USAGE: &str = "\
Usage: understudy [/path/to/redis.conf] [options] [-]
       understudy -v or --version
       understudy -h or --help

Options are redis.conf parameters written as flags, for example:
       understudy --port 7777
       understudy /etc/redis/6379.conf --loglevel verbose --requirepass secret
       understudy --save \"\" --appendonly no --databases 32 --unixsocket /tmp/u.sock";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-v" || a == "--version") {
        println!(
            "Redis server v={REDIS_VERSION} sha=00000000:0 malloc={} bits=64 build=understudy-{}",
            MEMORY_PROBE.map_or("libc", |p| p.allocator),
            env!("CARGO_PKG_VERSION")
        );
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let config = match config_from_args(&args) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("\n*** FATAL CONFIG FILE ERROR (Understudy {REDIS_VERSION}) ***\n{message}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(&config);
    #[cfg(not(target_env = "msvc"))]
    purge_in_background();
    // Multi-threaded even with one worker: a script running past busy-reply-threshold hands
    // the other connections to a fresh worker (block_in_place), which answers them -BUSY and
    // lets SCRIPT KILL through. A current-thread runtime could serve nobody until it ends.
    let threads = config.int("io-threads").max(1) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("could not start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        // Installed before the server says it is ready, so that a SIGTERM sent as soon as it
        // does is a graceful shutdown, not the default kill.
        let mut signals = ShutdownSignals::install();
        let mut builder = Server::builder().with_config(config);
        if let Some(probe) = MEMORY_PROBE {
            builder = builder.memory_probe(probe);
        }
        let server = match builder.start().await {
            Ok(server) => server,
            Err(e) => {
                tracing::error!("{e}");
                return ExitCode::FAILURE;
            }
        };
        let stopper = server.stopper();
        tokio::spawn(async move {
            // As in Redis, a shutdown whose final save fails leaves the server running; the
            // next signal tries again.
            while signals.next().await {
                if stopper.terminate() {
                    break;
                }
                tracing::warn!(
                    "SIGTERM received but errors trying to shut down the server, check the logs for more information"
                );
            }
        });
        server.wait().await;
        tracing::info!("Understudy is now ready to exit, bye bye...");
        ExitCode::SUCCESS
    })
}

/// A config file (first argument, unless it is an option), then `--name value...` pairs; a
/// flag's value is every word up to the next `--flag`, as redis-server reads them.
fn config_from_args(args: &[String]) -> Result<Config, String> {
    let mut config = Config::default();
    let mut rest = args;
    if let Some(first) = args.first() {
        if !first.starts_with("--") {
            let text = if first == "-" {
                std::io::read_to_string(std::io::stdin()).map_err(|e| e.to_string())?
            } else {
                std::fs::read_to_string(first)
                    .map_err(|e| format!("Fatal error, can't open config file '{first}': {e}"))?
            };
            config.load_file_text(&text)?;
            if first != "-" {
                config.file = Some(std::fs::canonicalize(first).unwrap_or_else(|_| first.into()));
            }
            rest = &args[1..];
        }
    }
    let mut lines = String::new();
    for arg in rest {
        if let Some(name) = arg.strip_prefix("--") {
            lines.push('\n');
            lines.push_str(name);
        } else {
            lines.push(' ');
            lines.push_str(&quote(arg));
        }
    }
    config.load_file_text(&lines)?;
    Ok(config)
}

/// Quotes a flag value so that the config-file reader takes it as one word (`--save ""`).
fn quote(word: &str) -> String {
    let mut quoted = String::from("\"");
    for c in word.chars() {
        match c {
            '"' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            '\n' => quoted.push_str("\\n"),
            _ => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

fn init_logging(config: &Config) {
    let level = match config.text("loglevel") {
        "debug" => "debug",
        "verbose" => "debug",
        "warning" => "warn",
        "nothing" => "off",
        _ => "info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("UNDERSTUDY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let logfile = config.text("logfile").to_string();
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if logfile.is_empty() {
        builder.init();
    } else {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&logfile)
        {
            Ok(file) => builder
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .init(),
            Err(e) => {
                builder.init();
                tracing::warn!("can't open the log file {logfile}: {e}");
            }
        }
    }
}

/// SIGTERM and SIGINT, installed at once; `next` waits for the next one (false if they could
/// not be installed, when nothing will ever arrive).
struct ShutdownSignals {
    #[cfg(unix)]
    handlers: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl ShutdownSignals {
    #[cfg(unix)]
    fn install() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        let handlers = match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(term), Ok(int)) => Some((term, int)),
            _ => None,
        };
        ShutdownSignals { handlers }
    }

    #[cfg(unix)]
    async fn next(&mut self) -> bool {
        let Some((term, int)) = self.handlers.as_mut() else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => tracing::warn!("Received SIGTERM scheduling shutdown..."),
            _ = int.recv() => tracing::warn!("Received SIGINT scheduling shutdown..."),
        }
        true
    }

    #[cfg(not(unix))]
    fn install() -> Self {
        ShutdownSignals {}
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> bool {
        tokio::signal::ctrl_c().await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_become_parameters() {
        let c = config_from_args(&args(&[
            "--port",
            "7001",
            "--save",
            "",
            "--appendonly",
            "yes",
            "--save",
            "900",
            "1",
        ]))
        .unwrap();
        assert_eq!(c.int("port"), 7001);
        assert_eq!(c.get("save"), Some("900 1"));
        assert!(c.flag("appendonly"));
    }

    #[test]
    fn unknown_flags_are_errors() {
        assert!(config_from_args(&args(&["--no-such-thing", "1"])).is_err());
    }
}
