//! The append-only file in Redis 7's multi-part layout: `dir/appenddirname/` holds a manifest
//! naming a base file (an RDB snapshot, `aof-use-rdb-preamble`) and the incremental files
//! written since, in RESP. Writes are appended to the last incremental file; a rewrite forks a
//! child that writes a new base while the parent appends to a fresh incremental file, so that
//! nothing written meanwhile needs buffering; the manifest is then replaced in one rename.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::propagate::Op;
use crate::client::{Client, ClientId};
use crate::commands::table::Lookup;
use crate::config::Config;
use crate::protocol::{OwnedArgs, ReplyBuf};
use crate::state::{Shared, State};

const MANIFEST_SUFFIX: &str = ".manifest";
const TEMP_PREFIX: &str = "temp-";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Base,
    History,
    Incr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub name: String,
    pub seq: u64,
    pub kind: FileType,
}

/// The manifest: the base, then the incremental files in the order they are replayed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<FileEntry>,
    pub history: Vec<FileEntry>,
    pub incrs: Vec<FileEntry>,
}

impl Manifest {
    /// Reads the manifest text as Redis's aofLoadManifestFromFile does: lines of key/value
    /// pairs (`file NAME seq N type b|h|i`), `#` comments; anything else is an error.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut manifest = Manifest::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            if !words.len().is_multiple_of(2) {
                return Err("Invalid AOF manifest file format".into());
            }
            let (mut name, mut seq, mut kind) = (None, None, None);
            for pair in words.chunks_exact(2) {
                match pair[0] {
                    "file" => name = Some(pair[1].to_string()),
                    "seq" => seq = pair[1].parse::<u64>().ok(),
                    "type" => {
                        kind = match pair[1] {
                            "b" => Some(FileType::Base),
                            "h" => Some(FileType::History),
                            "i" => Some(FileType::Incr),
                            _ => None,
                        }
                    }
                    _ => {}
                }
            }
            let (Some(name), Some(seq), Some(kind)) = (name, seq, kind) else {
                return Err("Invalid AOF manifest file format".into());
            };
            if name.contains('/') {
                return Err(format!("File can't be a path, just a filename: {name}"));
            }
            let entry = FileEntry { name, seq, kind };
            match kind {
                FileType::Base if manifest.base.is_some() => {
                    return Err("Found duplicate base file information".into())
                }
                FileType::Base => manifest.base = Some(entry),
                FileType::History => manifest.history.push(entry),
                FileType::Incr => {
                    if manifest.incrs.last().is_some_and(|last| last.seq >= seq) {
                        return Err("Found a non-monotonic sequence number".into());
                    }
                    manifest.incrs.push(entry)
                }
            }
        }
        Ok(manifest)
    }

    pub fn render(&self) -> String {
        let mut text = String::new();
        let entries = self.base.iter().chain(&self.history).chain(&self.incrs);
        for entry in entries {
            let kind = match entry.kind {
                FileType::Base => 'b',
                FileType::History => 'h',
                FileType::Incr => 'i',
            };
            text.push_str(&format!(
                "file {} seq {} type {kind}\n",
                entry.name, entry.seq
            ));
        }
        text
    }

    fn next_incr_seq(&self) -> u64 {
        self.incrs.last().map_or(1, |e| e.seq + 1)
    }

    fn next_base_seq(&self) -> u64 {
        self.base.as_ref().map_or(1, |e| e.seq + 1)
    }
}

/// `dir/appenddirname`.
pub fn aof_dir(config: &Config) -> PathBuf {
    Path::new(config.text("dir")).join(config.text("appenddirname"))
}

fn manifest_name(config: &Config) -> String {
    format!("{}{MANIFEST_SUFFIX}", config.text("appendfilename"))
}

/// The manifest on disk, or `None` when there is none (no AOF yet).
pub fn read_manifest(config: &Config) -> Result<Option<Manifest>, String> {
    let path = aof_dir(config).join(manifest_name(config));
    match std::fs::read_to_string(&path) {
        Ok(text) => Manifest::parse(&text).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!(
            "Can't open the AOF manifest {}: {e}",
            path.display()
        )),
    }
}

/// Replaces the manifest through a temporary file and a rename, then makes the rename durable.
fn write_manifest(config: &Config, manifest: &Manifest) -> std::io::Result<()> {
    let dir = aof_dir(config);
    let name = manifest_name(config);
    let tmp = dir.join(format!("{TEMP_PREFIX}{name}"));
    let mut file = File::create(&tmp)?;
    file.write_all(manifest.render().as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, dir.join(name))?;
    File::open(&dir)?.sync_all()
}

