#!/usr/bin/env python3
"""Oracle: our X-Twilio-Signature verifier against the official twilio SDK's RequestValidator.

Generates random webhook requests (URLs with and without query strings and ports, unicode
bodies, repeated keys, empty values, JSON bodies with bodySHA256, both HMAC algorithms), signs
them with the SDK, and asks the SDK whether each request (genuine, port-variant, tampered,
wrong token) validates. Then runs our verifier on the same requests through
`cargo run -p frontdesk-providers --example verify_signatures` and requires the same verdict
on every one. Exit 1 on any disagreement.

Environment: ORACLE_CASES (default 250 base cases), ORACLE_SEED (default 20240501),
FRONTDESK_WORKSPACE (directory to run cargo in; default the repository root).
"""

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from twilio.request_validator import RequestValidator

REPO = Path(__file__).resolve().parents[2]
BASE_CASES = int(os.environ.get("ORACLE_CASES", "250"))
SEED = int(os.environ.get("ORACLE_SEED", "20240501"))

TWILIO_KEYS = [
    "MessageSid", "SmsSid", "SmsMessageSid", "AccountSid", "MessagingServiceSid", "From", "To",
    "Body", "NumMedia", "NumSegments", "MediaUrl0", "MediaContentType0", "FromCity", "FromState",
    "FromZip", "FromCountry", "ToCity", "ToState", "ToZip", "ToCountry", "SmsStatus",
    "MessageStatus", "ApiVersion", "ErrorCode", "OptOutType", "RawDlrDoneDate", "MediaUrl",
]
TEXT_PIECES = [
    "Hi", "Café", "naïve", "日本語", "😀", "👍🏽", "🇮🇹", "e\u0301", "\n", "\r\n", "\t", " ", "&", "=",
    "+", "%", "%20", "?", "#", "/", "\\", '"', "'", "<b>", "STOP", "ß", "Ω", "ç", "€", "\u00a0",
    "\u200b", "a+b=c", "50% off", "", "0", "ΑΒΓ", "кириллица", "עברית", "١٢٣",
]
HOSTS = ["sms.example.org", "clinic.example.com", "mycompany.com", "127.0.0.1", "a-b.example.net"]


class MultiDict(dict):
    """name -> list of values, with the getall() the SDK uses for repeated names."""

    def getall(self, name):
        return self[name]


def rand_text(rng, max_pieces=8):
    return "".join(rng.choice(TEXT_PIECES) for _ in range(rng.randint(0, max_pieces)))


def rand_url(rng):
    scheme = rng.choice(["https", "https", "http"])
    host = rng.choice(HOSTS)
    port = rng.choice(["", "", "", "default", "8443", "8080"])
    if port == "default":
        port = "443" if scheme == "https" else "80"
    netloc = host + (":" + port if port else "")
    segments = [quote(rand_text(rng, 3), safe="") or "x" for _ in range(rng.randint(0, 3))]
    path = "/" + "/".join(["webhooks", "twilio"] + segments) if rng.random() < 0.9 else ""
    url = f"{scheme}://{netloc}{path}"
    if rng.random() < 0.5:
        pairs = []
        for _ in range(rng.randint(1, 4)):
            key = rng.choice(["m", "tenant", "x", "a b", "é"])
            pairs.append(quote(key, safe="") + "=" + quote(rand_text(rng, 3), safe=""))
        url += "?" + "&".join(pairs)
    return url


def rand_params(rng):
    pairs = []
    for _ in range(rng.randint(0, 25)):
        if rng.random() < 0.8:
            key = rng.choice(TWILIO_KEYS)
        else:
            key = rand_text(rng, 2) or "K"
        value = "" if rng.random() < 0.15 else rand_text(rng)
        pairs.append((key, value))
        if rng.random() < 0.1:  # a repeated name, sometimes with the very same value
            pairs.append((key, value if rng.random() < 0.5 else rand_text(rng)))
    return pairs


def multidict(pairs):
    md = MultiDict()
    for k, v in pairs:
        md.setdefault(k, []).append(v)
    return md


def with_default_port_toggled(url):
    scheme, rest = url.split("://", 1)
    cut = min([i for i in (rest.find("/"), rest.find("?")) if i >= 0] or [len(rest)])
    authority, tail = rest[:cut], rest[cut:]
    default = "443" if scheme == "https" else "80"
    if ":" in authority:
        host, port = authority.rsplit(":", 1)
        return f"{scheme}://{host}{tail}" if port == default else None
    return f"{scheme}://{authority}:{default}{tail}"


