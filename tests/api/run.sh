#!/usr/bin/env bash
# Property-based API tests: schemathesis generates requests from yidu's own OpenAPI document
# (/api/openapi.json) and sends them to a server with the demo district, as an administrator
# (who may call every operation) and anonymously. Any 5xx answer fails the run: bad input must
# get a clear 4xx error naming the field, never a server error. Installs what it needs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
examples="${YIDU_SCHEMATHESIS_EXAMPLES:-25}"

venv="$here/.venv"
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
fi

cd "$root"
cargo build -p yidu --bin yidu --locked

data="$(mktemp -d)"
port="$(bash "$root/tests/free-port.sh")"
base="http://127.0.0.1:$port"
# Fuzzed requests come from one address: lift the per-client limit so that refusals by the rate
# limiter (a correct 429) do not hide the operations behind them.
bash "$root/tests/plain-years.sh" >"$data/plain-years.toml"
YIDU_DEMO_HISTORY=300 YIDU_SUBMISSIONS_PER_CLIENT_PER_HOUR=1000000 \
  YIDU_HOLIDAYS_FILE="$data/plain-years.toml" "$root/target/debug/yidu" serve --demo --data "$data" --listen "127.0.0.1:$port" >"$data/server.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
for _ in $(seq 1 240); do
  curl -fs "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$data/server.log"; exit 1; }
  sleep 0.5
done
curl -fs "$base/readyz" >/dev/null || { echo "server did not become ready"; cat "$data/server.log"; exit 1; }

token="$(curl -fs -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"${YIDU_DEMO_PASSWORD:-Yidu@2026demo}\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

# Operations that would end the session the run is using are left out: logging out, changing
# or resetting the administrator's password, disabling the administrator (update_user).
# Everything else, including writes, is exercised; the anonymous run covers those four too.
# The spreadsheet import takes an .xlsx body schemathesis cannot generate; its bad-input
# handling is tested with real broken workbooks in crates/app/tests/it/users_import.rs and
# crates/rooms/registry/tests/xlsx.rs.
common=(
  --checks not_a_server_error
  --max-examples "$examples"
  --exclude-operation-id logout
  --exclude-operation-id change_password
  --exclude-operation-id update_user
  --exclude-operation-id reset_password
  --exclude-operation-id import_file
  --request-timeout 30
  --seed 20261129
  --no-color
)
status=0
echo "==> schemathesis as administrator"
"$venv/bin/st" run "$base/api/openapi.json" --url "$base" -H "Authorization: Bearer $token" \
  "${common[@]}" || status=1
echo "==> schemathesis anonymously"
"$venv/bin/st" run "$base/api/openapi.json" --url "$base" --checks not_a_server_error \
  --exclude-operation-id import_file \
  --max-examples "$examples" --request-timeout 30 --seed 20261129 --no-color || status=1
if grep -q '"level":"ERROR"\|ERROR' "$data/server.log"; then
  echo "==> errors the server logged:"; grep 'ERROR' "$data/server.log" | head -50
fi
exit "$status"
