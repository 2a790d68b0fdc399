//! Lua scripting, as Redis runs it: one Lua 5.1 interpreter for EVAL scripts and one for
//! function libraries, each with the `redis` API, the cjson/cmsgpack/bit/struct libraries and a
//! sandbox (no os/io/loadfile, read-only globals and libraries).
//!
//! A script runs under the state lock, so it is atomic. Its `redis.call`s run the commands'
//! own handlers through [`crate::commands::execute`], as a client of its own would: its selected
//! database starts at the caller's, it speaks RESP2 unless `redis.setresp(3)`, and each reply
//! is read back from a scratch buffer into Lua values.
//!
//! A script that runs past `busy-reply-threshold` marks the server busy ([`ScriptWatch`]): the
//! connections answer -BUSY without waiting for the state lock, and SCRIPT KILL / FUNCTION KILL /
//! SHUTDOWN NOSAVE reach the script through atomics its instruction-count hook reads. For other
//! connections to be served at all meanwhile, the runtime must be multi-threaded: the hook then
//! hands the worker's other tasks to a new thread (`block_in_place`). On a current-thread
//! runtime (a server embedded in a `#[tokio::test]`) nothing else runs until the script ends.

pub mod convert;
pub mod functions;
pub mod libs;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value};
use parking_lot::Mutex;

use crate::commands::table::{flags, CommandTable, Lookup};
use crate::commands::{CmdError, CmdResult, Ctx};
use crate::protocol::{ReplyBuf, Resp};

/// Where a running script stands, readable by connections that cannot take the state lock.
#[derive(Debug, Default)]
pub struct ScriptWatch {
    /// A script is running.
    pub running: AtomicBool,
    /// It ran past busy-reply-threshold: other clients get -BUSY.
    pub busy: AtomicBool,
    /// It is a function (FCALL), not an EVAL script: which KILL stops it.
    pub is_function: AtomicBool,
    /// It ran a write command: SCRIPT KILL may no longer stop it.
    pub wrote: AtomicBool,
    /// Stop it at its next hook.
    pub kill: AtomicBool,
    /// The running function's name, its FCALL's arguments and when it started, for FUNCTION
    /// STATS while it is busy.
    pub function_call: Mutex<Option<FunctionCall>>,
    /// How many libraries and functions are loaded, for the same.
    pub libraries: AtomicUsize,
    pub functions: AtomicUsize,
}

/// A running FCALL, as FUNCTION STATS shows it.
#[derive(Debug)]
pub struct FunctionCall {
    pub name: String,
    pub command: Vec<Vec<u8>>,
    pub started: Instant,
}

/// FUNCTION STATS: what runs, and what is loaded. Also answered while a function is busy,
/// without the state lock; while an EVAL script is busy it is refused, as in Redis.
pub fn function_stats(watch: &ScriptWatch, out: &mut ReplyBuf) -> Result<(), &'static str> {
    let running = watch.running.load(Ordering::Acquire);
    if running && !watch.is_function.load(Ordering::Acquire) {
        return Err(BUSY_EVAL);
    }
    out.map(2);
    out.bulk(b"running_script");
    match (running, watch.function_call.lock().as_ref()) {
        (true, Some(call)) => {
            out.map(3);
            out.bulk(b"name");
            out.bulk(call.name.as_bytes());
            out.bulk(b"command");
            out.array(call.command.len());
            for arg in &call.command {
                out.bulk(arg);
            }
            out.bulk(b"duration_ms");
            out.int(call.started.elapsed().as_millis() as i64);
        }
        _ => out.null(),
    }
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(watch.libraries.load(Ordering::Acquire) as i64);
    out.bulk(b"functions_count");
    out.int(watch.functions.load(Ordering::Acquire) as i64);
    Ok(())
}

/// What SCRIPT KILL / FUNCTION KILL answer.
pub fn kill(watch: &ScriptWatch, function_kill: bool) -> Result<(), &'static str> {
    if !watch.running.load(Ordering::Acquire) {
        return Err("NOTBUSY No scripts in execution right now.");
    }
    if watch.wrote.load(Ordering::Acquire) {
        return Err(UNKILLABLE);
    }
    let is_function = watch.is_function.load(Ordering::Acquire);
    if !function_kill && is_function {
        return Err(BUSY_FUNCTION);
    }
    if function_kill && !is_function {
        return Err(BUSY_EVAL);
    }
    watch.kill.store(true, Ordering::Release);
    Ok(())
}

pub const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against \
the dataset. You can either wait the script termination or kill the server in a hard way using \
the SHUTDOWN NOSAVE command.";
pub const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
pub const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";

/// Scripts run at most this many Lua instructions between looks at the clock and the kill flag.
const HOOK_PERIOD: u32 = 100_000;

/// The `REDIS_VERSION_NUM` scripts see: 7.2.4.
const VERSION_NUM: u32 = 0x07_02_04;

/// Redis's `redisLrand48`: the 48-bit linear congruential generator of POSIX lrand48, so that
/// `math.random` gives the same sequence as Redis for the same seed.
#[derive(Debug, Clone, Copy)]
pub struct Lrand48(u64);

impl Default for Lrand48 {
    fn default() -> Self {
        Lrand48(0x1234_ABCD_330E)
    }
}

impl Lrand48 {
    pub fn seed(&mut self, seed: i32) {
        let seed = seed as u32 as u64;
        self.0 = (seed << 16) | 0x330E;
    }

