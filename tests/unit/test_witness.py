"""The directory witness (lineage.witness): append-only, consistent, cosigned (C2SP tlog-witness)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lineage.checkpoints import RootAccumulator
from lineage.merkle import consistency_proof, leaf_hash
from lineage.note import Checkpoint, NoteSigner, generate_signing_key, sign_checkpoint
from lineage.witness import CosignatureVerifier, DirectoryWitness, WitnessError

LOG = NoteSigner(generate_signing_key("log.example/qgov"))


class Log:
    """An in-memory RFC 6962 log of leaves, as the database's log is to the witness."""

    def __init__(self, n: int, tag: str = "") -> None:
        self.leaves = [leaf_hash(f"{tag}{i}".encode()) for i in range(n)]

    def root(self, size: int) -> bytes:
        acc = RootAccumulator()
        for leaf in self.leaves[:size]:
            acc.add(leaf)
        return acc.root()

    def note(self, size: int, signer: NoteSigner = LOG) -> str:
        return sign_checkpoint(Checkpoint(signer.name, size, self.root(size)), signer)

    def prove(self, old: int, new: int) -> list[bytes]:
        if new > len(self.leaves):
            from qgov.errors import IntegrityError

            raise IntegrityError(f"the log holds {len(self.leaves)} events, not {new}")
        return consistency_proof(old, new, lambda a, b: _root(self.leaves[a:b]))


def _root(leaves: list[bytes]) -> bytes:
    acc = RootAccumulator()
    for leaf in leaves:
        acc.add(leaf)
    return acc.root()


def _witness(tmp_path: Path) -> DirectoryWitness:
    return DirectoryWitness(tmp_path / "witness", clock=lambda: 1_700_000_000)


def test_the_witness_cosigns_consistent_checkpoints_in_files_it_never_rewrites(tmp_path: Path) -> None:
    log, w = Log(20), _witness(tmp_path)
    for size in (3, 8, 20):
        path = w.add(log.note(size), LOG.verifier_key(), log.prove)
        assert path is not None and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(w.root.stat().st_mode) == 0o700
    latest = w.latest()
    assert latest is not None and latest.checkpoint.size == 20
    verifier = w.verifier()
    assert verifier is not None and verifier.verify(latest.note) == 1_700_000_000
    assert latest.note.count("\n— ") == 2  # the log's signature and the witness's cosignature
    assert w.add(log.note(20), LOG.verifier_key(), log.prove) is None  # the same again: nothing new
    assert w.add(log.note(8), LOG.verifier_key(), log.prove) is None  # an older one of the same history


def test_the_witness_refuses_a_fork_a_rewrite_and_a_rollback(tmp_path: Path) -> None:
    log, w = Log(10), _witness(tmp_path)
    w.add(log.note(10), LOG.verifier_key(), log.prove)
    forged = Log(12, tag="x")
    with pytest.raises(WitnessError, match="another checkpoint of size 10"):
        w.add(forged.note(10), LOG.verifier_key(), forged.prove)
    with pytest.raises(WitnessError, match="not consistent with the witnessed checkpoint of 10 events"):
        w.add(forged.note(12), LOG.verifier_key(), forged.prove)
    rolled_back = Log(6)
    with pytest.raises(WitnessError, match="not consistent with the witnessed checkpoint of 10 events"):
        w.add(rolled_back.note(6), LOG.verifier_key(), rolled_back.prove)
    other_key = NoteSigner(generate_signing_key("log.example/qgov"))
    with pytest.raises(WitnessError, match="another log key"):
        w.add(log.note(10, other_key), other_key.verifier_key(), log.prove)
    latest = w.latest()
    assert latest is not None and latest.checkpoint.size == 10


def test_a_witness_file_edited_in_place_is_refused(tmp_path: Path) -> None:
    log, w = Log(5), _witness(tmp_path)
    path = w.add(log.note(5), LOG.verifier_key(), log.prove)
    assert path is not None
    text = path.read_text(encoding="utf-8")
    root_line = text.split("\n")[2]
    path.write_text(text.replace(root_line, "A" * 43 + "="), encoding="utf-8")
    with pytest.raises(WitnessError, match="witness file"):
        w.latest()


def test_the_cosignature_key_follows_the_c2sp_format(tmp_path: Path) -> None:
    log, w = Log(2), _witness(tmp_path)
    w.add(log.note(2), LOG.verifier_key(), log.prove)
    vkey = (w.root / "witness.vkey").read_text(encoding="ascii").strip()
    name, key_id, key = vkey.split("+", 2)
    import base64

    assert name.startswith("qgov-witness/") and len(bytes.fromhex(key_id)) == 4
    assert base64.b64decode(key)[0] == 0x04  # cosignature/v1
    assert CosignatureVerifier.from_vkey(vkey).name == name


def test_a_checkpoint_file_cut_short_by_a_kill_does_not_stop_the_witness(tmp_path: Path) -> None:
    log, w = Log(9), _witness(tmp_path)
    w.add(log.note(4), LOG.verifier_key(), log.prove)
    path = w.add(log.note(6), LOG.verifier_key(), log.prove)
    assert path is not None
    path.write_text(path.read_text(encoding="utf-8")[:-30], encoding="utf-8")  # the cosignature half-written
    latest = w.latest()
    assert latest is not None and latest.checkpoint.size == 4
    assert w.add(log.note(9), LOG.verifier_key(), log.prove) is not None
    latest = w.latest()
    assert latest is not None and latest.checkpoint.size == 9
