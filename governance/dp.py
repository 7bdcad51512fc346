"""Differentially private statistics of one column, computed with OpenDP 0.16.

``release`` is pure: values, the column's policy and a query in, one :class:`Release` out carrying
exactly the loss OpenDP's privacy map reports. No database, clock or I/O: the budget ledger lives
elsewhere and charges ``Release.epsilon`` / ``Release.delta``.

Privacy unit: one contributor adds or removes up to ``contributions`` rows (symmetric distance
over an unsized vector). No public row count is assumed, so the table's size stays protected.

Constructions (every noise draw is OpenDP's)::

    count      rows >> then_count(TO=i64) >> then_laplace | then_gaussian    (integer noise)
    column     cells (float, NaN = missing) >> then_drop_null() | then_impute_constant(value)
    sum        column >> then_clamp(bounds) >> then_sum() >> noise
    mean       make_composition([sum, column >> count]), the budget split evenly (epsilon for
               laplace, rho for gaussian); value = clamp(sum / max(count, 1), bounds): post-processing
               only. Its denominator is a DP count of the values the column keeps: the non-missing
               ones under ``drop``, every row under ``impute``; released as ``accuracy.count``
    histogram  strings >> then_count_by_categories(categories, null_category=False) >> noise;
               values outside the declared categories are dropped (counted in no bin)
    quantile   column >> then_quantile_score_candidates(candidates, q) >> then_noisy_max(negate)
               over 100 evenly spaced candidates across the bounds (exponential mechanism)

Missing values (``ColumnPolicy.missing``). Before OpenDP, every cell goes through a total,
row-by-row map (:func:`_cell`): a finite number stays, anything else (a blank, NaN, an infinity,
text that is not a number, a bool, None) becomes NaN. OpenDP's ``then_drop_null`` (the default)
or ``then_impute_constant`` then removes or replaces them. Both are 1-stable under the symmetric
distance (a contributor's rows still change at most ``contributions`` values), and OpenDP's
stability maps carry that into the privacy map that is charged, so missing values cost nothing
extra and cannot fail the release: where a missing or malformed value is can be learnt from the
outcome no more than the charged ε allows. Drop is the default because it invents no data (a declared value biases
a mean towards it) and its count effect is accounted: the mean divides by a DP count of what is
kept, never by a count of rows. A count counts rows (a missing cell is still a row); a histogram
counts a value that is not one of the declared categories, a blank included, in no bin.

Laplace measures pure DP (MaxDivergence); delta is unused and charged as 0. Gaussian measures
zCDP, converted by make_zCDP_to_approxDP and fixed at the query's delta by make_fix_delta.

Calibration: part i gets scale ``t * unit_i`` (``unit_i`` costs 1 in the part's own measure, so
parts share the budget evenly) with ``t`` the smallest (to 1e-9) passing ``check(contributions,
target)``, the target being the largest float not above the requested Fraction. The charge is
``Fraction(x)`` of the float x OpenDP's map returns: exact, never below x (``Fraction(str(x))``,
the shortest decimal, can be) and, as x <= target, never above the request.

Accuracy (each statement holds with probability >= 1 - alpha):

- count, sum: ``plus_minus`` from dp.discrete_*_scale_to_accuracy (integer counts) or
  dp.laplacian/gaussian_scale_to_accuracy (float sums).
- histogram: ``plus_minus`` holds for all bins at once (each at alpha / #categories, union bound);
  ``per_category_plus_minus`` for any one bin.
- mean: sum and count each at alpha / 2 (union bound). If both hold, the clamped mean S/N lies in
  the hull of (sum +- a_s) / (count +- a_c) over N >= 1, cut to the bounds. An empty column has no
  mean: the value is noise post-processed into the bounds, the interval the whole bounds. Before
  a release, for an assumed size n > a_c, the error is at most (a_s + max|bound|·a_c) / (n - a_c)
  (``dp_accuracy.mean_plus_minus``; what :func:`preview` states).
- quantile: candidate c scores |(1 - q)·#(x < c) - q·#(x > c)| rows (q as OpenDP rounds it: exact
  if its denominator is below 10**4, else floor(q·10**4) / 10**4, so q < 1e-4 scores the minimum).
  A candidate worse than the best by g rows is picked with probability <= exp(-g·alpha_den/scale)
  (exponential mechanism, permute-and-flip and Gumbel alike); by a union bound over the k
  candidates the pick is within ``rank_plus_minus`` = scale·ln(k / alpha) / alpha_den rows of the
  best. Without ties at c the score is |#(x < c) - q·n|, a statement about rank.

Bad input raises :class:`qgov.errors.InputError` naming the field, always before a value is read
(:func:`check` and calibration). Once OpenDP has been handed the data, a failure may depend on the
data: it raises :class:`DataDependentError`, whose message carries nothing from the data, and the
caller keeps the budget charged.

Warnings (``dp_accuracy.release_warnings``) are computed from the released value, its accuracy
and the public parameters only (post-processing); :func:`preview` states the accuracy a query would have
from public parameters alone (bounds, ε/δ, mechanism, an assumed size), reading no data.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

import opendp.mod
import opendp.prelude as dp

from governance import dp_accuracy
from qgov.errors import InputError, QgovError

dp.enable_features("contrib")

STATS = ("count", "sum", "mean", "histogram", "quantile")
MECHANISMS = ("laplace", "gaussian")
QUANTILE_CANDIDATES = 100
MAX_CONTRIBUTIONS = 2**32 - 1  # OpenDP's symmetric distance is a u32
MISSING = ("drop", "impute")
MISSING_CELLS = "a blank, NaN, an infinity, text that is not a number, or any other non-number"
# Cells reach OpenDP as floats with NaN marking a missing value; the pipeline drops or imputes them.
_CELLS = (dp.vector_domain(dp.atom_domain(T=float, nan=True)), dp.symmetric_distance())
_STRINGS = (dp.vector_domain(dp.atom_domain(T=str)), dp.symmetric_distance())
# A count sees only how many rows there are, so rows reach OpenDP as placeholders, not values.
_ROWS = (dp.vector_domain(dp.atom_domain(T=bool)), dp.symmetric_distance())


@dataclass(frozen=True)
class ColumnPolicy:
    """Declared at dataset registration. ``bounds`` (lo < hi, finite) clamp sum/mean and span the
    quantile candidates; ``categories`` are the histogram bins (other values are dropped);
    ``missing`` is ``drop`` (the default) or ``impute`` with the declared ``impute`` value."""

    bounds: tuple[float, float] | None = None
    categories: tuple[str, ...] | None = None
    missing: str = "drop"
    impute: float | None = None

    def missing_json(self) -> str | dict[str, float]:
        """The profile's spelling: ``drop`` or ``{impute: value}``."""
        return {"impute": self.impute} if self.missing == "impute" and self.impute is not None else "drop"