    pub fn next(&mut self) -> i32 {
        self.0 = (self.0.wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB)) & 0xFFFF_FFFF_FFFF;
        (self.0 >> 17) as i32
    }
}

/// Runs a step of a recursive conversion (JSON, MessagePack, replies) with enough stack: nesting
/// a client chose must not overflow the thread's stack, whatever the build's frame sizes.
pub fn deep<R>(step: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(64 * 1024, 1024 * 1024, step)
}

/// Lua's own `tostring` of a number (`%.14g`).
pub fn lua_number_text(n: f64) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "inf" } else { "-inf" }.into();
    }
    crate::protocol::format::format_g(n, 14)
}

/// Flags a script or function declares (`#!lua flags=...`, `register_function{flags=...}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    /// No shebang: EVAL's compatibility mode, where the flags below do not apply.
    pub eval_compat: bool,
    pub no_writes: bool,
    pub allow_oom: bool,
    pub allow_stale: bool,
    pub no_cluster: bool,
    pub allow_cross_slot_keys: bool,
}

impl ScriptFlags {
    /// Sets the flag called `name`; false if there is no such flag.
    pub fn set(&mut self, name: &[u8]) -> bool {
        let slot = match name {
            b"no-writes" => &mut self.no_writes,
            b"allow-oom" => &mut self.allow_oom,
            b"allow-stale" => &mut self.allow_stale,
            b"no-cluster" => &mut self.no_cluster,
            b"allow-cross-slot-keys" => &mut self.allow_cross_slot_keys,
            _ => return false,
        };
        *slot = true;
        true
    }

    /// The names of the flags set, in Redis's order.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.no_writes, "no-writes"),
            (self.allow_oom, "allow-oom"),
            (self.allow_stale, "allow-stale"),
            (self.no_cluster, "no-cluster"),
            (self.allow_cross_slot_keys, "allow-cross-slot-keys"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}

/// One Lua interpreter with Redis's environment.
pub struct Engine {
    pub lua: Lua,
    /// Values scripts cannot reach: the current invocation's dispatcher and such.
    hidden: Table,
    /// The real globals behind the read-only `_G`.
    pub globals: Table,
    runner: Function,
    handler: Function,
    /// The metatable of `_G`: its `__index` is swapped to `load_api` while FUNCTION LOAD runs
    /// a library's code.
    globals_meta: Table,
    load_api: Table,
}

/// Source names of the chunks, as Redis names them.
pub const EVAL_SOURCE: &str = "@user_script";
pub const FUNCTION_SOURCE: &str = "@user_function";
/// Our own chunks' name prefix: their frames are never reported as an error's position.
const OWN_SOURCE: &str = "=understudy";

impl Engine {
    pub fn new(watch: Arc<ScriptWatch>, rng: Arc<Mutex<Lrand48>>) -> mlua::Result<Engine> {
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH,
            LuaOptions::default(),
        )?;
        let hidden = lua.create_table()?;
        let redis = lua.create_table()?;
        redis.raw_set("REDIS_VERSION", crate::REDIS_VERSION)?;
        redis.raw_set("REDIS_VERSION_NUM", VERSION_NUM)?;
        for (name, level) in [
            ("LOG_DEBUG", 0),
            ("LOG_VERBOSE", 1),
            ("LOG_NOTICE", 2),
            ("LOG_WARNING", 3),
        ] {
            redis.raw_set(name, level)?;
        }
        for (name, flag) in [
            ("REPL_NONE", 0),
            ("REPL_AOF", 1),
            ("REPL_SLAVE", 2),
            ("REPL_REPLICA", 2),
            ("REPL_ALL", 3),
        ] {
            redis.raw_set(name, flag)?;
        }
        redis.raw_set(
            "error_reply",
            lua.create_function(|lua, args: MultiValue| {
                let table = lua.create_table()?;
                match single_string(&args) {
                    Some(text) => {
                        let mut raw = text.clone();
                        if !raw.starts_with(b"-") {
                            raw.insert(0, b'-');
                        }
                        table.raw_set("err", lua.create_string(convert::error_text(&raw))?)?;
                    }
                    None => table.raw_set("err", "ERR wrong number or type of arguments")?,
                }
                Ok(table)
            })?,
        )?;
        redis.raw_set(
            "status_reply",
            lua.create_function(|lua, args: MultiValue| {
                let table = lua.create_table()?;
                match single_string(&args) {
                    Some(text) => table.raw_set("ok", lua.create_string(text)?)?,
                    None => table.raw_set("err", "ERR wrong number or type of arguments")?,
                }
                Ok(table)
            })?,
        )?;
        redis.raw_set("replicate_commands", lua.create_function(|_, ()| Ok(true))?)?;
        redis.raw_set("breakpoint", lua.create_function(|_, ()| Ok(false))?)?;
        redis.raw_set("debug", lua.create_function(|_, _: MultiValue| Ok(()))?)?;

