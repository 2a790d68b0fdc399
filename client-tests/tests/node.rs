//! The Node.js clients apps use (ioredis, node-redis 4 and 5, the Socket.IO Redis adapter...),
//! running the scenarios in `client-tests/node/scenarios/` unmodified: each one first against a
//! fresh real redis-server (a scenario failing there is a broken test, and says so), then against
//! a fresh Understudy. The test command installs the Node modules (`npm ci`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use client_tests::RedisServer;

/// Every scenario is bounded: the runner stops it after this long.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);

fn node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node")
}

/// Runs one scenario against `url`; Err carries what it printed.
async fn run_scenario(name: &str, url: &str) -> Result<(), String> {
    let dir = node_dir();
    assert!(
        dir.join("node_modules").is_dir(),
        "client-tests/node/node_modules is missing: run `npm ci` in client-tests/node \
         (./scripts/test.sh does)"
    );
    let output = tokio::process::Command::new("node")
        .arg("run.mjs")
        .arg(format!("scenarios/{name}.mjs"))
        .arg(url)
        .env(
            "SCENARIO_TIMEOUT_MS",
            SCENARIO_TIMEOUT.as_millis().to_string(),
        )
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run node ({e}): Node.js 18+ must be on PATH"));
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

async fn scenario(name: &str) {
    let redis = RedisServer::start(&[]);
    if let Err(output) = run_scenario(name, &format!("redis://127.0.0.1:{}", redis.port())).await {
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
    let result = run_scenario(name, &ours.url()).await;
    ours.shutdown().await;
    if let Err(output) = result {
        panic!(
            "scenario {name} passes against redis-server but fails against Understudy:\n{output}"
        );
    }
}

macro_rules! scenarios {
    ($($test:ident => $file:literal),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                scenario($file).await;
            }
        )*
    };
}

scenarios! {
    ioredis_pubsub => "ioredis-pubsub",
    node_redis_pubsub => "node-redis-pubsub",
    socketio_redis_adapter => "socketio-redis-adapter",
}