class DataDependentError(QgovError):
    """OpenDP failed after it was handed the data. Whether that happens may depend on the data, so
    the message names only the statistic and the exception's type, and the budget stays charged."""


def parse_missing(raw: object, bounds: object, where: str) -> tuple[str, float | None]:
    """A profile's ``missing:`` field: absent or ``drop`` -> drop; ``{impute: NUMBER}`` -> impute that
    finite number, which must lie within the column's bounds when it has them."""
    if raw is None or raw == "drop":
        return "drop", None
    if bounds is None:
        raise InputError(f"{where}: imputing applies to sum, mean and quantile, which need the column's bounds")
    value = raw.get("impute") if isinstance(raw, dict) and set(raw) == {"impute"} else None
    number = _finite(value)
    if number is None or isinstance(value, Decimal):
        raise InputError(f"{where}: expected drop or {{impute: NUMBER}} with a finite number, got {raw!r}")
    pair = [_finite(b) for b in bounds] if isinstance(bounds, tuple | list) else []
    lo, hi = (pair[0], pair[1]) if len(pair) == 2 else (None, None)
    if lo is not None and hi is not None and not lo <= number <= hi:
        raise InputError(f"{where}: the imputed value {number} lies outside the bounds {bounds!r}")
    return "impute", number


@dataclass(frozen=True)
class Query:
    stat: str
    column: str
    epsilon: Fraction
    delta: Fraction = Fraction(0)
    mechanism: str = "laplace"
    quantile: float | None = None
    alpha: float = 0.05