        let raising_redis = lua.create_table()?;
        raising_redis.raw_set("sha1hex", lua.create_function(sha1hex)?)?;
        raising_redis.raw_set("log", lua.create_function(log)?)?;
        raising_redis.raw_set(
            "setresp",
            lua.create_function(|lua, args: MultiValue| {
                let hidden: Table = lua.named_registry_value("understudy.hidden")?;
                match hidden.raw_get::<Value>("setresp")? {
                    Value::Function(f) => f.call::<MultiValue>(args),
                    _ => fail_table(
                        lua,
                        "redis.setresp can only be called inside a script invocation",
                    ),
                }
            })?,
        )?;
        raising_redis.raw_set(
            "set_repl",
            lua.create_function(|lua, args: MultiValue| {
                let hidden: Table = lua.named_registry_value("understudy.hidden")?;
                if hidden.raw_get::<Value>("dispatch")? == Value::Nil {
                    return fail_table(
                        lua,
                        "redis.set_repl can only be called inside a script invocation",
                    );
                }
                if args.len() != 1 {
                    return fail_table(lua, "redis.set_repl() requires two arguments.");
                }
                let flags = args.front().and_then(number).unwrap_or(0.0) as i64;
                if flags & !3 != 0 {
                    return fail_table(
                        lua,
                        "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                    );
                }
                succeed(lua, ())
            })?,
        )?;

        raising_redis.raw_set("acl_check_cmd", lua.create_function(acl_check_cmd)?)?;

        let raising_libs = lua.create_table()?;
        raising_libs.raw_set("redis", raising_redis)?;
        raising_libs.raw_set("cjson", libs::cjson::create(&lua)?)?;
        raising_libs.raw_set("cmsgpack", libs::cmsgpack::create(&lua)?)?;
        raising_libs.raw_set("bit", libs::bit::create(&lua)?)?;
        raising_libs.raw_set("struct", libs::structs::create(&lua)?)?;

        let kill_watch = watch.clone();
        hidden.raw_set(
            "killed",
            lua.create_function(move |_, ()| Ok(kill_watch.kill.load(Ordering::Acquire)))?,
        )?;
        let lrand_rng = rng.clone();
        hidden.raw_set(
            "lrand",
            lua.create_function(move |_, ()| {
                let r = lrand_rng.lock().next();
                Ok((r % i32::MAX) as f64 / i32::MAX as f64)
            })?,
        )?;
        hidden.raw_set(
            "srand",
            lua.create_function(move |_, seed: f64| {
                rng.lock().seed(seed as i64 as i32);
                Ok(())
            })?,
        )?;
        hidden.raw_set(
            "raising",
            lua.create_function(|lua, f: Function| raising_function(lua, f))?,
        )?;
        let handler =
            lua.create_function(move |lua, err: Value| error_handler(lua, err, &watch))?;
        hidden.raw_set("handler", handler.clone())?;
        lua.set_named_registry_value("understudy.hidden", hidden.clone())?;

        let (globals, runner, globals_meta, load_api): (Table, Function, Table, Table) = lua
            .load(include_str!("sandbox.lua"))
            .set_name(format!("{OWN_SOURCE}_sandbox"))
            .call((hidden.clone(), redis, raising_libs))?;
        Ok(Engine {
            lua,
            hidden,
            globals,
            runner,
            handler,
            globals_meta,
            load_api,
        })
    }

    /// Compiles a script body into a function of this interpreter.
    pub fn compile(&self, body: &[u8], source: &str) -> Result<Function, String> {
        self.lua
            .load(body)
            .set_name(source)
            .set_mode(mlua::ChunkMode::Text)
            .into_function()
            .map_err(|e| match e {
                mlua::Error::SyntaxError { message, .. } => message,
                other => other.to_string(),
            })
    }
}

/// Wraps `f`, which answers `(true, results...)` or `(false, error)`, into a C function that
/// returns the results or raises the error: a string at the caller's position (luaL_error's
/// `chunk:line:` prefix), a table as it is. Being a C function, it keeps the calling script's
/// frame on the stack even when the script tail-calls it, as Redis's C library functions do.
fn raising_function(lua: &Lua, f: Function) -> mlua::Result<Function> {
    // SAFETY: the closure only pushes a C closure over the function just pushed as argument.
    unsafe {
        lua.exec_raw(f, |state| {
            mlua::ffi::lua_pushcclosure(state, raising_trampoline, 1);
        })
    }
}

unsafe extern "C-unwind" fn raising_trampoline(
    state: *mut mlua::ffi::lua_State,
) -> std::os::raw::c_int {
    use mlua::ffi;
    // No Rust value with a destructor lives in this frame: Lua errors may longjmp through it.
    let nargs = ffi::lua_gettop(state);
    ffi::luaL_checkstack(state, 4, std::ptr::null());
    ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
    ffi::lua_insert(state, 1);
    ffi::lua_call(state, nargs, ffi::LUA_MULTRET);
    let results = ffi::lua_gettop(state);
    if results >= 1 && ffi::lua_toboolean(state, 1) != 0 {
        ffi::lua_remove(state, 1);
        return results - 1;
    }
    if results < 2 {
        ffi::lua_settop(state, 0);
        ffi::lua_pushnil(state);
    } else {
        ffi::lua_settop(state, 2);
        ffi::lua_remove(state, 1);
    }
    if ffi::lua_type(state, 1) == ffi::LUA_TSTRING {
        ffi::luaL_where(state, 1);
        ffi::lua_insert(state, 1);
        ffi::lua_concat(state, 2);
    }
    ffi::lua_error(state)
}

fn single_string(args: &MultiValue) -> Option<Vec<u8>> {
    match (args.len(), args.front()) {
        (1, Some(Value::String(s))) => Some(s.as_bytes().to_vec()),
        _ => None,
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => Some(*n),
        Value::Integer(n) => Some(*n as f64),
        Value::String(s) => std::str::from_utf8(&s.as_bytes())
            .ok()
            .and_then(|t| t.trim().parse().ok()),
        _ => None,
    }
}

/// A raising library function's success: `true` then the results.
pub fn succeed(lua: &Lua, results: impl mlua::IntoLuaMulti) -> mlua::Result<MultiValue> {
    let mut values = results.into_lua_multi(lua)?;
    values.push_front(Value::Boolean(true));
    Ok(values)
}

/// A raising library function's failure raised as a plain message at the caller's position
/// (C's luaL_error).
pub fn fail(lua: &Lua, message: impl AsRef<[u8]>) -> mlua::Result<MultiValue> {
    let mut values = MultiValue::new();
    values.push_back(Value::Boolean(false));
    values.push_back(Value::String(lua.create_string(message)?));
    Ok(values)
}

/// A raising library function's failure raised as an error table (Redis's luaPushError).
pub fn fail_table(lua: &Lua, message: &str) -> mlua::Result<MultiValue> {
    let mut values = MultiValue::new();
    values.push_back(Value::Boolean(false));
    values.push_back(Value::Table(convert::error_table(lua, message.as_bytes())?));
    Ok(values)
}

/// Redis's argument conversion for redis.call and friends: strings as they are, numbers as
/// `%.17g`; anything else is refused with Redis's error text.
fn command_args(values: &[Value]) -> Result<crate::protocol::OwnedArgs, &'static str> {
    if values.is_empty() {
        return Err("Please specify at least one argument for this redis lib call");
    }
    let mut argv = crate::protocol::OwnedArgs::default();
    for value in values {
        match value {
            Value::String(s) => argv.push(&s.as_bytes()),
            // C's %.17g spells the sign of a NaN (0/0 is negative on x86).
            Value::Number(n) if n.is_nan() && n.is_sign_negative() => argv.push(b"-nan"),
            Value::Number(n) => argv.push(crate::protocol::format::format_double(*n).as_bytes()),
            Value::Integer(n) => argv.push(n.to_string().as_bytes()),
            _ => return Err("Lua redis lib command arguments must be strings or integers"),
        }
    }
    Ok(argv)
}

