#!/usr/bin/env bash
# Browser tests of Frontdesk's pages, as a person would use them, in headless Chromium.
#
#   bash e2e/run.sh            # builds the binary with cargo, then runs the tests
#   FRONTDESK_BIN=path bash e2e/run.sh   # reuse a binary already built
#   E2E_ONLY=forms bash e2e/run.sh        # only tests/forms.test.mjs
#
# Needs: node >= 20, npm, and Debian's chromium (apt-get install -y chromium); the browser
# is never downloaded. Starts `frontdesk serve` on a fresh data dir on a free loopback port,
# with the simulator's carrier delays shortened, and always stops it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"

if [[ ! -x "$CHROMIUM_PATH" ]]; then
  echo "e2e: no Chromium at $CHROMIUM_PATH; install Debian's: apt-get install -y chromium" >&2
  exit 1
fi

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

if [[ -n "${FRONTDESK_BIN:-}" ]]; then
  bin="$FRONTDESK_BIN"
else
  (cd "$root" && cargo build -p frontdesk --quiet)
  bin="${CARGO_TARGET_DIR:-$root/target}/debug/frontdesk"
fi
[[ -x "$bin" ]] || { echo "e2e: no frontdesk binary at $bin" >&2; exit 1; }

data_dir="$(mktemp -d "${TMPDIR:-/tmp}/frontdesk-e2e.XXXXXX")"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$data_dir"
}
trap cleanup EXIT
trap "exit 130" INT
trap "exit 143" TERM

port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
base_url="http://127.0.0.1:$port"

# Only this server's settings: nothing from the caller's environment may point it elsewhere.
server_env=(
  env -u FRONTDESK_BIN -u FRONTDESK_DATABASE_URL -u FRONTDESK_TWILIO__ACCOUNT_SID -u FRONTDESK_TWILIO__AUTH_TOKEN
  FRONTDESK_DATA_DIR="$data_dir"
  FRONTDESK_LISTEN="127.0.0.1:$port"
  FRONTDESK_SIMULATOR__SENT_AFTER_MS=100
  FRONTDESK_SIMULATOR__DELIVERED_AFTER_MS=250
  RUST_LOG="${RUST_LOG:-warn}"
)

"${server_env[@]}" "$bin" serve >"$data_dir/server.log" 2>&1 &
server_pid=$!

ready=""
for _ in $(seq 1 150); do
  if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
  if node -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "$base_url/readyz"; then
    ready=yes
    break
  fi
  sleep 0.2
done
if [[ -z "$ready" ]]; then
  echo "e2e: frontdesk did not become ready at $base_url; its log:" >&2
  cat "$data_dir/server.log" >&2 || true
  exit 1
fi

# A staff token for the API (the tests send staff replies through it).
token="$("${server_env[@]}" "$bin" token create --name e2e 2>/dev/null | tail -n 1)"
[[ -n "$token" ]] || { echo "e2e: could not create an API token" >&2; exit 1; }

# One account per role; the admin must enrol two-factor sign-in on first use (the default).
e2e_password="e2e-password-$(date +%s)-long"
for role in admin staff auditor; do
  printf '%s\n' "$e2e_password" | "${server_env[@]}" "$bin" user add --email "$role@e2e.test" --name "E2E ${role^}" --role "$role" >/dev/null 2>&1 \
    || { echo "e2e: could not create the $role account" >&2; exit 1; }
done

status=0
(cd "$here" && FRONTDESK_URL="$base_url" FRONTDESK_TOKEN="$token" E2E_PASSWORD="$e2e_password" node --test --test-concurrency=1 tests/${E2E_ONLY:-*}.test.mjs) || status=$?
if [[ $status -ne 0 ]]; then
  echo "e2e: tests failed; the server's log follows" >&2
  tail -n 60 "$data_dir/server.log" >&2 || true
fi
exit "$status"
