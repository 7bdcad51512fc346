"""A new privacy unit rescales what was spent: the factor never under-counts OpenDP's own loss."""

from __future__ import annotations

from fractions import Fraction

import pytest

from governance import dp
from governance.privacy import rescale_factor

CASES = [
    ("count", "laplace"),
    ("sum", "laplace"),
    ("mean", "laplace"),
    ("histogram", "laplace"),
    ("quantile", "laplace"),
    ("count", "gaussian"),
    ("sum", "gaussian"),
    ("mean", "gaussian"),
    ("histogram", "gaussian"),
]


@pytest.mark.parametrize(("stat", "mechanism"), CASES, ids=[f"{s}-{m}" for s, m in CASES])
@pytest.mark.parametrize(("released_at", "now"), [(1, 50), (50, 1), (3, 4)], ids=["1to50", "50to1", "3to4"])
def test_the_rescaled_charge_covers_opendps_loss_under_the_new_unit(stat, mechanism, released_at, now) -> None:  # type: ignore[no-untyped-def]
    gaussian = mechanism == "gaussian"
    delta = 1e-7 if gaussian else 0.0
    plan = dp._plan(
        stat,
        mechanism,
        0.5,
        delta,
        (0.0, 400.0) if stat in ("sum", "mean", "quantile") else None,
        ("a", "b", "c") if stat == "histogram" else None,
        0.5 if stat == "quantile" else None,
        released_at,
    )
    loss = plan.measurement.map(now)  # type: ignore[no-untyped-call]  # OpenDP leaves map unannotated
    epsilon = Fraction(float(loss[0] if gaussian else loss))
    charged = Fraction(0.5) * rescale_factor(mechanism, Fraction(now, released_at))
    assert epsilon <= charged
    if not gaussian:  # pure DP is linear in the unit: the factor is exact, not just an upper bound
        assert epsilon >= charged * Fraction(999, 1000)