/// `redis.acl_check_cmd(...)`: whether the caller may run the command. Every client is the
/// default user, allowed everything: the answer is whether the command exists.
fn acl_check_cmd(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let hidden: Table = lua.named_registry_value("understudy.hidden")?;
    if hidden.raw_get::<Value>("dispatch")? == Value::Nil {
        return fail_table(
            lua,
            "redis.acl_check_cmd can only be called inside a script invocation",
        );
    }
    let values: Vec<Value> = args.into_iter().collect();
    let argv = match command_args(&values) {
        Ok(argv) => argv,
        Err(text) => return fail_table(lua, text),
    };
    match CommandTable::get().lookup(argv.args()) {
        Lookup::Found(_) => succeed(lua, true),
        _ => fail_table(lua, "Invalid command passed to redis.acl_check_cmd()"),
    }
}

fn sha1hex(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    if args.len() != 1 {
        return fail_table(lua, "wrong number of arguments");
    }
    let bytes = match args.front() {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        Some(Value::Number(n)) => lua_number_text(*n).into_bytes(),
        Some(Value::Integer(n)) => n.to_string().into_bytes(),
        _ => Vec::new(),
    };
    succeed(lua, sha1_hex(&bytes))
}

pub fn sha1_hex(bytes: &[u8]) -> String {
    sha1_smol::Sha1::from(bytes).digest().to_string()
}

fn log(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    if args.len() < 2 {
        return fail_table(lua, "redis.log() requires two arguments or more.");
    }
    let Some(level) = args.front().and_then(number) else {
        return fail_table(lua, "First argument must be a number (log level).");
    };
    let level = level as i64;
    if !(0..=3).contains(&level) {
        return fail_table(lua, "Invalid debug level.");
    }
    let mut message = Vec::new();
    for value in args.iter().skip(1) {
        let text = match value {
            Value::String(s) => s.as_bytes().to_vec(),
            Value::Number(n) => lua_number_text(*n).into_bytes(),
            Value::Integer(n) => n.to_string().into_bytes(),
            _ => continue,
        };
        if !message.is_empty() {
            message.push(b' ');
        }
        message.extend_from_slice(&text);
    }
    let message = String::from_utf8_lossy(&message);
    match level {
        0 => tracing::debug!(target: "script", "{message}"),
        1 => tracing::debug!(target: "script", "{message}"),
        2 => tracing::info!(target: "script", "{message}"),
        _ => tracing::warn!(target: "script", "{message}"),
    }
    succeed(lua, ())
}

/// Turns whatever a script raised into Redis's error table, with the position in the user's
/// code (the innermost frame that is neither C nor ours).
fn error_handler(lua: &Lua, err: Value, watch: &ScriptWatch) -> mlua::Result<Table> {
    let table = match err {
        Value::Table(table) => table,
        other => {
            let text = if watch.kill.load(Ordering::Acquire) {
                KILLED.to_string()
            } else {
                format!("ERR {}", describe(&other))
            };
            let table = lua.create_table()?;
            table.raw_set("err", lua.create_string(text)?)?;
            table
        }
    };
    let mut level = 1;
    while let Some(frame) = lua.inspect_stack(level) {
        level += 1;
        let source = frame.source();
        if source.what == "C"
            || source
                .source
                .as_deref()
                .unwrap_or("")
                .starts_with(OWN_SOURCE)
        {
            continue;
        }
        if let Some(name) = source.source {
            table.raw_set("source", name.as_ref())?;
            table.raw_set("line", frame.curr_line())?;
        }
        break;
    }
    Ok(table)
}