/// An I/O error as C's strerror words it (Rust adds " (os error N)").
fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// Appends `args` to `buf` as a RESP array of bulk strings, as the AOF stores commands.
pub fn encode_command(buf: &mut Vec<u8>, args: &[Vec<u8>]) {
    buf.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        buf.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        buf.extend_from_slice(arg);
        buf.extend_from_slice(b"\r\n");
    }
}

/// The running AOF: the open incremental file and what waits to be written to it.
#[derive(Debug)]
pub struct Aof {
    manifest: Manifest,
    file: File,
    /// Commands logged but not yet written (written at the end of each batch of requests).
    pub buf: Vec<u8>,
    /// The database the last logged command ran in: a SELECT goes first when it changes.
    selected_db: Option<usize>,
    /// Bytes of the whole AOF (base and incremental files), and what it was after the last
    /// rewrite: the automatic rewrite compares them.
    pub current_size: u64,
    pub base_size: u64,
    /// Written since the last fsync.
    unsynced: bool,
    last_fsync_ms: i64,
    fsync_running: Arc<AtomicBool>,
    /// Why the last write or fsync failed (strerror's text), until one succeeds: writes are
    /// refused with MISCONF meanwhile, as Redis refuses them.
    pub last_write_error: Option<String>,
    /// The child writing a new base, and the first incremental file opened for it.
    pub rewrite: Option<Rewrite>,
    pub rewrite_scheduled: bool,
    pub last_rewrite_ok: bool,
    pub last_rewrite_seconds: i64,
    pub rewrites: u64,
    /// Rewrites that failed since the last one that succeeded.
    pub rewrite_failures_in_a_row: u64,
    /// False while an AOF turned on at run time waits for its first base: the manifest on
    /// disk does not name its file yet.
    manifest_written: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Rewrite {
    pub pid: i32,
    pub started_ms: i64,
    /// Incremental files from this sequence on hold what was written after the fork.
    pub first_incr_seq: u64,
}

fn incr_name(config: &Config, seq: u64) -> String {
    format!("{}.{seq}.incr.aof", config.text("appendfilename"))
}

fn base_name(config: &Config, seq: u64) -> String {
    format!("{}.{seq}.base.rdb", config.text("appendfilename"))
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

impl Aof {
    /// Opens the AOF that `manifest` describes for appending (after it was loaded), or creates
    /// one whose base is the current data, written now (at start-up).
    pub fn open(state: &State, manifest: Option<Manifest>, now_ms: i64) -> std::io::Result<Aof> {
        let config = &state.config;
        let dir = aof_dir(config);
        std::fs::create_dir_all(&dir)?;
        let mut manifest = match manifest {
            Some(manifest) => manifest,
            None => {
                let base = base_name(config, 1);
                super::write_rdb(state, &dir.join(&base), now_ms, true)?;
                Manifest {
                    base: Some(FileEntry {
                        name: base,
                        seq: 1,
                        kind: FileType::Base,
                    }),
                    ..Manifest::default()
                }
            }
        };
        if manifest.incrs.is_empty() {
            let name = incr_name(config, manifest.next_incr_seq());
            File::create(dir.join(&name))?;
            manifest.incrs.push(FileEntry {
                name,
                seq: manifest.next_incr_seq(),
                kind: FileType::Incr,
            });
            write_manifest(config, &manifest)?;
        }
        let last = manifest
            .incrs
            .last()
            .map(|e| e.name.clone())
            .unwrap_or_default();
        let file = OpenOptions::new().append(true).open(dir.join(last))?;
        let current_size = manifest
            .base
            .iter()
            .chain(&manifest.incrs)
            .map(|e| file_size(&dir.join(&e.name)))
            .sum();
        Ok(Aof::fresh(manifest, file, current_size, true, now_ms))
    }

    /// Appends a unit of commands to the buffer, with a SELECT before any that runs in another
    /// database than the last one logged.
    pub fn feed(&mut self, ops: &[Op]) {
        for op in ops {
            if self.selected_db != Some(op.db) {
                let select = vec![b"SELECT".to_vec(), op.db.to_string().into_bytes()];
                encode_command(&mut self.buf, &select);
                self.selected_db = Some(op.db);
            }
            encode_command(&mut self.buf, &op.args);
        }
    }

    /// Writes the buffer to the file; under `appendfsync always` also fsyncs it, before the
    /// replies of the batch go out.
    /// Returns false when what was buffered could not be written (or, under `always`, synced).
    pub fn flush(&mut self, fsync_always: bool) -> bool {
        if !self.buf.is_empty() {
            match self.file.write_all(&self.buf) {
                Ok(()) => {
                    self.current_size += self.buf.len() as u64;
                    self.buf.clear();
                    self.unsynced = true;
                    self.last_write_error = None;
                }
                Err(e) => {
                    // The bytes stay buffered and are tried again with the next batch.
                    if self.last_write_error.is_none() {
                        tracing::warn!("Error writing to the AOF file: {e}");
                    }
                    self.last_write_error = Some(strerror(&e));
                    return false;
                }
            }
        }
        if fsync_always && self.unsynced {
            if let Err(e) = self.file.sync_data() {
                tracing::warn!(
                    "Can't persist AOF for fsync error when the AOF fsync policy is 'always': {e}"
                );
                self.last_write_error = Some(strerror(&e));
                self.unsynced = false;
                return false;
            }
            self.unsynced = false;
        }
        true
    }

    /// `everysec`: at most once a second, an fsync in a thread of its own so that the server
    /// does not wait for the disk (Redis's bio fsync job).
    pub fn fsync_in_background(&mut self, now_ms: i64) {
        if !self.unsynced
            || now_ms - self.last_fsync_ms < 1000
            || self.fsync_running.load(Ordering::Acquire)
        {
            return;
        }
        let Ok(file) = self.file.try_clone() else {
            return;
        };
        self.unsynced = false;
        self.last_fsync_ms = now_ms;
        let running = self.fsync_running.clone();
        running.store(true, Ordering::Release);
        let spawned = std::thread::Builder::new()
            .name("aof-fsync".into())
            .spawn(move || {
                let _ = file.sync_data();
                running.store(false, Ordering::Release);
            });
        if spawned.is_err() {
            self.fsync_running.store(false, Ordering::Release);
            let _ = self.file.sync_data();
        }
    }

    /// An AOF appending to `file`, the last incremental file `manifest` names; `size` is what
    /// its files hold now, `manifest_written` whether the manifest on disk names `file` yet.
    fn fresh(
        manifest: Manifest,
        file: File,
        size: u64,
        manifest_written: bool,
        now_ms: i64,
    ) -> Aof {
        Aof {
            manifest,
            file,
            buf: Vec::new(),
            selected_db: None,
            current_size: size,
            base_size: size,
            unsynced: false,
            last_fsync_ms: now_ms,
            fsync_running: Arc::new(AtomicBool::new(false)),
            last_write_error: None,
            rewrite: None,
            rewrite_scheduled: false,
            last_rewrite_ok: true,
            last_rewrite_seconds: -1,
            rewrites: 0,
            rewrite_failures_in_a_row: 0,
            manifest_written,
        }
    }

    /// Turning the AOF on at run time: the writes from now on go to a new incremental file
    /// (numbered after what an older manifest holds), and the manifest naming it is written
    /// once a rewrite has produced its base.
    fn begin(config: &Config, now_ms: i64) -> std::io::Result<Aof> {
        let dir = aof_dir(config);
        std::fs::create_dir_all(&dir)?;
        let mut manifest = read_manifest(config)
            .map_err(std::io::Error::other)?
            .unwrap_or_default();
        let seq = manifest.next_incr_seq();
        let name = incr_name(config, seq);
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(dir.join(&name))?;
        manifest.incrs.push(FileEntry {
            name,
            seq,
            kind: FileType::Incr,
        });
        Ok(Aof::fresh(manifest, file, 0, false, now_ms))
    }

    /// Writes and fsyncs everything (SHUTDOWN, SIGTERM, turning the AOF off).
    pub fn flush_and_sync(&mut self) {
        self.flush(true);
        let _ = self.file.sync_all();
    }

    /// Starts a new incremental file for the writes to come and records it in the manifest.
    fn open_new_incr(&mut self, config: &Config) -> std::io::Result<u64> {
        self.flush(true);
        let seq = self.manifest.next_incr_seq();
        let name = incr_name(config, seq);
        let dir = aof_dir(config);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(&name))?;
        let mut manifest = self.manifest.clone();
        manifest.incrs.push(FileEntry {
            name,
            seq,
            kind: FileType::Incr,
        });
        write_manifest(config, &manifest)?;
        self.manifest = manifest;
        self.file = file;
        // A new file is replayed from a fresh client: it names its database first.
        self.selected_db = None;
        Ok(seq)
    }
}

/// On the way down (SHUTDOWN, SIGTERM): a rewrite in progress is dropped, and everything
/// logged reaches the disk.
pub fn shutdown(state: &mut State) {
    #[cfg(unix)]
    kill_rewrite(state);
    commit(state);
    if let Some(aof) = state.persistence.aof.as_mut() {
        aof.flush_and_sync();
        tracing::info!("Calling fsync() on the AOF file.");
    }
}

/// Moves what the top-level command logged into the AOF buffer.
pub fn commit(state: &mut State) {
    let unit = state.propagation.take_unit();
    if unit.is_empty() {
        return;
    }
    if let Some(aof) = state.persistence.aof.as_mut() {
        aof.feed(&unit);
    }
}

/// End of a batch of requests (and of each cron tick): the buffer goes to the file, fsynced
/// under `always`.
/// Bytes logged and not yet written to the AOF (0 without an AOF).
pub fn buffered(state: &State) -> usize {
    state
        .persistence
        .aof
        .as_ref()
        .map_or(0, |aof| aof.buf.len())
}

/// Returns false when, under `appendfsync always`, the batch's writes did not reach the disk:
/// its replies must not go out.
pub fn flush_batch(state: &mut State) -> bool {
    let Some(aof) = state.persistence.aof.as_mut() else {
        return true;
    };
    let always = state.config.text("appendfsync") == "always";
    aof.flush(always) || !always
}

/// The cron's part: write what is buffered, fsync once a second under `everysec`, reap a
/// finished rewrite and start one when due.
pub fn cron(state: &mut State, now_ms: i64) {
    // A failure is recorded in the AOF's status (MISCONF for writes); nothing waits on it here.
    flush_batch(state);
    let everysec = state.config.text("appendfsync") == "everysec";
    #[cfg(unix)]
    reap_rewrite(state, now_ms);
    let Some(aof) = state.persistence.aof.as_mut() else {
        return;
    };
    if everysec {
        aof.fsync_in_background(now_ms);
    }
    let busy = aof.rewrite.is_some() || state.persistence.child.is_some();
    if busy {
        return;
    }
    let scheduled = std::mem::take(&mut aof.rewrite_scheduled);
    let percentage = state.config.int("auto-aof-rewrite-percentage");
    let min_size = state.config.int("auto-aof-rewrite-min-size").max(0) as u64;
    let base = aof.base_size.max(1);
    let growth = (aof.current_size.saturating_sub(base)) * 100 / base;
    let auto = percentage > 0 && aof.current_size > min_size && growth >= percentage as u64;
    if scheduled || auto {
        if auto && !scheduled {
            tracing::info!("Starting automatic rewriting of AOF on {growth}% growth");
        }
        #[cfg(unix)]
        if let Err(e) = start_rewrite(state, now_ms) {
            tracing::warn!("Can't rewrite append only file in background: fork: {e}");
        }
    }
}

/// CONFIG SET appendonly: on, the AOF starts with a rewrite (later, when a BGSAVE child
/// runs); off, what is logged is written out and the AOF is closed.
#[cfg(unix)]
pub fn set_enabled(state: &mut State, on: bool, now_ms: i64) -> std::io::Result<()> {
    if !on {
        shutdown(state);
        state.persistence.aof = None;
        return Ok(());
    }
    if state.persistence.aof.is_some() {
        return Ok(());
    }
    let mut aof = Aof::begin(&state.config, now_ms)?;
    let busy = state.persistence.child.is_some();
    aof.rewrite_scheduled = busy;
    state.persistence.aof = Some(aof);
    if !busy {
        if let Err(e) = start_rewrite(state, now_ms) {
            state.persistence.aof = None;
            return Err(e);
        }
    }
    Ok(())
}

/// BGREWRITEAOF: a new incremental file takes the writes from now on, and a forked child
/// writes the data as it is now as the next base.
#[cfg(unix)]
pub fn start_rewrite(state: &mut State, now_ms: i64) -> std::io::Result<()> {
    let config = state.config.clone();
    let Some(aof) = state.persistence.aof.as_mut() else {
        return Err(std::io::Error::other("the AOF is off"));
    };
    // A freshly begun AOF has nothing in its new file yet and no manifest naming it: the
    // rewrite's base goes under it as is.
    let first_incr_seq = if aof.manifest_written {
        aof.open_new_incr(&config)?
    } else {
        aof.manifest.incrs.last().map_or(1, |e| e.seq)
    };
    let dir = aof_dir(&config);
    // SAFETY: as for BGSAVE (`start_bgsave`): the child only serializes the state it
    // inherited, writes one file and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if pid == 0 {
        let tmp = dir.join(format!(
            "{TEMP_PREFIX}rewriteaof-bg-{}.aof",
            std::process::id()
        ));
        let ok = super::write_rdb(state, &tmp, now_ms, true).is_ok();
        // SAFETY: ends the child at once, running nothing of the parent's runtime.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    tracing::info!("Background append only file rewriting started by pid {pid}");
    if let Some(aof) = state.persistence.aof.as_mut() {
        aof.rewrite = Some(Rewrite {
            pid,
            started_ms: now_ms,
            first_incr_seq,
        });
    }
    Ok(())
}

/// BGREWRITEAOF with the AOF off, as Redis 7 does it: a forked child writes the data as it is
/// now as a new base, and a manifest naming only that base, so that a start with `appendonly yes`
/// loads it. Returns the child's pid.
#[cfg(unix)]
pub fn start_offline_rewrite(state: &State, now_ms: i64) -> std::io::Result<i32> {
    let config = state.config.clone();
    let dir = aof_dir(&config);
    std::fs::create_dir_all(&dir)?;
    let previous = read_manifest(&config)
        .map_err(std::io::Error::other)?
        .unwrap_or_default();
    // SAFETY: as for BGSAVE (`start_bgsave`): the child only serializes the state it
    // inherited, writes its files and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if pid == 0 {
        let ok = write_base_only(state, &config, &previous, now_ms).is_ok();
        // SAFETY: ends the child at once, running nothing of the parent's runtime.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    tracing::info!("Background append only file rewriting started by pid {pid}");
    Ok(pid)
}

/// The offline rewrite's work, in the child: the new base, the manifest naming it alone, and
/// the files the previous manifest named removed once nothing refers to them.
#[cfg(unix)]
fn write_base_only(
    state: &State,
    config: &Config,
    previous: &Manifest,
    now_ms: i64,
) -> std::io::Result<()> {
    let dir = aof_dir(config);
    let tmp = dir.join(format!(
        "{TEMP_PREFIX}rewriteaof-bg-{}.aof",
        std::process::id()
    ));
    super::write_rdb(state, &tmp, now_ms, true)?;
    let seq = previous.next_base_seq();
    let base = base_name(config, seq);
    std::fs::rename(&tmp, dir.join(&base))?;
    let manifest = Manifest {
        base: Some(FileEntry {
            name: base.clone(),
            seq,
            kind: FileType::Base,
        }),
        ..Manifest::default()
    };
    write_manifest(config, &manifest)?;
    for old in previous
        .base
        .iter()
        .chain(&previous.history)
        .chain(&previous.incrs)
    {
        if old.name != base {
            let _ = std::fs::remove_file(dir.join(&old.name));
        }
    }
    Ok(())
}

/// Reaps a finished offline rewrite child without waiting.
#[cfg(unix)]
pub fn reap_offline_rewrite(state: &mut State) {
    let Some(pid) = state.persistence.offline_rewrite else {
        return;
    };
    let mut status = 0;
    // SAFETY: waitpid on our own child with a valid pointer.
    let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    if done == 0 {
        return;
    }
    state.persistence.offline_rewrite = None;
    if done == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        tracing::info!("Background AOF rewrite finished successfully");
    } else {
        tracing::warn!("Background AOF rewrite terminated with error");
    }
}

