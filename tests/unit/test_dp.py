"""DP releases of one column: coverage of the stated (1 - alpha) accuracy for every statistic and
mechanism (a binomial test with a 1e-6 false-failure rate), the exact charged privacy loss, bad
input, clamping and dropped categories, and that arbitrary finite data only ever raises InputError.

OpenDP draws its noise from its own CSPRNG (it cannot be seeded); the data are seeded."""

from __future__ import annotations

import importlib.metadata
import json
import math
import time
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import opendp.mod
import opendp.prelude as dp
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from governance.dp import (
    MECHANISMS,
    STATS,
    ColumnPolicy,
    Query,
    Release,
    _alpha_fraction,
    check,
    parse_missing,
    preview,
    release,
)
from governance.dp_accuracy import release_warnings
from qgov.errors import InputError

REPEATS = 200
CATEGORIES = ("pass", "fail", "retune")
POLICY = ColumnPolicy(bounds=(0.0, 10.0), categories=CATEGORIES)
DELTA = Fraction(1, 10**6)


def _binomial_lower(n: int, p: float, tail: float = 1e-6) -> int:
    """Largest k with P[Binomial(n, p) < k] <= tail: fewer hits than k fails the test."""
    cdf, k = 0.0, 0
    while True:
        nxt = cdf + math.comb(n, k) * p**k * (1 - p) ** (n - k)
        if nxt > tail:
            return k
        cdf, k = nxt, k + 1


def _query(stat: str, mechanism: str = "laplace", epsilon: Fraction = Fraction(1), **kw: Any) -> Query:
    delta = kw.pop("delta", DELTA if mechanism == "gaussian" else Fraction(0))
    quantile = kw.pop("quantile", 0.5 if stat == "quantile" else None)
    return Query(stat, "t1_us", epsilon, delta, mechanism, quantile, **kw)


def _column(stat: str, n: int = 400, seed: int = 7) -> list[Any]:
    rng = np.random.default_rng(seed)
    if stat == "histogram":
        return [str(v) for v in rng.choice([*CATEGORIES, "unlabelled"], size=n, p=[0.5, 0.2, 0.2, 0.1])]
    return [float(v) for v in rng.normal(6.0, 3.0, size=n)]  # about 10% fall outside the bounds (0, 10)


def _quantile_scores(data: list[float], candidates: list[float], q: float) -> list[float]:
    """|(1 - q')·#(x < c) - q'·#(x > c)| in rows, with q' as OpenDP rounds q."""
    num, den = _alpha_fraction(q)
    x = np.asarray(data)
    return [abs((den - num) * int((x < c).sum()) - num * int((x > c).sum())) / den for c in candidates]


def _covered(stat: str, data: list[Any], r: Release, q: float | None = None) -> bool:
    lo, hi = POLICY.bounds or (0.0, 0.0)
    clamped = np.clip(np.asarray(data if stat != "histogram" else [0.0]), lo, hi)
    if stat == "count":
        return abs(r.value - len(data)) <= r.accuracy["plus_minus"]  # type: ignore[operator]
    if stat == "sum":
        return abs(r.value - clamped.sum()) <= r.accuracy["plus_minus"]  # type: ignore[operator]
    if stat == "mean":
        low, high = r.accuracy["interval"]
        return bool(low <= clamped.mean() <= high)
    if stat == "histogram":
        assert isinstance(r.value, dict)
        return all(abs(r.value[c] - data.count(c)) <= r.accuracy["plus_minus"] for c in CATEGORIES)
    assert q is not None
    candidates = r.parameters["candidates"]
    scores = _quantile_scores(data, candidates, q)
    return scores[candidates.index(r.value)] <= min(scores) + r.accuracy["rank_plus_minus"] + 1e-9