/// Lua's `tostring` of a raised value.
fn describe(value: &Value) -> String {
    match value {
        Value::Nil => "nil".into(),
        Value::Boolean(b) => b.to_string(),
        Value::Number(n) => lua_number_text(*n),
        Value::Integer(n) => n.to_string(),
        Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
        Value::Error(e) => error_message(e),
        other => format!("{}: {:p}", other.type_name(), other.to_pointer()),
    }
}

/// The message of an error raised from Rust (a hook, a callback), without mlua's decorations.
fn error_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::RuntimeError(message) => message.clone(),
        mlua::Error::CallbackError { cause, .. } => error_message(cause),
        other => other.to_string(),
    }
}

/// A script in the EVAL cache.
pub struct CachedScript {
    pub flags: ScriptFlags,
    pub function: Function,
}

/// Scripting's share of the server state.
pub struct Scripting {
    pub watch: Arc<ScriptWatch>,
    rng: Arc<Mutex<Lrand48>>,
    pub eval: Engine,
    /// SHA1 (lowercase hex) to script, as SCRIPT LOAD and EVAL leave them.
    pub scripts: HashMap<String, CachedScript, ahash::RandomState>,
    pub functions: functions::Functions,
}

impl Scripting {
    pub fn new() -> Scripting {
        let watch = Arc::new(ScriptWatch::default());
        let rng = Arc::new(Mutex::new(Lrand48::default()));
        let eval = Engine::new(watch.clone(), rng.clone()).expect("the Lua engine starts");
        let functions = functions::Functions::new(watch.clone(), rng.clone());
        Scripting {
            watch,
            rng,
            eval,
            scripts: HashMap::default(),
            functions,
        }
    }

    /// SCRIPT FLUSH: forgets every script and starts a fresh interpreter.
    pub fn flush_scripts(&mut self) {
        self.scripts.clear();
        self.eval =
            Engine::new(self.watch.clone(), self.rng.clone()).expect("the Lua engine starts");
    }

    /// Parses the shebang of an EVAL script and compiles it into the cache; returns its SHA1.
    pub fn load_script(&mut self, body: &[u8]) -> Result<String, CmdError> {
        let sha = sha1_hex(body);
        if self.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, code) = parse_shebang(body)?;
        let function = self.eval.compile(code, EVAL_SOURCE).map_err(|e| {
            CmdError::from(format!("ERR Error compiling script (new function): {e}"))
        })?;
        self.scripts
            .insert(sha.clone(), CachedScript { flags, function });
        Ok(sha)
    }

    /// The flags the script or function an EVAL*, EVALSHA* or FCALL* call runs declares, if it
    /// declares any (Redis's evalGetCommandFlags and fcallGetCommandFlags): the call then
    /// stands for those flags instead of its command's.
    pub fn declared_flags(
        &self,
        command: &str,
        args: crate::protocol::Args<'_>,
    ) -> Option<ScriptFlags> {
        if !(command.starts_with("eval") || command.starts_with("fcall")) || args.len() < 2 {
            return None;
        }
        let target = args.get(1);
        let flags = match command {
            "eval" | "eval_ro" => parse_shebang(target).ok()?.0,
            "evalsha" | "evalsha_ro" => {
                let sha = String::from_utf8_lossy(target).to_ascii_lowercase();
                self.scripts.get(&sha)?.flags
            }
            "fcall" | "fcall_ro" => self.functions.find(&String::from_utf8_lossy(target))?.flags,
            _ => return None,
        };
        (!flags.eval_compat).then_some(flags)
    }
}

impl Default for Scripting {
    fn default() -> Self {
        Scripting::new()
    }
}

/// Reads `#!lua [flags=a,b]` off a script; the code keeps the shebang's newline so that line
/// numbers stay right.
fn parse_shebang(body: &[u8]) -> Result<(ScriptFlags, &[u8]), CmdError> {
    let mut flags = ScriptFlags::default();
    if !body.starts_with(b"#!") {
        flags.eval_compat = true;
        return Ok((flags, body));
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err("ERR Invalid script shebang".into());
    };
    let mut parts = body[..end]
        .split(|b| b.is_ascii_whitespace())
        .filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or_default();
    if engine != b"#!lua" {
        return Err(format!(
            "ERR Unexpected engine in script shebang: {}",
            String::from_utf8_lossy(engine)
        )
        .into());
    }
    for part in parts {
        let Some(list) = part.strip_prefix(b"flags=") else {
            return Err(format!(
                "ERR Unknown lua shebang option: {}",
                String::from_utf8_lossy(part)
            )
            .into());
        };
        if list.is_empty() {
            continue;
        }
        for name in list.split(|&b| b == b',') {
            if !flags.set(name) {
                return Err(format!(
                    "ERR Unexpected flag in script shebang: {}",
                    String::from_utf8_lossy(name)
                )
                .into());
            }
        }
    }
    Ok((flags, &body[end..]))
}

/// What runs: a compiled function with its KEYS and ARGV.
pub struct Invocation<'a> {
    /// The sha of an EVAL script or the name of a function, for error texts.
    pub name: String,
    pub function: Function,
    pub keys: Vec<&'a [u8]>,
    pub args: Vec<&'a [u8]>,
    /// Write commands are refused (EVAL_RO, FCALL_RO, `no-writes`).
    pub read_only: bool,
    /// Commands that grow memory run even over `maxmemory` (the `allow-oom` flag).
    pub allow_oom: bool,
    pub is_function: bool,
}

/// The script's own client, as far as commands care: its database and protocol.
struct ScriptClient {
    db: usize,
    resp: Resp,
    read_only: bool,
    allow_oom: bool,
}

