"""Merkle proofs: Go's probe vectors, the RFC 6962 reference tree, and a naive RFC 6962 model.

The probes in ``tests/data/merkle`` come from transparency-dev/merkle (see its README):
every honest probe verifies and every must-fail probe raises ``ProofError``. Properties
check the module against the recursive MTH/PATH/SUBPROOF of RFC 6962 §2.1 written below.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from lineage.merkle import (
    EMPTY_ROOT,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    subtree_hasher,
    verify_consistency,
    verify_inclusion,
)
from qgov.errors import InputError

DATA = Path(__file__).resolve().parent.parent / "data" / "merkle"

# --- transparency-dev/merkle probe vectors ----------------------------------------------

# Probes whose verdict we deliberately differ on, with the reason.
DEVIATIONS = {
    # Go compares the two roots of equal-size trees byte for byte whatever their length;
    # we reject any hash that is not 32 bytes (here 12-byte "don't care 2" roots).
    "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json": "old root has 12 bytes, expected 32",
}


def load_probes(kind: str) -> list[Any]:
    paths = sorted((DATA / kind).rglob("*.json"))
    return [pytest.param(json.loads(p.read_text()), id=str(p.relative_to(DATA))) for p in paths]


INCLUSION_PROBES = load_probes("inclusion")
CONSISTENCY_PROBES = load_probes("consistency")


def b64(value: str) -> bytes:
    return base64.b64decode(value)


def proof_of(probe: dict[str, Any]) -> list[bytes]:
    return [b64(h) for h in probe["proof"] or []]  # Go writes an empty proof as null


def test_every_probe_file_is_loaded() -> None:
    assert (len(INCLUSION_PROBES), len(CONSISTENCY_PROBES)) == (98, 98)


@pytest.mark.parametrize("probe", INCLUSION_PROBES)
def test_inclusion_probe_gets_gos_verdict(probe: dict[str, Any]) -> None:
    args = (b64(probe["leafHash"]), probe["leafIdx"], probe["treeSize"], proof_of(probe), b64(probe["root"]))
    if probe["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("probe", CONSISTENCY_PROBES)
def test_consistency_probe_gets_gos_verdict(probe: dict[str, Any], request: pytest.FixtureRequest) -> None:
    args = (probe["size1"], probe["size2"], proof_of(probe), b64(probe["root1"]), b64(probe["root2"]))
    deviation = DEVIATIONS.get(request.node.callspec.id)
    if probe["wantErr"] or deviation:
        with pytest.raises(ProofError, match=deviation):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


# --- the RFC 6962 reference tree (transparency-dev/merkle testonly + cmd/proofgen) -------

LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
]
ROOTS = [EMPTY_ROOT] + [
    bytes.fromhex(h)
    for h in [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
]
REFERENCE_LEAVES = [leaf_hash(d) for d in LEAF_INPUTS]


def hx(*hashes: str) -> list[bytes]:
    return [bytes.fromhex(h) for h in hashes]


# (0-based leaf index, tree size, proof); proofgen numbers leaves from 1.
REFERENCE_INCLUSION = [
    pytest.param(0, 1, [], id="leaf0-of-1"),
    pytest.param(
        0,
        8,
        hx(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
        id="leaf0-of-8",
    ),
    pytest.param(
        5,
        8,
        hx(
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
        id="leaf5-of-8",
    ),
    pytest.param(2, 3, hx("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"), id="leaf2-of-3"),
    pytest.param(
        1,
        5,
        hx(
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
        id="leaf1-of-5",
    ),
]
REFERENCE_CONSISTENCY = [
    pytest.param(1, 1, [], id="1-to-1"),
    pytest.param(
        1,
        8,
        hx(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
        id="1-to-8",
    ),
    pytest.param(
        6,
        8,
        hx(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
        id="6-to-8",
    ),
    pytest.param(
        2,
        5,
        hx(
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
        id="2-to-5",
    ),
    pytest.param(
        6,
        7,
        hx(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
        id="6-to-7",
    ),
]


@pytest.mark.parametrize("size", range(9))
def test_reference_tree_has_the_published_root_at_every_size(size: int) -> None:
    assert root_from_leaf_hashes(REFERENCE_LEAVES[:size]) == (size, ROOTS[size])


def test_reference_leaf_hashes_are_the_published_level_zero_nodes() -> None:
    assert [h.hex()[:8] for h in REFERENCE_LEAVES] == [
        "6e340b9c",
        "96a296d2",
        "0298d122",
        "07506a85",
        "bc1a0643",
        "4271a26b",
        "b08693ec",
        "46f6ffad",
    ]


@pytest.mark.parametrize(("index", "size", "proof"), REFERENCE_INCLUSION)
def test_reference_inclusion_proof_is_generated_and_verifies(index: int, size: int, proof: list[bytes]) -> None:
    assert inclusion_proof(index, size, subtree_hasher(REFERENCE_LEAVES)) == proof
    verify_inclusion(REFERENCE_LEAVES[index], index, size, proof, ROOTS[size])


@pytest.mark.parametrize(("old", "new", "proof"), REFERENCE_CONSISTENCY)
def test_reference_consistency_proof_is_generated_and_verifies(old: int, new: int, proof: list[bytes]) -> None:
    assert consistency_proof(old, new, subtree_hasher(REFERENCE_LEAVES)) == proof
    verify_consistency(old, new, proof, ROOTS[old], ROOTS[new])


# --- a naive RFC 6962 §2.1 model, written from the RFC text ------------------------------


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: Sequence[bytes]) -> bytes:
    if not d:
        return sha(b"")
    if len(d) == 1:
        return d[0]
    k = split(len(d))
    return sha(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: Sequence[bytes]) -> list[tuple[bytes, str]]:
    """PATH(m, D[n]), each hash with the side of the path its subtree lies on."""
    if len(d) == 1:
        return []
    k = split(len(d))
    if m < k:
        return [*path(m, d[:k]), (mth(d[k:]), "right")]
    return [*path(m - k, d[k:]), (mth(d[:k]), "left")]


def subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [mth(d)]
    k = split(len(d))
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


MAX = 300
LEAVES = [sha(b"\x00" + i.to_bytes(2, "big")) for i in range(MAX)]


@cache
def root(size: int) -> bytes:
    return mth(LEAVES[:size])


def subtree(start: int, end: int) -> bytes:
    return subtree_hasher(LEAVES)(start, end)


sizes = st.integers(1, MAX)


@st.composite
def index_and_size(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(sizes)
    return draw(st.integers(0, size - 1)), size


@st.composite
def old_and_new(draw: st.DrawFn) -> tuple[int, int]:
    new = draw(sizes)
    return draw(st.integers(1, new)), new


@given(st.integers(0, MAX))
def test_root_equals_naive_mth_at_every_size(size: int) -> None:
    assert root_from_leaf_hashes(iter(LEAVES[:size])) == (size, root(size))


@given(st.binary(max_size=64))
def test_leaf_and_node_hashes_carry_the_rfc_6962_domain_prefixes(data: bytes) -> None:
    assert leaf_hash(data) == sha(b"\x00" + data)
    assert node_hash(data[:32].ljust(32, b"x"), data[32:].ljust(32, b"y")) != leaf_hash(data)


@given(index_and_size())
def test_generated_inclusion_proof_is_rfc_6962_path_and_verifies(case: tuple[int, int]) -> None:
    index, size = case
    proof = inclusion_proof(index, size, subtree)
    assert proof == [h for h, _ in path(index, LEAVES[:size])]
    verify_inclusion(LEAVES[index], index, size, proof, root(size))


@given(old_and_new())
def test_generated_consistency_proof_is_rfc_6962_subproof_and_verifies(case: tuple[int, int]) -> None:
    old, new = case
    proof = consistency_proof(old, new, subtree)
    assert proof == subproof(old, LEAVES[:new], True)
    verify_consistency(old, new, proof, root(old), root(new))


def test_every_proof_up_to_size_64_is_rfc_6962s_and_verifies() -> None:
    for size in range(1, 65):
        for m in range(size):
            proof = inclusion_proof(m, size, subtree)
            assert proof == [h for h, _ in path(m, LEAVES[:size])], (m, size)
            verify_inclusion(LEAVES[m], m, size, proof, root(size))
            proof = consistency_proof(m + 1, size, subtree)
            assert proof == subproof(m + 1, LEAVES[:size], True), (m + 1, size)
            verify_consistency(m + 1, size, proof, root(m + 1), root(size))


def flip(h: bytes, bit: int) -> bytes:
    return h[: bit // 8] + bytes([h[bit // 8] ^ (1 << bit % 8)]) + h[bit // 8 + 1 :]


@given(index_and_size(), st.data())
def test_any_flipped_bit_breaks_an_inclusion_proof(case: tuple[int, int], data: st.DataObject) -> None:
    index, size = case
    proof, leaf, top = inclusion_proof(index, size, subtree), LEAVES[index], root(size)
    target = data.draw(st.integers(-2, len(proof) - 1), label="target")  # -2 the leaf, -1 the root
    bit = data.draw(st.integers(0, 255), label="bit")
    if target == -2:
        leaf = flip(leaf, bit)
    elif target == -1:
        top = flip(top, bit)
    else:
        proof[target] = flip(proof[target], bit)
    with pytest.raises(ProofError, match="root mismatch"):
        verify_inclusion(leaf, index, size, proof, top)


@given(old_and_new(), st.data())
def test_any_flipped_bit_breaks_a_consistency_proof(case: tuple[int, int], data: st.DataObject) -> None:
    old, new = case
    proof, old_root, new_root = consistency_proof(old, new, subtree), root(old), root(new)
    target = data.draw(st.integers(-2, len(proof) - 1), label="target")  # -2 old root, -1 new root
    bit = data.draw(st.integers(0, 255), label="bit")
    if target == -2:
        old_root = flip(old_root, bit)
    elif target == -1:
        new_root = flip(new_root, bit)
    else:
        proof[target] = flip(proof[target], bit)
    with pytest.raises(ProofError, match="root (of tree size [0-9]+ )?mismatch"):
        verify_consistency(old, new, proof, old_root, new_root)


@given(index_and_size(), st.data())
def test_inclusion_proof_fails_at_any_other_index(case: tuple[int, int], data: st.DataObject) -> None:
    index, size = case
    other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index))
    with pytest.raises(ProofError):
        verify_inclusion(LEAVES[index], other, size, inclusion_proof(index, size, subtree), root(size))


@given(index_and_size(), st.integers(1, MAX))
@example((0, 3), 4)
def test_inclusion_proof_verifies_at_another_size_only_along_the_same_path(case: tuple[int, int], other: int) -> None:
    # The proof alone does not bind the size: (index 0, size 3) and (0, 4) hash the same way.
    # So callers must take size and root together from one signed checkpoint.
    index, size = case
    same_path = index < other and [s for _, s in path(index, LEAVES[:other])] == [
        s for _, s in path(index, LEAVES[:size])
    ]
    proof = inclusion_proof(index, size, subtree)
    if same_path:
        verify_inclusion(LEAVES[index], index, other, proof, root(size))
    else:
        with pytest.raises(ProofError):
            verify_inclusion(LEAVES[index], index, other, proof, root(size))


@given(old_and_new(), old_and_new())
@example((3, 7), (3, 7))
def test_consistency_proof_verifies_true_roots_of_other_sizes_only_if_it_is_their_proof(
    case: tuple[int, int], other: tuple[int, int]
) -> None:
    proof = consistency_proof(*case, subtree)
    if proof == consistency_proof(*other, subtree):
        verify_consistency(*other, proof, root(other[0]), root(other[1]))
    else:
        with pytest.raises(ProofError):
            verify_consistency(*other, proof, root(other[0]), root(other[1]))


@given(index_and_size(), st.booleans())
def test_inclusion_proof_one_hash_too_long_or_short_is_named(case: tuple[int, int], longer: bool) -> None:
    index, size = case
    proof = inclusion_proof(index, size, subtree)
    wrong = [*proof, LEAVES[0]] if longer or not proof else proof[:-1]
    with pytest.raises(ProofError, match=rf"proof has {len(wrong)} hashes, expected {len(proof)}"):
        verify_inclusion(LEAVES[index], index, size, wrong, root(size))


# --- malformed input: always ProofError, with a message saying what was expected ---------

H = LEAVES[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param((H, 7, 5, [], H), "index 7 out of range for tree size 5", id="index-past-end"),
        pytest.param((H, -1, 5, [], H), "index -1 out of range for tree size 5", id="negative-index"),
        pytest.param((H, 0, 0, [], H), "index 0 out of range for tree size 0", id="empty-tree"),
        pytest.param((H[:31], 0, 1, [], H), "leaf hash has 31 bytes, expected 32", id="short-leaf"),
        pytest.param((H, 0, 1, [], H + b"\x00"), "root has 33 bytes, expected 32", id="long-root"),
        pytest.param((H, 0, 2, [b""], H), "proof hash 0 has 0 bytes, expected 32", id="empty-proof-hash"),
        pytest.param((H, 0, 5, [H, H], H), "proof has 2 hashes, expected 3", id="short-proof"),
        pytest.param(
            (H, 0, 1, [], LEAVES[1]),
            f"root mismatch: expected {LEAVES[1][:8].hex()}…, got {H[:8].hex()}…",
            id="wrong-root",
        ),
    ],
)
def test_malformed_inclusion_input_is_a_proof_error(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ProofError, match=message):
        verify_inclusion(*args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param((5, 3, [], H, H), r"tree sizes 5 -> 3: expected 0 <= old size <= new size", id="shrinking"),
        pytest.param((-1, 3, [], H, H), r"tree sizes -1 -> 3", id="negative"),
        pytest.param((0, 0, [], EMPTY_ROOT, EMPTY_ROOT), "old tree size 0", id="both-empty"),
        pytest.param((0, 3, [], EMPTY_ROOT, H), "old tree size 0", id="from-empty"),
        pytest.param((3, 3, [H], H, H), "proof has 1 hashes, expected 0", id="equal-sizes-nonempty-proof"),
        pytest.param((3, 3, [], H, LEAVES[1]), "root of tree size 3 mismatch", id="equal-sizes-other-root"),
        pytest.param((3, 5, [], H, H), "proof has 0 hashes, expected 4", id="empty-proof"),
        pytest.param((3, 5, [H[:1]], H, H), "proof hash 0 has 1 bytes, expected 32", id="short-proof-hash"),
        pytest.param((3, 5, [], b"", H), "old root has 0 bytes, expected 32", id="empty-old-root"),
    ],
)
def test_malformed_consistency_input_is_a_proof_error(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ProofError, match=message):
        verify_consistency(*args)


def test_equal_sizes_with_equal_roots_and_empty_proof_are_consistent() -> None:
    verify_consistency(5, 5, [], root(5), root(5))


def test_proof_error_is_an_integrity_error_with_one_line_diagnostics() -> None:
    with pytest.raises(ProofError) as caught:
        verify_inclusion(H, 0, 1, [], LEAVES[1])
    assert caught.value.exit_code == 1
    assert caught.value.diagnostics().startswith("root mismatch: expected ")


# --- generation requests that cannot be met ---------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(
            lambda: inclusion_proof(5, 5, subtree), "index 5 out of range for tree size 5", id="index-past-end"
        ),
        pytest.param(lambda: consistency_proof(0, 5, subtree), "from tree size 0 to 5", id="from-empty"),
        pytest.param(lambda: consistency_proof(6, 5, subtree), "from tree size 6 to 5", id="shrinking"),
        pytest.param(
            lambda: subtree_hasher(LEAVES[:4])(2, 5),
            r"leaf range \[2, 5\) is not inside a tree of size 4",
            id="range-past-end",
        ),
        pytest.param(lambda: subtree_hasher(LEAVES[:4])(2, 2), r"leaf range \[2, 2\)", id="empty-range"),
    ],
)
def test_impossible_proof_request_is_an_input_error(make: Callable[[], object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        make()


def test_consistency_proof_between_equal_sizes_is_empty() -> None:
    assert consistency_proof(7, 7, subtree) == []


def test_root_of_no_leaves_is_the_hash_of_the_empty_string() -> None:
    assert root_from_leaf_hashes([]) == (0, hashlib.sha256(b"").digest())


def test_stored_leaf_hash_of_wrong_length_is_a_proof_error() -> None:
    with pytest.raises(ProofError, match="leaf hash 2 has 3 bytes, expected 32"):
        root_from_leaf_hashes([H, H, b"abc"])
