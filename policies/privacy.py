"""Differential-privacy release policy: a pure decision over a requested release.

Loaded from the ``privacy:`` part of a bundle's ``access:`` section. The regulations do
not speak to differentially private statistics, so every rule here is a *project rule*
(status P) that an organisation can replace in its own ``QGOV_POLICY_DIR``:

- a restricted party never receives anything (an exact screening match with a presumption
  of denial denies; any other hit goes to review);
- one release may not spend more than ``max_epsilon_per_release``;
- one requester may not spend more than ``per_requester_epsilon`` (optional) of one dataset's
  budget, checked when the release reserves, under the budget's lock;
- statistics of a dataset that is not controlled are approved;
- statistics of a controlled (or not yet classified) dataset are approved without a licence
  review when ε ≤ ``auto_approve_epsilon``, else an officer reviews them.

Outcomes and reasons have the shape of access decisions; the caller adds the ledger check.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from qgov.errors import PolicyError

MECHANISMS = ("laplace", "gaussian")


@dataclass(frozen=True)
class PrivacyPolicy:
    default_epsilon: str
    default_delta: str
    auto_approve_epsilon: str
    max_epsilon_per_release: str
    mechanisms: tuple[str, ...]
    default_mechanism: str
    citation: str
    status: str
    per_requester_epsilon: str | None = None  # most ε one requester may spend on one dataset

    def content(self) -> dict[str, Any]:
        # an unset cap is left out, so bundles without one keep their policy version
        return {k: v for k, v in self.__dict__.items() if v is not None} | {"mechanisms": list(self.mechanisms)}

    def fraction(self, name: str) -> Fraction:
        return Fraction(Decimal(str(getattr(self, name))))


@dataclass(frozen=True)
class ReleaseDecision:
    outcome: str  # approve | review | deny
    rule: str
    text: str
    citation: str

    def to_json(self) -> dict[str, str]:
        return dict(self.__dict__)


def decide_release(
    policy: PrivacyPolicy,
    controlled: bool | None,
    epsilon: Fraction,
    screening_denial: bool,
    screening_hit: bool,
) -> ReleaseDecision:
    """What the policy says about one DP release (pure; the budget is checked separately)."""

    def say(outcome: str, rule: str, text: str) -> ReleaseDecision:
        return ReleaseDecision(outcome, f"privacy.{rule}", text, policy.citation)

    if screening_denial:
        return say("deny", "restricted-party", "the requester is an exact match of a party presumed to be denied")
    if epsilon > policy.fraction("max_epsilon_per_release"):
        return say(
            "deny",
            "epsilon-cap",
            f"ε {epsilon} exceeds the most one release may spend ({policy.max_epsilon_per_release})",
        )
    if screening_hit:
        return say("review", "screening-hit", "the requester has a possible restricted-party match")
    if controlled is False:
        return say("approve", "not-controlled", "statistics of data that is not controlled")
    if epsilon <= policy.fraction("auto_approve_epsilon"):
        return say(
            "approve",
            "under-cap",
            f"a differentially private statistic with ε ≤ {policy.auto_approve_epsilon} is released without a "
            "licence review; an officer reviews its classification before publication",
        )
    return say("review", "over-cap", f"ε above {policy.auto_approve_epsilon} for controlled data needs an officer")


def parse_privacy(data: Any, source: str) -> PrivacyPolicy:
    def fail(where: str, message: str) -> PolicyError:
        return PolicyError(f"{source}: access.privacy.{where}: {message}")

    if not isinstance(data, dict):
        raise fail("", "expected a mapping")
    allowed = {
        "default_budget",
        "auto_approve_epsilon",
        "max_epsilon_per_release",
        "mechanisms",
        "default_mechanism",
        "citation",
        "status",
    }
    optional = {"per_requester_epsilon"}
    unknown = sorted(set(data) - allowed - optional)
    if unknown:
        raise fail(unknown[0], f"unknown key; expected one of {', '.join(sorted(allowed | optional))}")
    missing = sorted(allowed - set(data))
    if missing:
        raise fail(missing[0], "required")
    budget = data["default_budget"]
    if not isinstance(budget, dict) or set(budget) != {"epsilon", "delta"}:
        raise fail("default_budget", "expected {epsilon: …, delta: …}")

    def amount(value: Any, where: str, positive: bool) -> str:
        try:
            d = Decimal(str(value))
        except InvalidOperation:
            raise fail(where, f"expected a number written as text, e.g. '0.5', got {value!r}") from None
        if not d.is_finite() or (d <= 0 if positive else not 0 <= d < 1):
            raise fail(where, f"expected {'a positive number' if positive else 'a probability in [0, 1)'}, got {value}")
        return str(value)

    mechanisms = data["mechanisms"]
    if not isinstance(mechanisms, list) or not mechanisms or any(m not in MECHANISMS for m in mechanisms):
        raise fail("mechanisms", f"expected a non-empty list of {', '.join(MECHANISMS)}")
    if data["default_mechanism"] not in mechanisms:
        raise fail("default_mechanism", "expected one of the listed mechanisms")
    if data["status"] not in ("V", "P", "U"):
        raise fail("status", "expected V, P or U")
    return PrivacyPolicy(
        default_epsilon=amount(budget["epsilon"], "default_budget.epsilon", True),
        default_delta=amount(budget["delta"], "default_budget.delta", False),
        auto_approve_epsilon=amount(data["auto_approve_epsilon"], "auto_approve_epsilon", True),
        max_epsilon_per_release=amount(data["max_epsilon_per_release"], "max_epsilon_per_release", True),
        mechanisms=tuple(mechanisms),
        default_mechanism=str(data["default_mechanism"]),
        citation=str(data["citation"]),
        status=str(data["status"]),
        per_requester_epsilon=(
            amount(data["per_requester_epsilon"], "per_requester_epsilon", True)
            if data.get("per_requester_epsilon") is not None
            else None
        ),
    )


__all__ = ["MECHANISMS", "PrivacyPolicy", "ReleaseDecision", "decide_release", "parse_privacy"]
