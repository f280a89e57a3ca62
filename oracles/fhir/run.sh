#!/usr/bin/env bash
# Oracle: our FHIR Questionnaire / QuestionnaireResponse JSON (secure forms) and a
# conversation's transaction Bundle for the chart (Communication + QuestionnaireResponse) vs the
# fhir.resources models from PyPI (see check.py). Writes one Questionnaire and one completed
# QuestionnaireResponse per built-in form with the `fhir_samples` example, installs the pinned
# package into a throwaway virtualenv, and validates them.
# Needs python3 (with venv), pip access to PyPI, and cargo.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/frontdesk-fhir-oracle.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cargo run --quiet --locked -p frontdesk-domain --example fhir_samples -- "$work/out" >/dev/null
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
"$work/venv/bin/python" "$here/check.py" "$work/out"
