//! Redis 7 functions: libraries of named Lua functions loaded with FUNCTION LOAD and called with
//! FCALL. They run in an interpreter of their own, separate from EVAL's.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::{Engine, Lrand48, ScriptFlags, ScriptWatch};

/// One registered function.
pub struct FunctionDef {
    pub name: String,
    pub description: Option<String>,
    pub flags: ScriptFlags,
    pub function: mlua::Function,
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
}