/// Runs a script or function and writes its reply to `ctx.out`.
pub fn run(ctx: &mut Ctx, lua_engine: EngineHandle, invocation: Invocation) -> CmdResult {
    let EngineHandle {
        lua,
        hidden,
        globals,
        runner,
        handler,
    } = lua_engine;
    let watch = ctx.state.scripting.watch.clone();
    let keys = lua.create_sequence_from(
        invocation
            .keys
            .iter()
            .map(|k| lua.create_string(k))
            .collect::<mlua::Result<Vec<_>>>()
            .map_err(internal)?,
    );
    let args = lua.create_sequence_from(
        invocation
            .args
            .iter()
            .map(|a| lua.create_string(a))
            .collect::<mlua::Result<Vec<_>>>()
            .map_err(internal)?,
    );
    let (keys, args) = (keys.map_err(internal)?, args.map_err(internal)?);
    if !invocation.is_function {
        globals.raw_set("KEYS", keys.clone()).map_err(internal)?;
        globals.raw_set("ARGV", args.clone()).map_err(internal)?;
    }

    watch.kill.store(false, Ordering::Release);
    watch.wrote.store(false, Ordering::Release);
    watch.busy.store(false, Ordering::Release);
    watch
        .is_function
        .store(invocation.is_function, Ordering::Release);
    *watch.function_call.lock() = invocation.is_function.then(|| FunctionCall {
        name: invocation.name.clone(),
        command: ctx.args.iter().map(<[u8]>::to_vec).collect(),
        started: Instant::now(),
    });
    watch.running.store(true, Ordering::Release);
    let threshold = ctx.state.config.int("busy-reply-threshold");
    let hook = HookState {
        watch: watch.clone(),
        started: Instant::now(),
        busy_after: (threshold > 0).then(|| Duration::from_millis(threshold as u64)),
        load_timeout: None,
    };

    let client = Mutex::new(ScriptClient {
        db: ctx.db,
        resp: Resp::V2,
        read_only: invocation.read_only,
        allow_oom: invocation.allow_oom,
    });
    ctx.state.in_script = true;
    let outcome = with_count_hook(&lua, hook, || {
        lua.scope(|scope| {
        let client = &client;
        let dispatch = scope.create_function_mut(|lua, args: MultiValue| {
            let mut args = args.into_iter();
            let raise = matches!(args.next(), Some(Value::Boolean(true)));
            let reply = dispatch(lua, ctx, client, args.collect())?;
            let failed = matches!(&reply, Value::Table(t) if matches!(t.raw_get::<Value>("err"), Ok(Value::String(_))));
            Ok((!(raise && failed), reply))
        })?;
        let setresp = scope.create_function(|lua, args: MultiValue| {
            if args.len() != 1 {
                return fail_table(lua, "redis.setresp() requires one argument.");
            }
            match args.front().and_then(number).map(|n| n as i64) {
                Some(2) => client.lock().resp = Resp::V2,
                Some(3) => client.lock().resp = Resp::V3,
                _ => return fail_table(lua, "RESP version must be 2 or 3."),
            }
            succeed(lua, ())
        })?;
        hidden.raw_set("dispatch", dispatch)?;
        hidden.raw_set("setresp", setresp)?;
        let result = runner.call::<MultiValue>((
            handler.clone(),
            invocation.function.clone(),
            keys,
            args,
        ));
        hidden.raw_set("dispatch", Value::Nil)?;
        hidden.raw_set("setresp", Value::Nil)?;
        result
    })
    });
    ctx.state.in_script = false;
    let killed = watch.kill.load(Ordering::Acquire);
    watch.running.store(false, Ordering::Release);
    watch.busy.store(false, Ordering::Release);
    watch.kill.store(false, Ordering::Release);
    *watch.function_call.lock() = None;
    watch.wrote.store(false, Ordering::Release);
    if !invocation.is_function {
        let _ = globals.raw_set("KEYS", Value::Nil);
        let _ = globals.raw_set("ARGV", Value::Nil);
    }

    if killed && *ctx.shared.shutdown.borrow() {
        // SHUTDOWN NOSAVE stopped it: Redis exits there and then, answering nobody.
        ctx.client().close_asap = true;
        return Ok(());
    }
    let mut values = outcome.map_err(internal)?.into_iter();
    let ok = matches!(values.next(), Some(Value::Boolean(true)));
    let value = values.next().unwrap_or(Value::Nil);
    let script_resp = client.into_inner().resp;
    if ok {
        let mut errors = Vec::new();
        convert::lua_to_reply(&value, ctx.out, script_resp, &mut errors);
        ctx.state.reply_failed = !errors.is_empty();
        for error in errors {
            if !error.counted {
                ctx.state.count_error(&error.text);
            }
        }
        return Ok(());
    }
    let Value::Table(table) = value else {
        return Err(format!(
            "ERR Error running script {}, {:.100}",
            invocation.name,
            describe(&value)
        )
        .into());
    };
    let mut info = convert::error_info(&table);
    if killed {
        info.message = KILLED.as_bytes().to_vec();
    }
    let mut text = convert::c_string(&info.message).to_vec();
    if let (Some(source), Some(line)) = (&info.source, &info.line) {
        text.extend_from_slice(
            format!(" script: {}, on {source}:{line}.", invocation.name).as_bytes(),
        );
    }
    ctx.out.error_bytes(&text);
    ctx.state.reply_failed = true;
    if !info.already_counted {
        ctx.state.count_error(&text);
    }
    Ok(())
}

