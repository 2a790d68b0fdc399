//! The server family: INFO, CONFIG, TIME, LASTSAVE, SLOWLOG, MEMORY, SHUTDOWN.

use std::fmt::Write as _;

use super::command::{reply_help, subcommand_syntax_error};
use super::table::{command, container, CommandDef};
use super::{errors, CmdResult, Ctx};
use crate::config::{Config, ConfigError};
use crate::protocol::request::parse_i64;
use crate::state::State;
use crate::store::glob;

pub const COMMANDS: &[CommandDef] = &[
    command(
        "info",
        -1,
        "loading stale",
        "@dangerous",
        (0, 0, 0),
        "server",
        "1.0.0",
        "Reports the server's state and statistics, by section.",
        info,
    ),
    container(
        "config",
        "server",
        "2.0.0",
        "Reads and changes configuration parameters.",
        CONFIG,
    ),
    command(
        "time",
        1,
        "loading stale fast",
        "",
        (0, 0, 0),
        "server",
        "2.6.0",
        "Returns the server's time in seconds and microseconds.",
        time,
    ),
    command(
        "lastsave",
        1,
        "loading stale fast",
        "@admin @dangerous",
        (0, 0, 0),
        "server",
        "1.0.0",
        "Returns the Unix time of the last successful save.",
        lastsave,
    ),
    container(
        "slowlog",
        "server",
        "2.2.12",
        "Reads and resets the log of slow commands.",
        SLOWLOG,
    ),
    container("memory", "server", "4.0.0", "Reports memory use.", MEMORY),
    command(
        "shutdown",
        -1,
        "admin noscript loading stale no_multi allow_busy",
        "",
        (0, 0, 0),
        "server",
        "1.0.0",
        "Stops the server.",
        shutdown,
    ),
];

const CONFIG: &[CommandDef] = &[
    command(
        "get",
        -3,
        "admin noscript loading stale",
        "",
        (0, 0, 0),
        "server",
        "2.0.0",
        "Returns the parameters matching glob patterns, with their values.",
        config_get,
    ),
    command(
        "help",
        2,
        "loading stale",
        "",
        (0, 0, 0),
        "server",
        "5.0.0",
        "Lists the CONFIG subcommands.",
        config_help,
    ),
    command(
        "resetstat",
        2,
        "admin noscript loading stale",
        "",
        (0, 0, 0),
        "server",
        "2.0.0",
        "Resets the statistics INFO reports.",
        config_resetstat,
    ),
    command(
        "rewrite",
        2,
        "admin noscript loading stale",
        "",
        (0, 0, 0),
        "server",
        "2.8.0",
        "Writes the running configuration to the config file.",
        config_rewrite,
    ),
    command(
        "set",
        -4,
        "admin noscript loading stale",
        "",
        (0, 0, 0),
        "server",
        "2.0.0",
        "Sets parameters, all or none.",
        config_set,
    ),
];

const SLOWLOG: &[CommandDef] = &[
    command(
        "get",
        -2,
        "admin loading stale",
        "",
        (0, 0, 0),
        "server",
        "2.2.12",
        "Returns the most recent slow log entries.",
        slowlog_get,
    ),
    command(
        "help",
        2,
        "loading stale",
        "",
        (0, 0, 0),
        "server",
        "6.2.0",
        "Lists the SLOWLOG subcommands.",
        slowlog_help,
    ),
    command(
        "len",
        2,
        "admin loading stale",
        "",
        (0, 0, 0),
        "server",
        "2.2.12",
        "Returns the number of slow log entries.",
        slowlog_len,
    ),
    command(
        "reset",
        2,
        "admin loading stale",
        "",
        (0, 0, 0),
        "server",
        "2.2.12",
        "Empties the slow log.",
        slowlog_reset,
    ),
];

const MEMORY: &[CommandDef] = &[
    command(
        "help",
        2,
        "loading stale",
        "",
        (0, 0, 0),
        "server",
        "4.0.0",
        "Lists the MEMORY subcommands.",
        memory_help,
    ),
    command(
        "usage",
        -3,
        "readonly",
        "",
        (2, 2, 1),
        "server",
        "4.0.0",
        "Estimates the bytes a key and its value use.",
        memory_usage,
    ),
];

// ---- INFO ----------------------------------------------------------------------------------

/// INFO's sections in the order Redis prints them, and whether `default` includes each.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("latencystats", false),
    ("cluster", true),
    ("keyspace", true),
];

