#!/usr/bin/env bash
# Oracle: our Telnyx Ed25519 webhook verifier vs the official telnyx SDK (see check.py).
# Installs the pinned SDK (with PyNaCl, its `webhooks` extra) into a throwaway virtualenv,
# then runs check.py. Needs python3 (with venv), pip access to PyPI, and cargo.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$(mktemp -d "${TMPDIR:-/tmp}/frontdesk-telnyx-oracle.XXXXXX")"
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
# Build our verifier first: the cases carry timestamps relative to now, so compiling must not
# happen between generating them and checking them.
(cd "$here/../.." && cargo build --quiet -p frontdesk-providers --example verify_telnyx_signatures)
"$venv/bin/python" "$here/check.py"
