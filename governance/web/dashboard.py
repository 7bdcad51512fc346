"""The dashboard of published performance figures, and the same figures for Prometheus.

``/metrics`` needs the same sign-in as the pages or a bearer token (Prometheus'
``authorization`` setting), and the ``access.read_all`` capability: the figures describe
other people's requests. Gauges are rebuilt from the store on every scrape into a registry
of their own, so two scrapes never share state and nothing is cached between them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from governance.web._base import SignInRequiredError, render, session

router = APIRouter(include_in_schema=False)


@router.get("/ui/dashboard")
def dashboard(request: Request) -> Response:
    from governance.metrics import dashboard as service

    sess = session(request)
    return render(request, "dashboard.html.j2", sess, title="Dashboard", notice="", doc=service(sess.app))


def prometheus_text(doc: dict[str, Any]) -> bytes:
    from prometheus_client import CollectorRegistry, Gauge, generate_latest

    registry = CollectorRegistry()

    def gauge(name: str, text: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(name, text, labels, registry=registry)

    turnaround = gauge("qgov_review_turnaround_hours", "Officer review turnaround", ("quantile", "outcome"))
    for outcome, spread in [("all", doc["turnaround"]), *doc["turnaround"]["by_outcome"].items()]:
        for q in ("p50", "p90"):
            if spread[q] is not None:
                turnaround.labels(q.replace("p", "0."), outcome).set(spread[q])
    gauge("qgov_review_queue_pending", "Requests waiting for an officer").set(doc["queue"]["pending"])
    oldest = gauge("qgov_review_queue_oldest_hours", "Age of the oldest waiting request")
    oldest.set(doc["queue"]["oldest_hours"] or 0)
    gauge("qgov_review_sla_hours", "The review SLA in policy").set(doc["sla_hours"])
    gauge("qgov_review_sla_breaches", "Requests past the SLA: waiting, or decided late").set(doc["sla_breaches"])
    grants = gauge("qgov_grants", "Grants by state", ("state",))
    for state, count in doc["grants"].items():
        grants.labels(state).set(count)
    training = gauge("qgov_training_people", "Registered people by training state", ("state",))
    for state in ("current", "expired", "missing", "due"):
        training.labels(state).set(doc["training"][state])
    budget = gauge("qgov_dp_budget_used_ratio", "Share of the epsilon budget spent", ("dataset",))
    for row in doc["budgets"]:
        if row["used"] is not None:
            budget.labels(row["dataset"]).set(row["used"])
    return generate_latest(registry)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST

    from governance.identity import authenticate_token
    from governance.metrics import dashboard as service

    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        core = request.app.state.core
        acting = core.acting_for(authenticate_token(core, header[7:].strip()).name)
    else:
        try:
            acting = session(request).app
        except SignInRequiredError:
            from governance.identity import AuthenticationError

            raise AuthenticationError(
                "Authorization: expected 'Bearer TOKEN' (create one with 'qgov token create')"
            ) from None
    return Response(prometheus_text(service(acting)), media_type=CONTENT_TYPE_LATEST)


__all__ = ["prometheus_text", "router"]