fn internal(e: mlua::Error) -> CmdError {
    format!("ERR Error running script: {e}").into()
}

/// The pieces of an engine a run needs, cloned out of the state so that the state can be
/// lent to the script's commands meanwhile.
pub struct EngineHandle {
    lua: Lua,
    hidden: Table,
    globals: Table,
    runner: Function,
    handler: Function,
}

impl Engine {
    pub fn handle(&self) -> EngineHandle {
        EngineHandle {
            lua: self.lua.clone(),
            hidden: self.hidden.clone(),
            globals: self.globals.clone(),
            runner: self.runner.clone(),
            handler: self.handler.clone(),
        }
    }
}

/// What the instruction-count hook reads while a script or a library load runs, through a
/// pointer in the Lua registry.
pub struct HookState {
    watch: Arc<ScriptWatch>,
    started: Instant,
    /// busy-reply-threshold, if scripts may become busy.
    busy_after: Option<Duration>,
    /// A FUNCTION LOAD fails after this.
    load_timeout: Option<Duration>,
}

const HOOK_KEY: &std::ffi::CStr = c"understudy.hook";

impl HookState {
    /// The error to raise in the script, if it must stop; notices it becoming slow.
    fn check(&self) -> Option<&'static std::ffi::CStr> {
        if self.watch.kill.load(Ordering::Acquire) {
            return Some(c"ERR Script killed by user with SCRIPT KILL...");
        }
        let elapsed = self.started.elapsed();
        if self.load_timeout.is_some_and(|limit| elapsed > limit) {
            return Some(c"ERR FUNCTION LOAD timeout");
        }
        if let Some(threshold) = self.busy_after {
            if elapsed >= threshold && !self.watch.busy.load(Ordering::Acquire) {
                tracing::warn!(
                    "Slow script detected: still in execution after {} milliseconds. You can try killing the script using the {} command.",
                    elapsed.as_millis(),
                    if self.watch.is_function.load(Ordering::Acquire) { "FUNCTION KILL" } else { "SCRIPT KILL" }
                );
                self.watch.busy.store(true, Ordering::Release);
                hand_over_other_tasks();
            }
        }
        None
    }
}

/// Runs `f` with the count hook installed: every HOOK_PERIOD instructions it looks at the kill
/// flag, the load deadline and the clock. A C hook of our own rather than mlua's, because Lua
/// hands it on to the coroutines a script creates: a loop inside a coroutine stays killable.
pub fn with_count_hook<R>(lua: &Lua, state: HookState, f: impl FnOnce() -> R) -> R {
    let state = Box::new(state);
    let pointer = &*state as *const HookState as *mut std::ffi::c_void;
    // SAFETY: the registry entry points at `state`, which outlives the hook: both are removed
    // below before `state` is dropped.
    let installed = unsafe {
        lua.exec_raw::<()>((), |l| {
            mlua::ffi::lua_pushlightuserdata(l, pointer);
            mlua::ffi::lua_setfield(l, mlua::ffi::LUA_REGISTRYINDEX, HOOK_KEY.as_ptr());
            mlua::ffi::lua_sethook(
                l,
                Some(count_hook),
                mlua::ffi::LUA_MASKCOUNT,
                HOOK_PERIOD as std::os::raw::c_int,
            );
        })
    };
    let result = f();
    if installed.is_ok() {
        // SAFETY: only clears what was set above.
        let _ = unsafe {
            lua.exec_raw::<()>((), |l| {
                mlua::ffi::lua_sethook(l, None, 0, 0);
                mlua::ffi::lua_pushnil(l);
                mlua::ffi::lua_setfield(l, mlua::ffi::LUA_REGISTRYINDEX, HOOK_KEY.as_ptr());
            })
        };
    }
    drop(state);
    result
}

unsafe extern "C-unwind" fn count_hook(l: *mut mlua::ffi::lua_State, _: *mut mlua::ffi::lua_Debug) {
    use mlua::ffi;
    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, HOOK_KEY.as_ptr());
    let pointer = ffi::lua_touserdata(l, -1) as *const HookState;
    ffi::lua_settop(l, -2);
    // A coroutine kept from an earlier run may still carry the hook: nothing runs now.
    if pointer.is_null() {
        return;
    }
    // SAFETY: the pointer is set only while its HookState lives (with_count_hook).
    let state = &*pointer;
    let stop =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| state.check())).unwrap_or(None);
    if let Some(message) = stop {
        // Raised as the error table Redis raises; no Rust value with a destructor is alive.
        ffi::lua_createtable(l, 0, 1);
        ffi::lua_pushstring(l, message.as_ptr());
        ffi::lua_setfield(l, -2, c"err".as_ptr());
        ffi::lua_error(l);
    }
}

/// Lets the runtime serve other connections from another thread while this one stays in the
/// script (only a multi-thread runtime can).
fn hand_over_other_tasks() {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            // block_in_place takes the worker back when its closure returns if the new worker
            // has not started yet: wait until a task runs there, proof that it owns the worker.
            tokio::task::block_in_place(|| {
                let (started, wait) = std::sync::mpsc::channel();
                handle.spawn(async move {
                    let _ = started.send(());
                });
                // The new worker starts as soon as the OS schedules it; the bound only keeps a
                // runtime that is shutting down from holding the script forever.
                let _ = wait.recv_timeout(Duration::from_secs(30));
            });
        }
    }
}