/// Checks on the rewrite child without waiting; when it is done, installs its base: the new
/// manifest names it and the incremental files opened since the fork, and the files it
/// replaces are deleted.
#[cfg(unix)]
pub fn reap_rewrite(state: &mut State, now_ms: i64) {
    let config = state.config.clone();
    let Some(aof) = state.persistence.aof.as_mut() else {
        return;
    };
    let Some(rewrite) = aof.rewrite else {
        return;
    };
    let mut status = 0;
    // SAFETY: waitpid on our own child with a valid pointer.
    let done = unsafe { libc::waitpid(rewrite.pid, &mut status, libc::WNOHANG) };
    if done == 0 {
        return;
    }
    aof.rewrite = None;
    aof.last_rewrite_seconds = (now_ms - rewrite.started_ms) / 1000;
    let dir = aof_dir(&config);
    let tmp = dir.join(format!("{TEMP_PREFIX}rewriteaof-bg-{}.aof", rewrite.pid));
    let ok = done == rewrite.pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    let installed = ok && install_rewrite(aof, &config, &tmp, rewrite.first_incr_seq).is_ok();
    if installed {
        aof.last_rewrite_ok = true;
        aof.rewrites += 1;
        aof.rewrite_failures_in_a_row = 0;
        tracing::info!("Background AOF rewrite finished successfully");
    } else {
        let _ = std::fs::remove_file(&tmp);
        aof.last_rewrite_ok = false;
        aof.rewrite_failures_in_a_row += 1;
        tracing::warn!("Background AOF rewrite terminated with error");
    }
}

