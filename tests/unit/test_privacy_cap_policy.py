"""The optional per-requester ε cap of a privacy policy (issue 13, item 10)."""

from __future__ import annotations

import pytest

from policies.privacy import parse_privacy
from qgov.errors import PolicyError

BASE = {
    "default_budget": {"epsilon": "1.0", "delta": "0.000001"},
    "auto_approve_epsilon": "0.5",
    "max_epsilon_per_release": "1.0",
    "mechanisms": ["laplace"],
    "default_mechanism": "laplace",
    "citation": "project rule",
    "status": "P",
}


def test_a_policy_without_a_cap_keeps_its_content_and_so_its_version() -> None:
    policy = parse_privacy(BASE, "access.yaml")
    assert policy.per_requester_epsilon is None and "per_requester_epsilon" not in policy.content()


def test_a_per_requester_cap_is_read_as_an_exact_amount() -> None:
    policy = parse_privacy(BASE | {"per_requester_epsilon": "0.3"}, "access.yaml")
    assert (
        policy.content()["per_requester_epsilon"] == "0.3" and str(policy.fraction("per_requester_epsilon")) == "3/10"
    )


@pytest.mark.parametrize("value", ["-1", "0", "x", "nan"], ids=["negative", "zero", "text", "nan"])
def test_a_bad_per_requester_cap_names_the_field(value: str) -> None:
    with pytest.raises(PolicyError, match=r"access\.yaml: access\.privacy\.per_requester_epsilon: expected"):
        parse_privacy(BASE | {"per_requester_epsilon": value}, "access.yaml")