/// `redis.call`/`redis.pcall`: runs one command as the script's client and returns its reply
/// as a Lua value (an error table when it failed or was refused).
fn dispatch(
    lua: &Lua,
    ctx: &mut Ctx,
    client: &Mutex<ScriptClient>,
    values: Vec<Value>,
) -> mlua::Result<Value> {
    let argv = match command_args(&values) {
        Ok(argv) => argv,
        Err(text) => return Ok(Value::Table(convert::error_table(lua, text.as_bytes())?)),
    };
    let args = argv.args();
    // A refused command's error counts once, here, whether or not the script passes it on.
    let refused = |ctx: &mut Ctx, text: &str| -> mlua::Result<Value> {
        let table = convert::error_table(lua, text.as_bytes())?;
        ctx.state.count_error(b"ERR");
        table.raw_set("ignore_error_stats_update", true)?;
        Ok(Value::Table(table))
    };
    let cmd = match CommandTable::get().lookup(args) {
        Lookup::Found(cmd) => cmd,
        _ => return refused(ctx, "Unknown Redis command called from script"),
    };
    let arity = cmd.def.arity;
    let argc = args.len() as i32;
    if cmd.def.handler.is_none() || (arity > 0 && arity != argc) || argc < -arity {
        return refused(
            ctx,
            "Wrong number of args calling Redis command from script",
        );
    }
    if cmd.has(flags::NOSCRIPT) {
        return refused(ctx, "This Redis command is not allowed from script");
    }
    let (db, resp, read_only, allow_oom) = {
        let c = client.lock();
        (c.db, c.resp, c.read_only, c.allow_oom)
    };
    if cmd.has(flags::WRITE) && read_only {
        return refused(
            ctx,
            "Write commands are not allowed from read-only scripts.",
        );
    }
    // Redis's scriptVerifyOOM: over maxmemory when the script started, its first command that
    // could grow memory is refused; once it has written, it must be allowed to finish.
    let wrote = ctx.state.scripting.watch.wrote.load(Ordering::Acquire);
    if cmd.has(flags::DENYOOM)
        && !allow_oom
        && !wrote
        && ctx.state.config.hot.maxmemory != 0
        && ctx.state.eviction.out_of_memory_at_start
    {
        let text = format!("-{}", crate::commands::errors::OOM);
        let table = convert::error_table(lua, text.as_bytes())?;
        ctx.state.count_error(b"OOM");
        table.raw_set("ignore_error_stats_update", true)?;
        return Ok(Value::Table(table));
    }
    if cmd.has(flags::WRITE) {
        ctx.state
            .scripting
            .watch
            .wrote
            .store(true, Ordering::Release);
    }
    let mut out = ReplyBuf::new(resp);
    let new_db = crate::commands::execute(
        ctx.shared,
        ctx.state,
        ctx.client_id,
        cmd,
        args,
        db,
        &mut out,
        ctx.now_ms,
    );
    client.lock().db = new_db;
    convert::reply_to_lua(lua, &out.buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lrand48_matches_the_posix_sequence() {
        let mut rng = Lrand48::default();
        // lrand48() without srand48: the first values glibc gives.
        assert_eq!(rng.next(), 851401618);
        assert_eq!(rng.next(), 1804928587);
    }

    #[test]
    fn shebangs_parse_as_redis_reads_them() {
        let (flags, code) = parse_shebang(b"#!lua flags=no-writes,allow-oom\nreturn 1").unwrap();
        assert!(flags.no_writes && flags.allow_oom && !flags.eval_compat);
        assert_eq!(code, b"\nreturn 1");
        assert!(parse_shebang(b"return 1").unwrap().0.eval_compat);
        let err = |body: &[u8]| parse_shebang(body).unwrap_err().0.into_owned();
        assert_eq!(err(b"#!lua"), "ERR Invalid script shebang");
        assert_eq!(
            err(b"#!lux\n"),
            "ERR Unexpected engine in script shebang: #!lux"
        );
        assert_eq!(
            err(b"#!lua flags=bad\n"),
            "ERR Unexpected flag in script shebang: bad"
        );
        assert_eq!(
            err(b"#!lua foo=bar\n"),
            "ERR Unknown lua shebang option: foo=bar"
        );
    }

    #[test]
    fn globals_are_read_only_and_missing_ones_are_errors() {
        let engine = Engine::new(Arc::default(), Arc::default()).unwrap();
        let run = |code: &str| -> Result<Value, String> {
            let f = engine.compile(code.as_bytes(), EVAL_SOURCE)?;
            let (ok, v): (bool, Value) = engine
                .runner
                .call((engine.handler.clone(), f, Value::Nil, Value::Nil))
                .map_err(|e| e.to_string())?;
            if ok {
                Ok(v)
            } else {
                let Value::Table(t) = v else {
                    return Err("?".into());
                };
                Err(String::from_utf8_lossy(&convert::error_info(&t).message).into_owned())
            }
        };
        assert_eq!(
            run("x = 1").unwrap_err(),
            "ERR user_script:1: Attempt to modify a readonly table"
        );
        assert_eq!(
            run("return os").unwrap_err(),
            "ERR user_script:1: Script attempted to access nonexistent global variable 'os'"
        );
        assert_eq!(
            run("redis.call = 1").unwrap_err(),
            "ERR user_script:1: Attempt to modify a readonly table"
        );
        assert!(matches!(
            run("return string.upper('a')"),
            Ok(Value::String(_))
        ));
        assert_eq!(
            run("return cjson.decode('x')").unwrap_err(),
            "ERR user_script:1: Expected value but found invalid token at character 1"
        );
    }
}
