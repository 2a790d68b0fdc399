//! Snapshots of the keyspace in Redis's RDB format: SAVE, BGSAVE (in a forked child, as Redis
//! does, so that the copy costs only the pages written meanwhile), save rules, and loading the
//! file at start-up.
//!
//! A snapshot is written to a temporary file in `dir`, flushed to disk, then renamed over
//! `dbfilename`: a crash at any point leaves either the old file or the new one, never half.

pub mod aof;
pub mod crc64;
pub mod lzf;
pub mod packed;
pub mod propagate;
pub mod rdb;

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::state::State;
use crate::store::Db;

/// What INFO's persistence section and the save machinery track.
#[derive(Debug)]
pub struct Persistence {
    /// The child writing a BGSAVE snapshot, and when it started (ms) with `dirty` at that time.
    pub child: Option<Child>,
    /// A BGSAVE asked for inside a transaction, started by the cron.
    pub bgsave_scheduled: bool,
    /// Whether the last save (foreground or background) succeeded: `rdb_last_bgsave_status`.
    pub last_save_ok: bool,
    /// When the last BGSAVE was attempted (ms), to wait before retrying a failed one.
    pub last_bgsave_try_ms: i64,
    /// Duration of the last BGSAVE, in seconds; -1 before the first.
    pub last_bgsave_seconds: i64,
    /// Saves that completed, for INFO's `rdb_saves`.
    pub saves: u64,
    /// What the last load found: INFO's `rdb_last_load_keys_loaded` and `..._expired`.
    pub last_load_loaded: usize,
    pub last_load_expired: usize,
    /// True while a file is being loaded: commands get `-LOADING`.
    pub loading: bool,
    /// Bytes of the file being loaded, and how many are done (INFO while loading).
    pub loading_total_bytes: u64,
    pub loading_started_s: i64,
    /// The append-only file, while `appendonly` is on.
    pub aof: Option<aof::Aof>,
    /// The child of a BGREWRITEAOF run while the AOF is off.
    pub offline_rewrite: Option<i32>,
}