def make_cases(rng):
    cases = []

    def add(kind, url, token, algorithm, params, raw_body, signature, label):
        validator = RequestValidator(token)
        if kind == "json":
            sdk_ok = validator.validate(url, raw_body, signature, algorithm=algorithm)
        else:
            sdk_ok = validator.validate(url, multidict(params), signature, algorithm=algorithm)
        cases.append({
            "id": f"{len(cases)}:{label}", "kind": kind, "url": url, "token": token,
            "algorithm": algorithm, "params": params, "raw_body": raw_body,
            "signature": signature, "sdk_valid": bool(sdk_ok), "label": label,
        })

    for _ in range(BASE_CASES):
        token = rng.choice(["12345", "secret-token", "%032x" % rng.getrandbits(128), rand_text(rng, 4) or "t"])
        algorithm = rng.choice(["HMAC_SHA1", "HMAC_SHA256"])
        url = rand_url(rng)
        validator = RequestValidator(token)
        if rng.random() < 0.2:
            body = json.dumps({"text": rand_text(rng), "n": rng.randint(0, 9)}, ensure_ascii=rng.random() < 0.5)
            sep = "&" if "?" in url else "?"
            url = f"{url}{sep}bodySHA256={validator.compute_hash(body)}"
            sig = validator.compute_signature(url, {}, algorithm)
            add("json", url, token, algorithm, None, body, sig, "json-genuine")
            add("json", url, token, algorithm, None, body + " ", sig, "json-tampered-body")
            add("json", url, token + "x", algorithm, None, body, sig, "json-wrong-token")
            continue
        params = rand_params(rng)
        sig = validator.compute_signature(url, multidict(params), algorithm)
        add("form", url, token, algorithm, params, None, sig, "genuine")
        toggled = with_default_port_toggled(url)
        if toggled:
            add("form", toggled, token, algorithm, params, None, sig, "default-port-variant")
        if params:
            tampered = list(params)
            i = rng.randrange(len(tampered))
            tampered[i] = (tampered[i][0], tampered[i][1] + rng.choice(["x", " ", "é", "1"]))
            add("form", url, token, algorithm, tampered, None, sig, "tampered-value")
        else:
            add("form", url + "x", token, algorithm, params, None, sig, "tampered-url")
        add("form", url, token + "x", algorithm, params, None, sig, "wrong-token")
        other = "HMAC_SHA1" if algorithm == "HMAC_SHA256" else "HMAC_SHA256"
        add("form", url, token, other, params, None, sig, "wrong-algorithm")
    return cases


def run_ours(cases):
    cwd = os.environ.get("FRONTDESK_WORKSPACE", str(REPO))
    payload = json.dumps([{k: c[k] for k in
                           ("id", "kind", "url", "token", "algorithm", "params", "raw_body", "signature")}
                          for c in cases])
    proc = subprocess.run(
        ["cargo", "run", "-q", "-p", "frontdesk-providers", "--example", "verify_signatures"],
        input=payload, capture_output=True, text=True, cwd=cwd,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"verify_signatures failed with exit code {proc.returncode}")
    return {r["id"]: r for r in map(json.loads, proc.stdout.splitlines())}


def main():
    rng = random.Random(SEED)
    cases = make_cases(rng)
    genuine = [c for c in cases if c["label"] in ("genuine", "json-genuine")]
    assert len(genuine) >= 200, f"only {len(genuine)} genuine cases"
    ours = run_ours(cases)
    passed = failed = 0
    for c in cases:
        r = ours.get(c["id"])
        # Our signature over the case's own URL must equal the SDK's, byte for byte.
        sdk_sig = RequestValidator(c["token"]).compute_signature(
            c["url"], multidict(c["params"] or []), c["algorithm"])
        problems = []
        if r is None:
            problems.append("no result from our verifier")
        else:
            if r["valid"] != c["sdk_valid"]:
                problems.append(f"ours says valid={r['valid']} ({r['error']}), the SDK says {c['sdk_valid']}")
            if c["kind"] == "form" and r["computed"] != sdk_sig:
                problems.append(f"computed {r['computed']!r}, the SDK {sdk_sig!r}")
        if c["label"] in ("genuine", "json-genuine", "default-port-variant") and not c["sdk_valid"]:
            problems.append("the SDK rejected a case built to be valid (generator bug)")
        if problems:
            failed += 1
            print(f"FAIL {c['id']} url={c['url']!r}: " + "; ".join(problems))
        else:
            passed += 1
    by_label = {}
    for c in cases:
        by_label[c["label"]] = by_label.get(c["label"], 0) + 1
    print("cases by kind: " + ", ".join(f"{k}={v}" for k, v in sorted(by_label.items())))
    print(f"twilio signature oracle: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
