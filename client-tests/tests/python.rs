//! redis-py, running the scenarios in `client-tests/python/scenarios/` unmodified, against
//! redis-server and then against Understudy. The test command installs redis-py into
//! `client-tests/python/.venv`.

#[path = "support/scenarios.rs"]
mod scenarios;

use scenarios::Language;

scenarios!(
    Language::Python,
    redis_py_commands => "commands",
    redis_py_pubsub => "pubsub",
    redis_py_scripts_and_lock => "scripts",
);
