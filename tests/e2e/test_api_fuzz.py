"""Schemathesis against the OpenAPI document of a running `qgov serve`.

Every generated case is sent three times: without a token, as a researcher and as an
officer. The properties: no answer is ever a server error (5xx); no call without a valid
token succeeds (2xx); no officer-only call succeeds for a researcher; and a researcher never
gets content they hold no grant for. The number of cases is written to the test report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from governance.app import App
from governance.config import load_settings
from governance.service_app import create_service
from tests.e2e import server_support

# The document is static: built from the app factory, with no store behind it.
schema = schemathesis.openapi.from_dict(create_service(App(load_settings({"QGOV_HOME": "/nonexistent"}))).openapi())
OFFICER_ONLY = ("/approve", "/deny", "/api/v1/queue")
SEEN: Counter[str] = Counter()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    tmp = tmp_path_factory.mktemp("fuzz")
    env = {"QGOV_HOME": str(tmp / "home")}
    core = server_support.new_store(env)
    ids = server_support.build_lab(core, tmp)
    core.close()
    tokens = server_support.issue_tokens(env, ["li", "olga"])
    with server_support.running_server(env) as base:
        yield {"base": base, "tokens": tokens, "ids": ids}
    # The count for the notes (visible with -s): how many cases schemathesis generated.
    print(f"\nschemathesis: {sum(SEEN.values())} cases, each sent 3 ways: {dict(SEEN)}")  # noqa: T201


def _bearer(live: dict[str, object], who: str) -> dict[str, str]:
    tokens = live["tokens"]
    assert isinstance(tokens, dict)
    return {"Authorization": f"Bearer {tokens[who]['token']}"}


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_no_success_without_the_right_to_it(case, live) -> None:  # type: ignore[no-untyped-def]
    base = str(live["base"])
    SEEN[f"{case.method} {case.path}"] += 1
    anonymous = case.call(
        base_url=base, headers={k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    )
    assert anonymous.status_code < 500, anonymous.text
    if case.path != "/api/v1/healthz":
        assert not 200 <= anonymous.status_code < 300, (case.path, anonymous.status_code, anonymous.text)
    researcher = case.call(base_url=base, headers=dict(case.headers or {}) | _bearer(live, "li"))
    assert researcher.status_code < 500, researcher.text
    if any(case.path.endswith(p) for p in OFFICER_ONLY):
        assert not 200 <= researcher.status_code < 300, (case.path, researcher.text)
    if case.path.endswith("/content"):
        assert researcher.status_code != 200, "content without a grant"
    officer = case.call(base_url=base, headers=dict(case.headers or {}) | _bearer(live, "olga"))
    assert officer.status_code < 500, officer.text
