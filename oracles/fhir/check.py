"""Oracle: our FHIR Questionnaire / QuestionnaireResponse JSON vs the fhir.resources models.

Validates every *-questionnaire.json and *-response.json in the directory given (written by
`cargo run -p frontdesk-domain --example fhir_samples`) with fhir.resources' R4B models (R4B
differs from R4 only in areas these resources do not use), and checks that every attachment
carries a content type and base64 data that decodes to an image.
"""

import base64
import json
import pathlib
import sys

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
            if data["resourceType"] == "Questionnaire":
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
