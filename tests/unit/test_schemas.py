"""The ITEM and REQUEST JSON Schemas: published as built, valid JSON Schema, and what they accept."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from governance.schemas import SCHEMAS, validate
from qgov.errors import InputError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
ITEM = {
    "name": "fidelity-sweep-2026-03",
    "kind": "technology",
    "subject": {"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 0.0008},
    "research": {"fundamental": True, "intended_for_publication": True, "restrictions_accepted": False},
    "published": False,
    "catalog_course": False,
}
REQUEST = {
    "requester": {"name": "Li Wei", "citizenships": ["CN"], "us_permanent_resident": False,
                  "permanent_residence": "CN", "location": "US", "affiliation": "University of Maryland",
                  "training_completed_on": "2026-05-01"},
    "item": ITEM,
    "purpose": "readout benchmark",
    "destination": "US",
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_the_published_schema_is_the_one_the_code_builds(name: str) -> None:
    published = json.loads((DOCS / name).read_text(encoding="utf-8"))
    assert published == SCHEMAS[name](), f"docs/schemas/{name} is stale: regenerate it from governance.schemas"
    jsonschema.Draft202012Validator.check_schema(published)


@pytest.mark.parametrize(
    ("document", "name"),
    [
        (ITEM, "item.schema.json"),
        (dict(ITEM, research={"fundamental": "unknown"}), "item.schema.json"),
        (REQUEST, "access-request.schema.json"),
        (dict(REQUEST, item={"artifact": "c65cc8f1"}), "access-request.schema.json"),
    ],
    ids=["design item", "unknown fact", "design request", "registered artifact"],
)
def test_design_examples_are_valid(document: dict, name: str) -> None:
    validate(document, name, "doc")


@pytest.mark.parametrize(
    ("document", "name", "message"),
    [
        (dict(ITEM, subject={"type": "quantum_computr"}), "item.schema.json",
         "doc.subject.type: expected one of quantum_computer, .* got 'quantum_computr' \\(did you mean 'quantum_computer'\\?\\)"),
        (dict(ITEM, colour="blue"), "item.schema.json", "doc: Additional properties are not allowed"),
        (dict(ITEM, research={"fundamental": "perhaps"}), "item.schema.json", "doc.research.fundamental: expected one of"),
        (dict(REQUEST, destination="USA"), "access-request.schema.json", "doc.destination: 'USA' does not match"),
        (dict(REQUEST, item={"artifact": "x", "kind": "dataset"}), "access-request.schema.json", "doc.item"),
    ],
    ids=["typo in subject type", "unknown field", "fact neither yes nor no", "three-letter country", "mixed item"],
)  # fmt: skip
def test_a_document_outside_the_schema_is_one_line_naming_the_field(document: dict, name: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        validate(document, name, "doc")
    assert "\n" not in caught.value.diagnostics()
