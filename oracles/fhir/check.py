"""Oracle: our FHIR JSON (forms' Questionnaire / QuestionnaireResponse, and a conversation's
transaction Bundle of Communications for the chart) vs the fhir.resources models.

Validates every *-questionnaire.json and *-response.json in the directory given (written by
`cargo run -p frontdesk-domain --example fhir_samples`) with fhir.resources' R4B models (R4B
differs from R4 only in areas these resources do not use), and checks that every attachment
carries a content type and base64 data that decodes to an image.
"""

import base64
import json
import pathlib
import sys

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def attachments(items):
    for item in items or []:
        for answer in item.get("answer", []):
            if "valueAttachment" in answer:
                yield item["linkId"], answer["valueAttachment"]
            yield from attachments(answer.get("item"))
        yield from attachments(item.get("item"))


def check_chart_bundle(text, data):
    """A conversation for the chart: a valid transaction Bundle whose Communications carry
    the SMSWRIT medium, a subject, sender, recipient, sent time and payload, and whose
    inResponseTo references point at entries of the same Bundle."""
    Bundle.model_validate_json(text)
    if data.get("type") != "transaction":
        raise ValueError("Bundle.type is not transaction")
    urls = {e["fullUrl"] for e in data["entry"]}
    kinds = [e["resource"]["resourceType"] for e in data["entry"]]
    if "Communication" not in kinds or "QuestionnaireResponse" not in kinds:
        raise ValueError(f"expected Communications and QuestionnaireResponses, got {sorted(set(kinds))}")
    for e in data["entry"]:
        r = e["resource"]
        if e["request"]["method"] != "POST" or e["request"]["url"] != r["resourceType"]:
            raise ValueError(f"{e['fullUrl']}: request is not POST {r['resourceType']}")
        if r["resourceType"] != "Communication":
            continue
        codes = [c["code"] for m in r["medium"] for c in m["coding"]]
        if codes != ["SMSWRIT"]:
            raise ValueError(f"{e['fullUrl']}: medium is {codes}")
        for field in ("subject", "sender", "recipient", "sent", "payload", "identifier"):
            if not r.get(field):
                raise ValueError(f"{e['fullUrl']}: no {field}")
        for ref in r.get("inResponseTo", []):
            if ref["reference"] not in urls:
                raise ValueError(f"{e['fullUrl']}: inResponseTo {ref['reference']} is not in the Bundle")


def main() -> int:
    root = pathlib.Path(sys.argv[1])
    passed = failed = 0
    files = sorted(root.glob("*.json"))
    if not files:
        print(f"no JSON files in {root}")
        return 1
    for path in files:
        text = path.read_text()
        data = json.loads(text)
        try:
            if data["resourceType"] == "Bundle":
                check_chart_bundle(text, data)
            elif data["resourceType"] == "Questionnaire":
                Questionnaire.model_validate_json(text)
            else:
                QuestionnaireResponse.model_validate_json(text)
                if data.get("status") != "completed":
                    raise ValueError("status is not completed")
                for link_id, att in attachments(data.get("item")):
                    if not att.get("contentType", "").startswith("image/"):
                        raise ValueError(f"{link_id}: attachment without an image contentType")
                    raw = base64.b64decode(att["data"], validate=True)
                    if not raw.startswith(IMAGE_MAGIC):
                        raise ValueError(f"{link_id}: attachment data is not an image")
            passed += 1
            print(f"ok   {path.name}")
        except Exception as e:  # noqa: BLE001 - report every failure
            failed += 1
            print(f"FAIL {path.name}: {e}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