/// Which sections INFO's arguments ask for (Redis 7: several names, any case; unknown ones are
/// ignored; `all`, `everything` and `default` stand for groups).
fn wanted_sections(args: &[Vec<u8>]) -> Vec<&'static str> {
    let mut wanted = Vec::new();
    let mut add = |name: &'static str| {
        if !wanted.contains(&name) {
            wanted.push(name);
        }
    };
    let defaults = args.is_empty();
    for (name, in_default) in SECTIONS {
        let asked = defaults && *in_default
            || args.iter().any(|a| {
                a.eq_ignore_ascii_case(name.as_bytes())
                    || a.eq_ignore_ascii_case(b"all")
                    || a.eq_ignore_ascii_case(b"everything")
                    || (*in_default && a.eq_ignore_ascii_case(b"default"))
            });
        if asked {
            add(name);
        }
    }
    wanted
}

/// Redis's bytesToHuman.
fn human_bytes(n: u64) -> String {
    const UNITS: &[&str] = &["K", "M", "G", "T", "P"];
    if n < 1024 {
        return format!("{n}B");
    }
    let mut scale = 1024f64;
    for unit in UNITS {
        if (n as f64) < scale * 1024.0 {
            return format!("{:.2}{unit}", n as f64 / scale);
        }
        scale *= 1024.0;
    }
    format!("{n}B")
}

/// Entries sampled per database when estimating the average TTL.
const SAMPLE: usize = 32;

/// The resident set size from /proc, where there is one.
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// User and system CPU seconds of this process, from /proc (clock ticks of 1/100 s).
fn cpu_seconds() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces; the fields after it are fixed.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let sys: f64 = fields.get(12)?.parse().ok()?;
    Some((user / 100.0, sys / 100.0))
}

fn os_line() -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|r| r.trim().to_string())
        .unwrap_or_default();
    let mut os = std::env::consts::OS.to_string();
    if let Some(first) = os.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    format!("{os} {release} {}", std::env::consts::ARCH)
}

/// Everything INFO needs beyond the state.
struct InfoEnv {
    now_us: i64,
    tcp_port: i64,
}

fn render_info(state: &State, env: &InfoEnv, sections: &[&str]) -> String {
    let mut out = String::new();
    for (i, section) in sections.iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        render_section(&mut out, state, env, section);
    }
    out
}

macro_rules! field {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
        $out.push_str("\r\n");
    }};
}