#[cfg(unix)]
fn install_rewrite(
    aof: &mut Aof,
    config: &Config,
    tmp: &Path,
    first_incr_seq: u64,
) -> std::io::Result<()> {
    let dir = aof_dir(config);
    let base_seq = aof.manifest.next_base_seq();
    let base = base_name(config, base_seq);
    std::fs::rename(tmp, dir.join(&base))?;
    let mut manifest = aof.manifest.clone();
    let old_base = manifest.base.replace(FileEntry {
        name: base.clone(),
        seq: base_seq,
        kind: FileType::Base,
    });
    let (kept, replaced): (Vec<FileEntry>, Vec<FileEntry>) = manifest
        .incrs
        .into_iter()
        .partition(|e| e.seq >= first_incr_seq);
    manifest.incrs = kept;
    if let Err(e) = write_manifest(config, &manifest) {
        let _ = std::fs::remove_file(dir.join(&base));
        return Err(e);
    }
    aof.manifest = manifest;
    aof.manifest_written = true;
    for entry in old_base.into_iter().chain(replaced) {
        let _ = std::fs::remove_file(dir.join(&entry.name));
    }
    aof.base_size = file_size(&dir.join(&base));
    aof.current_size = aof.base_size
        + aof
            .manifest
            .incrs
            .iter()
            .map(|e| file_size(&dir.join(&e.name)))
            .sum::<u64>();
    Ok(())
}

