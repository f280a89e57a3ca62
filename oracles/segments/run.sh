#!/usr/bin/env bash
# Segment oracle: compares frontdesk-domain's SMS encoding/segments with Twilio's
# sms-segments-calculator (npm). Needs node >= 18, npm and cargo. Prints
# `segments oracle: N passed, N failed` and exits non-zero on any mismatch.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
# The grapheme table in crates/domain is generated from the calculator's grapheme splitter.
node gen_grapheme_table.mjs --check
node compare.mjs