fn render_section(out: &mut String, state: &State, env: &InfoEnv, section: &str) {
    let now_ms = env.now_us / 1000;
    let config = &state.config;
    match section {
        "server" => {
            let uptime = (now_ms - state.started_ms).max(0) / 1000;
            out.push_str("# Server\r\n");
            field!(out, "redis_version:{}", crate::REDIS_VERSION);
            field!(out, "redis_git_sha1:00000000");
            field!(out, "redis_git_dirty:0");
            field!(out, "redis_mode:standalone");
            field!(out, "os:{}", os_line());
            field!(out, "arch_bits:{}", usize::BITS);
            field!(out, "process_id:{}", std::process::id());
            field!(out, "process_supervised:no");
            field!(out, "run_id:{}", state.run_id);
            field!(out, "tcp_port:{}", env.tcp_port);
            field!(out, "server_time_usec:{}", env.now_us);
            field!(out, "uptime_in_seconds:{uptime}");
            field!(out, "uptime_in_days:{}", uptime / 86400);
            field!(out, "hz:{}", config.int("hz"));
            field!(out, "configured_hz:{}", config.int("hz"));
            field!(out, "lru_clock:{}", (now_ms / 1000) & ((1 << 24) - 1));
            let exe = std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            field!(out, "executable:{exe}");
            let file = config
                .file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            field!(out, "config_file:{file}");
            field!(out, "io_threads_active:0");
        }
        "clients" => {
            let max_in = state.clients.values().map(|c| c.query_buffer_len).max();
            let max_out = state.clients.values().map(|c| c.pending_output.len()).max();
            out.push_str("# Clients\r\n");
            field!(out, "connected_clients:{}", state.clients.len());
            field!(out, "cluster_connections:0");
            field!(out, "maxclients:{}", config.int("maxclients"));
            field!(
                out,
                "client_recent_max_input_buffer:{}",
                max_in.unwrap_or(0)
            );
            field!(
                out,
                "client_recent_max_output_buffer:{}",
                max_out.unwrap_or(0)
            );
            field!(
                out,
                "blocked_clients:{}",
                crate::blocking::blocked_count(state)
            );
            field!(out, "tracking_clients:0");
            field!(out, "clients_in_timeout_table:0");
        }
        "memory" => {
            let dataset = crate::memory::dataset_bytes(state);
            let clients = crate::memory::clients_bytes(state);
            let used = crate::memory::used_memory(state);
            let maxmemory = config.hot.maxmemory;
            out.push_str("# Memory\r\n");
            field!(out, "used_memory:{used}");
            field!(out, "used_memory_human:{}", human_bytes(used));
            if let Some(rss) = rss_bytes() {
                field!(out, "used_memory_rss:{rss}");
                field!(out, "used_memory_rss_human:{}", human_bytes(rss));
            }
            field!(out, "used_memory_overhead:{clients}");
            field!(out, "used_memory_dataset:{dataset}");
            field!(out, "maxmemory:{maxmemory}");
            field!(out, "maxmemory_human:{}", human_bytes(maxmemory));
            field!(out, "maxmemory_policy:{}", config.text("maxmemory-policy"));
            field!(
                out,
                "mem_allocator:{}",
                state.memory_probe.map_or("libc", |probe| probe.allocator)
            );
        }
        "persistence" => {
            let p = &state.persistence;
            out.push_str("# Persistence\r\n");
            field!(out, "loading:{}", i32::from(p.loading));
            field!(out, "async_loading:0");
            // Copy-on-write sizes and save progress are not measured: a forked child's
            // pages are the kernel's business.
            field!(out, "current_cow_peak:0");
            field!(out, "current_cow_size:0");
            field!(out, "current_cow_size_age:0");
            field!(out, "current_fork_perc:0.00");
            field!(out, "current_save_keys_processed:0");
            field!(out, "current_save_keys_total:0");
            field!(out, "rdb_changes_since_last_save:{}", state.dirty);
            field!(
                out,
                "rdb_bgsave_in_progress:{}",
                i32::from(p.child.is_some())
            );
            field!(out, "rdb_last_save_time:{}", state.lastsave_s);
            field!(
                out,
                "rdb_last_bgsave_status:{}",
                if p.last_save_ok { "ok" } else { "err" }
            );
            field!(out, "rdb_last_bgsave_time_sec:{}", p.last_bgsave_seconds);
            field!(
                out,
                "rdb_current_bgsave_time_sec:{}",
                p.child.map_or(-1, |c| (now_ms - c.started_ms) / 1000)
            );
            field!(out, "rdb_saves:{}", p.saves);
            field!(out, "rdb_last_cow_size:0");
            field!(out, "rdb_last_load_keys_expired:{}", p.last_load_expired);
            field!(out, "rdb_last_load_keys_loaded:{}", p.last_load_loaded);
            let aof = p.aof.as_ref();
            let status = |ok: bool| if ok { "ok" } else { "err" };
            field!(out, "aof_enabled:{}", i32::from(aof.is_some()));
            field!(
                out,
                "aof_rewrite_in_progress:{}",
                i32::from(aof.is_some_and(|a| a.rewrite.is_some()))
            );
            field!(
                out,
                "aof_rewrite_scheduled:{}",
                i32::from(aof.is_some_and(|a| a.rewrite_scheduled))
            );
            field!(
                out,
                "aof_last_rewrite_time_sec:{}",
                aof.map_or(-1, |a| a.last_rewrite_seconds)
            );
            field!(
                out,
                "aof_current_rewrite_time_sec:{}",
                aof.and_then(|a| a.rewrite)
                    .map_or(-1, |r| (now_ms - r.started_ms) / 1000)
            );
            field!(
                out,
                "aof_last_bgrewrite_status:{}",
                status(aof.is_none_or(|a| a.last_rewrite_ok))
            );
            field!(out, "aof_rewrites:{}", aof.map_or(0, |a| a.rewrites));
            field!(
                out,
                "aof_rewrites_consecutive_failures:{}",
                aof.map_or(0, |a| a.rewrite_failures_in_a_row)
            );
            field!(
                out,
                "aof_last_write_status:{}",
                status(aof.is_none_or(|a| a.last_write_error.is_none()))
            );
            field!(out, "aof_last_cow_size:0");
            field!(out, "module_fork_in_progress:0");
            field!(out, "module_fork_last_cow_size:0");
            if let Some(aof) = aof {
                field!(out, "aof_current_size:{}", aof.current_size);
                field!(out, "aof_base_size:{}", aof.base_size);
                field!(
                    out,
                    "aof_pending_rewrite:{}",
                    i32::from(aof.rewrite_scheduled)
                );
                field!(out, "aof_buffer_length:{}", aof.buf.len());
                field!(out, "aof_pending_bio_fsync:0");
                field!(out, "aof_delayed_fsync:0");
            }
            if p.loading {
                field!(out, "loading_start_time:{}", p.loading_started_s);
                field!(out, "loading_total_bytes:{}", p.loading_total_bytes);
            }
        }
        "stats" => {
            let s = &state.stats;
            out.push_str("# Stats\r\n");
            field!(
                out,
                "total_connections_received:{}",
                s.total_connections_received
            );
            field!(
                out,
                "total_commands_processed:{}",
                s.total_commands_processed
            );
            field!(out, "total_net_input_bytes:{}", s.net_input_bytes);
            field!(out, "total_net_output_bytes:{}", s.net_output_bytes);
            field!(out, "rejected_connections:{}", s.rejected_connections);
            field!(out, "expired_keys:{}", s.expired_keys);
            field!(out, "evicted_keys:{}", state.eviction.evicted_keys);
            let (current_exceeded_ms, total_exceeded_ms) = state.eviction.exceeded_ms();
            field!(out, "evicted_clients:0");
            field!(out, "total_eviction_exceeded_time:{total_exceeded_ms}");
            field!(out, "current_eviction_exceeded_time:{current_exceeded_ms}");
            field!(out, "keyspace_hits:{}", s.keyspace_hits);
            field!(out, "keyspace_misses:{}", s.keyspace_misses);
            let (channels, patterns, shard_channels) = crate::pubsub::totals(state);
            field!(out, "pubsub_channels:{}", channels);
            field!(out, "pubsub_patterns:{}", patterns);
            field!(out, "pubsubshard_channels:{}", shard_channels);
            field!(out, "total_error_replies:{}", s.total_error_replies);
        }
        "replication" => {
            out.push_str("# Replication\r\n");
            field!(out, "role:master");
            field!(out, "connected_slaves:0");
            field!(out, "master_failover_state:no-failover");
            field!(out, "master_replid:{}", state.replid);
            field!(
                out,
                "master_replid2:0000000000000000000000000000000000000000"
            );
            field!(out, "master_repl_offset:0");
            field!(out, "second_repl_offset:-1");
            field!(out, "repl_backlog_active:0");
        }
        "cpu" => {
            out.push_str("# CPU\r\n");
            if let Some((user, sys)) = cpu_seconds() {
                field!(out, "used_cpu_sys:{sys:.6}");
                field!(out, "used_cpu_user:{user:.6}");
            }
        }
        "modules" => out.push_str("# Modules\r\n"),
        "commandstats" => {
            out.push_str("# Commandstats\r\n");
            for (name, st) in state.used_command_stats() {
                let per_call = if st.calls == 0 {
                    0.0
                } else {
                    st.usec as f64 / st.calls as f64
                };
                field!(
                    out,
                    "cmdstat_{name}:calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}",
                    st.calls,
                    st.usec,
                    st.rejected_calls,
                    st.failed_calls
                );
            }
        }
        "latencystats" => {
            out.push_str("# Latencystats\r\n");
            for (name, st) in state.used_command_stats() {
                let latency = &st.latency;
                if latency.is_empty() {
                    continue;
                }
                // Redis's default latency-tracking-info-percentiles, in microseconds.
                let us = |p: f64| latency.value_at(p) as f64 / 1000.0;
                field!(
                    out,
                    "latency_percentiles_usec_{name}:p50={:.3},p99={:.3},p99.9={:.3}",
                    us(50.0),
                    us(99.0),
                    us(99.9)
                );
            }
        }
        "errorstats" => {
            out.push_str("# Errorstats\r\n");
            for (code, count) in &state.error_stats {
                field!(out, "errorstat_{code}:count={count}");
            }
        }
        "cluster" => {
            out.push_str("# Cluster\r\n");
            field!(out, "cluster_enabled:0");
        }
        "keyspace" => {
            out.push_str("# Keyspace\r\n");
            let mut sample = Vec::with_capacity(SAMPLE);
            for (i, db) in state.dbs.iter().enumerate() {
                if db.keys.is_empty() {
                    continue;
                }
                sample.clear();
                db.expires.sample(SAMPLE, &mut sample);
                let ttls: Vec<i64> = sample
                    .iter()
                    .map(|(_, &at)| at - now_ms)
                    .filter(|&ttl| ttl > 0)
                    .collect();
                let avg_ttl = if ttls.is_empty() {
                    0
                } else {
                    ttls.iter().sum::<i64>() / ttls.len() as i64
                };
                field!(
                    out,
                    "db{i}:keys={},expires={},avg_ttl={avg_ttl}",
                    db.keys.len(),
                    db.expires.len()
                );
            }
        }
        _ => {}
    }
}

