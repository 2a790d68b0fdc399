//! Runs client-library scenarios (Node.js in `client-tests/node`, Python in
//! `client-tests/python`) unmodified: each first against a fresh real redis-server (a scenario
//! failing there is a broken test, and says so), then against a fresh Understudy.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use client_tests::RedisServer;

/// Every scenario is bounded: its runner stops it after this long.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);

/// Each test binary including this file runs one language, so the other variant is unused there.
#[allow(dead_code)]
#[derive(Debug, Clone, Copy)]
pub enum Language {
    Node,
    Python,
}

impl Language {
    fn dir(self) -> PathBuf {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        match self {
            Language::Node => root.join("node"),
            Language::Python => root.join("python"),
        }
    }

    /// The interpreter and the runner script, checking that the test command installed the
    /// libraries.
    fn command(self) -> tokio::process::Command {
        let dir = self.dir();
        let mut command = match self {
            Language::Node => {
                assert!(
                    dir.join("node_modules").is_dir(),
                    "client-tests/node/node_modules is missing: run `npm ci` in client-tests/node \
                     (./scripts/test.sh does)"
                );
                let mut node = tokio::process::Command::new("node");
                node.arg("run.mjs");
                node
            }
            Language::Python => {
                let python = dir.join(".venv/bin/python");
                assert!(
                    python.is_file(),
                    "client-tests/python/.venv is missing: run `python3 -m venv .venv && \
                     .venv/bin/pip install -r requirements.txt` in client-tests/python \
                     (./scripts/test.sh does)"
                );
                let mut python = tokio::process::Command::new(python);
                python.arg("run.py");
                python
            }
        };
        command
            .current_dir(dir)
            .env(
                "SCENARIO_TIMEOUT_MS",
                SCENARIO_TIMEOUT.as_millis().to_string(),
            )
            .env("SCENARIO_TIMEOUT_S", SCENARIO_TIMEOUT.as_secs().to_string())
            .stdin(Stdio::null());
        command
    }

    fn file(self, name: &str) -> String {
        match self {
            Language::Node => format!("scenarios/{name}.mjs"),
            Language::Python => format!("scenarios/{name}.py"),
        }
    }
}

/// Runs one scenario against `url`; Err carries what it printed.
async fn run_scenario(language: Language, name: &str, url: &str) -> Result<(), String> {
    let output = language
        .command()
        .arg(language.file(name))
        .arg(url)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run the {language:?} scenario runner: {e}"));
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// The scenario against redis-server, then against Understudy.
pub async fn scenario(language: Language, name: &str) {
    let redis = RedisServer::start(&[]);
    let url = format!("redis://127.0.0.1:{}", redis.port());
    if let Err(output) = run_scenario(language, name, &url).await {
        panic!(
            "scenario {name} fails against the real redis-server, so the test is broken:\n{output}"
        );
    }
    drop(redis);
    let ours = understudy::Server::builder()
        .port(0)
        .start()
        .await
        .expect("start Understudy");
    let result = run_scenario(language, name, &ours.url()).await;
    ours.shutdown().await;
    if let Err(output) = result {
        panic!(
            "scenario {name} passes against redis-server but fails against Understudy:\n{output}"
        );
    }
}

/// One `#[tokio::test]` per scenario: `scenarios!(Language::Node, test_name => "file-stem", ...)`.
#[macro_export]
macro_rules! scenarios {
    ($language:expr, $($test:ident => $file:literal),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                scenarios::scenario($language, $file).await;
            }
        )*
    };
}
