//! Redis 7 functions: libraries of named Lua functions loaded with FUNCTION LOAD and called with
//! FCALL. They run in an interpreter of their own, separate from EVAL's. The libraries' sources
//! are kept ([`Library::code`]) so that persistence can save them: [`dump`] writes them in
//! Redis's FUNCTION DUMP payload format, which is also what an RDB file holds for them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mlua::{Function, Lua, MultiValue, Table, Value};
use parking_lot::Mutex;

use super::{fail_table, succeed, Engine, Lrand48, ScriptFlags, ScriptWatch, FUNCTION_SOURCE};
use crate::commands::CmdError;

/// How long a library's code may run while it is loaded.
const LOAD_TIMEOUT: Duration = Duration::from_millis(500);

/// One registered function.
pub struct FunctionDef {
    pub name: String,
    pub description: Option<Vec<u8>>,
    pub flags: ScriptFlags,
    pub function: Function,
}

/// A loaded library: its source (what persistence saves) and the functions it registered.
pub struct Library {
    pub name: String,
    pub code: Vec<u8>,
    pub functions: BTreeMap<String, FunctionDef>,
}

pub struct Functions {
    watch: Arc<ScriptWatch>,
    rng: Arc<Mutex<Lrand48>>,
    pub engine: Engine,
    /// Libraries by name.
    pub libraries: BTreeMap<String, Library>,
}

impl Functions {
    pub fn new(watch: Arc<ScriptWatch>, rng: Arc<Mutex<Lrand48>>) -> Functions {
        let engine = Engine::new(watch.clone(), rng.clone()).expect("the Lua engine starts");
        Functions {
            watch,
            rng,
            engine,
            libraries: BTreeMap::new(),
        }
    }

    /// FUNCTION FLUSH: drops every library, and the interpreter with them.
    pub fn flush(&mut self) {
        self.libraries.clear();
        self.engine =
            Engine::new(self.watch.clone(), self.rng.clone()).expect("the Lua engine starts");
        self.publish_counts();
    }

    /// FUNCTION DELETE: false if there is no such library.
    pub fn delete(&mut self, name: &str) -> bool {
        let found = self.libraries.remove(name).is_some();
        self.publish_counts();
        found
    }

    /// Keeps the counts FUNCTION STATS reports where a busy connection can read them.
    fn publish_counts(&self) {
        use std::sync::atomic::Ordering;
        self.watch
            .libraries
            .store(self.libraries.len(), Ordering::Release);
        self.watch
            .functions
            .store(self.function_count(), Ordering::Release);
    }

    /// The library and definition of the function called `name`.
    pub fn find(&self, name: &str) -> Option<&FunctionDef> {
        self.libraries
            .values()
            .find_map(|library| library.functions.get(name))
    }

    pub fn function_count(&self) -> usize {
        self.libraries.values().map(|l| l.functions.len()).sum()
    }

    /// Compiles and runs a library's code, collecting what it registers; does not install it.
    pub fn create(&self, code: &[u8]) -> Result<Library, CmdError> {
        let (name, body) = parse_metadata(code)?;
        let chunk = self
            .engine
            .compile(body, FUNCTION_SOURCE)
            .map_err(|e| CmdError::from(format!("ERR Error compiling function: {e}")))?;
        let functions = self.engine.run_library(&chunk, &self.watch)?;
        if functions.is_empty() {
            return Err("ERR No functions registered".into());
        }
        Ok(Library {
            name,
            code: code.to_vec(),
            functions: functions.into_iter().map(|f| (f.name.clone(), f)).collect(),
        })
    }

    /// Installs libraries (FUNCTION LOAD, RESTORE): a library of the same name is replaced when
    /// `replace`, else refused; a function name another library has is refused. All or nothing.
    pub fn install(&mut self, new: Vec<Library>, replace: bool) -> Result<(), CmdError> {
        for library in &new {
            if !replace && self.libraries.contains_key(&library.name) {
                return Err(format!("ERR Library {} already exists", library.name).into());
            }
        }
        for library in &new {
            for function in library.functions.keys() {
                let taken = self.libraries.values().any(|other| {
                    other.name != library.name && other.functions.contains_key(function)
                }) || new.iter().any(|other| {
                    other.name != library.name && other.functions.contains_key(function)
                });
                if taken {
                    return Err(format!("ERR Function {function} already exists").into());
                }
            }
        }
        for library in new {
            self.libraries.insert(library.name.clone(), library);
        }
        self.publish_counts();
        Ok(())
    }
}

/// The name a library's code declares (its metadata errors if it declares none).
pub fn library_name(code: &[u8]) -> Result<String, CmdError> {
    parse_metadata(code).map(|(name, _)| name)
}

