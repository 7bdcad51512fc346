"""Name normalisation for restricted-party screening: the word tables and the tokeniser.

Holds what turns a written name into comparable tokens — folding (accents, case, dotted
acronyms), abbreviation expansion, stop words and legal forms, the generic/field word
tables and their weights, the house-word typo corrections, and transliteration keys —
so that :mod:`policies.screening` is left with the index and the scoring. Kept apart
because these tables are the part a reviewer edits most ("add 'Kft' as a legal form")
and the part every other step only reads. Private: import the public names from
:mod:`policies.screening`, whose docstring explains the whole comparison and whose
``MATCHER_VERSION`` hashes these tables, so any edit here changes that version.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rigour.names import remove_org_types
from rigour.text.translit import ascii_text

_GENERIC_WEIGHT = 0.2
_FIELD_WEIGHT = 0.5


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOP_WORDS = _words("a an and at by de del der des di du et for fur fuer in la le les no of on the to und y zu")
_LEGAL_FORMS = tuple(
    tuple(form.split())
    for form in sorted(
        _words(
            "ab ag bhd bv co company corp corporation cjsc doo gmbh gongsi gufen inc incorporated jsc kg kk "
            "limited llc llp lp ltd mbh nv ojsc oao ooo oy oyj pao pjsc plc pte pty pvt sa sarl sas "
            "sdn spa srl sro youxian zao"
        )
    )
    + ["joint stock", "limited liability", "s a", "s p a", "s r l", "b v", "n v", "k k", "a s"]
    # Chinese legal forms as normality writes them from Han (有限公司 -> "you xian gong si")
    + ["you xian gong si", "you xian ze ren gong si", "gu fen you xian gong si", "ji tuan you xian gong si"]
)
_LEGAL_SINGLE = frozenset(f[0] for f in _LEGAL_FORMS if len(f) == 1)
_LEGAL_MULTI = tuple(sorted((f for f in _LEGAL_FORMS if len(f) > 1), key=len, reverse=True))
_MULTI_FIRST = frozenset(f[0] for f in _LEGAL_MULTI)

# Pinyin house words, as a Latin query writes them ("Hefei ... Keji Youxian Gongsi") and as
# a Han name's syllables spell them (科技 -> "ke ji", joined by name_tokens): the same generic
# words as their English translation, so neither outweighs the distinctive part of the name.
_PINYIN_WORDS: dict[str, tuple[str, ...]] = {
    "keji": ("technology",),  # 科技
    "jishu": ("technology",),  # 技术
    "kexue": ("science",),  # 科学
    "kexueyuan": ("academy", "science"),  # 科学院
    "yanjiu": ("research",),  # 研究
    "yanjiusuo": ("research", "institute"),  # 研究所
    "yanjiuyuan": ("research", "institute"),  # 研究院
    "daxue": ("university",),  # 大学
    "gongcheng": ("engineering",),  # 工程
    "shiyanshi": ("laboratory",),  # 实验室
    "jituan": ("group",),  # 集团
    "gongye": ("industry",),  # 工业
}

_EXPANSIONS: dict[str, tuple[str, ...]] = {
    "cas": ("china", "academy", "science"),  # Chinese Academy of Sciences
    "natl": ("national",),
    "lab": ("laboratory",),
    "labs": ("laboratory",),
    "laboratories": ("laboratory",),
    "labo": ("laboratory",),
    "inst": ("institute",),
    "institutes": ("institute",),
    "institut": ("institute",),
    "instituto": ("institute",),
    "istituto": ("institute",),
    "univ": ("university",),
    "uni": ("university",),
    "universities": ("university",),
    "universitat": ("university",),
    "universite": ("university",),
    "universidad": ("university",),
    "universita": ("university",),
    "acad": ("academy",),
    "academies": ("academy",),
    "akademie": ("academy",),
    "akademiya": ("academy",),
    "sci": ("science",),
    "sciences": ("science",),
    "tech": ("technology",),
    "techn": ("technology",),
    "technol": ("technology",),
    "technologies": ("technology",),
    "ctr": ("center",),
    "cntr": ("center",),
    "centre": ("center",),
    "centres": ("center",),
    "centers": ("center",),
    "zentrum": ("center",),
    "intl": ("international",),
    "dept": ("department",),
    "eng": ("engineering",),
    "engg": ("engineering",),
    "info": ("information",),
    "phys": ("physics",),
    "mfg": ("manufacturing",),
    "st": ("saint",),
    "grp": ("group",),
    "holdings": ("holding",),
    "services": ("service",),
    "solutions": ("solution",),
    "products": ("product",),
    "industries": ("industry",),
    "instruments": ("instrument",),
    "devices": ("device",),
    "materials": ("material",),
    "sensors": ("sensor",),
    "networks": ("network",),
    "systems": ("system",),
    "electronics": ("electronic",),
    "communications": ("communication",),
    "computers": ("computer",),
    "chinese": ("china",),
    "russian": ("russia",),
    "iranian": ("iran",),
    "korean": ("korea",),
    **_PINYIN_WORDS,
}

_GENERIC = _words(
    """academy administration advanced agency applied association branch bureau center central
    college commission committee council department development digital division engineering
    enterprise experimental faculty federal first foundation general global graduate group high
    holding industrial industry information innovation institute international joint key
    laboratory manufacturing ministry municipal national new office organisation organization
    people peoples polytechnic product provincial public quantum republic research saint school
    science scientific service smart society solution state stock studies system technical
    technological     technology trading university venture"""
)
_FIELD = _words(
    """aerospace america american artificial atomic automation aviation biology chemical chemistry
    china chip communication computation computer computing condensed cryogenic cryptography cyber
    data defence defense device electric electrical electronic energy germany hardware india
    instrument instrumentation intelligence iran japan korea laser marine material mathematics
    measurement mechanical mechanics medical metrology microelectronic microwave military
    navigation network nuclear ocean optical optics photonic photonics physical physics precision
    radar radio robotics russia satellite security semiconductor sensing sensor software space
    superconducting telecom theoretical united states"""
)
_CORRECTION_TABLE = sorted(
    [(w, (w,)) for w in _GENERIC | _FIELD]
    + [(k, v) for k, v in _EXPANSIONS.items() if len(k) >= 5]
    + [(f[0], ()) for f in _LEGAL_FORMS if len(f) == 1 and len(f[0]) >= 5]
)
_CORRECTIONS = tuple(k for k, _ in _CORRECTION_TABLE)
_CORRECTION_TARGETS = tuple(v for _, v in _CORRECTION_TABLE)

# Transliteration folds, applied in order to a folded ASCII token. Upper-case letters are
# placeholders so that a later rule cannot re-read an earlier rule's output.
_TRANSLIT_RULES = (
    ("tsch", "C"),
    ("dzh", "J"),
    ("sch", "S"),
    ("tch", "C"),
    ("ch", "C"),
    ("sh", "S"),
    ("zh", "J"),
    ("kh", "H"),
    ("ph", "F"),
    ("th", "T"),
    ("gh", "G"),
    ("ts", "C"),
    ("tz", "C"),
    ("cz", "C"),
    ("ck", "K"),
    ("dj", "J"),
    ("ou", "U"),
    ("q", "K"),
    ("x", "KS"),
    ("w", "V"),
)
_HARD_C = re.compile(r"c(?![eiy])")
_DOUBLES = re.compile(r"(.)\1+")
_DOTTED = re.compile(r"\b(?:[^\W\d_]\.)+[^\W\d_]\b\.?")
_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_SPLIT = re.compile(r"[\W_]+")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")  # CJK ideographs


def _fold(text: str) -> str:
    """Casefold, drop legal forms in any language, and write the name in ASCII.

    Legal forms go first, in the name's own script: rigour's organisation-type table
    (ISO 20275 and OCCRP's list: "ООО", "Aktiengesellschaft", "Co., Ltd." …) knows them
    there. Non-Latin scripts are then transliterated by rigour (Cyrillic, Greek … with its
    own spellings) and normality (Han as pinyin syllables, Arabic script …); what neither
    can read (normality's "?") is dropped. Accents go with the transliteration.
    """
    folded = unicodedata.normalize("NFC", text).casefold()
    # dotted acronyms first: rigour would read "h.c.s.e." as "h.c." and a European company (S.E.)
    if "." in folded:
        folded = _DOTTED.sub(_undot, folded)
    stripped = remove_org_types(folded, replacement=" ")
    if any(ch.isalnum() for ch in stripped):  # a name that is only a legal form keeps it
        folded = stripped
    if not folded.isascii():
        # Han is read in context (重庆 is "chong qing", 重 alone "zhong"), so as a whole; other
        # scripts word by word, each word once per list (a Cyrillic list repeats "АО", "ООО" …).
        ascii = ascii_text(folded) if _HAN.search(folded) else " ".join(map(_ascii_word, folded.split()))
        folded = ascii.casefold().replace("?", "")
    folded = folded.replace("&", " and ").replace("'", "").replace("`", "")
    return _DOTTED.sub(_undot, folded) if "." in folded else folded


def _undot(match: re.Match[str]) -> str:
    return match.group(0).replace(".", "")


@lru_cache(maxsize=1 << 16)
def _ascii_word(word: str) -> str:
    return word if word.isascii() else ascii_text(word)


def _strip_stop_and_legal(tokens: list[str], han: bool = False) -> list[str]:
    """Drop stop words and legal forms until none is left (so the result is a fixpoint).

    Not rigour's table nor the stop words for the pinyin syllables of a Han name: its legal
    form went in Han (:func:`_fold`), and syllables such as "yu" (宇), "an", "de" are names
    there, not a legal form or a stop word.
    """
    stop_words = frozenset() if han else _STOP_WORDS
    while True:
        stripped = tokens if han else remove_org_types(" ".join(tokens), replacement=" ").split()
        kept = [t for t in stripped if t not in stop_words and t not in _LEGAL_SINGLE]
        present = _MULTI_FIRST.intersection(kept)
        for form in _LEGAL_MULTI if present else ():
            if form[0] not in present:
                continue
            n = len(form)
            i = 0
            while i + n <= len(kept):
                if tuple(kept[i : i + n]) == form:
                    del kept[i : i + n]
                else:
                    i += 1
        if kept == tokens:
            return kept
        tokens = kept


def name_tokens(name: str) -> tuple[str, ...]:
    """The normalised tokens of a name, in their original order (see :mod:`policies.screening`).

    A name made only of stop words and legal forms ("The Company") keeps its legal forms
    (or, made only of stop words, its stop words) rather than normalising to nothing.
    """
    han = bool(_HAN.search(name))
    raws = [raw for raw in _SPLIT.split(_fold(name)) if raw]
    expanded: list[str] = []
    for raw in _join_pinyin_words(raws) if han else raws:
        ordinal = _ORDINAL.match(raw)
        expanded.extend(_EXPANSIONS.get(raw, (ordinal.group(1) if ordinal else raw,)))
    # Stop words go even then: rigour may read a legal form only once punctuation is gone
    # ("A:LÇ" -> "a lc"), and the name must normalise to the same tokens the second time.
    kept = _strip_stop_and_legal(expanded, han) or [t for t in expanded if han or t not in _STOP_WORDS]
    return tuple(kept or expanded)


def _join_pinyin_words(syllables: list[str]) -> list[str]:
    """Join the syllables of a pinyin house word ("ke", "ji" -> "keji"), longest first."""
    out: list[str] = []
    i = 0
    while i < len(syllables):
        for n in (4, 3, 2):
            word = "".join(syllables[i : i + n])
            if n <= len(syllables) - i and word in _PINYIN_WORDS:
                out.append(word)
                i += n
                break
        else:
            out.append(syllables[i])
            i += 1
    return out


def normalize_name(name: str) -> str:
    """The normalised spelling of a name; idempotent."""
    return " ".join(name_tokens(name))


def name_key(name: str) -> str:
    """Order-free identity of a name: two names are ``exact`` matches when their keys are equal."""
    return " ".join(sorted(set(name_tokens(name))))


@lru_cache(maxsize=1 << 18)
def transliteration_key(token: str) -> str:
    """Fold spelling variants of romanised names: Q/K, Kh/H, Zh/J/Y/I, Ts/Ch/C, W/V, Ph/F …"""
    for old, new in _TRANSLIT_RULES:
        token = token.replace(old, new)
    if "c" in token:
        token = _HARD_C.sub("k", token).replace("c", "s")
    token = token.lower().replace("y", "i").replace("j", "i")
    # a function, not the template r"\1", which re parses again on every call
    return _DOUBLES.sub(_first_group, token)


def _first_group(match: re.Match[str]) -> str:
    return match.group(1)


_CORRECTIONS_TRANSLIT = tuple(transliteration_key(k) for k in _CORRECTIONS)


def token_weight(token: str) -> float:
    """How much a token says about who a name denotes (generic 0.2, field/country/short 0.5, else 1)."""
    if token in _GENERIC:
        return _GENERIC_WEIGHT
    if token in _FIELD or len(token) <= 3:  # short tokens are often initials or stray typos
        return _FIELD_WEIGHT
    return 1.0