impl Default for Persistence {
    fn default() -> Self {
        Persistence {
            child: None,
            bgsave_scheduled: false,
            last_save_ok: true,
            last_bgsave_try_ms: 0,
            last_bgsave_seconds: -1,
            saves: 0,
            last_load_loaded: 0,
            last_load_expired: 0,
            loading: false,
            loading_total_bytes: 0,
            loading_started_s: 0,
            aof: None,
            offline_rewrite: None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Child {
    pub pid: i32,
    pub started_ms: i64,
    pub dirty_at_start: u64,
}

/// `dir/dbfilename`.
pub fn rdb_path(config: &Config) -> PathBuf {
    Path::new(config.text("dir")).join(config.text("dbfilename"))
}

/// The `save` rules: (seconds, changes) pairs.
pub fn save_rules(config: &Config) -> Vec<(i64, u64)> {
    let words: Vec<&str> = config.text("save").split_whitespace().collect();
    words
        .chunks_exact(2)
        .filter_map(|pair| Some((pair[0].parse().ok()?, pair[1].parse().ok()?)))
        .collect()
}

/// Writes the snapshot of `state` to `dir/dbfilename` through a temporary file named after
/// `pid` (the process doing the writing).
pub fn write_snapshot(state: &State, now_ms: i64, pid: u32) -> std::io::Result<()> {
    let path = rdb_path(&state.config);
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!("temp-{pid}.rdb"));
    let result = write_rdb(state, &tmp, now_ms, false).and_then(|()| {
        std::fs::rename(&tmp, &path)?;
        // The rename itself must reach the disk for the new file to survive a crash.
        File::open(dir).and_then(|d| d.sync_all())
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes the data as an RDB file at `path` and fsyncs it; `aof_base` marks it as the base of
/// an append-only file (the `aof-base` aux field).
pub fn write_rdb(state: &State, path: &Path, now_ms: i64, aof_base: bool) -> std::io::Result<()> {
    let file = File::create(path)?;
    let config = &state.config;
    let mut w = rdb::Writer::new(
        BufWriter::with_capacity(1 << 16, file),
        config.flag("rdbcompression"),
    );
    w.header()?;
    w.aux("redis-ver", crate::REDIS_VERSION.as_bytes())?;
    w.aux("redis-bits", b"64")?;
    w.aux("ctime", (now_ms / 1000).to_string().as_bytes())?;
    let used_memory = state.memory_probe.map_or(0, |probe| (probe.allocated)());
    w.aux("used-mem", used_memory.to_string().as_bytes())?;
    w.aux("aof-base", if aof_base { b"1" } else { b"0" })?;
    for library in state.scripting.functions.libraries.values() {
        w.function(&library.code)?;
    }
    let usage = rdb::Usage::for_policy(config.text("maxmemory-policy"));
    for (index, db) in state.dbs.iter().enumerate() {
        if db.keys.is_empty() {
            continue;
        }
        w.select_db(index, db.keys.len(), db.expires.len())?;
        for (key, entry) in db.keys.iter() {
            w.key(key, entry, db.deadline(key), usage, now_ms)?;
        }
    }
    w.finish(config.flag("rdbchecksum"))?;
    let file = w.into_inner().into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
}

/// SAVE: writes the snapshot now, in this process, and records the outcome.
pub fn save(state: &mut State, now_ms: i64) -> std::io::Result<()> {
    let result = write_snapshot(state, now_ms, std::process::id());
    match &result {
        Ok(()) => {
            state.dirty = 0;
            state.lastsave_s = now_ms / 1000;
            state.persistence.last_save_ok = true;
            state.persistence.saves += 1;
            tracing::info!("DB saved on disk");
        }
        Err(e) => {
            state.persistence.last_save_ok = false;
            tracing::warn!("Failed saving the DB: {e}");
        }
    }
    result
}

/// The bytes of `dir/dbfilename`, or `None` when there is no such file.
pub fn read_snapshot(config: &Config) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(rdb_path(config)) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A snapshot parsed into databases of its own, ready to be installed.
pub struct Loaded {
    dbs: Vec<Db>,
    report: rdb::LoadReport,
}

/// Parses an RDB image into `count` new databases, without touching the server's state, so
/// that it can run while the server answers `-LOADING`.
pub fn parse_snapshot(
    bytes: &[u8],
    config: &Config,
    count: usize,
    now_ms: i64,
) -> Result<Loaded, rdb::RdbError> {
    let mut dbs: Vec<Db> = (0..count).map(|_| Db::default()).collect();
    let verify = config.flag("rdbchecksum");
    let report = rdb::load(
        bytes,
        &mut dbs,
        &rdb::LoadLimits(&config.hot),
        now_ms,
        verify,
    )?;
    Ok(Loaded { dbs, report })
}

/// Replaces the keyspace with a parsed snapshot; how many keys it held.
pub fn install(state: &mut State, loaded: Loaded) -> usize {
    for (target, mut db) in state.dbs.iter_mut().zip(loaded.dbs) {
        let (keys, expires) = db.take_all();
        target.keys = keys;
        target.expires = expires;
    }
    for code in loaded.report.functions {
        let functions = &mut state.scripting.functions;
        let installed = functions
            .create(&code)
            .and_then(|library| functions.install(vec![library], true));
        if let Err(e) = installed {
            tracing::warn!(
                "Failed loading a function library from the snapshot: {}",
                e.0
            );
        }
    }
    state.persistence.last_load_loaded = loaded.report.keys;
    state.persistence.last_load_expired = loaded.report.expired_skipped;
    tracing::info!(
        "Done loading RDB, keys loaded: {}, keys expired: {}.",
        loaded.report.keys,
        loaded.report.expired_skipped
    );
    loaded.report.keys
}

/// Forks a child that writes the snapshot while the parent goes on serving (BGSAVE). The
/// child sees the state as it is at the fork, shares its memory copy-on-write, and leaves with
/// `_exit` so that nothing of the parent's runtime runs in it.
#[cfg(unix)]
pub fn start_bgsave(state: &mut State, now_ms: i64) -> std::io::Result<()> {
    state.persistence.last_bgsave_try_ms = now_ms;
    // SAFETY: the child only serializes the state it inherited (reachable through `state`,
    // which this thread holds locked), writes a file and exits with `_exit`; it touches no
    // lock another thread might have held at the fork, and the allocators (jemalloc, glibc's
    // malloc) make themselves usable in the child with their own fork handlers.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        state.persistence.last_save_ok = false;
        return Err(std::io::Error::last_os_error());
    }
    if pid == 0 {
        let ok = write_snapshot(state, now_ms, std::process::id()).is_ok();
        // SAFETY: ends the child at once, running no destructors or atexit handlers of the
        // parent's runtime.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    tracing::info!("Background saving started by pid {pid}");
    state.persistence.child = Some(Child {
        pid,
        started_ms: now_ms,
        dirty_at_start: state.dirty,
    });
    Ok(())
}

/// Checks on the BGSAVE child without waiting (from the cron): records its outcome once it
/// has exited.
#[cfg(unix)]
pub fn reap_child(state: &mut State, now_ms: i64) {
    let Some(child) = state.persistence.child else {
        return;
    };
    let mut status = 0;
    // SAFETY: waitpid on our own child's pid with a valid pointer to an int.
    let done = unsafe { libc::waitpid(child.pid, &mut status, libc::WNOHANG) };
    if done == 0 {
        return;
    }
    state.persistence.child = None;
    state.persistence.last_bgsave_seconds = (now_ms - child.started_ms) / 1000;
    let ok = done == child.pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    if ok {
        tracing::info!("Background saving terminated with success");
        state.dirty = state.dirty.saturating_sub(child.dirty_at_start);
        state.lastsave_s = now_ms / 1000;
        state.persistence.last_save_ok = true;
        state.persistence.saves += 1;
    } else {
        tracing::warn!("Background saving error");
        state.persistence.last_save_ok = false;
        let dir = rdb_path(&state.config);
        if let Some(dir) = dir.parent() {
            let _ = std::fs::remove_file(dir.join(format!("temp-{}.rdb", child.pid)));
        }
    }
}

/// Kills a BGSAVE child (before a foreground save or at shutdown), as Redis does.
#[cfg(unix)]
pub fn kill_child(state: &mut State) {
    if let Some(child) = state.persistence.child.take() {
        let mut status = 0;
        // SAFETY: signals and waits for our own child.
        unsafe {
            libc::kill(child.pid, libc::SIGUSR1);
            libc::waitpid(child.pid, &mut status, 0);
        }
        if let Some(dir) = rdb_path(&state.config).parent() {
            let _ = std::fs::remove_file(dir.join(format!("temp-{}.rdb", child.pid)));
        }
    }
}

/// The save Redis makes on its way down (prepareForShutdown): a BGSAVE in progress is killed,
/// then the snapshot is written if `save` rules are set and NOSAVE was not asked, or if SAVE
/// was.
#[cfg(unix)]
pub fn shutdown_save(
    state: &mut State,
    now_ms: i64,
    save_asked: bool,
    nosave_asked: bool,
) -> std::io::Result<()> {
    kill_child(state);
    if save_asked || (!nosave_asked && !save_rules(&state.config).is_empty()) {
        tracing::info!("Saving the final RDB snapshot before exiting.");
        save(state, now_ms)?;
    }
    Ok(())
}

/// Redis's serverCron check of the `save` rules: a BGSAVE when some rule's seconds have passed
/// since the last save with at least its number of changes, but not sooner than 5 seconds
/// after a failed attempt.
pub fn save_rules_due(state: &State, now_ms: i64) -> bool {
    const RETRY_AFTER_ERROR_S: i64 = 5;
    if state.persistence.child.is_some() || state.dirty == 0 {
        return false;
    }
    let since_save = now_ms / 1000 - state.lastsave_s;
    let may_retry = state.persistence.last_save_ok
        || now_ms / 1000 - state.persistence.last_bgsave_try_ms / 1000 > RETRY_AFTER_ERROR_S;
    may_retry
        && save_rules(&state.config)
            .iter()
            .any(|&(seconds, changes)| state.dirty >= changes && since_save > seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_rules_parse_in_pairs() {
        let mut config = Config::default();
        config.set("save", "3600 1 300 100").unwrap();
        assert_eq!(save_rules(&config), vec![(3600, 1), (300, 100)]);
        config.set("save", "").unwrap();
        assert!(save_rules(&config).is_empty());
    }

    #[test]
    fn a_rule_fires_after_its_seconds_with_enough_changes() {
        let mut config = Config::default();
        config.set("save", "10 2").unwrap();
        let mut state = State::new(config, 1_000_000);
        assert!(!save_rules_due(&state, 1_020_000));
        state.dirty = 1;
        assert!(!save_rules_due(&state, 1_020_000));
        state.dirty = 2;
        assert!(!save_rules_due(&state, 1_005_000));
        assert!(save_rules_due(&state, 1_020_000));
        state.persistence.last_save_ok = false;
        state.persistence.last_bgsave_try_ms = 1_018_000;
        assert!(!save_rules_due(&state, 1_020_000));
        assert!(save_rules_due(&state, 1_030_000));
    }

    #[test]
    fn save_and_load_through_a_file() {
        let dir = std::env::temp_dir().join(format!("understudy-rdb-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = Config::default();
        config.set("dir", dir.to_str().unwrap()).unwrap();
        let mut state = State::new(config.clone(), 1000);
        state.dbs[3].set(b"k", crate::store::Value::from(&b"v"[..]));
        state.dirty = 7;
        save(&mut state, 5000).unwrap();
        assert_eq!((state.dirty, state.lastsave_s), (0, 5));
        let mut fresh = State::new(config.clone(), 1000);
        let bytes = read_snapshot(&config).unwrap().expect("the file exists");
        let loaded = parse_snapshot(&bytes, &config, 16, 6000).unwrap();
        assert_eq!(install(&mut fresh, loaded), 1);
        assert!(fresh.dbs[3].keys.contains_key(&b"k"[..]));
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("temp-"))
            .collect();
        assert!(leftovers.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