fn info(ctx: &mut Ctx) -> CmdResult {
    ctx.state.collect_counters();
    let args: Vec<Vec<u8>> = ctx.args.iter().skip(1).map(<[u8]>::to_vec).collect();
    let sections = wanted_sections(&args);
    let tcp_port = ctx
        .shared
        .local_addr
        .lock()
        .map(|a| a.port() as i64)
        .unwrap_or_else(|| ctx.state.config.int("port"));
    let env = InfoEnv {
        now_us: ctx.shared.clock.now_us(),
        tcp_port,
    };
    let text = render_info(ctx.state, &env, &sections);
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

// ---- CONFIG --------------------------------------------------------------------------------

fn has_glob(pattern: &[u8]) -> bool {
    pattern.iter().any(|b| matches!(b, b'*' | b'?' | b'['))
}

/// The (name, value) pairs CONFIG GET answers for `patterns`: exact names as the client wrote
/// them, glob patterns against every parameter, each parameter once.
fn config_matches(config: &Config, patterns: &[&[u8]]) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    let seen = |found: &Vec<(String, String)>, name: &str| {
        found.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    for pattern in patterns {
        if !has_glob(pattern) {
            let name = String::from_utf8_lossy(pattern).into_owned();
            if seen(&found, &name) {
                continue;
            }
            if let Some(value) = config.get(&name) {
                found.push((name, value.to_string()));
            }
            continue;
        }
        for (name, value) in config.all() {
            if !seen(&found, name) && glob::matches(pattern, name.as_bytes(), true) {
                found.push((name.to_string(), value.to_string()));
            }
        }
    }
    found
}

fn config_get(ctx: &mut Ctx) -> CmdResult {
    let patterns: Vec<&[u8]> = ctx.args.iter().skip(2).collect();
    let found = config_matches(&ctx.state.config, &patterns);
    ctx.out.map(found.len());
    for (name, value) in found {
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk(value.as_bytes());
    }
    Ok(())
}

fn config_set(ctx: &mut Ctx) -> CmdResult {
    if ctx.argc() % 2 == 1 {
        return Err(errors::SYNTAX.into());
    }
    let pairs: Vec<(String, String)> = (2..ctx.argc())
        .step_by(2)
        .map(|i| (ctx.arg_str(i).into_owned(), ctx.arg_str(i + 1).into_owned()))
        .collect();
    // Every name is checked before anything is set, and the first problem is the one reported.
    let mut problem: Option<String> = None;
    for (i, (name, _)) in pairs.iter().enumerate() {
        if problem.is_some() {
            break;
        }
        if !Config::is_known(name) {
            problem = Some(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
            ));
        } else if is_immutable(&ctx.state.config, name) {
            problem = Some(set_failed(name, "can't set immutable config"));
        } else if pairs[..i].iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            problem = Some(set_failed(name, "duplicate parameter"));
        }
    }
    if let Some(text) = problem {
        return Err(text.into());
    }
    let mut updated = ctx.state.config.clone();
    for (name, value) in &pairs {
        match updated.set(name, value) {
            Ok(()) => {}
            Err(ConfigError::Unknown) => {
                return Err(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                )
                .into())
            }
            Err(ConfigError::Immutable) => {
                return Err(set_failed(name, "can't set immutable config").into())
            }
            Err(ConfigError::Invalid(why)) => return Err(set_failed(name, &why).into()),
        }
    }
    let aof_was_on = ctx.state.config.flag("appendonly");
    let aof_on = updated.flag("appendonly");
    if aof_was_on != aof_on {
        #[cfg(unix)]
        if crate::persistence::aof::set_enabled(ctx.state, aof_on, ctx.now_ms).is_err() {
            return Err(
                set_failed("appendonly", "Unable to turn on AOF. Check server logs.").into(),
            );
        }
    }
    let maxmemory_lowered = updated.hot.maxmemory != 0
        && (ctx.state.config.hot.maxmemory == 0
            || updated.hot.maxmemory < ctx.state.config.hot.maxmemory);
    ctx.state.config = updated;
    ctx.state.config_changed();
    ctx.shared.refresh_cached_config(&ctx.state.config);
    if maxmemory_lowered {
        // As Redis's updateMaxmemory: evict now rather than at the next write.
        crate::memory::invalidate_reading(ctx.state);
        let used = crate::memory::used_memory(ctx.state);
        let maxmemory = ctx.state.config.hot.maxmemory;
        if maxmemory < used {
            tracing::warn!(
                "WARNING: the new maxmemory value set via CONFIG SET ({maxmemory}) is smaller than the current memory usage ({used}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy."
            );
        }
        crate::memory::perform_evictions(ctx.state, ctx.now_ms);
    }
    ctx.out.ok();
    Ok(())
}