# -- accuracy ---------------------------------------------------------------------------
@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("stat", STATS)
def test_true_value_lies_in_the_stated_interval_at_least_1_minus_alpha_of_the_time(stat: str, mechanism: str) -> None:
    data = _column(stat)
    query = _query(stat, mechanism, Fraction(1, 2), alpha=0.05)
    hits = sum(_covered(stat, data, release(data, POLICY, query, 2), query.quantile) for _ in range(REPEATS))
    assert hits >= _binomial_lower(REPEATS, 0.95)


@pytest.mark.parametrize("q", [0.1, 0.9], ids=["p10", "p90"])
def test_an_off_centre_quantile_lands_within_its_rank_bound(q: float) -> None:
    data = _column("quantile", n=300, seed=3)
    query = _query("quantile", epsilon=Fraction(1), quantile=q)
    hits = sum(_covered("quantile", data, release(data, POLICY, query, 1), q) for _ in range(REPEATS // 2))
    assert hits >= _binomial_lower(REPEATS // 2, 0.95)


@pytest.mark.parametrize("q", [0.5, 0.9, 0.25, 1 / 3, 0.123456, 0.6789, 1 / 1024, 1 / 16384], ids=str)
def test_quantile_scores_use_the_same_alpha_fraction_as_opendp(q: float) -> None:
    data = _column("quantile", n=57, seed=11) + [5.0, 5.0]  # ties at a candidate
    candidates = [0.0, 2.5, 5.0, 7.5, 10.0]
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.symmetric_distance()
    opendp_scores = dp.t.make_quantile_score_candidates(*space, candidates, q)(data)
    _, den = _alpha_fraction(q)
    assert [s * den for s in _quantile_scores(data, candidates, q)] == pytest.approx(opendp_scores, abs=1e-6)


# -- privacy loss -----------------------------------------------------------------------
@pytest.mark.parametrize("epsilon", [Fraction(1, 10), Fraction(1, 3), Fraction(2)], ids=str)
@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("stat", STATS)
def test_charged_epsilon_is_at_most_and_close_to_the_request(stat: str, mechanism: str, epsilon: Fraction) -> None:
    r = release(_column(stat, n=50), POLICY, _query(stat, mechanism, epsilon), 3)
    assert isinstance(r.epsilon, Fraction) and isinstance(r.delta, Fraction)
    assert Fraction(9, 10) * epsilon <= r.epsilon <= epsilon
    assert r.delta <= DELTA if mechanism == "gaussian" else r.delta == 0


def test_laplace_ignores_a_requested_delta_and_charges_none() -> None:
    r = release([1.0, 2.0], POLICY, _query("sum", "laplace", delta=Fraction(1, 100)), 1)
    assert r.delta == 0 and r.mechanism == "laplace"


def test_charged_epsilon_is_what_the_measurement_rebuilt_from_parameters_maps_to() -> None:
    r = release(_column("sum", n=20), POLICY, _query("sum", epsilon=Fraction(1, 7)), 4)
    p = r.parameters
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.symmetric_distance()
    rebuilt = space >> dp.t.then_clamp(tuple(p["bounds"])) >> dp.t.then_sum() >> dp.m.then_laplace(r.scale)
    assert r.epsilon == Fraction(rebuilt.map(p["contributions"]))


def test_mean_splits_the_budget_evenly_between_a_dp_sum_and_a_dp_count() -> None:
    r = release(_column("mean", n=30), POLICY, _query("mean", epsilon=Fraction(1)), 1)
    parts = {part["name"]: part["loss"] for part in r.parameters["parts"]}
    assert set(parts) == {"sum", "count"} and parts["sum"] == pytest.approx(parts["count"], rel=1e-6)
    assert isinstance(r.scale, dict) and set(r.scale) == {"sum", "count"}
    assert "post-processing" in r.parameters["construction"]


@pytest.mark.parametrize("stat", STATS)
def test_release_records_features_version_and_json_parameters(stat: str) -> None:
    r = release(_column(stat, n=10), POLICY, _query(stat, "gaussian"), 1)
    assert "contrib" in r.features
    # opendp 0.16 has no top-level __version__; opendp.mod holds it.
    assert r.opendp_version == opendp.mod.__version__ == importlib.metadata.version("opendp")
    assert json.loads(json.dumps(r.parameters, allow_nan=False, sort_keys=True)) == r.parameters


def test_charge_never_exceeds_the_request_when_opendp_cannot_reach_it() -> None:
    # zCDP -> (epsilon, delta) overflows for tiny scales, so a gaussian cannot spend epsilon = 10**6.
    r = release([1, 2], POLICY, _query("count", "gaussian", Fraction(10**6)), 1)
    assert 0 < r.epsilon < Fraction(10**6) and r.delta <= DELTA


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_a_contributor_with_a_million_rows_is_still_calibrated(mechanism: str) -> None:
    r = release(_column("mean", n=10), POLICY, _query("mean", mechanism, Fraction(1, 2)), 2**20)
    assert Fraction(9, 20) <= r.epsilon <= Fraction(1, 2)


def test_wide_discrete_gaussian_accuracy_is_a_fast_sub_gaussian_bound() -> None:
    started = time.perf_counter()
    r = release([1] * 5, POLICY, _query("count", "gaussian", Fraction(1, 10**5)), 1)
    # a guard against the exact (minutes-long) computation, generous enough for a loaded CI machine
    assert isinstance(r.scale, float) and r.scale > 1e5 and time.perf_counter() - started < 60
    assert r.accuracy["plus_minus"] == pytest.approx(r.scale * math.sqrt(2 * math.log(2 / 0.05)))
    assert r.accuracy["plus_minus"] >= dp.gaussian_scale_to_accuracy(r.scale, 0.05)


# -- behaviour at the edges -------------------------------------------------------------
def test_counting_an_empty_column_releases_an_integer() -> None:
    r = release([], POLICY, _query("count", epsilon=Fraction(50)), 1)
    assert r.value == 0 and r.accuracy["plus_minus"] < 1


def test_mean_of_an_empty_column_is_noise_inside_the_bounds() -> None:
    r = release([], POLICY, _query("mean"), 1)
    assert isinstance(r.value, float) and 0.0 <= r.value <= 10.0


def test_histogram_drops_values_outside_the_declared_categories() -> None:
    r = release(["unknown"] * 100 + ["pass"] * 3, POLICY, _query("histogram", epsilon=Fraction(50)), 1)
    assert r.value == {"pass": 3, "fail": 0, "retune": 0}
    assert r.parameters["values_outside_categories"].startswith("dropped")


def test_count_accepts_values_of_any_type() -> None:
    r = release(["a", None, 3, object()], ColumnPolicy(), _query("count", epsilon=Fraction(50)), 1)
    assert r.value == 4


def test_decimals_and_numpy_numbers_count_as_numbers() -> None:
    values = [Decimal("1.5"), np.float64(2.0), np.int64(3), 4, Fraction(1, 2)]
    r = release(values, POLICY, _query("sum", epsilon=Fraction(100)), 1)
    assert abs(r.value - 11.0) <= r.accuracy["plus_minus"] * 20  # type: ignore[operator]


def test_noisy_sum_of_values_above_the_bounds_centres_on_the_clamped_sum() -> None:
    query = _query("sum", epsilon=Fraction(5))
    sums = [release([1e6] * 100, ColumnPolicy(bounds=(0.0, 1.0)), query, 1) for _ in range(40)]
    spread = 5 * sums[0].accuracy["plus_minus"] / math.sqrt(40)
    assert abs(np.mean([r.value for r in sums]) - 100.0) <= spread  # type: ignore[arg-type]


# -- missing values -----------------------------------------------------------------------
# what a table cell that is not a finite number can look like once read: text, blanks, NaN, ...
MISSING_CELLS = ["", "   ", "n/a", "secret-42", "nan", "inf", "-Infinity", math.nan, math.inf, None, True, b"7", "1,5"]


@pytest.mark.parametrize("stat", ["sum", "mean", "quantile"])
def test_a_missing_or_text_cell_never_fails_a_release_and_is_never_named(stat: str) -> None:
    for cell in MISSING_CELLS:
        r = release([1.0, 2.0, cell, 3.0], POLICY, _query(stat), 1)
        assert r.parameters["missing"]["policy"] == "drop"
        assert "secret" not in json.dumps([r.parameters, r.accuracy, r.warnings])


def test_dropped_cells_leave_a_mean_of_the_rest_over_a_dp_count_of_the_rest() -> None:
    values: list[Any] = [4.0] * 300 + MISSING_CELLS * 20  # 260 missing cells
    r = release(values, POLICY, _query("mean", epsilon=Fraction(20)), 1)
    a_n = r.accuracy["count_plus_minus"]
    assert abs(r.accuracy["count"] - 300) <= a_n * 3  # counts the 300 kept values, not the 560 rows
    assert abs(r.value - 4.0) < 0.2  # type: ignore[operator]
    assert r.parameters["missing"]["values_used"].startswith("accuracy.count: a DP count of the values kept")


def test_imputed_cells_take_the_declared_value_and_count_as_rows() -> None:
    policy = ColumnPolicy(bounds=(0.0, 10.0), missing="impute", impute=0.0)
    r = release([4.0] * 300 + [""] * 300, policy, _query("mean", epsilon=Fraction(20)), 1)
    assert abs(r.accuracy["count"] - 600) <= r.accuracy["count_plus_minus"] * 3
    assert abs(r.value - 2.0) < 0.2  # type: ignore[operator]
    assert r.parameters["missing"] == {
        "policy": "impute",
        "imputed_value": 0.0,
        "treated_as_missing": r.parameters["missing"]["treated_as_missing"],
        "values_used": "accuracy.count: a DP count of every row",
    }


def test_missing_values_change_neither_the_noise_nor_the_charge() -> None:
    plain = release([1.0, 2.0], POLICY, _query("mean"), 1)
    holes = release([1.0, "", 2.0, "x"], POLICY, _query("mean"), 1)
    assert (plain.epsilon, plain.scale) == (holes.epsilon, holes.scale)


@pytest.mark.parametrize(
    ("raw", "bounds", "expected"),
    [(None, [0, 1], ("drop", None)), ("drop", [0, 1], ("drop", None)), ({"impute": 0.5}, [0, 1], ("impute", 0.5))],
    ids=["absent", "drop", "impute"],
)
def test_a_profile_declares_drop_or_impute(raw: object, bounds: list[float], expected: tuple[str, Any]) -> None:
    assert parse_missing(raw, bounds, "columns.t1_us.missing") == expected


@pytest.mark.parametrize(
    ("raw", "bounds", "match"),
    [
        ("zero", [0, 1], r"columns\.t1_us\.missing: expected drop or \{impute: NUMBER\}"),
        ({"impute": "0"}, [0, 1], r"columns\.t1_us\.missing: expected drop or \{impute: NUMBER\}"),
        ({"impute": math.nan}, [0, 1], r"columns\.t1_us\.missing: expected drop or \{impute: NUMBER\}"),
        ({"impute": True}, [0, 1], r"columns\.t1_us\.missing: expected drop or \{impute: NUMBER\}"),
        ({"impute": 2}, [0, 1], r"columns\.t1_us\.missing: the imputed value 2\.0 lies outside the bounds \[0, 1\]"),
        ({"impute": 0}, None, r"columns\.t1_us\.missing: imputing applies to sum, mean and quantile"),
    ],
    ids=["word", "text", "nan", "bool", "outside", "no-bounds"],
)
def test_a_bad_missing_field_is_refused_naming_it(raw: object, bounds: object, match: str) -> None:
    with pytest.raises(InputError, match=match):
        parse_missing(raw, bounds, "columns.t1_us.missing")


# -- preview and warnings -------------------------------------------------------------------
@pytest.mark.parametrize("stat", STATS)
def test_preview_states_the_accuracy_the_release_will_state_without_any_data(stat: str) -> None:
    query = _query(stat, epsilon=Fraction(1, 2))
    shown = preview(POLICY, query, 1)
    released = release(_column(stat), POLICY, query, 1)
    for key in ("plus_minus", "per_category_plus_minus", "sum_plus_minus", "count_plus_minus", "rank_plus_minus"):
        if key in released.accuracy:
            assert shown["accuracy"][key] == released.accuracy[key]
    assert shown["scale"] == released.scale


def test_preview_of_a_mean_with_an_assumed_size_bounds_the_error_and_warns_when_too_small() -> None:
    policy = ColumnPolicy(bounds=(0.0, 400.0))
    small = preview(policy, _query("mean", epsilon=Fraction(1, 10)), 1, size=30)
    assert small["accuracy"]["interval"] == [0.0, 400.0] and "pinned at a bound" in small["warnings"][0]
    needed = small["accuracy"]["rows_for_10_percent"]
    big = preview(policy, _query("mean", epsilon=Fraction(1, 10)), 1, size=needed)
    assert big["accuracy"]["plus_minus"] <= 40.0 + 1e-9 and big["warnings"] == []
    with pytest.raises(InputError, match=r"size: expected an assumed number of rows >= 1"):
        preview(policy, _query("mean"), 1, size=0)


def test_preview_mean_bound_covers_the_true_mean_of_a_table_of_that_size() -> None:
    policy = ColumnPolicy(bounds=(0.0, 10.0))
    data = _column("mean", n=2000)
    truth = float(np.mean(np.clip(data, 0.0, 10.0)))
    a = preview(policy, _query("mean", epsilon=Fraction(1)), 1, size=2000)["accuracy"]["plus_minus"]
    hits = sum(abs(release(data, policy, _query("mean", epsilon=Fraction(1)), 1).value - truth) <= a for _ in range(60))
    assert hits >= _binomial_lower(60, 0.95)


def test_a_mean_pinned_at_its_bound_is_released_with_a_warning() -> None:
    r = release([1e6] * 3, ColumnPolicy(bounds=(0.0, 400.0)), _query("mean", epsilon=Fraction(1, 10)), 1)
    assert r.warnings and any("bound" in w for w in r.warnings)


@pytest.mark.parametrize(
    ("stat", "value", "accuracy", "expected"),
    [
        ("mean", 400.0, {"interval": [350.0, 400.0]}, "is at its bound 400.0"),
        ("mean", 395.0, {"interval": [380.0, 400.0]}, "lies within its accuracy of the bound 400.0"),
        ("mean", 200.0, {"interval": [10.0, 390.0]}, "the noise is comparable to the bounds' range"),
        ("mean", 200.0, {"interval": [190.0, 210.0]}, None),
        ("quantile", 0.0, {}, "is at a bound"),
        ("count", 3, {"plus_minus": 4.0}, "lies within its accuracy (±4) of zero"),
        ("count", 300, {"plus_minus": 4.0}, None),
    ],
    ids=[
        "mean-at-bound",
        "mean-near-bound",
        "mean-wide",
        "mean-fine",
        "quantile-at-bound",
        "count-noise",
        "count-fine",
    ],
)
def test_warnings_come_from_the_released_value_and_public_parameters_only(
    stat: str, value: Any, accuracy: dict[str, Any], expected: str | None
) -> None:
    warnings = release_warnings(stat, value, accuracy, (0.0, 400.0))
    assert (expected is None and warnings == ()) or (expected is not None and expected in " ".join(warnings))


# -- bad input --------------------------------------------------------------------------
BAD = [
    ("unknown-stat", dict(query=_query("median")), r"query\.stat: expected one of count"),
    ("unknown-mechanism", dict(query=_query("sum", "exponential")), r"query\.mechanism: expected one of laplace"),
    ("epsilon-zero", dict(query=_query("count", epsilon=Fraction(0))), r"query\.epsilon: expected a positive"),
    ("epsilon-negative", dict(query=_query("count", epsilon=Fraction(-1))), r"query\.epsilon: expected a positive"),
    ("epsilon-nan", dict(query=_query("count", epsilon=math.nan)), r"query\.epsilon: expected a finite number"),
    ("epsilon-inf", dict(query=_query("count", epsilon=math.inf)), r"query\.epsilon: expected a finite number"),
    ("epsilon-text", dict(query=_query("count", epsilon="1")), r"query\.epsilon: expected a finite number"),
    (
        "epsilon-below-float",
        dict(query=_query("count", epsilon=Fraction(1, 10**400))),
        r"query\.epsilon: expected at least",
    ),
    (
        "delta-negative",
        dict(query=_query("count", delta=Fraction(-1, 10))),
        r"query\.delta: expected a number in \[0, 1\)",
    ),
    (
        "delta-one",
        dict(query=_query("count", "gaussian", delta=Fraction(1))),
        r"query\.delta: expected a number in \[0, 1\)",
    ),
    (
        "gaussian-delta-zero",
        dict(query=_query("count", "gaussian", delta=Fraction(0))),
        r"query\.delta: the gaussian mechanism needs delta > 0",
    ),
    ("alpha-zero", dict(query=_query("count", alpha=0.0)), r"query\.alpha: expected a number in \(0, 1\)"),
    ("alpha-one", dict(query=_query("count", alpha=1.0)), r"query\.alpha: expected a number in \(0, 1\)"),
    (
        "quantile-missing",
        dict(query=_query("quantile", quantile=None)),
        r"query\.quantile: expected a number in \(0, 1\)",
    ),
    ("quantile-zero", dict(query=_query("quantile", quantile=0.0)), r"query\.quantile: expected a number in \(0, 1\)"),
    ("quantile-one", dict(query=_query("quantile", quantile=1.0)), r"query\.quantile: expected a number in \(0, 1\)"),
    (
        "quantile-nan",
        dict(query=_query("quantile", quantile=math.nan)),
        r"query\.quantile: expected a number in \(0, 1\)",
    ),
    ("sum-without-bounds", dict(query=_query("sum"), policy=ColumnPolicy()), r"policy\.bounds: this statistic needs"),
    ("mean-without-bounds", dict(query=_query("mean"), policy=ColumnPolicy()), r"policy\.bounds: this statistic needs"),
    (
        "quantile-without-bounds",
        dict(query=_query("quantile"), policy=ColumnPolicy()),
        r"policy\.bounds: this statistic needs",
    ),
    (
        "bounds-equal",
        dict(query=_query("sum"), policy=ColumnPolicy(bounds=(1.0, 1.0))),
        r"policy\.bounds: expected lower < upper",
    ),
    (
        "bounds-reversed",
        dict(query=_query("mean"), policy=ColumnPolicy(bounds=(5.0, 1.0))),
        r"policy\.bounds: expected lower < upper",
    ),
    (
        "bounds-infinite",
        dict(query=_query("sum"), policy=ColumnPolicy(bounds=(0.0, math.inf))),
        r"policy\.bounds: expected two finite numbers",
    ),
    (
        "bounds-nan",
        dict(query=_query("sum"), policy=ColumnPolicy(bounds=(math.nan, 1.0))),
        r"policy\.bounds: expected two finite numbers",
    ),
    (
        "histogram-without-categories",
        dict(query=_query("histogram"), policy=ColumnPolicy()),
        r"policy\.categories: a histogram needs",
    ),
    (
        "histogram-empty-categories",
        dict(query=_query("histogram"), policy=ColumnPolicy(categories=())),
        r"policy\.categories: expected a non-empty",
    ),
    (
        "impute-outside-bounds",
        dict(query=_query("mean"), policy=ColumnPolicy(bounds=(0.0, 10.0), missing="impute", impute=11.0)),
        r"policy\.impute: expected a finite number within the bounds \[0\.0, 10\.0\]",
    ),
    (
        "unknown-missing",
        dict(query=_query("sum"), policy=ColumnPolicy(bounds=(0.0, 10.0), missing="zero")),
        r"policy\.missing: expected one of drop, impute",
    ),
    (
        "histogram-duplicate-categories",
        dict(query=_query("histogram"), policy=ColumnPolicy(categories=("a", "a"))),
        r"policy\.categories: expected distinct",
    ),
    ("contributions-zero", dict(contributions=0), r"contributions: expected an integer >= 1"),
    ("contributions-bool", dict(contributions=True), r"contributions: expected an integer >= 1"),
    ("contributions-too-many", dict(contributions=2**32), r"contributions: expected at most 4294967295"),
    (
        "bounds-too-wide-to-calibrate",
        dict(policy=ColumnPolicy(bounds=(-1.7e308, 1.7e308))),
        r"query: OpenDP cannot calibrate a laplace sum",
    ),
]


@pytest.mark.parametrize(("case", "match"), [(c, m) for _, c, m in BAD], ids=[i for i, _, _ in BAD])
def test_bad_input_raises_input_error_naming_the_field(case: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"values": [1.0, 2.0], "policy": POLICY, "query": _query("sum"), "contributions": 1} | case
    with pytest.raises(InputError, match=match) as caught:
        release(args["values"], args["policy"], args["query"], args["contributions"])
    assert "\n" not in caught.value.message and "secret" not in caught.value.message


CHECKABLE = [(i, c, m) for i, c, m in BAD if "values" not in c and not m.startswith("query: OpenDP")]


@pytest.mark.parametrize(("case", "match"), [(c, m) for _, c, m in CHECKABLE], ids=[i for i, _, _ in CHECKABLE])
def test_check_refuses_a_bad_request_before_any_value_is_read(case: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"policy": POLICY, "query": _query("sum"), "contributions": 1} | case
    with pytest.raises(InputError, match=match):
        check(args["policy"], args["query"], args["contributions"])


def test_check_returns_the_exact_budget_and_what_the_statistic_needs() -> None:
    assert check(POLICY, _query("mean", "gaussian", Fraction(1, 3)), 2) == (Fraction(1, 3), DELTA, (0.0, 10.0), None)
    assert check(POLICY, _query("histogram"), 1) == (Fraction(1), Fraction(0), None, CATEGORIES)


# -- invariants -------------------------------------------------------------------------
finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=80, deadline=None)
@given(
    stat=st.sampled_from(STATS),
    data=st.data(),
    bounds=st.tuples(finite, finite).map(sorted),
    q=st.floats(0.01, 0.99),
)
def test_arbitrary_finite_data_and_bounds_raise_only_input_error(
    stat: str, data: st.DataObject, bounds: list[float], q: float
) -> None:
    words = st.sampled_from(CATEGORIES) | st.text(max_size=3)
    values = data.draw(st.lists(words if stat == "histogram" else finite | st.integers(), max_size=12))
    policy = ColumnPolicy(bounds=(bounds[0], bounds[1]), categories=CATEGORIES)
    try:
        r = release(values, policy, _query(stat, quantile=q), 1)
    except InputError as e:
        event(f"refused: {e.message.split(':')[0]}")
        return
    event(f"released {stat}")
    if stat in ("mean", "quantile"):
        assert bounds[0] <= r.value <= bounds[1]  # type: ignore[operator]
    if stat == "histogram":
        assert isinstance(r.value, dict) and tuple(r.value) == CATEGORIES
    if stat == "count":
        assert isinstance(r.value, int)
    assert r.epsilon <= 1
