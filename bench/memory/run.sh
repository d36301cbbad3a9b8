#!/usr/bin/env bash
# Idle memory of the real `yidu serve` with a million items (target: at most 128 MB RSS).
#
# Builds a database with the demo district and YIDU_BENCH_ITEMS items (the example
# bench_memory_db: 20,000 items from the real demo-history generator, copied under new ids,
# then the real search reindex and cockpit rebuild), starts the release binary on it, logs in as the office and opens the main pages once
# (cockpit, queue, a search, a second search page) as a warm-up, waits, and prints VmRSS
# (and the peak, VmHWM) from /proc/<pid>/status against the target.
#
#   cargo build --release -p yidu --bin yidu --example bench_memory_db
#   bash bench/memory/run.sh                      # SQLite, 1,000,000 items
#   YIDU_BENCH_ITEMS=20000 bash bench/memory/run.sh
#   YIDU_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/yidu_bench_mem bash bench/memory/run.sh
#     (PostgreSQL: the database must exist and be empty; it is left in place)
#   YIDU_BENCH_DB_KEEP=/path/dir  reuses/keeps a SQLite database built by an earlier run.
#
#   YIDU_LOG=info YIDU_BENCH_WAIT_CLASSES=1  waits for the class worker's first rebuild
#     before the idle wait and prints its time and the model's size.
#   YIDU_BENCH_SIGTERM_AFTER=10  first starts the server, sends SIGTERM after 10 s (during
#     the class worker's first rebuild) and prints how long it took to exit.
#
# Any YIDU_* setting (e.g. YIDU_MAX_CONNECTIONS, YIDU_SQLITE_CACHE_KB) is passed through
# to the server, so the effect of a setting on memory can be measured directly.
set -euo pipefail

N=${YIDU_BENCH_ITEMS:-1000000}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN=${YIDU_BIN:-$TARGET_DIR/release/yidu}
BUILDER=${YIDU_BENCH_BUILDER:-$TARGET_DIR/release/examples/bench_memory_db}
PORT=${YIDU_BENCH_PORT:-18089}
WAIT=${YIDU_BENCH_IDLE_SECONDS:-30}
[ -x "$BIN" ] && [ -x "$BUILDER" ] || { echo "build first: cargo build --release -p yidu --bin yidu --example bench_memory_db"; exit 2; }

if [ -n "${YIDU_BENCH_DB_KEEP:-}" ]; then
  DIR=$YIDU_BENCH_DB_KEEP; mkdir -p "$DIR"; CLEAN=0
else
  DIR=$(mktemp -d /tmp/yidu-bench-memory.XXXXXX); CLEAN=1
fi
DB=${YIDU_BENCH_DATABASE_URL:-sqlite://$DIR/yidu.db}
export YIDU_DATA=$DIR/data YIDU_LOG=${YIDU_LOG:-error}
JAR=$DIR/cookies.txt
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  [ "$CLEAN" = 1 ] && rm -rf "$DIR" || true
}
trap cleanup EXIT

if [ ! -f "$DIR/.filled" ]; then
  start=$(date +%s)
  YIDU_LOG=error "$BUILDER" "$DB" "$YIDU_DATA" "$N"
  echo "database with $N items built in $(( $(date +%s) - start )) s"
  touch "$DIR/.filled"
fi
case "$DB" in sqlite://*) du -sh "$DIR" | awk '{print "database size: " $1}';; esac