@dataclass(frozen=True)
class Release:
    value: float | int | dict[str, float]
    epsilon: Fraction
    delta: Fraction
    mechanism: str
    scale: float | dict[str, float]
    accuracy: dict[str, Any]
    features: tuple[str, ...]
    opendp_version: str
    parameters: dict[str, Any]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Plan:
    measurement: dp.Measurement
    gaussian: bool
    parts: tuple[str, ...]
    scales: tuple[float, ...]
    part_losses: tuple[float, ...]
    loss: tuple[float, float]
    candidates: tuple[float, ...]


def check(
    policy: ColumnPolicy, query: Query, contributions: int
) -> tuple[Fraction, Fraction, tuple[float, float] | None, tuple[str, ...] | None]:
    """Everything :func:`release` checks before it reads a value (InputError names the field),
    so a caller can refuse a bad request before recording or reserving anything."""
    epsilon, delta = _check_query(query)
    _float_at_most(epsilon, "query.epsilon")
    if query.mechanism == "gaussian":
        _float_at_most(delta, "query.delta")
    if isinstance(contributions, bool) or not isinstance(contributions, int) or contributions < 1:
        raise InputError(f"contributions: expected an integer >= 1, got {contributions!r}")
    if contributions > MAX_CONTRIBUTIONS:
        raise InputError(f"contributions: expected at most {MAX_CONTRIBUTIONS}, got {contributions}")
    bounds = _check_bounds(policy.bounds) if query.stat in ("sum", "mean", "quantile") else None
    categories = _check_categories(policy.categories) if query.stat == "histogram" else None
    if bounds is not None:
        _check_missing(policy, bounds)
    return epsilon, delta, bounds, categories


def release(values: Sequence[object], policy: ColumnPolicy, query: Query, contributions: int) -> Release:
    """Release one DP statistic of ``values`` under ``policy``; see the module docstring."""
    epsilon, delta, bounds, categories = check(policy, query, contributions)
    eps_f = _float_at_most(epsilon, "query.epsilon")
    delta_f = _float_at_most(delta, "query.delta") if query.mechanism == "gaussian" else 0.0
    impute = policy.impute if bounds is not None and policy.missing == "impute" else None
    plan = _plan(query.stat, query.mechanism, eps_f, delta_f, bounds, categories, query.quantile, contributions, impute)
    if query.stat == "count":
        data: list[Any] = [True] * len(values)
    else:  # total maps: no value can make them fail, and none is ever named
        data = [_category(v) for v in values] if query.stat == "histogram" else [_cell(v) for v in values]
    try:
        value, result_accuracy = _finish(query, plan, plan.measurement(data), bounds, categories)
    except Exception as exc:  # noqa: BLE001 - any failure here may depend on the data: name nothing from it
        raise DataDependentError(
            f"query: the {query.mechanism} {query.stat} failed after the data were read ({type(exc).__name__}); "
            "no detail is given because it could depend on the data, and the budget stays charged"
        ) from None
    del data
    unit = "rho" if plan.gaussian else "epsilon"
    parameters: dict[str, Any] = {
        "stat": query.stat,
        "column": query.column,
        "mechanism": query.mechanism,
        "contributions": contributions,
        "privacy_unit": "symmetric distance: one contributor adds or removes up to `contributions` rows",
        "size": "unknown: no public row count is assumed",
        "measure": "zCDP -> approximate DP, delta fixed" if plan.gaussian else "pure DP (max divergence)",
        "requested": {"epsilon": str(epsilon), "delta": str(delta)},
        "calibration_target": {"epsilon": eps_f, "delta": delta_f},
        "split": "even: part scales are t * unit_i, unit_i costing 1 (epsilon or rho) alone",
        "parts": [
            {"name": n, "scale": s, "loss": loss, "loss_unit": unit}
            for n, s, loss in zip(plan.parts, plan.scales, plan.part_losses, strict=True)
        ],
        **({"bounds": list(bounds)} if bounds else {}),
        **({"categories": list(categories), "values_outside_categories": "dropped"} if categories else {}),
    }
    if bounds is not None:
        parameters["missing"] = _missing_doc(query.stat, impute)
    if query.stat == "mean":
        parameters["construction"] = "clamp(dp_sum / max(dp_count, 1), bounds): post-processing of two DP parts"
    if query.stat == "quantile" and query.quantile is not None:
        parameters["quantile"] = query.quantile
        parameters["quantile_as_scored"] = list(_alpha_fraction(query.quantile))
        parameters["candidates"] = list(plan.candidates)
    return Release(
        value=value,
        epsilon=Fraction(plan.loss[0]),
        delta=Fraction(plan.loss[1]),
        mechanism=query.mechanism,
        scale=plan.scales[0] if len(plan.scales) == 1 else dict(zip(plan.parts, plan.scales, strict=True)),
        accuracy=result_accuracy,
        features=tuple(sorted(opendp.mod.GLOBAL_FEATURES)),
        opendp_version=opendp.mod.__version__,
        parameters=parameters,
        warnings=dp_accuracy.release_warnings(query.stat, value, result_accuracy, bounds),
    )


