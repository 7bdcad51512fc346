"""Signed notes and checkpoints: Go's sumdb/note vectors, tampering, malformed input.

The PeterNeumann and EnochRoot keys, text and signatures are the published test vectors
of golang.org/x/mod/sumdb/note (``note_test.go``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage.note import (
    Checkpoint,
    NoteError,
    NoteSigner,
    NoteVerifier,
    generate_signing_key,
    open_note,
    sign_checkpoint,
    verify_checkpoint,
)
from qgov.errors import ConfigError, IntegrityError

PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
SIGNED = TEXT + "\n" + PETER_SIG

PETER = NoteVerifier.from_vkey(PETER_VKEY)
ENOCH = NoteVerifier.from_vkey(ENOCH_VKEY)


def test_go_signed_note_opens_with_its_verifier_key() -> None:
    assert open_note(SIGNED, PETER) == TEXT


def test_signer_writes_gos_signature_line_byte_for_byte() -> None:
    assert NoteSigner(PETER_SKEY).sign(TEXT) == SIGNED


def test_signer_derives_gos_name_key_id_and_verifier_key() -> None:
    signer = NoteSigner(PETER_SKEY)
    assert (signer.name, signer.key_hash, signer.verifier_key()) == ("PeterNeumann", 0xC74F20A3, PETER_VKEY)
    assert (PETER.name, PETER.key_hash, PETER.vkey()) == ("PeterNeumann", 0xC74F20A3, PETER_VKEY)


def test_signer_repr_never_shows_the_private_key() -> None:
    assert repr(NoteSigner(PETER_SKEY)) == "NoteSigner(PeterNeumann+c74f20a3)"


@pytest.mark.parametrize("verifier", [PETER, ENOCH], ids=["peter", "enoch"])
def test_note_cosigned_by_two_keys_opens_with_either(verifier: NoteVerifier) -> None:
    assert open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, verifier) == TEXT


def test_generated_key_signs_notes_its_verifier_key_opens() -> None:
    signer = NoteSigner(generate_signing_key("log.example/qgov"))
    assert signer.name == "log.example/qgov"
    assert (
        open_note(signer.sign("hello\n\nworld\n"), NoteVerifier.from_vkey(signer.verifier_key())) == "hello\n\nworld\n"
    )


def test_two_generated_keys_differ() -> None:
    assert generate_signing_key("a") != generate_signing_key("a")


OTHER_PETER = NoteSigner(generate_signing_key("PeterNeumann"))

TAMPERED = [
    pytest.param(
        SIGNED.replace("problem,", "problem;"), "invalid signature for key PeterNeumann\\+c74f20a3", id="edited-text"
    ),
    pytest.param(
        TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:],
        "invalid signature for key PeterNeumann\\+c74f20a3",
        id="edited-signature",
    ),
    pytest.param(
        OTHER_PETER.sign(TEXT),
        "no signature by key PeterNeumann\\+c74f20a3; found PeterNeumann\\+",
        id="same-name-other-key",
    ),
    pytest.param(
        TEXT + "\n" + ENOCH_SIG,
        "no signature by key PeterNeumann\\+c74f20a3; found EnochRoot\\+af0cfe78",
        id="unknown-key-name",
    ),
    pytest.param(TEXT + PETER_SIG, "no blank line between text and signatures", id="missing-blank-line"),
    pytest.param(TEXT + "\n", "does not end in a signature line", id="no-signatures"),
    pytest.param(SIGNED[:-1], "does not end in a signature line and a newline", id="no-final-newline"),
    pytest.param("\x01" + SIGNED, "control character '\\\\x01' at offset 0", id="control-character"),
    pytest.param(SIGNED.replace("\n", "\r\n"), "control character '\\\\r'", id="crlf-line-ends"),
    pytest.param("\ud800" + SIGNED, "not valid UTF-8", id="lone-surrogate"),
    pytest.param(
        TEXT + "\n" + PETER_SIG.replace("— ", "- "),
        "signature line 1 does not start with '— '",
        id="hyphen-for-em-dash",
    ),
    pytest.param(
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n", "signature line 2 does not start", id="line-after-signatures"
    ),
    pytest.param(
        TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Peter+Neumann"),
        "signature line 1: key name 'Peter\\+Neumann' is empty or contains a space or '\\+'",
        id="name-with-plus",
    ),
    pytest.param(TEXT + "\n— PeterNeumann x08go/ZJ\n", "invalid signature for key PeterNeumann", id="short-signature"),
    pytest.param(
        TEXT + "\n— PeterNeumann x08gow==\n",
        "signature line 1: signature has 4 bytes, expected a 4-byte key ID and a signature",
        id="key-id-only",
    ),
    pytest.param(TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG\n", "signature line 1 is not valid base64", id="bad-base64"),
    pytest.param(
        TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/Sf==\n",
        "signature line 1 is not canonical base64",
        id="non-canonical-base64",
    ),
    pytest.param(TEXT + "\n" + PETER_SIG * 101, "has 101 signatures, expected at most 100", id="too-many-signatures"),
]


@pytest.mark.parametrize(("signed", "message"), TAMPERED)
def test_tampered_or_malformed_note_is_rejected(signed: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        open_note(signed, PETER)


def test_repeated_valid_signature_lines_open() -> None:
    assert open_note(TEXT + "\n" + PETER_SIG * 100, PETER) == TEXT


def test_note_error_is_an_integrity_error() -> None:
    assert issubclass(NoteError, IntegrityError)


@pytest.mark.parametrize("text", ["abc", "", "two\nlines"], ids=["no-newline", "empty", "unterminated-last-line"])
def test_signer_refuses_text_not_ending_in_newline(text: str) -> None:
    with pytest.raises(NoteError, match="note text does not end in a newline"):
        NoteSigner(PETER_SKEY).sign(text)


def test_signer_refuses_control_characters() -> None:
    with pytest.raises(NoteError, match="control character"):
        NoteSigner(PETER_SKEY).sign("tab\there\n")


# --- key strings ------------------------------------------------------------------------


def manglings(key: str) -> list[str]:
    """Go's TestNewVerifier/TestNewSigner manglings: every proper substring, every char + 1."""
    cuts = [key[i:j] for i in range(len(key)) for j in range(i + 1, len(key) + 1) if (i, j) != (0, len(key))]
    bumps = [key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :] for i in range(len(key))]
    return cuts + bumps


