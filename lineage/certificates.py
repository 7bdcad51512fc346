"""Deletion certificates: a signed JSON record that something existed and was destroyed.

The certificate's document (what, hashes, when, who, why, policy version, the id and sequence
number of the deletion event in the log) is signed with the log's Ed25519 key as a C2SP
signed note whose text is a fixed first line and the document's canonical JSON. Anyone with
the log's public key checks it offline (``qgov audit verify-certificate``); an edit to any
field, or a note signed by another key, fails.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lineage.note import NoteSigner, NoteVerifier, open_note
from qgov.canonical import canonical_json
from qgov.errors import IntegrityError

CERTIFICATE_SCHEMA = "qgov.deletion-certificate/v1"
_HEADER = "qgov deletion certificate v1\n"


def _text(document: Mapping[str, Any]) -> str:
    return _HEADER + canonical_json(dict(document)).decode("utf-8") + "\n"


def sign_certificate(document: Mapping[str, Any], signer: NoteSigner) -> dict[str, Any]:
    if document.get("schema") != CERTIFICATE_SCHEMA:
        raise IntegrityError(f"certificate schema: expected {CERTIFICATE_SCHEMA}")
    return {"certificate": dict(document), "signed_note": signer.sign(_text(document))}


def verify_certificate(signed: Any, verifier: NoteVerifier) -> dict[str, Any]:
    """The certified document once the signature and the document agree; else IntegrityError."""
    if not isinstance(signed, dict) or not isinstance(signed.get("certificate"), dict):
        raise IntegrityError("certificate: expected an object with 'certificate' and 'signed_note'")
    note = signed.get("signed_note")
    if not isinstance(note, str):
        raise IntegrityError("certificate: 'signed_note' is missing")
    text = open_note(note, verifier)
    if not text.startswith(_HEADER):
        raise IntegrityError("certificate: the signed note is not a qgov deletion certificate")
    document = signed["certificate"]
    if text != _text(document):
        try:
            signed_doc = json.loads(text[len(_HEADER) :])
        except json.JSONDecodeError:
            signed_doc = {}
        changed = sorted(k for k in set(signed_doc) | set(document) if signed_doc.get(k) != document.get(k))
        raise IntegrityError(
            "certificate: the document differs from what was signed"
            + (f" (field {changed[0]!r} was changed)" if changed else "")
        )
    if document.get("schema") != CERTIFICATE_SCHEMA:
        raise IntegrityError(f"certificate schema: expected {CERTIFICATE_SCHEMA}")
    return dict(document)


__all__ = ["CERTIFICATE_SCHEMA", "sign_certificate", "verify_certificate"]
