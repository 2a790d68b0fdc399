#!/usr/bin/env bash
# Runs every test of the project on a fresh machine: installs what the tests need (the reference
# redis-server and its tools, the Node.js and Python client libraries), checks formatting and lints, then
# runs the whole workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need_install=0
for tool in redis-server redis-cli redis-benchmark tmux; do
  command -v "$tool" >/dev/null 2>&1 || need_install=1
done
if [ "$need_install" = 1 ]; then
  echo "== installing the reference redis-server, redis-tools and tmux (Debian packages)"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq redis-server redis-tools tmux >/dev/null
fi
redis-server --version

echo "== Node.js client scenarios: npm ci"
if ! command -v node >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq nodejs npm >/dev/null
fi
node --version
(cd client-tests/node && npm ci --no-audit --no-fund --loglevel=error)
echo "== Python client scenarios: redis-py in client-tests/python/.venv"
(cd client-tests/python && { [ -x .venv/bin/python ] || python3 -m venv .venv; } &&
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt)

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --all-targets 2>&1 | tee "$log"
cargo test --workspace --doc 2>&1 | tee -a "$log"
# One closing line for the whole run: the sum of every test binary's results.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