def test_every_mangled_verifier_key_is_a_config_error() -> None:
    for mangled in manglings(PETER_VKEY):
        with pytest.raises(ConfigError):
            NoteVerifier.from_vkey(mangled)


def test_every_mangled_private_key_is_a_config_error_that_never_quotes_it() -> None:
    for mangled in manglings(PETER_SKEY):
        with pytest.raises(ConfigError) as caught:
            NoteSigner(mangled)
        assert "AYEKFALV" not in caught.value.message


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        pytest.param(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
            "key is not canonical base64",
            id="gos-long-key",
        ),
        pytest.param(
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWAA==",
            "expected 0x01 \\(Ed25519\\) and 32 key bytes, got 34",
            id="long-key",
        ),
        pytest.param(
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "expected 0x01 \\(Ed25519\\)",
            id="unknown-algorithm",
        ),
        pytest.param(
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "key ID c74f20a4 does not match the key, expected c74f20a3",
            id="wrong-key-id",
        ),
        pytest.param(
            "PeterNeumann+c74f20g3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "key ID is not 8 hex digits \\('c74f20g3'\\)",
            id="non-hex-key-id",
        ),
        pytest.param("PeterNeumann+c74f20a3", "expected <name>\\+<8 hex>\\+<base64 key>", id="no-key"),
    ],
)
def test_malformed_verifier_key_names_the_fault(vkey: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        NoteVerifier.from_vkey(vkey)


def test_upper_case_key_id_is_accepted_as_go_does() -> None:
    assert NoteVerifier.from_vkey(PETER_VKEY.replace("c74f20a3", "C74F20A3")) == PETER


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\t"], ids=["empty", "space", "plus", "tab"])
def test_key_name_with_space_or_plus_is_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="without spaces or '\\+'"):
        generate_signing_key(name)


# --- checkpoints ------------------------------------------------------------------------

SPEC_TEXT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
ROOT = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")


def test_spec_example_checkpoint_parses() -> None:
    assert Checkpoint.parse(SPEC_TEXT) == Checkpoint("example.com/behind-the-sofa", 20852163, ROOT)


def test_checkpoint_with_extension_lines_round_trips() -> None:
    cp = Checkpoint("log.example/qgov", 0, ROOT, ("ext one", "— ext two"))
    assert cp.to_text() == "log.example/qgov\n0\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\next one\n— ext two\n"
    assert Checkpoint.parse(cp.to_text()) == cp


lines = st.text(st.characters(min_codepoint=0x20, exclude_categories=["Cs"]), min_size=1, max_size=20)


@given(lines, st.integers(0, 2**64 - 1), st.binary(min_size=32, max_size=32), st.lists(lines, max_size=3))
def test_any_checkpoint_round_trips_through_its_text(origin: str, size: int, root: bytes, ext: list[str]) -> None:
    cp = Checkpoint(origin, size, root, tuple(ext))
    assert Checkpoint.parse(cp.to_text()) == cp


