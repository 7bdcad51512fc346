"""Real list shapes (CSL CSV and JSON, OpenSanctions FtM), aliases in other scripts, list age.

The fixtures under ``tests/data/screening/`` are synthetic test entries in the published
shapes (every name says "Synthetic"/"Test"); none is claimed to be a listed party.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies._names import _HAN
from policies.access import decide
from policies.bundle import load_policies
from policies.list_age import DEFAULT_POLICY, ListInForce, check_list, parse_screening
from policies.screening import Matcher, detect_format, name_key, normalize_name, parse_list
from qgov.errors import InputError, PolicyError

DATA = Path(__file__).resolve().parents[1] / "data" / "screening"
FIXTURES = {"csv": "csl-test.csv", "json": "csl-test.json", "ftm": "opensanctions-test.ftm.json"}
AT = datetime(2026, 12, 7, 12, tzinfo=UTC)


def _load(fmt: str) -> Matcher:
    text = (DATA / FIXTURES[fmt]).read_text(encoding="utf-8")
    return Matcher(parse_list(text, FIXTURES[fmt])[0])


@pytest.mark.parametrize("fmt", list(FIXTURES))
def test_the_format_is_read_from_the_content(fmt: str) -> None:
    text = (DATA / FIXTURES[fmt]).read_text(encoding="utf-8")
    assert detect_format(text, "no-extension") == fmt
    assert parse_list(text, "x")[1] == fmt


def test_csl_csv_keeps_every_published_field() -> None:
    entries = {e.entry_id: e for e in _load("csv").list.entries}
    university = entries["test-el-001"]
    assert university.alt_names == ("SBAU", "北方航天大学")
    assert university.addresses == ("37 Test Road, Haidian, Beijing, CN",) and university.countries == ("CN",)
    assert university.federal_register_notice == "00 FR 00001 (test data)" and university.start_date == "2025-01-15"
    assert university.license_requirement == "For all items subject to the EAR."
    assert university.license_policy == "Presumption of denial."
    assert university.source_list_url == "https://example.test/entity-list"
    assert dict(university.details) == {"source_information_url": "https://example.test/info", "standard_order": "N"}
    institute = entries["test-el-002"]
    assert institute.countries == ("BY", "RU") and institute.end_date == "2030-02-01"
    person = dict(entries["test-sdn-003"].details)
    assert person["dates_of_birth"] == "1970-01-01" and person["ids"] == "Passport, T0000000, IR"
    assert entries["test-sdn-003"].programs == ("TEST-PROGRAM", "TEST-EO-0000")


def test_csl_json_keeps_structured_addresses_ids_and_vessel_data() -> None:
    entries = {e.entry_id: e for e in _load("json").list.entries}
    company = entries["test-el-101"]  # the CSL JSON writes "id" where the CSV writes "_id"
    assert company.addresses == ("8 Test Park Road, Shenzhen, Guangdong, 518000, CN",)
    assert company.countries == ("CN",) and company.alt_names == ("SNPT", "南方光子测试有限公司")
    vessel = dict(entries["test-sdn-102"].details)
    assert vessel["ids"] == [{"number": "0000001", "type": "IMO"}] and vessel["call_sign"] == "TEST1"
    assert entries["test-sdn-102"].entity_type == "Vessel" and entries["test-sdn-102"].programs == ("TEST-PROGRAM",)


def test_ftm_entities_become_entries_and_links_are_skipped() -> None:
    entries = {e.entry_id: e for e in _load("ftm").list.entries}
    assert set(entries) == {"test-os-company-1", "test-os-person-1", "test-os-org-1"}  # the Sanction is a link
    company = entries["test-os-company-1"]
    assert company.alt_names == ("ООО «Синтетик Запад Криогеника Тест»", "SZCT")
    assert company.countries == ("RU",) and company.entity_type == "Company" and company.programs == ("TEST-PROGRAM",)
    assert company.source == "OpenSanctions: test_sanctions" and company.remarks == "SYNTHETIC TEST ENTITY"
    details = dict(company.details)
    assert details["properties.registrationNumber"] == ["0000000000000"] and details["first_seen"]
    assert entries["test-os-person-1"].countries == ("IR",)  # nationality counts as a country


ALIAS_QUERIES = [
    ("acronym", "csv", "SBAU", "test-el-001"),
    ("acronym_dotted", "csv", "S.B.A.U.", "test-el-001"),
    ("han_as_listed", "csv", "北方航天大学", "test-el-001"),
    ("han_in_pinyin_words", "csv", "Beifang Hangtian Daxue", "test-el-001"),
    ("cyrillic_as_listed", "csv", "АО «Тестовый Квантовый Институт»", "test-el-002"),
    ("cyrillic_other_legal_form", "csv", "ПАО Тестовый Квантовый Институт", "test-el-002"),
    ("cyrillic_romanised", "csv", "Testovyy Kvantovyy Institut", "test-el-002"),
    ("json_han_alias", "json", "南方光子测试有限公司", "test-el-101"),
    ("json_han_in_pinyin", "json", "Nanfang Guangzi Ceshi Youxian Gongsi", "test-el-101"),
    ("ftm_weak_alias_acronym", "ftm", "SZCT", "test-os-company-1"),
    ("ftm_cyrillic_alias", "ftm", "Синтетик Запад Криогеника Тест", "test-os-company-1"),
    ("ftm_cyrillic_romanised", "ftm", "OOO Sintetik Zapad Kriogenika Test", "test-os-company-1"),
    ("ftm_arabic_script_alias", "ftm", "دانشگاه صنعتی آزمایشی", "test-os-org-1"),
]


@pytest.mark.parametrize(
    ("fmt", "query", "entry_id"), [c[1:] for c in ALIAS_QUERIES], ids=[c[0] for c in ALIAS_QUERIES]
)
def test_acronyms_and_non_latin_aliases_match(fmt: str, query: str, entry_id: str) -> None:
    result = _load(fmt).screen(query)
    assert result.status == "potential_match" and result.matches[0].entry_id == entry_id, result.to_json()


def test_an_unrelated_name_in_another_script_is_clear() -> None:
    assert _load("csv").screen("Московский государственный университет").status == "clear"
    assert _load("csv").screen("上海交通大学").status == "clear"


BAD = [
    ("ftm_bad_json_line", "ftm", '{"id": "a", "schema": "Company", "properties": {"name": ["A"]}}\n{"id": ', r"x, line 2: not valid JSON"),
    ("ftm_party_without_name", "ftm", '{"id": "a", "schema": "Company", "properties": {}}\n', r"line 1: field 'properties.name' is empty"),
    ("ftm_name_not_a_list", "ftm", '{"id": "a", "schema": "Company", "properties": {"name": "A"}}\n', r"line 1: field 'properties.name' must be a list"),
    ("ftm_no_id", "ftm", '{"schema": "Company", "properties": {"name": ["A"]}}\n', r"line 1: field 'id' is empty"),
    ("ftm_only_links", "ftm", '{"id": "s", "schema": "Sanction", "properties": {}}\n', r"x: no named FtM entity"),
    ("json_address_not_text", "json", '[{"id": "a", "source": "EL", "name": "A", "addresses": [{"city": ["X"]}]}]', r"result 1: field 'addresses\[1\]\.city' must be text"),
    ("unknown_format", "xml", "<list/>", r"--format: expected one of csv, json, ftm, got 'xml'"),
]  # fmt: skip


@pytest.mark.parametrize(("fmt", "text", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_list_input_is_one_line_naming_file_line_and_field(fmt: str, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        parse_list(text, "x", fmt)
    assert "\n" not in str(caught.value)


# -- normalisation properties, across scripts -----------------------------------------
scripts = st.sampled_from(["Latin", "Cyrillic", "CJK", "Arabic", "Greek"])
ALPHABETS = {
    "Latin": "abcdefghijklmnopqrstuvwxyzéüøß",
    "Cyrillic": "абвгдежзийклмнопрстуфхцчшщыэюя",
    "CJK": "北方航天大学中国科技电子光学院研究所",
    "Arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "Greek": "αβγδεζηθικλμνξοπρστυφχψω",
}
words_in = st.builds(lambda s, d: (s, d), scripts, st.data())


@st.composite
def names_in_scripts(draw: st.DrawFn) -> str:
    script = draw(scripts)
    words = draw(st.lists(st.text(ALPHABETS[script], min_size=2, max_size=8), min_size=1, max_size=4))
    return " ".join(words)


@given(names_in_scripts())
def test_normalisation_is_ascii_and_idempotent_in_any_script(name: str) -> None:
    once = normalize_name(name)
    assert once.isascii()
    if not _HAN.search(name):  # Han keeps the syllables "an", "de" … that are stop words in ASCII
        assert normalize_name(once) == once


def test_han_syllables_that_are_stop_words_elsewhere_are_kept() -> None:
    assert normalize_name("哈尔滨安创传感科技有限公司") == "ha er bin an chuang chuan gan technology"
    assert normalize_name("H.C.S.E.") == "hcse"  # dotted acronyms are read before legal forms (S.E.)


def test_han_syllables_are_never_read_as_latin_legal_forms() -> None:
    # 宇 is "yu", which rigour's Latin organisation-type table would drop as a legal form
    assert normalize_name("武汉宇宏光电科技有限公司") == "wu han yu hong guang dian technology"


@pytest.mark.parametrize(
    ("name", "normalised"),
    [
        ("Wuhan Yuhong Guangdian Keji Youxian Gongsi", "wuhan yuhong guangdian technology"),
        ("Hefei Jingyu Keji Gufen Youxian Gongsi", "hefei jingyu technology"),
        ("中国科学院物理研究所", "zhong guo academy science wu li research institute"),
    ],
    ids=["pinyin-keji-youxian-gongsi", "pinyin-gufen", "han-kexueyuan-yanjiusuo"],
)
def test_pinyin_house_words_read_as_their_english_generic_words(name: str, normalised: str) -> None:
    assert normalize_name(name) == normalised


def test_a_romanised_chinese_company_name_finds_its_han_alias_among_lookalikes() -> None:
    rows = [
        {
            "id": "target",
            "name": "Wuhan Yuhong Optoelectronics Industrial Co., Ltd.",
            "alt_names": ["武汉宇宏光电科技有限公司"],
        },
        {
            "id": "same-city-field",
            "name": "Wuhan Qiyu Optoelectronics Co., Ltd.",
            "alt_names": ["武汉启宇光电科技有限公司"],
        },
        {"id": "same-city", "name": "Wuhan Yuyu Radar Co., Ltd.", "alt_names": ["武汉宇宇雷达科技有限公司"]},
    ]
    listed = parse_list(json.dumps([{**r, "source": "EL"} for r in rows]), "lookalikes.json")[0]
    matches = Matcher(listed).screen("Wuhan Yuhong Guangdian Keji Youxian Gongsi").matches
    assert [m.entry_id for m in matches] == ["target"]
    assert matches[0].score == 100.0 and matches[0].matched_name == "武汉宇宏光电科技有限公司"


@given(names_in_scripts(), st.sampled_from([" LLC", " Co., Ltd.", " GmbH", " ООО", " АО", " Limited", " S.A."]))
def test_a_legal_form_in_any_script_never_changes_the_key(name: str, form: str) -> None:
    if normalize_name(name + " Co") != normalize_name(name):  # the name is itself only a legal form
        return
    assert name_key(name + form) == name_key(name)


@given(names_in_scripts())
def test_a_listed_name_in_any_script_matches_itself_exactly(name: str) -> None:
    if not normalize_name(name):
        return
    listed = parse_list(json.dumps([{"id": "p", "source": "EL", "name": "Test Entry", "alt_names": [name]}]), "p")[0]
    match = Matcher(listed).screen(name).matches[0]
    assert match.exact and match.entry_id == "p"


# -- list age --------------------------------------------------------------------------
SAMPLE = ListInForce("v-sample", "bundled sample", None, sample=True)


def _loaded(days_ago: float) -> ListInForce:
    return ListInForce("v-real", "csl.csv", AT - timedelta(days=days_ago), sample=False)


def test_the_bundled_sample_always_warns_but_is_not_stale() -> None:
    check = check_list(SAMPLE, AT, DEFAULT_POLICY)
    assert not check.stale and "bundled sample" in check.warnings[0]


@pytest.mark.parametrize(("days", "stale"), [(0, False), (6.9, False), (7.0, False), (7.01, True), (400, True)])
def test_a_list_is_stale_only_past_the_maximum_age(days: float, stale: bool) -> None:
    check = check_list(_loaded(days), AT, DEFAULT_POLICY)
    assert check.stale is stale and bool(check.warnings) is stale


def test_the_ear_bundle_sets_the_maximum_age_as_a_project_rule() -> None:
    screening = load_policies().get("US-EAR").require_access().screening
    assert screening is not None and screening.max_list_age_days == 7 and screening.status == "P"
    assert screening.citation.startswith("project rule")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"max_list_age_days": 0, "status": "P"}, r"max_list_age_days: expected a positive number of days, got 0"),
        ({"max_list_age_days": "week", "status": "P"}, r"max_list_age_days: expected a positive number"),
        ({"max_list_age_days": 7, "status": "X"}, r"status: expected V, P or U"),
        ({"max_list_age_days": 7, "status": "P", "refresh": 1}, r"access.screening.refresh: unknown key"),
    ],
    ids=["zero", "text", "bad_status", "unknown_key"],
)
def test_bad_screening_policy_is_refused(data: dict, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_screening(data, "access.yaml")


REQUEST = {
    "requester": {"name": "Ada Byron", "citizenships": ["US"], "location": "US", "affiliation": "Lab B"}
    | {"training_completed_on": "2026-06-01"},
    "item": {},
    "purpose": "calibration study",
    "destination": "US",
}
EAR99 = {"classification": "EAR99", "controlled": False, "subject_to_ear": True}


@pytest.mark.parametrize(
    ("listed", "outcome", "warned"),
    [(_loaded(1), "approve", False), (SAMPLE, "approve", True), (_loaded(30), "review", True)],
    ids=["current_list_clears", "sample_clears_with_a_recorded_warning", "stale_list_goes_to_review"],
)
def test_access_decisions_carry_the_list_warning_and_a_stale_list_fails_closed(
    listed: ListInForce, outcome: str, warned: bool
) -> None:
    bundle = load_policies().get("US-EAR")
    policy = bundle.require_access()
    check = check_list(listed, AT, policy.screening)
    decision = decide(REQUEST, EAR99, "dataset", [], AT, policy, bundle.version, check)
    assert decision.outcome == outcome
    warnings = [r for r in decision.reasons if r.rule == "screening.list-warning"]
    assert bool(warnings) is warned and all(r.outcome == "warning" for r in warnings)
    if outcome == "review":
        assert "ear.access.screening-list-stale" in {r.rule for r in decision.reasons}