def _check_query(query: Query) -> tuple[Fraction, Fraction]:
    if query.stat not in STATS:
        raise InputError(f"query.stat: expected one of {', '.join(STATS)}, got {query.stat!r}")
    if query.mechanism not in MECHANISMS:
        raise InputError(f"query.mechanism: expected one of {', '.join(MECHANISMS)}, got {query.mechanism!r}")
    epsilon, delta = _exact(query.epsilon, "query.epsilon"), _exact(query.delta, "query.delta")
    if epsilon <= 0:
        raise InputError(f"query.epsilon: expected a positive number, got {epsilon}")
    if not 0 <= delta < 1:
        raise InputError(f"query.delta: expected a number in [0, 1), got {delta}")
    if query.mechanism == "gaussian" and delta == 0:
        raise InputError("query.delta: the gaussian mechanism needs delta > 0")
    if not 0 < (_finite(query.alpha) or 0) < 1:
        raise InputError(f"query.alpha: expected a number in (0, 1), got {query.alpha!r}")
    if query.stat == "quantile" and not 0 < (_finite(query.quantile) or 0) < 1:
        raise InputError(f"query.quantile: expected a number in (0, 1) for a quantile, got {query.quantile!r}")
    return epsilon, delta


def _finite(x: object) -> float | None:
    """x as a finite float, or None if it is not a finite real number (bools are not numbers here)."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real | Decimal):
        return None
    try:
        f = float(x)
    except (OverflowError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _exact(x: object, field: str) -> Fraction:
    if isinstance(x, numbers.Rational) and not isinstance(x, bool):
        return Fraction(x)
    if isinstance(x, float | Decimal) and _finite(x) is not None:
        return Fraction(x)
    raise InputError(f"{field}: expected a finite number (a Fraction), got {x!r}")


def _float_at_most(x: Fraction, field: str) -> float:
    """The largest float <= x: OpenDP checks against floats, the ledger charges Fractions."""
    try:
        f = float(x)
    except OverflowError:
        raise InputError(f"{field}: expected at most {sys.float_info.max}, got a larger number") from None
    while Fraction(f) > x:
        f = math.nextafter(f, -math.inf)
    if f <= 0 < x:
        raise InputError(f"{field}: expected at least {math.ulp(0.0)}, got {x}")
    return f


def _check_bounds(bounds: object) -> tuple[float, float]:
    if bounds is None:
        raise InputError("policy.bounds: this statistic needs the column's declared (lower, upper) bounds")
    pair = [_finite(b) for b in bounds] if isinstance(bounds, tuple | list) else []
    if len(pair) != 2 or pair[0] is None or pair[1] is None:
        raise InputError(f"policy.bounds: expected two finite numbers (lower, upper), got {bounds!r}")
    if not pair[0] < pair[1]:
        raise InputError(f"policy.bounds: expected lower < upper, got ({pair[0]}, {pair[1]})")
    return pair[0], pair[1]


def _check_categories(categories: object) -> tuple[str, ...]:
    if categories is None:
        raise InputError("policy.categories: a histogram needs the column's declared categories")
    if not isinstance(categories, tuple | list) or not categories or not all(isinstance(c, str) for c in categories):
        raise InputError("policy.categories: expected a non-empty sequence of strings")
    if len(set(categories)) != len(categories):
        raise InputError("policy.categories: expected distinct categories")
    return tuple(categories)


def _check_missing(policy: ColumnPolicy, bounds: tuple[float, float]) -> None:
    if policy.missing not in MISSING:
        raise InputError(f"policy.missing: expected one of {', '.join(MISSING)}, got {policy.missing!r}")
    if policy.missing == "impute":
        value = _finite(policy.impute)
        if value is None or not bounds[0] <= value <= bounds[1]:
            raise InputError(
                f"policy.impute: expected a finite number within the bounds {list(bounds)}, got {policy.impute!r}"
            )


def _cell(v: object) -> float:
    """A cell as a finite float, or NaN (missing) for anything else. Total and row-by-row: it never
    raises, so no value can fail a release or be named in an error."""
    if isinstance(v, str):
        try:
            f = float(v)
        except (ValueError, OverflowError):
            return math.nan
        return f if math.isfinite(f) else math.nan
    f_or_none = _finite(v)
    return math.nan if f_or_none is None else f_or_none


def _category(v: object) -> str:
    """A cell as the text compared with the declared categories ("" for a missing one). Total."""
    if isinstance(v, str):
        return v
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def _missing_doc(stat: str, impute: float | None) -> dict[str, Any]:
    used = {
        "mean": "accuracy.count: a DP count of the values kept (the mean's count part)",
        "quantile": "not released (a count would cost privacy budget)",
        "sum": "not released (a count would cost privacy budget)",
    }.get(stat, "every row (a count counts rows)")
    return {
        "policy": "drop" if impute is None else "impute",
        **({"imputed_value": impute} if impute is not None else {}),
        "treated_as_missing": MISSING_CELLS,
        "values_used": used if impute is None or stat != "mean" else "accuracy.count: a DP count of every row",
    }


def _alpha_fraction(q: float) -> tuple[int, int]:
    """(alpha_num, alpha_den) as OpenDP 0.16 scores an unsized quantile (measured; pinned by a test)."""
    exact = Fraction(q)
    return (exact.numerator, exact.denominator) if exact.denominator < 10_000 else (math.floor(q * 10_000), 10_000)


@lru_cache(maxsize=256)  # calibration is pure in its (hashable) arguments and costs 50-400 ms
def _plan(
    stat: str,
    mechanism: str,
    eps_f: float,
    delta_f: float,
    bounds: tuple[float, float] | None,
    categories: tuple[str, ...] | None,
    q: float | None,
    d_in: int,
    impute: float | None = None,
) -> _Plan:
    gaussian = mechanism == "gaussian"
    noise = dp.m.then_gaussian if gaussian else dp.m.then_laplace
    lo, hi = bounds or (0.0, 1.0)
    k = QUANTILE_CANDIDATES - 1  # lo*(1-f) + hi*f cannot overflow; min/max keep rounding inside
    candidates = tuple(sorted({min(max(lo * (1 - i / k) + hi * (i / k), lo), hi) for i in range(k + 1)}))

    def count(space: tuple[Any, Any]) -> Callable[[float], dp.Measurement]:
        return lambda s: space >> dp.t.then_count(TO=dp.i64) >> noise(scale=s)

    # the column with its missing values dropped or imputed (see the module docstring)
    nulls = dp.t.then_drop_null() if impute is None else dp.t.then_impute_constant(impute)  # type: ignore[no-untyped-call]  # unannotated in OpenDP
    column = _CELLS >> nulls

    def total(s: float) -> dp.Measurement:
        sum_ = dp.t.then_sum()  # type: ignore[no-untyped-call]  # OpenDP leaves then_sum unannotated
        m: dp.Measurement = column >> dp.t.then_clamp((lo, hi)) >> sum_ >> noise(scale=s)
        return m

    parts: dict[str, Callable[[float], dp.Measurement]]
    if stat == "count":
        parts = {"count": count(_ROWS)}
    elif stat in ("sum", "mean"):
        parts = {"sum": total, "count": lambda s: column >> dp.t.then_count(TO=dp.i64) >> noise(scale=s)}
        parts = parts if stat == "mean" else {"sum": total}
    elif stat == "histogram":
        metric = dp.L2Distance[dp.i64] if gaussian else dp.L1Distance[dp.i64]
        by_cat = dp.t.then_count_by_categories(categories, null_category=False, MO=metric, TOA=dp.i64)
        parts = {"histogram": lambda s: _STRINGS >> by_cat >> noise(scale=s)}
    else:
        assert q is not None  # checked by release()
        measure = dp.zero_concentrated_divergence() if gaussian else dp.max_divergence()
        score = dp.t.then_quantile_score_candidates(list(candidates), q)
        parts = {"quantile": lambda s: column >> score >> dp.m.then_noisy_max(measure, scale=s, negate=True)}

    def whole(scales: Sequence[float]) -> dp.Measurement:
        built = [make(s) for make, s in zip(parts.values(), scales, strict=True)]
        m = built[0] if len(built) == 1 else dp.c.make_composition(built)
        return dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(m), delta_f) if gaussian else m

    try:
        units = [_smallest_scale(make, d_in, 1.0) for make in parts.values()]
        t = _smallest_scale(lambda t: whole([t * u for u in units]), d_in, (eps_f, delta_f) if gaussian else eps_f)
        scales = tuple(t * u for u in units)
        measurement = whole(scales)
        loss = _map(measurement, d_in)
        part_losses = tuple(float(_map(make(s), d_in)) for make, s in zip(parts.values(), scales, strict=True))
    except (dp.OpenDPException, ValueError, OverflowError) as e:
        raise InputError(
            f"query: OpenDP cannot calibrate a {mechanism} {stat} for epsilon={eps_f}, delta={delta_f}, "
            f"bounds={bounds}, contributions={d_in}: {' '.join(str(e).split())[:200]}"
        ) from e
    loss = (float(loss[0]), float(loss[1])) if gaussian else (float(loss), 0.0)
    kept = candidates if stat == "quantile" else ()
    return _Plan(measurement, gaussian, tuple(parts), scales, part_losses, loss, kept)


def _map(measurement: dp.Measurement, d_in: int) -> Any:
    return measurement.map(d_in)  # type: ignore[no-untyped-call]  # OpenDP leaves Measurement.map unannotated


def _smallest_scale(make: Callable[[float], dp.Measurement], d_in: int, d_out: Any) -> float:
    """A scale in (0, 2**511] passing check(d_in, d_out) within 1e-9 of the smallest that does; a
    scale whose loss OpenDP cannot compute (overflow) fails. Powers of two are galloped out from 1,
    then bisected. Not binary_search_param: its bracket search stops near 2**49 (too small for wide
    bounds) and it bisects to adjacent floats (60 checks of up to 6 ms for gaussian). Gaussian
    losses overflow above 2**511 (rho = d**2 / 2 scale**2)."""

    def ok(s: float) -> bool:
        try:
            return bool(make(s).check(d_in, d_out))
        except dp.OpenDPException:  # slow (60 ms with RUST_BACKTRACE=1); galloping from 1 avoids most
            return False

    lo = hi = step = 0
    if ok(1.0):
        while ok(2.0 ** (lo := max(hi - 2**step, -1074))):
            if lo == -1074:
                raise OverflowError("a zero noise scale meets the target")
            hi, step = lo, step + 1
    else:
        while not ok(2.0 ** (hi := min(lo + 2**step, 511))):
            if hi == 511:
                raise OverflowError("no noise scale up to 2**511 meets the target")
            lo, step = hi, step + 1
    low, high = 2.0**lo, 2.0**hi  # ok(high) and not ok(low) from here on
    while high - low > high * 1e-9:  # ~30 checks
        mid = (low + high) / 2
        low, high = (low, mid) if ok(mid) else (mid, high)
    return high


def _finish(
    query: Query, plan: _Plan, raw: Any, bounds: tuple[float, float] | None, categories: tuple[str, ...] | None
) -> tuple[float | int | dict[str, float], dict[str, Any]]:
    stat, lo, hi = query.stat, *(bounds or (-math.inf, math.inf))
    if stat in ("count", "sum"):
        value: float | int = int(raw) if stat == "count" else float(raw)
        a = _accuracy(query, plan, bounds, categories)["plus_minus"]
        return value, {"alpha": query.alpha, "plus_minus": a, "interval": [value - a, value + a]}
    if stat == "histogram" and categories:
        counts: dict[str, float] = {c: int(v) for c, v in zip(categories, raw, strict=True)}
        return counts, _accuracy(query, plan, bounds, categories)
    if stat == "mean":
        s, n = float(raw[0]), int(raw[1])
        accuracy = _accuracy(query, plan, bounds, categories)
        a_s, a_n = accuracy["sum_plus_minus"], accuracy["count_plus_minus"]
        interval = [lo, hi]
        if n + a_n >= 1:
            n_lo, n_hi = max(n - a_n, 1.0), n + a_n
            low = max(lo, min((s - a_s) / n_lo, (s - a_s) / n_hi))
            high = min(hi, max((s + a_s) / n_lo, (s + a_s) / n_hi))
            interval = [low, high] if low <= high else [lo, hi]  # empty only when a part missed
        accuracy = {k: v for k, v in accuracy.items() if k != "rows_for_10_percent"}
        return min(max(s / max(n, 1), lo), hi), accuracy | {"interval": interval, "count": n}
    return plan.candidates[int(raw)], _accuracy(query, plan, bounds, categories)


def _accuracy(
    query: Query,
    plan: _Plan,
    bounds: tuple[float, float] | None,
    categories: tuple[str, ...] | None,
    size: int | None = None,
) -> dict[str, Any]:
    """What the noise allows, from public parameters only (the plan's scales, bounds, size)."""
    alpha, stat = query.alpha, query.stat

    def pm(scale: float, a: float, discrete: bool) -> float:
        return dp_accuracy.plus_minus(scale, a, discrete, plan.gaussian)

    if stat in ("count", "sum"):
        return {"alpha": alpha, "plus_minus": pm(plan.scales[0], alpha, stat == "count")}
    if stat == "histogram" and categories:
        return {
            "alpha": alpha,
            "plus_minus": pm(plan.scales[0], alpha / len(categories), True),
            "per_category_plus_minus": pm(plan.scales[0], alpha, True),
            "method": "union bound: each bin at alpha / number of categories",
        }
    lo, hi = bounds or (0.0, 1.0)
    if stat == "mean":
        a_s, a_n = pm(plan.scales[0], alpha / 2, False), pm(plan.scales[1], alpha / 2, True)
        doc: dict[str, Any] = {
            "alpha": alpha,
            "sum_plus_minus": a_s,
            "count_plus_minus": a_n,
            "rows_for_10_percent": dp_accuracy.rows_for_useful_mean(a_s, a_n, (lo, hi)),
            "method": "union bound: sum and count each at alpha / 2; covers the clamped mean",
        }
        if size is not None:
            a = dp_accuracy.mean_plus_minus(a_s, a_n, size, (lo, hi))
            doc |= {"size": size} | ({"plus_minus": a} if a is not None else {"interval": [lo, hi]})
        return doc
    _, alpha_den = _alpha_fraction(query.quantile or 0.5)
    k = len(plan.candidates)
    return {
        "alpha": alpha,
        "rank_plus_minus": plan.scales[0] * math.log(k / alpha) / alpha_den,
        "candidate_step": (hi - lo) / (k - 1) if k > 1 else 0.0,
        "method": "union bound over candidates: the pick's score |(1-q)#(x<c) - q#(x>c)| is within "
        "rank_plus_minus rows of the best candidate's",
    }


def preview(policy: ColumnPolicy, query: Query, contributions: int, size: int | None = None) -> dict[str, Any]:
    """The accuracy ``query`` would have and why its answer might be meaningless, from public
    parameters only (bounds, ε/δ, mechanism, contributions and an assumed ``size``). Reads no
    data and charges nothing: the same calibration :func:`release` runs, without the data."""
    epsilon, delta, bounds, categories = check(policy, query, contributions)
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise InputError(f"size: expected an assumed number of rows >= 1, got {size!r}")
    eps_f = _float_at_most(epsilon, "query.epsilon")
    delta_f = _float_at_most(delta, "query.delta") if query.mechanism == "gaussian" else 0.0
    impute = policy.impute if bounds is not None and policy.missing == "impute" else None
    plan = _plan(query.stat, query.mechanism, eps_f, delta_f, bounds, categories, query.quantile, contributions, impute)
    acc = _accuracy(query, plan, bounds, categories, size)
    return {
        "stat": query.stat,
        "column": query.column,
        "mechanism": query.mechanism,
        "epsilon": str(epsilon),
        "delta": str(delta if plan.gaussian else 0),
        "scale": plan.scales[0] if len(plan.scales) == 1 else dict(zip(plan.parts, plan.scales, strict=True)),
        "accuracy": acc,
        **({"bounds": list(bounds), "missing": _missing_doc(query.stat, impute)} if bounds else {}),
        "size": size if size is not None else "not given: accuracy that depends on it is not stated",
        "warnings": list(dp_accuracy.preview_warnings(query.stat, acc, bounds, len(categories or ()), size)),
    }


__all__ = [
    "MECHANISMS",
    "MISSING",
    "STATS",
    "ColumnPolicy",
    "DataDependentError",
    "Query",
    "Release",
    "check",
    "parse_missing",
    "preview",
    "release",
]