MALFORMED = [
    pytest.param(
        SPEC_TEXT.replace("20852163", "2085216x"),
        "line 2 \\(tree size\\) is '2085216x', expected a decimal",
        id="non-decimal-size",
    ),
    pytest.param(
        SPEC_TEXT.replace("20852163", "020852163"), "line 2 \\(tree size\\) is '020852163'", id="leading-zero"
    ),
    pytest.param(SPEC_TEXT.replace("20852163", "-1"), "line 2 \\(tree size\\) is '-1'", id="negative-size"),
    pytest.param(SPEC_TEXT.replace("20852163", "+1"), "line 2 \\(tree size\\) is '\\+1'", id="plus-sign"),
    pytest.param(SPEC_TEXT.replace("20852163", "٣"), "line 2 \\(tree size\\) is '٣'", id="non-ascii-digit"),
    pytest.param(
        SPEC_TEXT.replace("20852163", str(2**64)), "expected a decimal below 2\\^64", id="size-overflows-uint64"
    ),
    pytest.param(SPEC_TEXT.replace("CsUY", "Cs!Y"), "line 3 \\(root hash\\) is not valid base64", id="bad-base64"),
    pytest.param(SPEC_TEXT.replace("q2I=", "q2I"), "line 3 \\(root hash\\) is not valid base64", id="missing-padding"),
    pytest.param(
        SPEC_TEXT.replace("q2I=", "q2J="), "line 3 \\(root hash\\) is not canonical base64", id="non-canonical-base64"
    ),
    pytest.param(
        SPEC_TEXT.replace(
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=", "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxqw=="
        ),
        "line 3 \\(root hash\\) has 31 bytes, expected 32",
        id="short-hash",
    ),
    pytest.param(SPEC_TEXT[:-1], "checkpoint text does not end in a newline", id="no-trailing-newline"),
    pytest.param("example.com/log\n5\n", "checkpoint has 2 lines, expected at least 3", id="missing-root-line"),
    pytest.param("\n" + SPEC_TEXT, "checkpoint line 1 is '', expected a non-empty line", id="empty-origin"),
    pytest.param(SPEC_TEXT + "\n", "checkpoint line 4 is '', expected a non-empty line", id="empty-extension-line"),
    pytest.param(
        SPEC_TEXT + "ext\r\n",
        "checkpoint line 4 is 'ext\\\\r', expected a non-empty line without control",
        id="carriage-return",
    ),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_malformed_checkpoint_names_the_line(text: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        Checkpoint.parse(text)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(
            lambda: Checkpoint("log", 1, b"\x00" * 31), "root hash has 31 bytes, expected 32", id="short-root"
        ),
        pytest.param(
            lambda: Checkpoint("log", -1, ROOT), "tree size -1: expected 0 <= size < 2\\^64", id="negative-size"
        ),
        pytest.param(
            lambda: Checkpoint("two\nlines", 1, ROOT), "checkpoint origin is 'two\\\\nlines'", id="multi-line-origin"
        ),
        pytest.param(
            lambda: Checkpoint("log", 1, ROOT, ("",)), "checkpoint extension line is ''", id="empty-extension"
        ),
    ],
)
def test_checkpoint_that_could_not_be_written_is_refused(make: Callable[[], object], message: str) -> None:
    with pytest.raises(NoteError, match=message):
        make()


def test_signed_checkpoint_verifies_back_to_itself() -> None:
    signer = NoteSigner(generate_signing_key("log.example/qgov"))
    cp = Checkpoint("log.example/qgov", 42, ROOT)
    signed = sign_checkpoint(cp, signer)
    assert signed.startswith(cp.to_text() + "\n— log.example/qgov ")
    assert verify_checkpoint(signed, NoteVerifier.from_vkey(signer.verifier_key())) == cp


def test_checkpoint_with_rewritten_size_fails_its_signature() -> None:
    signer = NoteSigner(generate_signing_key("log.example/qgov"))
    signed = sign_checkpoint(Checkpoint("log.example/qgov", 42, ROOT), signer)
    with pytest.raises(NoteError, match="invalid signature for key log.example/qgov"):
        verify_checkpoint(signed.replace("\n42\n", "\n43\n"), NoteVerifier.from_vkey(signer.verifier_key()))


def test_signed_note_that_is_not_a_checkpoint_fails_to_parse_after_verifying() -> None:
    with pytest.raises(NoteError, match="checkpoint has 2 lines, expected at least 3"):
        verify_checkpoint(SIGNED, PETER)