/// Whether CONFIG SET refuses `name` whatever the value: setting its current value tells.
fn is_immutable(config: &Config, name: &str) -> bool {
    let current = config.get(name).unwrap_or_default().to_string();
    matches!(
        config.clone().set(name, &current),
        Err(ConfigError::Immutable)
    )
}

fn set_failed(name: &str, why: &str) -> String {
    format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
}

fn config_resetstat(ctx: &mut Ctx) -> CmdResult {
    ctx.state.stats = Default::default();
    ctx.state.command_stats.clear();
    ctx.state.error_stats.clear();
    ctx.out.ok();
    Ok(())
}

/// How a value is written in a config file: bare when it is one plain word (or, for the
/// list-valued `bind` and `save`, several), quoted with escapes otherwise.
fn config_file_value(name: &str, value: &str) -> String {
    let plain = |c: char| c.is_ascii_graphic() && c != '"' && c != '\'' && c != '\\';
    let list = matches!(name, "bind" | "save");
    if !value.is_empty() && value.chars().all(|c| plain(c) || (list && c == ' ')) {
        return value.to_string();
    }
    let mut quoted = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            c if c.is_ascii_graphic() || c == ' ' => quoted.push(c),
            c => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(quoted, "\\x{b:02x}");
                }
            }
        }
    }
    quoted.push('"');
    quoted
}

