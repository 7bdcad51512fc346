"""Privacy-budget arithmetic: exact, and unable to overspend (pure; the service persists it).

A dataset's budget is a total (ε, δ) and two running sums: what releases have *spent* and
what is *reserved* by releases in flight. A release reserves its cost before any noise is
drawn, then either commits it (reserved → spent) or, if it failed before anything was
released, has it refunded. A reservation whose process died stays reserved — counted as
spent — until an admin reconciles it: fail closed.

All amounts are :class:`fractions.Fraction`, parsed from their decimal text, so sums are exact
(0.1 + 0.2 is 3/10). Amounts that are NaN, infinite, zero or negative for ε, or outside
[0, 1) for δ, are refused — a negative charge would otherwise *raise* the remaining budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from qgov.errors import AccessDenied, InputError, PolicyError


class BudgetExceededError(AccessDenied):
    """A release would spend more than the dataset has left."""

    exit_code = 1  # a release refused: a verdict (DESIGN.md), not a missing permission
    code = "budget_exceeded"


def parse_epsilon(value: object, field: str = "--epsilon") -> Fraction:
    """A positive, finite ε as an exact fraction."""
    amount = _exact(value, field)
    if amount <= 0:
        raise InputError(f"{field}: expected a privacy loss greater than 0, got {value!r}")
    return amount


def parse_delta(value: object, field: str = "--delta") -> Fraction:
    """A δ in [0, 1) as an exact fraction."""
    amount = _exact(value, field)
    if not 0 <= amount < 1:
        raise InputError(f"{field}: expected a probability in [0, 1), got {value!r}")
    return amount


def _exact(value: object, field: str) -> Fraction:
    if isinstance(value, bool):
        raise InputError(f"{field}: expected a number, got {value!r}")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{field}: expected a finite number, got {value!r}")
    if isinstance(value, int | float):
        value = repr(value)  # the decimal the user wrote, not the binary float's expansion
    if not isinstance(value, str):
        raise InputError(f"{field}: expected a number, got {type(value).__name__}")
    try:
        decimal = Decimal(value.strip())
    except InvalidOperation:
        raise InputError(f"{field}: expected a number such as 0.5 or 1e-6, got {value!r}") from None
    if not decimal.is_finite():
        raise InputError(f"{field}: expected a finite number, got {value!r}")
    return Fraction(decimal)


def show(amount: Fraction) -> str:
    """A readable decimal for an exact amount (exact when it terminates, else 12 digits)."""
    d = Decimal(amount.numerator) / Decimal(amount.denominator)
    text = format(d.normalize(), "f") if abs(d) >= Decimal("0.0001") or d == 0 else format(d.normalize(), "e")
    return text if Fraction(Decimal(text)) == amount else f"{float(amount):.12g}"


@dataclass(frozen=True)
class Budget:
    epsilon: Fraction
    delta: Fraction
    spent_epsilon: Fraction = Fraction(0)
    spent_delta: Fraction = Fraction(0)
    reserved_epsilon: Fraction = Fraction(0)
    reserved_delta: Fraction = Fraction(0)

    @property
    def remaining_epsilon(self) -> Fraction:
        return self.epsilon - self.spent_epsilon - self.reserved_epsilon

    @property
    def remaining_delta(self) -> Fraction:
        return self.delta - self.spent_delta - self.reserved_delta

    def describe_remaining(self) -> str:
        return f"ε {show(self.remaining_epsilon)} of {show(self.epsilon)}" + (
            f", δ {show(self.remaining_delta)} of {show(self.delta)}" if self.delta else ""
        )

    def reserve(self, epsilon: Fraction, delta: Fraction) -> Budget:
        _check_cost(epsilon, delta)
        if epsilon > self.remaining_epsilon or delta > self.remaining_delta:
            raise BudgetExceededError(
                f"this release needs ε {show(epsilon)}"
                + (f", δ {show(delta)}" if delta else "")
                + f" but the dataset has {self.describe_remaining()} left"
            )
        return replace(
            self, reserved_epsilon=self.reserved_epsilon + epsilon, reserved_delta=self.reserved_delta + delta
        )

    def commit(self, epsilon: Fraction, delta: Fraction) -> Budget:
        """A reservation becomes spending (after the release)."""
        self._check_reserved(epsilon, delta)
        return replace(
            self,
            reserved_epsilon=self.reserved_epsilon - epsilon,
            reserved_delta=self.reserved_delta - delta,
            spent_epsilon=self.spent_epsilon + epsilon,
            spent_delta=self.spent_delta + delta,
        )

    def refund(self, epsilon: Fraction, delta: Fraction) -> Budget:
        """A reservation is returned (the release failed before anything was released)."""
        self._check_reserved(epsilon, delta)
        return replace(
            self, reserved_epsilon=self.reserved_epsilon - epsilon, reserved_delta=self.reserved_delta - delta
        )

    def with_total(self, epsilon: Fraction, delta: Fraction) -> Budget:
        """A new total; never below what is already spent or reserved."""
        if epsilon < self.spent_epsilon + self.reserved_epsilon or delta < self.spent_delta + self.reserved_delta:
            raise BudgetExceededError(
                f"the new total ε {show(epsilon)} is below what is already spent or reserved "
                f"(ε {show(self.spent_epsilon + self.reserved_epsilon)})"
            )
        return replace(self, epsilon=epsilon, delta=delta)

    def _check_reserved(self, epsilon: Fraction, delta: Fraction) -> None:
        _check_cost(epsilon, delta)
        if epsilon > self.reserved_epsilon or delta > self.reserved_delta:
            raise PolicyError(f"ε {show(epsilon)} is more than is reserved ({show(self.reserved_epsilon)})")


def _check_cost(epsilon: Fraction, delta: Fraction) -> None:
    if epsilon <= 0 or delta < 0 or delta >= 1:
        raise InputError(f"a release costs ε > 0 and δ in [0, 1), got ε {epsilon}, δ {delta}")


def fraction_text(amount: Fraction) -> str:
    """Storage form: exact, e.g. '3/10'."""
    return f"{amount.numerator}/{amount.denominator}"


def parse_stored(text: str) -> Fraction:
    return Fraction(text)


__all__ = [
    "Budget",
    "BudgetExceededError",
    "fraction_text",
    "parse_delta",
    "parse_epsilon",
    "parse_stored",
    "show",
]
