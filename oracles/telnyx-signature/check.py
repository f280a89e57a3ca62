#!/usr/bin/env python3
"""Oracle: our Telnyx webhook verifier against the official telnyx SDK's Ed25519 check.

Generates key pairs with PyNaCl (the SDK's own dependency), random JSON-ish bodies (unicode,
pipes, newlines), signs `"{timestamp}|{body}"`, and builds variants: genuine, timestamps
inside and outside the 300 s tolerance (with a 100 s margin, so a slow machine between
the two checks cannot move a case across the boundary), tampered body, moved timestamp, another account's key, truncated or non-base64
signatures, missing headers. The SDK's `verify_webhook_signature` gives the expected verdict;
`cargo run -p frontdesk-providers --example verify_telnyx_signatures` gives ours. Exit 1 on
any disagreement, or if the SDK accepts nothing or rejects nothing (a broken harness).

Environment: ORACLE_CASES (default 200 base cases), ORACLE_SEED (default 20240601),
FRONTDESK_WORKSPACE (directory to run cargo in; default the repository root).
"""

import base64
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from nacl.signing import SigningKey
from telnyx.lib.webhook_verification import WebhookVerificationError, verify_webhook_signature

REPO = Path(__file__).resolve().parents[2]
BASE_CASES = int(os.environ.get("ORACLE_CASES", "200"))
SEED = int(os.environ.get("ORACLE_SEED", "20240601"))
PIECES = ["Hi", "Café", "日本語", "😀", "👍🏽", "|", "||", "\n", "\r\n", " ", '\\"', "{", "}", "STOP", "€", "\u200b", "0"]


def b64(data):
    return base64.b64encode(data).decode()


def rand_body(rng):
    text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 10)))
    event = rng.choice(["message.received", "message.sent", "message.finalized", "call.initiated"])
    return json.dumps({"data": {"event_type": event, "payload": {"text": text, "id": str(rng.random())}}},
                      ensure_ascii=rng.random() < 0.5)


def sign(seed, timestamp, body):
    return b64(SigningKey(seed).sign(f"{timestamp}|{body}".encode()).signature)


def cases(rng):
    out = []
    now = int(time.time())
    for i in range(BASE_CASES):
        seed = bytes(rng.getrandbits(8) for _ in range(32))
        key = b64(bytes(SigningKey(seed).verify_key))
        body = rand_body(rng)
        ts = str(now + rng.choice([0, 0, -5, 5, -200, 200, -400, 400, -3600]))
        sig = sign(seed, ts, body)
        base = {"public_key": key, "raw_body": body, "signature": sig, "timestamp": ts}
        out.append({**base, "id": f"{i}-genuine"})
        if body:
            tampered = body[:-1] + ("x" if body[-1] != "x" else "y")
            out.append({**base, "id": f"{i}-tampered", "raw_body": tampered})
        out.append({**base, "id": f"{i}-moved-ts", "timestamp": str(int(ts) + 1)})
        other = bytes(rng.getrandbits(8) for _ in range(32))
        out.append({**base, "id": f"{i}-wrong-key", "public_key": b64(bytes(SigningKey(other).verify_key))})
        out.append({**base, "id": f"{i}-short-sig", "signature": b64(base64.b64decode(sig)[:63])})
        if i % 10 == 0:
            out.append({**base, "id": f"{i}-not-b64", "signature": "%%%" + sig[3:]})
            out.append({**base, "id": f"{i}-no-sig", "signature": None})
            out.append({**base, "id": f"{i}-no-ts", "timestamp": None})
            out.append({**base, "id": f"{i}-text-ts", "timestamp": "yesterday"})
    return out


def sdk_verdict(case):
    headers = {}
    if case["signature"] is not None:
        headers["Telnyx-Signature-Ed25519"] = case["signature"]
    if case["timestamp"] is not None:
        headers["Telnyx-Timestamp"] = case["timestamp"]
    try:
        verify_webhook_signature(case["raw_body"], headers, case["public_key"])
        return True, None
    except WebhookVerificationError as e:
        return False, str(e)


def main():
    rng = random.Random(SEED)
    all_cases = cases(rng)
    expected = {c["id"]: sdk_verdict(c) for c in all_cases}
    workspace = os.environ.get("FRONTDESK_WORKSPACE", str(REPO))
    proc = subprocess.run(
        ["cargo", "run", "-q", "-p", "frontdesk-providers", "--example", "verify_telnyx_signatures"],
        input=json.dumps(all_cases), capture_output=True, text=True, cwd=workspace, check=False,
    )
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        print("telnyx signature oracle: could not run our verifier", file=sys.stderr)
        return 1
    ours = {}
    for line in proc.stdout.splitlines():
        r = json.loads(line)
        ours[r["id"]] = (r["valid"], r["error"])
    passed = failed = 0
    for case in all_cases:
        want, why = expected[case["id"]]
        got = ours.get(case["id"], (None, "no answer"))
        if got[0] == want:
            passed += 1
        else:
            failed += 1
            if failed <= 10:
                print(f"DISAGREE {case['id']}: sdk={want} ({why}) ours={got[0]} ({got[1]})", file=sys.stderr)
    accepted = sum(1 for v in expected.values() if v[0])
    if accepted == 0 or accepted == len(expected):
        print(f"telnyx signature oracle: the SDK accepted {accepted} of {len(expected)}; harness broken", file=sys.stderr)
        failed += 1
    print(f"telnyx signature oracle: {passed} passed, {failed} failed (SDK accepted {accepted} of {len(expected)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
