"""Accuracy of DP statistics from public parameters, and warnings from released values (pure).

Nothing here reads data. :func:`plus_minus` turns a noise scale into a (1 - alpha) bound;
:func:`mean_plus_minus` bounds a mean's error from its two parts' bounds and a row count;
:func:`release_warnings` looks only at a released value, its stated accuracy and the column's
bounds — post-processing of the release, so a warning costs no privacy; :func:`preview_warnings`
looks only at the accuracy a query would have and an assumed size.
"""

from __future__ import annotations

import math
from typing import Any

import opendp.prelude as dp

# a mean is "useful" here when its accuracy is within this share of the bounds' range
USEFUL_SHARE = 0.1


def plus_minus(scale: float, alpha: float, discrete: bool, gaussian: bool) -> float:
    """|noise| <= the result with probability >= 1 - alpha."""
    if discrete and gaussian and scale > 1e5:
        # OpenDP sums the pmf in O(scale) (0.24 s at 1e6); use the discrete Gaussian's
        # sub-Gaussian tail P[|X| >= t] <= 2 exp(-t^2 / 2 scale^2) instead (CKS20, Cor. 9).
        return scale * math.sqrt(2 * math.log(2 / alpha))
    if discrete:
        f = dp.discrete_gaussian_scale_to_accuracy if gaussian else dp.discrete_laplacian_scale_to_accuracy
    else:
        f = dp.gaussian_scale_to_accuracy if gaussian else dp.laplacian_scale_to_accuracy
    return float(f(scale, alpha))


def mean_plus_minus(a_s: float, a_n: float, n: float, bounds: tuple[float, float]) -> float | None:
    """If |S - s| <= a_s and |N - n| <= a_n with n > a_n, then
    |S/N - s/n| = |(S - s)/N - (s/n)(N - n)/N| <= (a_s + M·a_n) / (n - a_n), M = max(|lo|, |hi|)
    (|s/n| <= M for clamped values). None when n <= a_n: no statement short of the whole bounds."""
    lo, hi = bounds
    if n <= a_n:
        return None
    return min((a_s + max(abs(lo), abs(hi)) * a_n) / (n - a_n), hi - lo)


def rows_for_useful_mean(a_s: float, a_n: float, bounds: tuple[float, float]) -> int:
    """The fewest rows for which :func:`mean_plus_minus` is at most USEFUL_SHARE of the range."""
    lo, hi = bounds
    return math.ceil(a_n + (a_s + max(abs(lo), abs(hi)) * a_n) / (USEFUL_SHARE * (hi - lo)))


def release_warnings(
    stat: str, value: Any, accuracy: dict[str, Any], bounds: tuple[float, float] | None
) -> tuple[str, ...]:
    """Why a released answer is likely meaningless, from the released value, its stated accuracy
    and the public bounds only (post-processing: never from the data)."""
    out: list[str] = []
    if stat == "mean" and bounds is not None:
        lo, hi = bounds
        low, high = accuracy["interval"]
        at = lo if value <= lo else hi if value >= hi else None
        if at is not None:
            out.append(
                f"the released mean {value} is at its bound {at}: the clamp decided it, so it is likely "
                "meaningless (too few rows for this ε, or bounds that do not fit the data)"
            )
        elif low <= lo or high >= hi:
            near = lo if low <= lo else hi
            out.append(
                f"the released mean {value} lies within its accuracy of the bound {near} (interval "
                f"[{low:.6g}, {high:.6g}]): the clamp may have decided it; treat it as likely meaningless"
            )
        if high - low >= (hi - lo) / 2:
            out.append(
                f"the noise is comparable to the bounds' range: the interval [{low:.6g}, {high:.6g}] spans at "
                f"least half of [{lo:.6g}, {hi:.6g}]"
            )
    elif stat == "quantile" and bounds is not None and value in bounds:
        out.append(
            f"the released quantile {value} is at a bound: the true quantile may lie outside the bounds, "
            "or the noise decided the pick"
        )
    elif stat in ("count", "sum") and accuracy["plus_minus"] >= abs(value):
        out.append(
            f"the released {stat} {value} lies within its accuracy (±{accuracy['plus_minus']:.6g}) of zero: "
            "even its sign is uncertain"
        )
    return tuple(out)


def preview_warnings(
    stat: str,
    accuracy: dict[str, Any],
    bounds: tuple[float, float] | None,
    categories: int,
    size: int | None,
) -> tuple[str, ...]:
    """Why a query would likely give a meaningless answer, from public parameters and the assumed
    ``size`` only."""
    if size is None:
        return ()
    lo, hi = bounds or (0.0, 0.0)
    if stat == "mean":
        a = accuracy.get("plus_minus")
        if a is None or a >= (hi - lo) / 2:
            shown = "the whole bounds" if a is None else f"±{a:.6g}"
            return (
                f"with {size} rows the mean's accuracy ({shown}) is at least half the bounds' range: the answer "
                f"would likely be pinned at a bound or meaningless; ±10% of the range needs about "
                f"{accuracy['rows_for_10_percent']} rows",
            )
        return ()
    limit = {
        "count": float(size),
        "sum": size * max(abs(lo), abs(hi)),
        "histogram": size / max(categories, 1),
        "quantile": size / 2,
    }[stat]
    a = accuracy["rank_plus_minus" if stat == "quantile" else "plus_minus"]
    if a >= limit:
        return (
            f"with {size} rows the noise (±{a:.6g}) is as large as the answer can be ({limit:.6g}): "
            "the answer would likely be meaningless",
        )
    return ()


__all__ = ["mean_plus_minus", "plus_minus", "preview_warnings", "release_warnings", "rows_for_useful_mean"]