/// Reads `#!lua name=<library>` off a library's code; the body keeps the shebang's newline so
/// that line numbers stay right.
fn parse_metadata(code: &[u8]) -> Result<(String, &[u8]), CmdError> {
    if !code.starts_with(b"#!") {
        return Err("ERR Missing library metadata".into());
    }
    let end = code.iter().position(|&b| b == b'\n').unwrap_or(code.len());
    let mut parts = code[2..end]
        .split(|b| b.is_ascii_whitespace())
        .filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or_default();
    if !engine.eq_ignore_ascii_case(b"lua") {
        return Err(format!("ERR Engine '{}' not found", String::from_utf8_lossy(engine)).into());
    }
    let mut name = None;
    for part in parts {
        match part.strip_prefix(b"name=") {
            Some(value) => name = Some(value),
            None => {
                return Err(format!(
                    "ERR Invalid metadata value given: {}",
                    String::from_utf8_lossy(part)
                )
                .into())
            }
        }
    }
    let Some(name) = name else {
        return Err("ERR Library name was not given".into());
    };
    if !valid_name(name) {
        return Err("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into());
    }
    Ok((String::from_utf8_lossy(name).into_owned(), &code[end..]))
}

fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

impl Engine {
    /// Runs a library's code with only the load API in sight, collecting the functions it
    /// registers.
    fn run_library(
        &self,
        chunk: &Function,
        watch: &Arc<ScriptWatch>,
    ) -> Result<Vec<FunctionDef>, CmdError> {
        let registered = Mutex::new(Vec::new());
        let internal =
            |e: mlua::Error| CmdError::from(format!("ERR Error registering functions: {e}"));
        self.globals_meta
            .raw_set("__index", self.load_api.clone())
            .map_err(internal)?;
        let hook = super::HookState {
            watch: watch.clone(),
            started: Instant::now(),
            busy_after: None,
            load_timeout: Some(LOAD_TIMEOUT),
        };
        let outcome = super::with_count_hook(&self.lua, hook, || {
            self.lua.scope(|scope| {
                let registered = &registered;
                let register = scope.create_function(move |lua, args: MultiValue| {
                    register_function(lua, args, registered)
                })?;
                self.hidden.raw_set("register", register)?;
                let result = self.runner.call::<MultiValue>((
                    self.handler.clone(),
                    chunk.clone(),
                    Value::Nil,
                    Value::Nil,
                ));
                self.hidden.raw_set("register", Value::Nil)?;
                result
            })
        });
        self.globals_meta
            .raw_set("__index", self.globals.clone())
            .map_err(internal)?;
        let mut values = outcome.map_err(internal)?.into_iter();
        if matches!(values.next(), Some(Value::Boolean(true))) {
            return Ok(registered.into_inner());
        }
        let message = match values.next() {
            Some(Value::Table(table)) => {
                String::from_utf8_lossy(&super::convert::error_info(&table).message).into_owned()
            }
            other => super::describe(&other.unwrap_or(Value::Nil)),
        };
        Err(format!("ERR Error registering functions: {message}").into())
    }
}

/// `redis.register_function(name, callback)` or `redis.register_function{function_name=...,
/// callback=..., flags={...}, description=...}`, during FUNCTION LOAD.
fn register_function(
    lua: &Lua,
    args: MultiValue,
    registered: &Mutex<Vec<FunctionDef>>,
) -> mlua::Result<MultiValue> {
    let args: Vec<Value> = args.into_iter().collect();
    let mut name: Option<Vec<u8>> = None;
    let mut callback: Option<Function> = None;
    let mut flags = ScriptFlags::default();
    let mut description = None;
    match args.as_slice() {
        [Value::Table(named)] => {
            for pair in named.pairs::<Value, Value>() {
                let (key, value) = pair?;
                let key = match &key {
                    Value::String(s) => s.as_bytes().to_vec(),
                    _ => return fail_table(lua, "named argument key given to redis.register_function is not a string"),
                };
                match key.as_slice() {
                    b"function_name" => match string_of(&value) {
                        Some(s) => name = Some(s),
                        None => {
                            return fail_table(
                                lua,
                                "function_name argument given to redis.register_function must be a string",
                            )
                        }
                    },
                    b"description" => match string_of(&value) {
                        Some(s) => description = Some(s),
                        None => {
                            return fail_table(
                                lua,
                                "description argument given to redis.register_function must be a string",
                            )
                        }
                    },
                    b"callback" => match value {
                        Value::Function(f) => callback = Some(f),
                        _ => {
                            return fail_table(
                                lua,
                                "callback argument given to redis.register_function must be a function",
                            )
                        }
                    },
                    b"flags" => match &value {
                        Value::Table(list) => match read_flags(list) {
                            Some(read) => flags = read,
                            None => return fail_table(lua, "unknown flag given"),
                        },
                        _ => {
                            return fail_table(
                                lua,
                                "flags argument to redis.register_function must be a table representing function flags",
                            )
                        }
                    },
                    _ => return fail_table(lua, "unknown argument given to redis.register_function"),
                }
            }
            if name.is_none() {
                return fail_table(lua, "redis.register_function must get a function name argument");
            }
            if callback.is_none() {
                return fail_table(lua, "redis.register_function must get a callback argument");
            }
        }
        [_] => {
            return fail_table(
                lua,
                "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).",
            )
        }
        [first, second] => {
            let Some(s) = string_of(first) else {
                return fail_table(lua, "first argument to redis.register_function must be a string");
            };
            let Value::Function(f) = second else {
                return fail_table(lua, "second argument to redis.register_function must be a function");
            };
            name = Some(s);
            callback = Some(f.clone());
        }
        _ => return fail_table(lua, "wrong number of arguments to redis.register_function"),
    }
    let (Some(name), Some(function)) = (name, callback) else {
        return fail_table(lua, "wrong number of arguments to redis.register_function");
    };
    if !valid_name(&name) {
        return fail_table(lua, "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long");
    }
    let name = String::from_utf8_lossy(&name).into_owned();
    let mut registered = registered.lock();
    if registered.iter().any(|f: &FunctionDef| f.name == name) {
        return fail_table(lua, "Function already exists in the library");
    }
    registered.push(FunctionDef {
        name,
        description,
        flags,
        function,
    });
    succeed(lua, ())
}

/// lua_isstring: strings, and numbers as Lua prints them.
fn string_of(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Number(n) => Some(super::lua_number_text(*n).into_bytes()),
        Value::Integer(n) => Some(n.to_string().into_bytes()),
        _ => None,
    }
}

