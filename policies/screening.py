"""Restricted-party screening: read Consolidated Screening List (CSL) data, match names.

Pure: the parsers take text, the matcher takes a name; nothing here reads files, the
network or the clock, so a screening answer is reproducible from (name, country, list
version, matcher version, threshold), which every result records.

How two names are compared, and why:

1. **Normalise** (:func:`normalize_name`): casefold; drop legal forms with rigour's
   organisation-type table (ISO 20275 / OCCRP: "ООО", "AG", "Co., Ltd." — in the name's own
   script, then again in ASCII); transliterate other scripts with rigour and normality (Han
   as pinyin syllables, Cyrillic, Arabic script; accents go too); drop dotted-acronym dots
   (S.A. = SA), expand abbreviations (Natl, Lab, Inst, Univ, Acad, Sci, Tech, CAS …) and
   pinyin house words (Keji = technology, Yanjiusuo = research institute; a Han name's
   syllables "ke ji" are joined first; Youxian Gongsi is a legal form),
   singularise house words, and drop stop words and our own legal-form table anywhere in
   the name. Lists and requesters spell the same organisation all of these ways (ADR 0023).
2. **Weigh** tokens: generic words (institute, national, quantum, technology …) weigh 0.2,
   field and country words (physics, optics, china …) 0.5, everything else 1. A name that
   shares only generic words with an entry therefore covers little of its weight and is
   not a match ("Institute of Physics, University of Tokyo" is not "CAS Institute of
   Physics").
3. **Align** tokens, ignoring order: every query token (and every pair of adjacent tokens,
   so "Quantum CTek" meets "QuantumCTek") is paired with the entry token it resembles most
   by RapidFuzz's optimal-string-alignment similarity, on the spelling and on a
   transliteration key that folds Q/K, Kh/H, Zh/J/Y/I, Ts/Tz/Ch/C, W/V, Ph/F … — so a
   variant that changes the first letter still meets its entry (OFAC's search compares
   only names with the same first letter; this one does not). A query word that no listed
   word resembles but is a typo of a house word ("Laboratroy", "Limted") is read as it.
4. **Score** = 100 × (0.7 × share of the entry's weight covered + 0.3 × share of the
   query's weight covered): extra words in the query cost less than missing words of the
   entry. A normalised-equal name (same tokens in any order) is ``exact`` and scores 100.
   A ``country`` outside all of the entry's address countries multiplies the score by
   0.9; an exact match is reported whatever its score.

Lists: :func:`parse_list` reads the CSL CSV and JSON and OpenSanctions' FtM entities
(:mod:`policies._ftm`), keeping every field. Speed: :class:`Matcher` builds an index
once — every distinctive token under its spelling, its transliteration key, its consonant
skeleton, its one-letter deletions (one typo) and, for long tokens, its thirds (two typos
leave one third intact) — so a query looks up a shortlist, bounds each candidate's best
possible score (the weight each shortlisted token has in that name, against the weight the
name still needs), and aligns only
the few that can still reach the threshold (``benchmarks/screening.py``: 100,000 names).
Layout: :mod:`policies._names` holds the word tables and the normalisation,
:mod:`policies._csl` and :mod:`policies._ftm` the list entries and their parsers; this
module the matcher, its index, the results and the public surface (``__all__``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version as package_version
from typing import cast

import numpy as np
import numpy.typing as npt
from rapidfuzz import process
from rapidfuzz.distance import OSA

from policies._csl import _COUNTRY, ListEntry, ScreeningList, parse_csl_csv, parse_csl_json
from policies._ftm import FORMATS, detect_format, parse_ftm, parse_list
from policies._names import (
    _CORRECTION_TARGETS,
    _CORRECTIONS,
    _CORRECTIONS_TRANSLIT,
    _EXPANSIONS,
    _FIELD,
    _FIELD_WEIGHT,
    _GENERIC,
    _GENERIC_WEIGHT,
    _HAN,
    _LEGAL_FORMS,
    _STOP_WORDS,
    _TRANSLIT_RULES,
    name_key,
    name_tokens,
    normalize_name,
    token_weight,
    transliteration_key,
)
from policies._results import Match, ScreeningResult
from qgov.canonical import canonical_hash
from qgov.errors import InputError

# Chosen with benchmarks/screening_quality.py: thresholds 70-80 meet the target (recall >=
# 0.99 on 2,400 treated variants, <= 0.5 % false positives on 2,000 benign institutions);
# 80 keeps recall at 0.9946 (0 % FP) and stays ~10 points above the best-scoring benign name (69.8),
# which shares generic words, a field and a city with a listed one.
DEFAULT_THRESHOLD = 80.0

_ENTRY_SHARE = 0.7  # weight of "how much of the entry is covered" against "of the query"
_TOKEN_CUTOFF = 0.75  # OSA similarity below which two tokens are unrelated (1 typo in 4)
_TRANSLIT_FACTOR = 0.95  # a transliteration-only match is slightly less certain
_COUNTRY_FACTOR = 0.9
_MAX_CANDIDATES = 64
_TWO_TYPOS = 8  # tokens this long may carry two typos and still be found

_VOWELS = re.compile(r"[aeiou]")
_HAN_RUN = 4
_SORT_BELOW = 8  # postings per name under which the shortlist sorts them (measured at 100,000 names)

MATCHER_VERSION = (
    "screening-1+"
    + canonical_hash(
        {
            "weights": [
                _GENERIC_WEIGHT,
                _FIELD_WEIGHT,
                _ENTRY_SHARE,
                _TOKEN_CUTOFF,
                _TRANSLIT_FACTOR,
                _COUNTRY_FACTOR,
                _TWO_TYPOS,
            ],
            "stop": sorted(_STOP_WORDS),
            "legal": [" ".join(f) for f in _LEGAL_FORMS],
            "expansions": {k: list(v) for k, v in _EXPANSIONS.items()},
            "generic": sorted(_GENERIC),
            "field": sorted(_FIELD),
            "translit": [list(r) for r in _TRANSLIT_RULES],
            # their tables (organisation types, transliteration) are part of the comparison
            "libraries": {name: package_version(name) for name in ("rigour", "normality")},
        }
    )[:12]
)


# -- the index --------------------------------------------------------------------
def _deletions(text: str) -> set[str]:
    return {text[:i] + text[i + 1 :] for i in range(len(text))} if len(text) >= 4 else set()


def _pieces(length: int) -> tuple[int, int]:
    third = length // 3
    return third, 2 * third


def _index_keys(token: str, typos: bool) -> set[str]:
    """Keys under which a list token is filed: spelling, transliteration, skeleton, typo keys.

    One edit is found by deletion neighbourhoods (of the spelling and of the
    transliteration); two edits in a long token by the pigeonhole principle: cut it in
    three, and one piece survives intact.
    """
    translit = transliteration_key(token)
    keys = {token, translit}
    skeleton = _VOWELS.sub("", translit)
    if len(skeleton) >= 3:
        keys.add("#" + skeleton)
    if typos:
        keys |= _deletions(token) | _deletions(translit)
        if len(token) >= _TWO_TYPOS:
            a, b = _pieces(len(token))
            keys |= {f"{len(token)}<{token[:a]}", f"{len(token)}|{token[a:b]}", f"{len(token)}>{token[b:]}"}
    return keys


@lru_cache(maxsize=1 << 16)
def _query_keys(token: str, typos: bool) -> frozenset[str]:
    """The keys to look a query token up under (the mirror image of :func:`_index_keys`)."""
    keys = _index_keys(token, typos=False)
    if typos:
        translit = transliteration_key(token)
        keys |= _deletions(token) | _deletions(translit)
        n = len(token)
        for length in range(max(_TWO_TYPOS, n - 2), n + 3):
            a, b = _pieces(length)
            keys |= {f"{length}<{token[:a]}", f"{length}>{token[n - (length - b) :]}"}
            keys |= {f"{length}|{token[a + shift : b + shift]}" for shift in (-1, 0, 1)}
    return frozenset(keys)


# -- the matcher ------------------------------------------------------------------
@dataclass(frozen=True)
class _Name:
    entry: int
    text: str
    units: tuple[tuple[int, int, float], ...]  # (vocabulary id, token bit mask, weight)
    weight: float


class Matcher:
    """Screens names against one list; build once per list (the index is the costly part)."""

    def __init__(self, screening_list: ScreeningList, threshold: float = DEFAULT_THRESHOLD) -> None:
        if not 0 <= threshold <= 100:
            raise InputError(f"threshold: expected a score between 0 and 100, got {threshold!r}")
        self.list = screening_list
        self.threshold = float(threshold)
        self._vocab: dict[str, int] = {}
        self._vtext: list[str] = []
        self._vtranslit: list[str] = []  # filled only for texts filed under keys (the rest: "")
        self._vunigram: list[bool] = []  # False: the text occurs only as two tokens run together
        self._vkeyed: list[bool] = []
        self._keys: dict[str, list[int]] = {}
        # Postings as three flat columns (vocabulary id, name id, the unit's weight in that
        # name), made into one array sorted by vocabulary id at the end: a list per id costs
        # more to build than the whole index, and a name's own weight (not the heaviest weight
        # the text has anywhere) keeps the shortlist's bound tight.
        post_vid: list[int] = []
        post_nid: list[int] = []
        post_w: list[float] = []
        names: list[_Name] = []
        self._exact: dict[str, list[int]] = {}
        unindexed: list[float] = []
        vocab_get, vunigram, vkeyed = self._vocab.get, self._vunigram, self._vkeyed
        for e, entry in enumerate(screening_list.entries):
            for text in dict.fromkeys(entry.names):
                tokens = name_tokens(text)
                if not tokens:
                    continue
                nid = len(names)
                self._exact.setdefault(" ".join(sorted(set(tokens))), []).append(nid)
                han = bool(_HAN.search(text))
                units = _units(tokens, _HAN_RUN if han else 2)
                # Only distinctive tokens are indexed; a name of generic words only is
                # indexed by all of them, or nothing could find it. Runs of Han syllables
                # are indexed too: a pinyin query writes them as one word ("bandaoti").
                generic_only = all(w < _FIELD_WEIGHT for _, _, w in units)
                skipped = weight = 0.0
                ids = []
                for unit_text, mask, w in units:
                    unigram = mask & (mask - 1) == 0
                    indexed = generic_only or (w >= _FIELD_WEIGHT and (unigram or w > 1 or (han and w >= 1)))
                    vid = vocab_get(unit_text)
                    # the common case, a text already filed as it needs to be, without a call
                    if vid is None or (vunigram[vid] < unigram) or (indexed and not vkeyed[vid]):
                        vid = self._vocab_id(unit_text, unigram, indexed)
                    ids.append((vid, mask, w))
                    if unigram:
                        weight += w
                    if indexed:
                        post_vid.append(vid)
                        post_nid.append(nid)
                        post_w.append(w)
                    elif unigram:
                        skipped += w
                names.append(_Name(e, text, tuple(ids), weight))
                unindexed.append(skipped)
        self._names = names
        vids = np.array(post_vid, dtype=np.int64)
        order = np.argsort(vids, kind="stable")
        self._post_nid = np.array(post_nid, dtype=np.int32)[order]
        self._post_w = np.array(post_w, dtype=np.float64)[order]
        self._post_end = np.cumsum(np.bincount(vids, minlength=len(self._vtext))).tolist()
        self._name_weight = np.array([n.weight for n in names], dtype=np.float64)
        self._unindexed = np.array(unindexed, dtype=np.float64)
        self._vtext_array = np.array(self._vtext, dtype=object)
        self._vtranslit_array = np.array(self._vtranslit, dtype=object)
        # The weight a name's indexed tokens must cover for its best possible score,
        # 100 x (share x covered + (1 - share)), to reach the threshold.
        least = max(0.0, (self.threshold / 100.0 - (1 - _ENTRY_SHARE)) / _ENTRY_SHARE)
        self._needed = least * self._name_weight - self._unindexed - 1e-9

    def _postings(self, vid: int) -> slice:
        return slice(self._post_end[vid - 1] if vid else 0, self._post_end[vid])

    def _vocab_id(self, text: str, unigram: bool, indexed: bool) -> int:
        vid = self._vocab.get(text)
        if vid is None:
            vid = self._vocab[text] = len(self._vtext)
            self._vtext.append(text)
            self._vtranslit.append("")
            self._vunigram.append(False)
            self._vkeyed.append(False)
        # Typo keys for single words; run-together pairs only by spelling, when indexed.
        if unigram and not self._vunigram[vid]:
            self._vunigram[vid] = True
            keys = _index_keys(text, typos=True)
        elif indexed and not unigram and not self._vkeyed[vid]:
            keys = _index_keys(text, typos=False)
        else:
            return vid
        if not self._vkeyed[vid]:
            self._vkeyed[vid] = True
            self._vtranslit[vid] = transliteration_key(text)
        for key in keys:
            bucket = self._keys.get(key)
            if bucket is None:
                self._keys[key] = [vid]
            elif bucket[-1] != vid:  # a pair made a unigram later keeps its spelling keys
                bucket.append(vid)
        return vid

    def screen(self, name: str, country: str | None = None) -> ScreeningResult:
        """Screen one name (optionally with the party's ISO-2 country)."""
        if not isinstance(name, str) or not name.strip():
            raise InputError("name: expected a non-empty name to screen")
        if country is not None:
            country = country.strip().upper()
            if not _COUNTRY.fullmatch(country):
                raise InputError(f"country: expected an ISO 3166 two-letter code such as CN, got {country!r}")
        tokens = name_tokens(name)
        if not tokens:
            raise InputError(f"name: {name!r} has no letters or digits to compare")
        exact_ids = set(self._exact.get(" ".join(sorted(set(tokens))), ()))
        run = _HAN_RUN if _HAN.search(name) else 2
        units = _units(tuple(c for t in tokens for c in self._correct(t)) or tokens, run)
        query_weight = sum(w for _, m, w in units if m & (m - 1) == 0)
        sims = self._similarities(units)
        scores: dict[int, tuple[float, int]] = {}
        for nid in self._shortlist(sims, exact_ids):
            record = self._names[nid]
            score = 100.0 if nid in exact_ids else _align(units, record, sims, query_weight)
            best = scores.get(record.entry)
            if best is None or (score, -nid) > (best[0], -best[1]):
                scores[record.entry] = (score, nid)
        matches = []
        for e, (score, nid) in scores.items():
            entry = self.list.entries[e]
            if country is not None and entry.countries and country not in entry.countries:
                score *= _COUNTRY_FACTOR
            exact = nid in exact_ids
            if exact or score >= self.threshold:
                text = self._names[nid].text
                matches.append(
                    Match(entry.name, entry.source, round(score, 1), entry.entry_id, text, entry.license_policy, exact)
                )
        matches.sort(key=lambda m: (-m.score, m.entry_id))
        return ScreeningResult(
            query=name,
            country=country,
            status="potential_match" if matches else "clear",
            matches=tuple(matches),
            list_version=self.list.version,
            matcher_version=MATCHER_VERSION,
            threshold=self.threshold,
        )

    def _correct(self, token: str) -> tuple[str, ...]:
        """Fix a typo in a house word ("Laboratroy", "Tchinese", "Limted" is dropped).

        Only when no listed word is closer: a query word that is as near to a listed word
        as to a house word is left to the alignment ("Yinan" stays a variant of "Jinan").
        """
        if token in self._vocab or token in _GENERIC or token in _FIELD or len(token) < 4:
            return (token,)
        limit = 1 if len(token) < 9 else 2
        probes = [(token, _CORRECTIONS)]
        if len(token) >= 6:  # short transliteration keys collide too easily ("Yinan" ~ "Iran")
            probes.append((transliteration_key(token), _CORRECTIONS_TRANSLIT))
        found = [
            hit
            for probe, choices in probes
            if (hit := process.extractOne(probe, choices, scorer=OSA.distance, score_cutoff=limit))
        ]
        if not found:
            return (token,)
        distance, index = min((hit[1], hit[2]) for hit in found)
        related = {v for key in _query_keys(token, typos=True) for v in self._keys.get(key, ())}
        if related:
            translit = transliteration_key(token)
            nearest = min(
                min(OSA.distance(token, self._vtext[v]), OSA.distance(translit, self._vtranslit[v])) for v in related
            )
            if nearest < distance:
                return (token,)
        return _CORRECTION_TARGETS[index]

    def _similarities(self, units: list[tuple[str, int, float]]) -> dict[int, list[tuple[int, float]]]:
        """vocabulary id -> [(query unit, similarity)] for every pair at or above the token cutoff."""
        related: set[int] = set()
        for text, mask, w in units:
            if w >= _FIELD_WEIGHT:
                for key in _query_keys(text, typos=mask & (mask - 1) == 0):
                    related.update(self._keys.get(key, ()))
        sims: dict[int, list[tuple[int, float]]] = {}
        pairs_only = {q for q, (_, mask, _) in enumerate(units) if mask & (mask - 1)}
        for q, (text, _, _) in enumerate(units):
            vid = self._vocab.get(text)
            if vid is not None:
                related.discard(vid)
                if q not in pairs_only or self._vunigram[vid]:  # a pair meeting a pair adds nothing
                    sims.setdefault(vid, []).append((q, 1.0))
        if related:
            order = np.fromiter(related, dtype=np.int64, count=len(related))
            order.sort()
            vids = order.tolist()
            spelled = process.cdist(
                [u[0] for u in units],
                self._vtext_array[order].tolist(),
                scorer=OSA.normalized_similarity,
                score_cutoff=_TOKEN_CUTOFF,
            )
            translit = process.cdist(
                [transliteration_key(u[0]) for u in units],
                self._vtranslit_array[order].tolist(),
                scorer=OSA.normalized_similarity,
                score_cutoff=_TOKEN_CUTOFF / _TRANSLIT_FACTOR,
            )
            best = np.maximum(spelled, translit * _TRANSLIT_FACTOR)
            for q, j in zip(*np.nonzero(best >= _TOKEN_CUTOFF), strict=True):
                vid = vids[int(j)]
                if int(q) not in pairs_only or self._vunigram[vid]:
                    sims.setdefault(vid, []).append((int(q), float(best[q, j])))
        return sims

    def _shortlist(self, sims: Mapping[int, list[tuple[int, float]]], exact_ids: Iterable[int]) -> list[int]:
        """Names whose best possible score reaches the threshold, the most promising first."""
        chosen = set(exact_ids)
        spans = [(self._postings(v), max(s for _, s in sims[v])) for v in sims]
        spans = [(span, sim) for span, sim in spans if span.stop > span.start]
        if spans:
            ids = np.concatenate([self._post_nid[span] for span, _ in spans])
            gains = np.concatenate([self._post_w[span] * sim for span, sim in spans])
            if len(ids) * _SORT_BELOW < len(self._names):
                # few postings (most queries): sorting them beats a pass over every name
                keep, inverse = np.unique(ids, return_inverse=True)
                hit = cast("npt.NDArray[np.float64]", np.bincount(inverse, weights=gains))
            else:
                keep = np.arange(len(self._names))
                # with weights, bincount returns float64 (numpy's stubs say integers)
                hit = cast("npt.NDArray[np.float64]", np.bincount(ids, weights=gains, minlength=len(self._names)))
            reach = (hit > 0) & (hit >= self._needed[keep])
            keep, hit = keep[reach], hit[reach]
            if len(keep) > _MAX_CANDIDATES:
                # Uncapped, so that names which can all reach 100 still rank by how much they share.
                covered = (hit + self._unindexed[keep]) / self._name_weight[keep]
                keep = keep[np.argsort(-covered, kind="stable")[:_MAX_CANDIDATES]]
            chosen.update(int(n) for n in keep)
        return sorted(chosen)


def _units(tokens: tuple[str, ...], run: int = 2) -> list[tuple[str, int, float]]:
    """Each token, and each run of 2 to ``run`` adjacent tokens written together.

    Pairs, so that "Quantum CTek" meets "QuantumCTek"; longer runs for Han names, whose
    transliteration is one token per syllable while pinyin writes words ("ban dao ti" is
    "bandaoti").
    """
    weights = [token_weight(t) for t in tokens]
    units = [(t, 1 << i, weights[i]) for i, t in enumerate(tokens)]
    for n in range(2, run + 1):
        units += [
            ("".join(tokens[i : i + n]), ((1 << n) - 1) << i, sum(weights[i : i + n]))
            for i in range(len(tokens) - n + 1)
        ]
    return units


def _align(
    units: list[tuple[str, int, float]], record: _Name, sims: Mapping[int, list[tuple[int, float]]], query_weight: float
) -> float:
    """Greedy one-to-one pairing of query and name tokens: closest first, then heaviest.

    Closest first, so that a loose run-together pair ("haigomcroelectronics" ~
    "microelectronics") cannot take the words that pair better one by one.
    """
    pairs = []
    for vid, name_mask, name_w in record.units:
        for q, sim in sims.get(vid, ()):
            _, query_mask, query_w = units[q]
            pairs.append((sim, query_w + name_w, query_mask, name_mask, query_w, name_w))
    pairs.sort(reverse=True)
    used_q = used_n = 0
    covered_q = covered_n = 0.0
    for sim, _, query_mask, name_mask, query_w, name_w in pairs:
        if used_q & query_mask or used_n & name_mask:
            continue
        used_q |= query_mask
        used_n |= name_mask
        covered_q += sim * query_w
        covered_n += sim * name_w
    share = _ENTRY_SHARE * min(1.0, covered_n / record.weight) + (1 - _ENTRY_SHARE) * min(1.0, covered_q / query_weight)
    return 100.0 * share


__all__ = [
    "DEFAULT_THRESHOLD",
    "FORMATS",
    "MATCHER_VERSION",
    "ListEntry",
    "Match",
    "Matcher",
    "ScreeningList",
    "ScreeningResult",
    "detect_format",
    "name_key",
    "name_tokens",
    "normalize_name",
    "parse_csl_csv",
    "parse_csl_json",
    "parse_ftm",
    "parse_list",
    "token_weight",
    "transliteration_key",
]