/// Kills a rewrite child (at shutdown, or when the AOF is turned off).
#[cfg(unix)]
pub fn kill_rewrite(state: &mut State) {
    let config = state.config.clone();
    if let Some(aof) = state.persistence.aof.as_mut() {
        if let Some(rewrite) = aof.rewrite.take() {
            let mut status = 0;
            // SAFETY: signals and waits for our own child.
            unsafe {
                libc::kill(rewrite.pid, libc::SIGUSR1);
                libc::waitpid(rewrite.pid, &mut status, 0);
            }
            let tmp =
                aof_dir(&config).join(format!("{TEMP_PREFIX}rewriteaof-bg-{}.aof", rewrite.pid));
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Loads the AOF `manifest` names: the base (an RDB image, or commands), then each
/// incremental file replayed through the command path by a client of its own that no one
/// sees, whose commands are logged nowhere. A cut at the end of the last file (a crash in the
/// middle of a write) is cut off with a warning under `aof-load-truncated`; anything else
/// that is not a command stops the start with the file and offset named.
pub fn load(shared: &Shared, manifest: &Manifest) -> Result<(), String> {
    let config = shared.state.lock().config.clone();
    let dir = aof_dir(&config);
    if manifest.base.is_none() && manifest.incrs.is_empty() {
        return Ok(());
    }
    if let Some(base) = &manifest.base {
        let path = dir.join(&base.name);
        let bytes = std::fs::read(&path)
            .map_err(|e| format!("Can't open the append-only file {}: {e}", base.name))?;
        if bytes.starts_with(b"REDIS") {
            let now_ms = shared.clock.now_ms();
            let count = shared.state.lock().dbs.len();
            let loaded = super::parse_snapshot(&bytes, &config, count, now_ms).map_err(|e| {
                format!(
                    "Bad file format reading the append only file {}: {e}",
                    base.name
                )
            })?;
            super::install(&mut shared.state.lock(), loaded);
        } else {
            replay(shared, &path, &base.name, bytes, false)?;
        }
    }
    let last = manifest.incrs.len().saturating_sub(1);
    for (i, incr) in manifest.incrs.iter().enumerate() {
        let path = dir.join(&incr.name);
        let bytes = std::fs::read(&path)
            .map_err(|e| format!("Can't open the append-only file {}: {e}", incr.name))?;
        let may_truncate = i == last && config.flag("aof-load-truncated");
        replay(shared, &path, &incr.name, bytes, may_truncate)?;
    }
    tracing::info!("DB loaded from append only file");
    Ok(())
}

/// Commands replayed per hold of the state lock: the connections answer -LOADING in between.
const REPLAY_CHUNK: usize = 1024;

fn replay(
    shared: &Shared,
    path: &Path,
    name: &str,
    bytes: Vec<u8>,
    may_truncate: bool,
) -> Result<(), String> {
    let client_id = {
        let mut state = shared.state.lock();
        let id = state.next_client_id;
        state.next_client_id += 1;
        let now_ms = shared.clock.now_ms();
        let mut client = Client::new(id, String::new(), String::new(), -1, now_ms);
        client.authenticated = true;
        state.clients.insert(id, Box::new(client));
        id
    };
    let outcome = replay_as(shared, client_id, name, &bytes);
    shared.state.lock().clients.remove(&client_id);
    let valid_up_to = match outcome? {
        None => return Ok(()),
        Some(valid_up_to) => valid_up_to,
    };
    if !may_truncate {
        return Err(format!(
            "Unexpected end of file reading the append only file {name}. You can: 1) Make a \
             backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) \
             Alternatively you can set the 'aof-load-truncated' configuration option to yes \
             and restart the server."
        ));
    }
    tracing::warn!("!!! Warning: short read while loading the AOF file {name}!!!");
    tracing::warn!("!!! Truncating the AOF {name} at offset {valid_up_to} !!!");
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(valid_up_to as u64).and_then(|()| f.sync_all()));
    if let Err(e) = file {
        return Err(format!("Error truncating the AOF file {name}: {e}"));
    }
    tracing::warn!("AOF {name} loaded anyway because aof-load-truncated is enabled");
    Ok(())
}

/// Runs the file's commands; `Some(offset)` when it ends inside a command or an unfinished
/// transaction: what comes before `offset` is whole.
fn replay_as(
    shared: &Shared,
    client_id: ClientId,
    name: &str,
    bytes: &[u8],
) -> Result<Option<usize>, String> {
    let table = crate::commands::table::CommandTable::get();
    let mut pos = 0;
    let mut before_multi: Option<usize> = None;
    let mut out = ReplyBuf::default();
    while pos < bytes.len() {
        let mut state = shared.state.lock();
        state.propagation.replaying = true;
        let mut done = 0;
        let result = loop {
            if pos >= bytes.len() || done == REPLAY_CHUNK {
                break Ok(());
            }
            match parse_command(bytes, pos) {
                Parsed::Annotation(next) => pos = next,
                Parsed::Truncated => break Err(None),
                Parsed::Corrupt => {
                    break Err(Some(format!(
                    "Bad file format reading the append only file {name} at offset {pos}: make a \
                     backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>"
                )))
                }
                Parsed::Command(args, next) => {
                    let mut owned = OwnedArgs::default();
                    for arg in &args {
                        owned.push(arg);
                    }
                    if !matches!(table.lookup(owned.args()), Lookup::Found(_)) {
                        break Err(Some(format!(
                            "Unknown command '{}' reading the append only file {name}",
                            String::from_utf8_lossy(&args[0])
                        )));
                    }
                    if args[0].eq_ignore_ascii_case(b"multi") {
                        before_multi = Some(pos);
                    } else if args[0].eq_ignore_ascii_case(b"exec") {
                        before_multi = None;
                    }
                    crate::commands::run(shared, &mut state, client_id, owned.args(), &mut out);
                    out.buf.clear();
                    pos = next;
                    done += 1;
                }
            }
        };
        state.propagation.replaying = false;
        state.propagation.pending.clear();
        match result {
            Ok(()) => {}
            Err(None) => return Ok(Some(before_multi.unwrap_or(pos))),
            Err(Some(text)) => return Err(text),
        }
    }
    // A transaction the file does not finish was cut by a crash too.
    Ok(before_multi)
}

/// What reading one command of an AOF found.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole command, and the offset just past it.
    Command(Vec<Vec<u8>>, usize),
    /// An annotation line (`#...`), skipped; the offset past it.
    Annotation(usize),
    /// The file ends inside the command: a crash cut it.
    Truncated,
    /// Bytes that are no command.
    Corrupt,
}

/// Reads the command at `pos` as Redis's loader does: `*N` then N `$len` bulk strings.
pub fn parse_command(buf: &[u8], pos: usize) -> Parsed {
    let Some(rest) = buf.get(pos..) else {
        return Parsed::Truncated;
    };
    if rest.first() == Some(&b'#') {
        return match find_crlf(rest) {
            Some(end) => Parsed::Annotation(pos + end + 2),
            None => Parsed::Truncated,
        };
    }
    let Some(count) = read_header(rest, b'*') else {
        return Parsed::Corrupt;
    };
    let (argc, mut offset) = match count {
        Header::Incomplete => return Parsed::Truncated,
        Header::Value(n, _) if n < 1 => return Parsed::Corrupt,
        Header::Value(n, len) => (n as usize, len),
    };
    let mut args = Vec::with_capacity(argc.min(1024));
    for _ in 0..argc {
        let Some(header) = read_header(&rest[offset..], b'$') else {
            return Parsed::Corrupt;
        };
        let (len, header_len) = match header {
            Header::Incomplete => return Parsed::Truncated,
            Header::Value(n, _) if n < 0 => return Parsed::Corrupt,
            Header::Value(n, h) => (n as usize, h),
        };
        offset += header_len;
        let Some(end) = offset.checked_add(len) else {
            return Parsed::Corrupt;
        };
        if rest.len() < end + 2 {
            return Parsed::Truncated;
        }
        if &rest[end..end + 2] != b"\r\n" {
            return Parsed::Corrupt;
        }
        args.push(rest[offset..end].to_vec());
        offset = end + 2;
    }
    Parsed::Command(args, pos + offset)
}

enum Header {
    Incomplete,
    /// The number and the length of its line, CRLF included.
    Value(i64, usize),
}

/// `<prefix><digits>\r\n`; None when the bytes are something else.
fn read_header(buf: &[u8], prefix: u8) -> Option<Header> {
    match buf.first() {
        None => return Some(Header::Incomplete),
        Some(&b) if b != prefix => return None,
        Some(_) => {}
    }
    let Some(end) = find_crlf(buf) else {
        // A header line is short: one longer than this without its CRLF is garbage.
        return if buf.len() < 32
            && buf[1..]
                .iter()
                .all(|b| b.is_ascii_digit() || *b == b'-' || *b == b'\r')
        {
            Some(Header::Incomplete)
        } else {
            None
        };
    };
    let text = std::str::from_utf8(&buf[1..end]).ok()?;
    let n = text.parse::<i64>().ok()?;
    Some(Header::Value(n, end + 2))
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trips_in_redis_format() {
        let text = "file appendonly.aof.1.base.rdb seq 1 type b\n\
                    file appendonly.aof.1.incr.aof seq 1 type i\n\
                    file appendonly.aof.2.incr.aof seq 2 type i\n";
        let manifest = Manifest::parse(text).unwrap();
        assert_eq!(
            manifest.base.as_ref().unwrap().name,
            "appendonly.aof.1.base.rdb"
        );
        assert_eq!(manifest.incrs.len(), 2);
        assert_eq!(manifest.render(), text);
        assert_eq!(manifest.next_incr_seq(), 3);
        assert_eq!(manifest.next_base_seq(), 2);
    }

    #[test]
    fn manifest_errors() {
        assert!(Manifest::parse("file a seq 1\n").is_err());
        assert!(Manifest::parse("file a seq 1 type x\n").is_err());
        assert!(Manifest::parse("file a/b seq 1 type i\n").is_err());
        assert!(Manifest::parse("file a seq 2 type i\nfile b seq 1 type i\n").is_err());
        assert!(Manifest::parse("file a seq 1 type b\nfile b seq 2 type b\n").is_err());
        assert_eq!(Manifest::parse("# note\n\n").unwrap(), Manifest::default());
    }

    #[test]
    fn commands_parse_whole_truncated_or_corrupt() {
        let mut buf = Vec::new();
        encode_command(
            &mut buf,
            &[b"SET".to_vec(), b"k".to_vec(), b"a\r\nb".to_vec()],
        );
        let whole = buf.len();
        assert_eq!(
            parse_command(&buf, 0),
            Parsed::Command(
                vec![b"SET".to_vec(), b"k".to_vec(), b"a\r\nb".to_vec()],
                whole
            )
        );
        for cut in 1..whole {
            assert_eq!(
                parse_command(&buf[..cut], 0),
                Parsed::Truncated,
                "cut at {cut}"
            );
        }
        assert_eq!(parse_command(b"+OK\r\n", 0), Parsed::Corrupt);
        assert_eq!(parse_command(b"*1\r\n$3\r\nGETxx", 0), Parsed::Corrupt);
        assert_eq!(parse_command(b"*0\r\n", 0), Parsed::Corrupt);
        assert_eq!(parse_command(b"*1\r\nhello\r\n", 0), Parsed::Corrupt);
        assert_eq!(parse_command(b"#TS:1\r\n*1", 0), Parsed::Annotation(7));
    }

    #[test]
    fn feed_selects_the_database_when_it_changes() {
        let dir = std::env::temp_dir().join(format!("understudy-aof-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut config = Config::default();
        config.set("dir", dir.to_str().unwrap()).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        let state = State::new(config.clone(), 1000);
        let mut aof = Aof::open(&state, None, 1000).unwrap();
        let set = |db| Op {
            db,
            args: vec![b"SET".to_vec(), b"k".to_vec(), b"v".to_vec()],
        };
        aof.feed(&[set(0), set(0), set(3)]);
        aof.flush(true);
        let incr = std::fs::read(aof_dir(&config).join("appendonly.aof.1.incr.aof")).unwrap();
        let mut expected = Vec::new();
        encode_command(&mut expected, &[b"SELECT".to_vec(), b"0".to_vec()]);
        encode_command(&mut expected, &set(0).args);
        encode_command(&mut expected, &set(0).args);
        encode_command(&mut expected, &[b"SELECT".to_vec(), b"3".to_vec()]);
        encode_command(&mut expected, &set(3).args);
        assert_eq!(incr, expected);
        let manifest = read_manifest(&config).unwrap().unwrap();
        assert_eq!(
            manifest.render(),
            "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
