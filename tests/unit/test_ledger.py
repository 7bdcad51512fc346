"""The budget arithmetic: exact, never overspent, and equal to the sum of its entries."""

from __future__ import annotations

import contextlib
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, precondition, rule

from governance.ledger import Budget, BudgetExceededError, parse_delta, parse_epsilon, show
from qgov.errors import InputError, PolicyError

AMOUNTS = st.sampled_from(["0.1", "0.2", "0.05", "1e-3", "0.3333", "1", "2", "0.7", "1/3"]).map(
    lambda s: Fraction(s) if "/" in s else parse_epsilon(s)
)


class LedgerMachine(RuleBasedStateMachine):
    """Any sequence of reserve / commit / refund keeps spent + reserved <= total, and the
    budget equal to the sums of the entries it was built from."""

    reservations = Bundle("reservations")

    @initialize(total=AMOUNTS)
    def start(self, total: Fraction) -> None:
        self.budget = Budget(total, Fraction(0))
        self.entries: list[tuple[str, Fraction]] = []
        self.open: set[int] = set()

    @rule(target=reservations, amount=AMOUNTS)
    def reserve(self, amount: Fraction) -> int:
        before = self.budget
        try:
            self.budget = self.budget.reserve(amount, Fraction(0))
        except BudgetExceededError as exc:
            assert amount > before.remaining_epsilon
            assert self.budget == before
            assert show(before.remaining_epsilon) in exc.diagnostics()
            return -1
        self.entries.append(("reserve", amount))
        token = len(self.entries)
        self.open.add(token)
        return token

    @precondition(lambda self: self.open)
    @rule(token=reservations, commit=st.booleans())
    def settle(self, token: int, commit: bool) -> None:
        if token not in self.open:
            return
        amount = dict(enumerate((a for _, a in self.entries), 1))[token]
        self.budget = (self.budget.commit if commit else self.budget.refund)(amount, Fraction(0))
        self.entries.append(("commit" if commit else "refund", amount))
        self.open.discard(token)

    @rule(amount=AMOUNTS)
    def overdraw_a_reservation_is_refused(self, amount: Fraction) -> None:
        if amount > self.budget.reserved_epsilon:
            with pytest.raises(PolicyError):
                self.budget.refund(amount, Fraction(0))

    @invariant()
    def never_overspent(self) -> None:
        b = self.budget
        assert b.spent_epsilon >= 0 and b.reserved_epsilon >= 0
        assert b.spent_epsilon + b.reserved_epsilon <= b.epsilon

    @invariant()
    def equals_the_sum_of_its_entries(self) -> None:
        total = {k: sum((a for e, a in self.entries if e == k), Fraction(0)) for k in ("reserve", "commit", "refund")}
        assert self.budget.spent_epsilon == total["commit"]
        assert self.budget.reserved_epsilon == total["reserve"] - total["commit"] - total["refund"]


TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)


def test_decimal_amounts_add_up_exactly() -> None:
    b = Budget(parse_epsilon("0.3"), Fraction(0))
    for _ in range(3):
        b = b.reserve(parse_epsilon("0.1"), Fraction(0))
    assert b.remaining_epsilon == 0  # 0.1 + 0.1 + 0.1 == 0.3 exactly, unlike floats
    with pytest.raises(BudgetExceededError, match="has ε 0 of 0.3 left"):
        b.reserve(parse_epsilon("1e-9"), Fraction(0))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "greater than 0"),
        ("-0.5", "greater than 0"),
        ("nan", "finite"),
        ("NaN", "finite"),
        ("inf", "finite"),
        ("-Infinity", "finite"),
        ("abc", "expected a number"),
        ("", "expected a number"),
        (float("nan"), "finite"),
        (True, "expected a number"),
    ],
    ids=["zero", "negative", "nan", "NaN", "inf", "-inf", "text", "empty", "float nan", "bool"],
)
def test_bad_epsilons_are_refused(text: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_epsilon(text)


@pytest.mark.parametrize("text", ["1", "1.5", "-1e-9", "inf"])
def test_bad_deltas_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="--delta"):
        parse_delta(text)


def test_a_negative_or_zero_spend_can_never_raise_the_remaining_budget() -> None:
    b = Budget(Fraction(1), Fraction(0))
    for bad in (Fraction(-1), Fraction(0)):
        with pytest.raises(InputError):
            b.reserve(bad, Fraction(0))
        with pytest.raises(InputError):
            b.commit(bad, Fraction(0))
    assert b.remaining_epsilon == 1


@given(st.lists(st.decimals(min_value="0.000001", max_value="2", places=6), max_size=30))
def test_reserving_never_exceeds_the_total(amounts: list) -> None:  # type: ignore[type-arg]
    b = Budget(Fraction(1), Fraction(0))
    for d in amounts:
        with contextlib.suppress(BudgetExceededError):
            b = b.reserve(Fraction(d), Fraction(0))
        assert b.spent_epsilon + b.reserved_epsilon <= b.epsilon
