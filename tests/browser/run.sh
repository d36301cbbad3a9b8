#!/usr/bin/env bash
# Browser tests: boots yidu with the demo district on a fresh SQLite database and drives
# Debian's Chromium headless through playwright-core. Installs what it needs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v node >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

cd "$root"
cargo build -p yidu --bin yidu --locked
cargo run -q -p yidu --example browser_fixture --locked -- "$here/work"

data="$(mktemp -d)"
port="$(bash "$root/tests/free-port.sh")"
export YIDU_BASE_URL="http://127.0.0.1:$port"
export YIDU_FIXTURES="$here/work"
bash "$root/tests/plain-years.sh" >"$data/plain-years.toml"
YIDU_HOLIDAYS_FILE="$data/plain-years.toml" YIDU_DEMO_HISTORY=1500 "$root/target/debug/yidu" serve --demo --data "$data" --listen "127.0.0.1:$port" >"$data/server.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
for _ in $(seq 1 120); do
  curl -fs "$YIDU_BASE_URL/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$data/server.log"; exit 1; }
  sleep 0.5
done
curl -fs "$YIDU_BASE_URL/readyz" >/dev/null || { echo "server did not become ready"; cat "$data/server.log"; exit 1; }

cd "$here"
node --test --test-reporter=spec *.test.mjs
