"""Restricted-party screening: CSL parsing, bad input, name variants that must match, real
research institutions that must stay clear, country re-weighting, determinism, and the
normalisation invariants (idempotent, legal forms ignored, a name always matches itself)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from policies._names import _HAN
from policies.screening import (
    DEFAULT_THRESHOLD,
    MATCHER_VERSION,
    ListEntry,
    Matcher,
    ScreeningList,
    name_key,
    normalize_name,
    parse_csl_csv,
    parse_csl_json,
)
from qgov.errors import InputError

SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "restricted-parties-sample.csv"
EL = "Entity List (EL) - Bureau of Industry and Security"
HEADER = "_id,source,entity_number,type,programs,name,title,addresses,federal_register_notice,start_date,license_policy,remarks,alt_names"


@pytest.fixture(scope="module")
def sample_text() -> str:
    if not SAMPLE.exists():
        pytest.skip(f"bundled sample list not found at {SAMPLE}")
    return SAMPLE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def sample(sample_text: str) -> ScreeningList:
    return parse_csl_csv(sample_text, SAMPLE.name)


@pytest.fixture(scope="module")
def matcher(sample: ScreeningList) -> Matcher:
    return Matcher(sample)


# -- parsing ------------------------------------------------------------------------
def test_sample_parses_with_aliases_countries_and_policy(sample: ScreeningList) -> None:
    assert len(sample.entries) == 14 and sample.source == SAMPLE.name
    by_id = {e.entry_id: e for e in sample.entries}
    quantumctek = by_id["el-2021-002"]
    assert quantumctek.alt_names == ("QuantumCTek Co.",)
    assert quantumctek.countries == ("CN",) and quantumctek.source == EL
    assert quantumctek.license_policy == "Presumption of denial."
    assert quantumctek.federal_register_notice == "86 FR 67317" and quantumctek.programs == ()
    assert by_id["el-2021-001"].remarks == "Quantum; military end use"
    assert by_id["el-2024-008"].countries == ("CN",)  # an address that is only the country code


def test_list_version_ignores_row_order_and_tracks_content(sample_text: str, sample: ScreeningList) -> None:
    header, *rows = sample_text.strip("\n").split("\n")
    reordered = parse_csl_csv("\n".join([header, *reversed(rows)]), "reordered.csv")
    assert reordered.version == sample.version
    edited = parse_csl_csv(sample_text.replace("Ceyear Technologies", "Ceyear Technology"), "edited.csv")
    assert edited.version != sample.version


CSL_JSON = {
    "results": [
        {
            "_id": "el-2024-010",
            "source": EL,
            "name": "GEOVIS Technology Co., Ltd.",
            "alt_names": ["GEOVIS Tech", "Zhongke Xingtu"],
            "addresses": [{"address": "", "city": "Beijing", "country": "CN"}],
            "programs": [],
            "license_policy": "Presumption of denial.",
            "federal_register_notice": "89 FR 41886",
            "start_date": "2024-05-09",
        },
        {
            "_id": "sdn-1",
            "source": "Specially Designated Nationals (SDN) - Treasury Department",
            "name": "Example Trading LLC",
        },
    ]
}


def test_csl_json_with_results_or_a_bare_list() -> None:
    listed = parse_csl_json(json.dumps(CSL_JSON), "csl.json")
    geovis = next(e for e in listed.entries if e.entry_id == "el-2024-010")
    assert geovis.alt_names == ("GEOVIS Tech", "Zhongke Xingtu") and geovis.countries == ("CN",)
    assert parse_csl_json(json.dumps(CSL_JSON["results"]), "bare.json").version == listed.version
    result = Matcher(listed).screen("Zhongke Xingtu")
    assert result.matches[0].entry_id == "el-2024-010" and result.matches[0].matched_name == "Zhongke Xingtu"


def test_csv_and_json_of_the_same_entry_have_the_same_version() -> None:
    csv_text = (
        f'{HEADER}\nel-9,{EL},,Entity,,"GEOVIS Technology Co., Ltd.",,"Beijing, CN",,,,,GEOVIS Tech; Zhongke Xingtu\n'
    )
    row = {"_id": "el-9", "source": EL, "type": "Entity", "name": "GEOVIS Technology Co., Ltd."}
    row |= {"addresses": [{"city": "Beijing", "country": "CN"}], "alt_names": ["GEOVIS Tech", "Zhongke Xingtu"]}
    assert parse_csl_csv(csv_text, "a.csv").version == parse_csl_json(json.dumps([row]), "a.json").version


BAD_INPUT = [
    ("csv_missing_name_column", "csv", "_id,source,alt_names\nx,EL,\n", r"bad\.csv: missing column 'name'"),
    ("csv_missing_id_column", "csv", "source,name\nEL,Acme\n", r"bad\.csv: missing column '_id'"),
    ("csv_missing_source_column", "csv", "_id,name\nx,Acme\n", r"bad\.csv: missing column 'source'"),
    ("csv_empty_name", "csv", "_id,source,name\nx,EL,Acme\ny,EL,  \n", r"bad\.csv, line 3: field 'name' is empty"),
    ("csv_empty_id", "csv", "_id,source,name\n,EL,Acme\n", r"bad\.csv, line 2: field '_id' is empty"),
    ("csv_empty_text", "csv", "", r"bad\.csv: no header row"),
    ("csv_duplicate_id", "csv", "_id,source,name\nx,EL,Acme\nx,EL,Other\n", r"entry id 'x' appears more than once"),
    ("json_malformed", "json", '{"results": [', r"bad\.json: not valid JSON: .* line 1 column"),
    ("json_not_a_list", "json", '{"entries": []}', r"bad\.json: expected a JSON list of entries"),
    ("json_result_not_object", "json", '["Acme"]', r"bad\.json, result 1: expected an object, got str"),
    ("json_missing_name", "json", '[{"_id": "x", "source": "EL"}]', r"bad\.json, result 1: field 'name' is empty"),
    (
        "json_name_not_text",
        "json",
        '[{"_id": "x", "source": "EL", "name": ["A"]}]',
        r"result 1: field 'name' must be text",
    ),
]


@pytest.mark.parametrize(("kind", "text", "message"), [c[1:] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
def test_bad_list_input_names_file_row_and_field(kind: str, text: str, message: str) -> None:
    parse = parse_csl_csv if kind == "csv" else parse_csl_json
    with pytest.raises(InputError, match=message):
        parse(text, f"bad.{kind}")


BAD_QUERIES = [
    ("empty", "", None, r"name: expected a non-empty name"),
    ("blank", "   \t", None, r"name: expected a non-empty name"),
    ("punctuation_only", "-- ., --", None, r"has no letters or digits"),
    ("bad_country", "Ceyear", "China", r"country: expected an ISO 3166 two-letter code"),
]


@pytest.mark.parametrize(("name", "country", "message"), [c[1:] for c in BAD_QUERIES], ids=[c[0] for c in BAD_QUERIES])
def test_bad_query_is_an_input_error(matcher: Matcher, name: str, country: str | None, message: str) -> None:
    with pytest.raises(InputError, match=message):
        matcher.screen(name, country)


def test_threshold_outside_0_to_100_is_refused(sample: ScreeningList) -> None:
    with pytest.raises(InputError, match=r"threshold: expected a score between 0 and 100"):
        Matcher(sample, threshold=120)


# -- name variants that must match --------------------------------------------------
VARIANTS = [
    ("abbrev_lab_the", "Hefei National Lab for Physical Sciences at the Microscale", "el-2021-001"),
    ("abbrev_natl", "Hefei Natl. Laboratory for Physical Sciences at Microscale", "el-2021-001"),
    ("upper_case", "HEFEI NATIONAL LABORATORY FOR PHYSICAL SCIENCES AT MICROSCALE", "el-2021-001"),
    ("typo_generic_word", "Hefei National Laboratroy for Physical Sciences at Microscale", "el-2021-001"),
    ("reorder_city_last", "National Laboratory for Physical Sciences at Microscale, Hefei", "el-2021-001"),
    ("translit_h_to_kh", "Khefei National Laboratory for Physical Sciences at Microscale", "el-2021-001"),
    ("no_punctuation", "QuantumCTek Co Ltd", "el-2021-002"),
    ("suffix_limited", "Quantumctek Limited", "el-2021-002"),
    ("split_word", "Quantum CTek Co., Ltd.", "el-2021-002"),
    ("translit_q_to_k", "KuantumCTek Co., Ltd.", "el-2021-002"),
    ("typo_and_suffix_inc", "QuantumCTec Inc.", "el-2021-002"),
    ("hyphen_corporation", "Quantum-CTek Corporation", "el-2021-002"),
    ("alias_misspelled", "Shanghai QuantumCTeck Co., Ltd.", "el-2021-003"),
    ("reorder_city_in_brackets", "QuantumCTek (Shanghai) Co., Ltd.", "el-2021-003"),
    ("k_and_company_limited", "Shanghai Kuantumctek Company Limited", "el-2021-003"),
    ("abbrev_acad_info_sci", "Beijing Acad. of Quantum Info. Sci.", "el-2024-001"),
    ("singular_science", "Beijing Academy of Quantum Information Science", "el-2024-001"),
    ("reorder_academy_first", "Quantum Information Sciences Academy, Beijing", "el-2024-001"),
    ("typo_city", "Bejing Academy of Quantum Information Sciences", "el-2024-001"),
    ("typo_information", "Beijing Academy of Quantum Informaton Sciences", "el-2024-001"),
    ("cas_prefix", "CAS Center for Excellence in Quantum Information and Quantum Physics", "el-2024-002"),
    (
        "reorder_cas_last",
        "Center for Excellence in Quantum Information and Quantum Physics, Chinese Academy of Sciences",
        "el-2024-002",
    ),
    (
        "centre_and_ampersand",
        "Chinese Academy of Sciences Centre for Excellence in Quantum Information & Quantum Physics",
        "el-2024-002",
    ),
    ("reorder_iop", "Institute of Physics, Chinese Academy of Sciences", "el-2024-003"),
    ("cas_iop", "CAS Institute of Physics", "el-2024-003"),
    ("inst_and_cas", "Inst. of Physics, CAS", "el-2024-003"),
    ("of_the", "Institute of Physics of the Chinese Academy of Sciences", "el-2024-003"),
    ("science_singular", "Chinese Academy of Science Institute of Physics", "el-2024-003"),
    ("cas_key_lab", "CAS Key Lab of Quantum Information", "el-2024-004"),
    ("reorder_key_lab", "Key Laboratory of Quantum Information, Chinese Academy of Sciences", "el-2024-004"),
    ("simit_cas_last", "Shanghai Institute of Microsystem and Information Technology, CAS", "el-2024-005"),
    (
        "simit_abbreviated",
        "Chinese Academy of Sciences Shanghai Inst. of Microsystem & Information Tech.",
        "el-2024-005",
    ),
    ("no_brackets", "CSIC Pride Nanjing Cryogenic Technology Co Ltd", "el-2024-006"),
    ("tech_company_limited", "CSIC Pride (Nanjing) Cryogenic Tech. Company Limited", "el-2024-006"),
    ("typo_pride", "CSIC Pryde (Nanjing) Cryogenic Technology Co., Ltd.", "el-2024-006"),
    ("hnl_lab", "Hefei National Lab for Quantum Information Science", "el-2024-007"),
    ("hnl_natl_info", "Hefei Natl Laboratory of Quantum Info Sciences", "el-2024-007"),
    ("suffix_inc", "CETC Chip Technology Inc.", "el-2024-008"),
    ("dotted_acronym", "C.E.T.C. Chip Technology Co. Ltd.", "el-2024-008"),
    ("company_limited", "Ceyear Technology Company Limited", "el-2024-009"),
    ("typo_transposed", "Ceyaer Technologies", "el-2024-009"),
    ("accented", "Cëyëar Téchnologies Co.", "el-2024-009"),
    ("case_and_company", "Geovis Technology Company", "el-2024-010"),
    ("hyphen_split", "GEO-VIS Technology Co., Ltd.", "el-2024-010"),
    ("typo_s_to_z", "Geoviz Technology Co., Ltd.", "el-2024-010"),
    ("translit_g_to_k", "Keovis Technology Co., Ltd.", "el-2024-010"),
    ("split_bd_star", "Beijing BD Star Navigation Co., Ltd.", "el-2024-011"),
    ("reorder_bdstar", "BDStar Navigation (Beijing) Co Ltd", "el-2024-011"),
    ("company_limited_bdstar", "Beijing BDStar Navigation Company Limited", "el-2024-011"),
]


@pytest.mark.parametrize(("query", "entry_id"), [v[1:] for v in VARIANTS], ids=[v[0] for v in VARIANTS])
def test_variant_of_a_listed_name_is_a_potential_match(matcher: Matcher, query: str, entry_id: str) -> None:
    result = matcher.screen(query)
    assert result.status == "potential_match"
    assert entry_id in [m.entry_id for m in result.matches]
    assert result.matches[0].entry_id == entry_id  # and it is the best match


# -- real research institutions that must stay clear ------------------------------
BENIGN = [
    "Institute of Physics, University of Tokyo",
    "Max Planck Institute of Quantum Optics",
    "National Institute of Standards and Technology",
    "IQM Quantum Computers",
    "Quantinuum",
    "Rigetti Computing",
    "Oak Ridge National Laboratory",
    "Argonne National Laboratory",
    "Lawrence Berkeley National Laboratory",
    "Sandia National Laboratories",
    "Fermi National Accelerator Laboratory",
    "Los Alamos National Laboratory",
    "Brookhaven National Laboratory",
    "Massachusetts Institute of Technology",
    "California Institute of Technology",
    "Delft University of Technology",
    "QuTech",
    "ETH Zurich",
    "University of Innsbruck",
    "Institute for Quantum Optics and Quantum Information Vienna",
    "Niels Bohr Institute",
    "Institute for Quantum Computing, University of Waterloo",
    "Perimeter Institute for Theoretical Physics",
    "Centre for Quantum Technologies, National University of Singapore",
    "RIKEN Center for Quantum Computing",
    "Weizmann Institute of Science",
    "IBM Quantum",
    "Google Quantum AI",
    "IonQ, Inc.",
    "PsiQuantum Corp.",
    "Xanadu Quantum Technologies Inc.",
    "Pasqal SAS",
    "Alpine Quantum Technologies GmbH",
    "Oxford Quantum Circuits Ltd",
    "Quantum Motion Technologies Limited",
    "Bluefors Oy",
    "Oxford Instruments plc",
    "Zurich Instruments AG",
    "Keysight Technologies",
    "Quantum Machines",
    "National Physical Laboratory",
    "Physikalisch-Technische Bundesanstalt",
    "Paul Scherrer Institute",
    "Joint Quantum Institute, University of Maryland",
    "Korea Research Institute of Standards and Science",
    "Fraunhofer Institute for Applied Optics and Precision Engineering",
    "Chalmers University of Technology",
    "Walther-Meißner-Institut für Tieftemperaturforschung",
    "Université de Sherbrooke, Institut quantique",
    "National Laboratory of Quantum Science",
    "Quantum Technologies Ltd",
]


@pytest.mark.parametrize("query", BENIGN, ids=[b[:40] for b in BENIGN])
def test_unlisted_research_institution_is_clear(matcher: Matcher, query: str) -> None:
    result = matcher.screen(query)
    assert result.status == "clear", result.matches
    assert result.matches == ()


def test_sharing_only_generic_words_scores_low(matcher: Matcher) -> None:
    lenient = Matcher(matcher.list, threshold=0)
    near = lenient.screen("Institute of Physics, University of Tokyo").matches
    assert all(m.score < 50 for m in near)


# -- exactness and country --------------------------------------------------------
def test_exact_means_the_same_normalised_name_in_any_order(matcher: Matcher) -> None:
    exact = matcher.screen("Institute of Physics, Chinese Academy of Sciences").matches[0]
    assert exact.exact and exact.score == 100.0 and exact.entry_id == "el-2024-003"
    assert exact.license_policy == "Presumption of denial." and exact.list == EL
    fuzzy = matcher.screen("Ceyaer Technologies").matches[0]
    assert not fuzzy.exact and fuzzy.score < 100


def test_a_different_country_lowers_the_score_but_never_hides_an_exact_match(matcher: Matcher) -> None:
    home = matcher.screen("CETC Chip Technology Co., Ltd.", country="CN").matches[0]
    abroad = matcher.screen("CETC Chip Technology Co., Ltd.", country="de").matches[0]
    assert home.exact and abroad.exact and abroad.entry_id == "el-2024-008"
    assert abroad.score < home.score == 100.0
    assert matcher.screen("Ceyaer Technologies", country="CN").status == "potential_match"
    lenient = Matcher(matcher.list, threshold=0)
    assert lenient.screen("Ceyaer Technologies", country="US").matches[0].score < (
        lenient.screen("Ceyaer Technologies", country="CN").matches[0].score
    )
    assert matcher.screen("Ceyaer Technologies", country="US").status == "clear"


# -- result contract --------------------------------------------------------------
def test_to_json_has_the_design_contract_and_its_provenance(matcher: Matcher, sample: ScreeningList) -> None:
    document = matcher.screen("QuantumCTek Co., Ltd.", country="CN").to_json()
    assert document["status"] == "potential_match"
    assert {"name", "list", "score", "entry_id"} <= set(document["matches"][0])
    assert document["matches"][0] == {
        "name": "QuantumCTek Co., Ltd.",
        "list": EL,
        "score": 100.0,
        "entry_id": "el-2021-002",
        "matched_name": "QuantumCTek Co., Ltd.",
        "license_policy": "Presumption of denial.",
        "exact": True,
    }
    assert document["list_version"] == sample.version and document["matcher_version"] == MATCHER_VERSION
    assert document["threshold"] == DEFAULT_THRESHOLD
    json.dumps(document)  # plain JSON
    clear = matcher.screen("Quantinuum").to_json()
    assert clear["status"] == "clear" and clear["matches"] == []


def test_screening_is_deterministic_across_runs_and_row_order(sample_text: str, matcher: Matcher) -> None:
    header, *rows = sample_text.strip("\n").split("\n")
    other = Matcher(parse_csl_csv("\n".join([header, *reversed(rows)]), "reordered.csv"))
    for query in ("Hefei National Lab", "Chinese Academy of Sciences", "Quantum CTek", "CAS Key Lab of Quantum Optics"):
        first = matcher.screen(query).to_json()
        assert matcher.screen(query).to_json() == first
        assert other.screen(query).to_json() == first


def test_list_entry_is_frozen() -> None:
    entry = ListEntry(entry_id="x", name="Acme", source=EL)
    with pytest.raises(AttributeError):
        entry.name = "Other"  # type: ignore[misc]


# -- properties -------------------------------------------------------------------
word = st.from_regex(r"[A-Za-zÀ-ÿ]{2,12}", fullmatch=True)
names = st.lists(word, min_size=1, max_size=6).map(" ".join)
LEGAL_SUFFIXES = [
    " Co., Ltd.",
    " Co Ltd",
    " Inc.",
    " LLC",
    " GmbH",
    " Limited",
    " Corporation",
    " S.A.",
    " AG",
    " JSC",
    " PLC",
]


@given(st.text(max_size=60))
def test_normalisation_is_idempotent(text: str) -> None:
    # Han is the exception by design: its pinyin syllables "an", "de", "la" are kept there but
    # are stop words in the ASCII output (tests/unit/test_screening_lists.py covers Han names)
    assume(not _HAN.search(text))
    once = normalize_name(text)
    assert normalize_name(once) == once


@given(names, st.sampled_from(LEGAL_SUFFIXES))
def test_a_legal_suffix_never_changes_the_key(name: str, suffix: str) -> None:
    # a name made only of stop words and legal forms keeps them (there is nothing else)
    assume(normalize_name(name + " Co") == normalize_name(name))
    assert name_key(name + suffix) == name_key(name)
    assert normalize_name(name + suffix) == normalize_name(name)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(names)
def test_a_name_screened_against_itself_scores_100_and_is_exact(name: str) -> None:
    listed = parse_csl_json(json.dumps([{"_id": "p-1", "source": EL, "name": name}]), "one.json")
    match = Matcher(listed).screen(name).matches[0]
    assert match.exact and match.score == 100.0 and match.entry_id == "p-1"