base=http://127.0.0.1:$PORT
rss() { awk -v k="$1:" '$1 == k {print int($2 / 1024)}' "/proc/$PID/status"; }
# The resident memory split into anonymous (the heap: what the program allocated) and
# file-backed pages (the binary's code and data as far as they were touched).
split() { awk '/^Anonymous:/ {a = $2} /^Rss:/ {r = $2} END {printf "anonymous %d MB, file-backed %d MB", a / 1024, (r - a) / 1024}' "/proc/$PID/smaps_rollup"; }
if [ -n "${YIDU_BENCH_SIGTERM_AFTER:-}" ]; then
  # Shutdown while the class worker's first rebuild runs: SIGTERM N s after start, and the
  # time until the process is gone (a stopped rebuild writes nothing, so the run below
  # still starts from the same state).
  "$BIN" --database "$DB" serve --listen "127.0.0.1:$PORT" >"$DIR/serve-sigterm.log" 2>&1 &
  PID=$!
  sleep "$YIDU_BENCH_SIGTERM_AFTER"
  echo "SIGTERM ${YIDU_BENCH_SIGTERM_AFTER} s after start (RSS $(rss VmRSS) MB)"
  t0=$(date +%s.%N); kill -TERM "$PID"; wait "$PID" || true
  echo "  exited after $(echo "$(date +%s.%N) - $t0" | bc) s"
  PID=
fi
"$BIN" --database "$DB" serve --listen "127.0.0.1:$PORT" >"$DIR/serve.log" 2>&1 &
PID=$!
started=$(date +%s.%N)
for _ in $(seq 1 120); do curl -fs "$base/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
echo "RSS after start: $(rss VmRSS) MB"
# The start-up work in the background (near-duplicate index, class worker, a due model
# training) is measured apart from the pages.
SETTLE=${YIDU_BENCH_SETTLE_SECONDS:-30}
sleep "$SETTLE"
echo "RSS ${SETTLE} s after start, no page opened: $(rss VmRSS) MB (peak $(rss VmHWM) MB)"

rm -f "$JAR"
csrf=$(curl -fs -c "$JAR" -b "$JAR" "$base/login" | sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' | head -n 1 || true)
curl -fs -o /dev/null -c "$JAR" -b "$JAR" -H "Origin: $base" \
  --data-urlencode "_csrf=$csrf" --data-urlencode username=office \
  --data-urlencode "password=${YIDU_DEMO_PASSWORD:-Yidu@2026demo}" "$base/login" || echo "login failed"
page() {
  local t
  t=$(curl -s -o /dev/null -b "$JAR" -w "%{http_code} %{time_total}s" "$base$1" || true)
  echo "  $t $1 -> RSS $(rss VmRSS) MB"
}
page /staff/cockpit
page /staff/opinions
page "/staff/opinions?page=2"
page "/staff/opinions?status=closed&page=50"
page "/staff/opinions?q=%E8%B7%AF%E7%81%AF"
page "/staff/opinions?q=%E5%B0%8F%E5%8C%BA%20%E5%99%AA%E9%9F%B3&page=3"
echo "RSS after warm-up: $(rss VmRSS) MB"
if [ -n "${YIDU_BENCH_WAIT_CLASSES:-}" ]; then
  # With YIDU_LOG=info the worker logs "class model built" when its first rebuild is done.
  # On a loaded machine the rebuild at a million items takes well over ten minutes, so
  # the wait is bounded by YIDU_BENCH_WAIT_CLASSES_MAX seconds (default 3600), and a
  # timeout is said so rather than measured as if the rebuild were done.
  polls=$(( ${YIDU_BENCH_WAIT_CLASSES_MAX:-3600} * 2 ))
  built=0
  for _ in $(seq 1 "$polls"); do grep -q "class model built" "$DIR/serve.log" && { built=1; break; }; sleep 0.5; done
  if [ "$built" = 1 ]; then
    echo "class worker's first rebuild done $(echo "$(date +%s.%N) - $started" | bc) s after start (or earlier: polled every 0.5 s), RSS $(rss VmRSS) MB (peak $(rss VmHWM) MB)"
    grep "class model built" "$DIR/serve.log" | tail -n 1 | sed 's/\x1b\[[0-9;]*m//g' || true
  else
    echo "class worker's first rebuild NOT done after $(echo "$(date +%s.%N) - $started" | bc) s (RSS $(rss VmRSS) MB): the idle number below is not after it"
  fi
fi
sleep "$WAIT"
now=$(rss VmRSS); peak=$(rss VmHWM)
verdict=$([ "$now" -le 128 ] && echo met || echo "NOT met")
echo "idle RSS after ${WAIT} s: $now MB (peak $peak MB; $(split)); target <= 128 MB: $verdict"