/// The config file with every parameter that differs from its default written in: a line
/// already naming it is replaced (later duplicates dropped), others are appended; comments and
/// lines Understudy does not know are kept as they are.
fn rewrite_config_text(old: &str, config: &Config) -> String {
    let changed: Vec<(&str, &str)> = config.non_defaults().collect();
    let mut written: Vec<&str> = Vec::new();
    let mut out = String::new();
    for line in old.lines() {
        let directive = line
            .split_whitespace()
            .next()
            .filter(|w| !w.starts_with('#'))
            .map(str::to_ascii_lowercase);
        let Some(directive) = directive.filter(|d| Config::is_known(d)) else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        if let Some(&(name, value)) = changed.iter().find(|(n, _)| *n == directive) {
            if !written.contains(&name) {
                written.push(name);
                let _ = writeln!(out, "{name} {}", config_file_value(name, value));
            }
        }
        // A known parameter back at its default: its line goes, the default applies.
    }
    let missing: Vec<&(&str, &str)> = changed
        .iter()
        .filter(|(n, _)| !written.contains(n))
        .collect();
    if !missing.is_empty() {
        out.push_str("# Generated by CONFIG REWRITE\n");
        for (name, value) in missing {
            let _ = writeln!(out, "{name} {}", config_file_value(name, value));
        }
    }
    out
}

fn config_rewrite(ctx: &mut Ctx) -> CmdResult {
    let Some(path) = ctx.state.config.file.clone() else {
        return Err("ERR The server is running without a config file".into());
    };
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let text = rewrite_config_text(&old, &ctx.state.config);
    std::fs::write(&path, text).map_err(|e| format!("ERR Rewriting config file: {e}"))?;
    ctx.out.ok();
    Ok(())
}