fn read_flags(list: &Table) -> Option<ScriptFlags> {
    let mut flags = ScriptFlags::default();
    for pair in list.pairs::<Value, Value>() {
        let (_, value) = pair.ok()?;
        let Value::String(name) = value else {
            return None;
        };
        if !flags.set(&name.as_bytes()) {
            return None;
        }
    }
    Some(flags)
}

/// FUNCTION DUMP: every library's source in Redis's payload format.
pub fn dump(libraries: &BTreeMap<String, Library>) -> Vec<u8> {
    crate::persistence::rdb::dump_functions(libraries.values().map(|l| l.code.as_slice()))
}

/// Reads a FUNCTION DUMP payload back into library sources, with Redis's errors.
pub fn parse_dump(payload: &[u8]) -> Result<Vec<Vec<u8>>, CmdError> {
    use crate::persistence::rdb::{undump_functions, FunctionPayloadError};
    undump_functions(payload).map_err(|e| {
        match e {
            FunctionPayloadError::Footer => "ERR DUMP payload version or checksum are wrong",
            FunctionPayloadError::NotAFunction => "ERR given type is not a function",
            FunctionPayloadError::Malformed => "ERR Bad data format",
        }
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_parses_as_redis_reads_it() {
        let (name, body) = parse_metadata(b"#!lua name=mylib\nreturn 1").unwrap();
        assert_eq!(name, "mylib");
        assert_eq!(body, b"\nreturn 1");
        let err = |code: &[u8]| parse_metadata(code).unwrap_err().0.into_owned();
        assert_eq!(err(b"return 1"), "ERR Missing library metadata");
        assert_eq!(err(b"#!lua\n"), "ERR Library name was not given");
        assert_eq!(err(b"#!lux name=x\n"), "ERR Engine 'lux' not found");
        assert_eq!(
            err(b"#!lua name=x foo=bar\n"),
            "ERR Invalid metadata value given: foo=bar"
        );
    }

    #[test]
    fn dumps_read_back() {
        let functions = Functions::new(Arc::default(), Arc::default());
        let library = functions
            .create(b"#!lua name=lib\nredis.register_function('f', function() return 1 end)")
            .unwrap();
        let mut libraries = BTreeMap::new();
        libraries.insert(library.name.clone(), library);
        let payload = dump(&libraries);
        let codes = parse_dump(&payload).unwrap();
        assert_eq!(codes, vec![libraries["lib"].code.clone()]);
        let mut corrupt = payload.clone();
        corrupt[3] ^= 1;
        assert!(parse_dump(&corrupt).is_err());
    }
}
