"""RFC 6962 Merkle tree hashing and proofs, and their offline verification (RFC 9162).

Pure functions over bytes; SHA-256 comes from :mod:`hashlib`.

- Hashing (RFC 6962 §2.1): a leaf is ``SHA-256(0x00 || data)``, an interior node
  ``SHA-256(0x01 || left || right)``, the empty tree ``SHA-256("")``. The 0x00/0x01
  prefixes keep a leaf from ever being passed off as an interior node (second preimage).
- Proof generation follows RFC 6962 §2.1.1 (PATH) and §2.1.2 (SUBPROOF), asking a
  :data:`SubtreeHash` callback for the hash of each leaf range the recursion needs, so
  a log can serve them from its database.
- Verification follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency). The
  proof length is checked up front with transparency-dev/merkle's formula, which also
  covers RFC 9162's "sn is 0" checks, so a wrong-length proof is named as such.

Accept/reject choices follow the transparency-dev/merkle Go library (whose probe vectors
are in ``tests/data/merkle``): consistency from old size 0 is rejected, equal sizes need
an empty proof and equal roots. One deliberate difference: every hash, including the
roots of two equal-size trees, must be 32 bytes; Go only compares those roots' bytes.

Verification raises :class:`ProofError` only. Asking to *generate* an impossible proof
(index past the end, old size 0 or past the new size) is a bad request: ``InputError``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from qgov.errors import InputError, IntegrityError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

SubtreeHash = Callable[[int, int], bytes]
"""``subtree(start, end)`` returns the Merkle tree hash of leaves ``[start, end)``."""


class ProofError(IntegrityError):
    """An inclusion or consistency proof, or what it is checked against, does not verify."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_leaf_hashes(hashes: Iterable[bytes]) -> tuple[int, bytes]:
    """Return ``(size, root)`` of the tree over ``hashes``, holding O(log n) hashes at a time.

    The stack is the compact range of the leaves seen so far: the roots of the perfect
    subtrees that the binary representation of the size splits them into, left to right.
    """
    stack: list[bytes] = []
    size = 0
    for h in hashes:
        _check_hash(f"leaf hash {size}", h)
        stack.append(h)
        size += 1
        merged = size
        while merged & 1 == 0:
            right = stack.pop()
            stack.append(node_hash(stack.pop(), right))
            merged >>= 1
    if not stack:
        return 0, EMPTY_ROOT
    root = stack.pop()
    while stack:
        root = node_hash(stack.pop(), root)
    return size, root


def subtree_hasher(leaf_hashes: Sequence[bytes]) -> SubtreeHash:
    """A :data:`SubtreeHash` over leaf hashes held in memory."""

    def subtree(start: int, end: int) -> bytes:
        if not 0 <= start < end <= len(leaf_hashes):
            raise InputError(f"leaf range [{start}, {end}) is not inside a tree of size {len(leaf_hashes)}")
        return root_from_leaf_hashes(leaf_hashes[start:end])[1]

    return subtree


def inclusion_proof(index: int, size: int, subtree: SubtreeHash) -> list[bytes]:
    """RFC 6962 §2.1.1 PATH(index, D[0:size]), hashes ordered from the leaf upwards."""
    if not 0 <= index < size:
        raise InputError(f"index {index} out of range for tree size {size}")
    top_down: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            top_down.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            top_down.append(subtree(lo, lo + k))
            lo += k
    return top_down[::-1]


def consistency_proof(old_size: int, new_size: int, subtree: SubtreeHash) -> list[bytes]:
    """RFC 6962 §2.1.2 PROOF(old_size, D[0:new_size]) = SUBPROOF(old_size, D[0:new_size], true)."""
    if not 0 < old_size <= new_size:
        raise InputError(f"no consistency proof from tree size {old_size} to {new_size}: need 0 < old <= new")
    top_down: list[bytes] = []
    lo, hi, m, whole_old_tree = 0, new_size, old_size, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            top_down.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            top_down.append(subtree(lo, lo + k))
            lo, m, whole_old_tree = lo + k, m - k, False
    if not whole_old_tree:
        top_down.append(subtree(lo, hi))
    return top_down[::-1]


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """RFC 9162 §2.1.3.2: raise :class:`ProofError` unless ``proof`` puts the leaf at ``index`` under ``root``."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} out of range for tree size {size}")
    _check_hashes(leaf_hash, root, proof, ("leaf hash", "root"))
    inner = (index ^ (size - 1)).bit_length()
    _check_length(proof, inner + (index >> inner).bit_count())
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    _check_match("root", root, r)


def verify_consistency(old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes) -> None:
    """RFC 9162 §2.1.4.2: raise :class:`ProofError` unless the tree at ``new_root`` extends the one at ``old_root``."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"tree sizes {old_size} -> {new_size}: expected 0 <= old size <= new size")
    if old_size == 0:
        # Every tree extends the empty tree, so such a "proof" proves nothing (Go rejects it too).
        raise ProofError("old tree size 0: a consistency proof from the empty tree proves nothing")
    _check_hashes(old_root, new_root, proof, ("old root", "new root"))
    if old_size == new_size:
        _check_length(proof, 0)
        _check_match(f"root of tree size {new_size}", new_root, old_root)
        return
    shift = (old_size & -old_size).bit_length() - 1
    fork = ((old_size - 1) ^ (new_size - 1)).bit_length()
    old_is_perfect = old_size == 1 << shift
    _check_length(proof, (0 if old_is_perfect else 1) + fork - shift + ((old_size - 1) >> fork).bit_count())
    path = [old_root, *proof] if old_is_perfect else list(proof)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    _check_match("old root", old_root, fr)
    _check_match("new root", new_root, sr)


def _split(n: int) -> int:
    """The largest power of two strictly less than ``n`` (n > 1): RFC 6962's k."""
    return 1 << ((n - 1).bit_length() - 1)


def _short(h: bytes) -> str:
    return h.hex() if len(h) <= 8 else h[:8].hex() + "…"


def _check_hash(what: str, h: bytes) -> None:
    if len(h) != HASH_SIZE:
        raise ProofError(f"{what} has {len(h)} bytes, expected {HASH_SIZE}")


def _check_hashes(first: bytes, second: bytes, proof: Sequence[bytes], names: tuple[str, str]) -> None:
    _check_hash(names[0], first)
    _check_hash(names[1], second)
    for i, p in enumerate(proof):
        _check_hash(f"proof hash {i}", p)


def _check_length(proof: Sequence[bytes], expected: int) -> None:
    if len(proof) != expected:
        raise ProofError(f"proof has {len(proof)} hashes, expected {expected}")


def _check_match(what: str, expected: bytes, got: bytes) -> None:
    if expected != got:
        raise ProofError(f"{what} mismatch: expected {_short(expected)}, got {_short(got)}")


__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "ProofError",
    "SubtreeHash",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_from_leaf_hashes",
    "subtree_hasher",
    "verify_consistency",
    "verify_inclusion",
]