fn config_help(ctx: &mut Ctx) -> CmdResult {
    reply_help(
        ctx.out,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
    Ok(())
}

// ---- TIME, LASTSAVE, SHUTDOWN -------------------------------------------------------------

fn time(ctx: &mut Ctx) -> CmdResult {
    let now_us = ctx.shared.clock.now_us();
    ctx.out.array(2);
    ctx.out.bulk_int(now_us / 1_000_000);
    ctx.out.bulk_int(now_us % 1_000_000);
    Ok(())
}

fn lastsave(ctx: &mut Ctx) -> CmdResult {
    ctx.out.int(ctx.state.lastsave_s);
    Ok(())
}

fn shutdown(ctx: &mut Ctx) -> CmdResult {
    let (mut save, mut nosave, mut abort, mut other) = (false, false, false, false);
    for i in 1..ctx.argc() {
        if ctx.arg_is(i, "nosave") {
            nosave = true;
        } else if ctx.arg_is(i, "save") {
            save = true;
        } else if ctx.arg_is(i, "now") || ctx.arg_is(i, "force") {
            other = true;
        } else if ctx.arg_is(i, "abort") {
            abort = true;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    if (abort && (save || nosave || other)) || (save && nosave) {
        return Err(errors::SYNTAX.into());
    }
    if abort {
        // Shutting down never waits (there are no replicas to wait for), so there is never a
        // shutdown in progress to abort.
        return Err("ERR No shutdown in progress.".into());
    }
    let now = ctx.now_ms;
    if crate::persistence::shutdown_save(ctx.state, now, save, nosave).is_err() && !other_force(ctx)
    {
        return Err("ERR Errors trying to SHUTDOWN. Check logs.".into());
    }
    crate::persistence::aof::shutdown(ctx.state);
    // As in Redis, a successful SHUTDOWN sends no reply: the connection just closes.
    ctx.client().close_asap = true;
    ctx.shared.request_shutdown();
    Ok(())
}

/// SHUTDOWN ... FORCE: exit even when the final save failed.
fn other_force(ctx: &Ctx) -> bool {
    (1..ctx.argc()).any(|i| ctx.arg_is(i, "force"))
}

// ---- SLOWLOG -------------------------------------------------------------------------------

fn slowlog_get(ctx: &mut Ctx) -> CmdResult {
    if ctx.argc() > 3 {
        return Err(subcommand_syntax_error(ctx, "SLOWLOG"));
    }
    let len = ctx.state.slowlog.len();
    let mut count = 10usize.min(len);
    if ctx.argc() == 3 {
        let n = parse_i64(ctx.arg(2))
            .filter(|&n| n >= -1)
            .ok_or("ERR count should be greater than or equal to -1")?;
        count = if n == -1 {
            len
        } else {
            (n as u64).min(len as u64) as usize
        };
    }
    ctx.out.array(count);
    for entry in ctx.state.slowlog.iter().take(count) {
        ctx.out.array(6);
        ctx.out.int(entry.id as i64);
        ctx.out.int(entry.at_s);
        ctx.out.int(entry.duration_us);
        ctx.out.array(entry.args.len());
        for arg in &entry.args {
            ctx.out.bulk(arg);
        }
        ctx.out.bulk(entry.addr.as_bytes());
        ctx.out.bulk(&entry.name);
    }
    Ok(())
}

fn slowlog_len(ctx: &mut Ctx) -> CmdResult {
    ctx.out.int(ctx.state.slowlog.len() as i64);
    Ok(())
}

fn slowlog_reset(ctx: &mut Ctx) -> CmdResult {
    ctx.state.slowlog.clear();
    ctx.out.ok();
    Ok(())
}

fn slowlog_help(ctx: &mut Ctx) -> CmdResult {
    reply_help(
        ctx.out,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
    Ok(())
}

// ---- MEMORY --------------------------------------------------------------------------------

fn memory_usage(ctx: &mut Ctx) -> CmdResult {
    let mut i = 3;
    while i < ctx.argc() {
        if ctx.arg_is(i, "samples") && i + 1 < ctx.argc() {
            let samples = parse_i64(ctx.arg(i + 1)).ok_or(errors::NOT_INTEGER)?;
            if samples < 0 {
                return Err(errors::SYNTAX.into());
            }
            // Values are not sampled: every type so far is measured whole.
            i += 2;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    let key = ctx.arg(2);
    // Like Redis, this looks the key up without expiring it.
    let keys = &ctx.db().keys;
    let usage = keys
        .get(key)
        .map(|entry| keys.node_bytes() + key.len() + entry.value.heap_bytes());
    match usage {
        Some(bytes) => ctx.out.int(bytes as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

fn memory_help(ctx: &mut Ctx) -> CmdResult {
    reply_help(
        ctx.out,
        "MEMORY",
        &[
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn commandstats_count_by_full_name_in_name_order() {
        let mut server = crate::net::in_process::InProcess::new(Config::default());
        server.run(b"SET k v\r\nGET k\r\nGET k\r\nCONFIG GET port\r\nINCR k\r\nGET\r\n");
        let info = String::from_utf8(server.run(b"INFO commandstats\r\n").to_vec()).unwrap();
        // (name, calls, rejected_calls, failed_calls); usec varies.
        let rows: Vec<(String, String, String, String)> = info
            .lines()
            .filter_map(|line| line.strip_prefix("cmdstat_"))
            .map(|line| {
                let (name, fields) = line.split_once(':').unwrap();
                let field = |key: &str| {
                    fields
                        .split(',')
                        .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
                        .unwrap()
                        .to_string()
                };
                let counts = (
                    field("calls"),
                    field("rejected_calls"),
                    field("failed_calls"),
                );
                (name.to_string(), counts.0, counts.1, counts.2)
            })
            .collect();
        let expected = [
            ("config|get", "1", "0", "0"),
            ("get", "2", "1", "0"),
            ("incr", "1", "0", "1"),
            ("set", "1", "0", "0"),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(n, c, r, f)| (n.to_string(), c.to_string(), r.to_string(), f.to_string()))
            .collect();
        assert_eq!(rows, expected);
        server.run(b"CONFIG RESETSTAT\r\n");
        let info = String::from_utf8(server.run(b"INFO commandstats\r\n").to_vec()).unwrap();
        // As in Redis, the reset counts itself once it is done.
        let listed: Vec<&str> = info
            .lines()
            .filter_map(|line| line.strip_prefix("cmdstat_")?.split_once(':'))
            .map(|(name, _)| name)
            .collect();
        assert_eq!(listed, ["config|resetstat"]);
    }

    #[test]
    fn section_selection() {
        let default = wanted_sections(&[]);
        assert_eq!(default.first(), Some(&"server"));
        assert!(!default.contains(&"commandstats"));
        assert!(default.contains(&"keyspace"));
        assert!(wanted_sections(&args(&["all"])).contains(&"commandstats"));
        assert!(wanted_sections(&args(&["everything"])).contains(&"latencystats"));
        assert!(!default.contains(&"latencystats"));
        assert_eq!(
            wanted_sections(&args(&["KEYSPACE", "server", "nope"])),
            vec!["server", "keyspace"]
        );
        assert!(wanted_sections(&args(&["nope"])).is_empty());
    }

    #[test]
    fn info_text_shape() {
        let mut state = State::new(Config::default(), 1_000_000);
        state.dbs[0].set(b"k", b"v".as_slice().into());
        state.dbs[0].set_deadline(b"k", 1_010_000);
        let env = InfoEnv {
            now_us: 1_005_000_000,
            tcp_port: 6379,
        };
        let text = render_info(&state, &env, &["server", "keyspace"]);
        assert!(text.starts_with("# Server\r\nredis_version:7.2.4\r\n"));
        assert!(text.contains("\r\nuptime_in_seconds:5\r\n"));
        assert!(text.contains("\r\ntcp_port:6379\r\n"));
        assert!(text.ends_with("\r\n\r\n# Keyspace\r\ndb0:keys=1,expires=1,avg_ttl=5000\r\n"));
    }

    #[test]
    fn human_sizes_like_redis() {
        assert_eq!(human_bytes(1023), "1023B");
        assert_eq!(human_bytes(965_720), "943.09K");
        assert_eq!(human_bytes(7_081_984), "6.75M");
        assert_eq!(human_bytes(25_276_502_016), "23.54G");
    }

    #[test]
    fn config_get_matching() {
        let config = Config::default();
        let found = config_matches(&config, &[b"MAXMEMORY", b"maxmemory*", b"nope"]);
        let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "MAXMEMORY",
                "maxmemory-policy",
                "maxmemory-samples",
                "maxmemory-eviction-tenacity"
            ]
        );
        let found = config_matches(&config, &[b"*slowlog*"]);
        assert_eq!(found.len(), 2);
        assert!(config_matches(&config, &[b"x*"]).is_empty());
    }

    #[test]
    fn rewrite_replaces_appends_and_drops() {
        let mut config = Config::default();
        config.set("hz", "20").unwrap();
        config.set("requirepass", "a b").unwrap();
        let old = "# my file\nhz 10\nhz 11\nunknown-thing 1\ntimeout 0\n";
        let text = rewrite_config_text(old, &config);
        assert_eq!(
            text,
            "# my file\nhz 20\nunknown-thing 1\n# Generated by CONFIG REWRITE\nrequirepass \"a b\"\n"
        );
    }
}
