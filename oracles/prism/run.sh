#!/usr/bin/env bash
# Oracle: every request our Twilio client makes must be valid for Twilio's official OpenAPI
# spec (shared/twilio/twilio_api_v2010.json, a sibling of the repository). Prism serves the
# spec on 127.0.0.1 and validates requests; crates/providers/examples/prism_send.rs drives the
# real TwilioClient through it. Prints `prism oracle: N passed, M failed`; exit 1 on failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
spec="${TWILIO_SPEC:-$repo/../shared/twilio/twilio_api_v2010.json}"
port="${PRISM_PORT:-4010}"
workspace="${FRONTDESK_WORKSPACE:-$repo}"

if [ ! -f "$spec" ]; then
  echo "prism oracle: Twilio spec not found at $spec" >&2
  exit 1
fi
cd "$here"
if [ ! -x node_modules/.bin/prism ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# Build first so Prism's start-up and the build do not race for the wait below.
(cd "$workspace" && cargo build -q -p frontdesk-providers --example prism_send)

log="$(mktemp "${TMPDIR:-/tmp}/prism.XXXXXX.log")"
node_modules/.bin/prism mock -h 127.0.0.1 -p "$port" "$spec" >"$log" 2>&1 &
prism_pid=$!
cleanup() {
  kill "$prism_pid" 2>/dev/null || true
  wait "$prism_pid" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT

for _ in $(seq 1 120); do
  if ! kill -0 "$prism_pid" 2>/dev/null; then
    echo "prism oracle: Prism exited during start-up:" >&2
    cat "$log" >&2
    exit 1
  fi
  if grep -q "Prism is listening" "$log"; then
    break
  fi
  sleep 0.5
done
if ! grep -q "Prism is listening" "$log"; then
  echo "prism oracle: Prism did not start within 60 s:" >&2
  tail -20 "$log" >&2
  exit 1
fi

cd "$workspace"
cargo run -q -p frontdesk-providers --example prism_send -- --api-base "http://127.0.0.1:$port"
