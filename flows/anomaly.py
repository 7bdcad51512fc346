"""Compliance sweeps as a Prefect flow: scan the log for anomalies, record incident-deadline
reminders, remind of training coming due and suspend grants where it lapsed, and the same for
end-use attestations.

The flow's parameters are a principal (the officer or admin it acts for, who must hold
``compliance.sweep``) and times — never settings or secrets, which Prefect would store with the
run. The worker reads the store's settings from its own environment (``QGOV_*``), as ``qgov``
does. Schedule it with a deployment, e.g. hourly scans and daily reminders::

    from flows.anomaly import compliance_sweep_flow
    compliance_sweep_flow.serve(name="qgov-compliance", cron="17 * * * *",
                                parameters={"principal": "olga"})

Each run scans from the end of the previous scan to now, so a missed hour is covered by the
next run, and re-running a period adds no duplicate alerts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.session import app_for
from governance.config import load_settings


def _app(principal: str):  # type: ignore[no-untyped-def]
    return app_for(load_settings()).acting_for(principal)


@task(name="anomaly-scan", cache_policy=NO_CACHE, persist_result=False)
def scan_task(principal: str, since: datetime | None, until: datetime | None) -> dict[str, Any]:
    from governance.compliance.anomaly import scan

    return scan(_app(principal), since, until)


@task(name="incident-reminders", cache_policy=NO_CACHE, persist_result=False)
def remind_task(principal: str, at: datetime | None) -> list[dict[str, Any]]:
    from governance.compliance.incidents import remind

    return remind(_app(principal), at)


@task(name="training-sweep", cache_policy=NO_CACHE, persist_result=False)
def training_task(principal: str, at: datetime | None) -> list[dict[str, Any]]:
    from governance.compliance.training import training_sweep

    return training_sweep(_app(principal), at)


@task(name="end-use-sweep", cache_policy=NO_CACHE, persist_result=False)
def end_use_task(principal: str, at: datetime | None) -> list[dict[str, Any]]:
    from governance.compliance.end_use import end_use_sweep

    return end_use_sweep(_app(principal), at)


@flow(name="qgov-compliance-sweep", persist_result=False)
def compliance_sweep_flow(
    principal: str, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    scanned = scan_task(principal, since, until)
    return {
        "scan": scanned,
        "reminders": remind_task(principal, until),
        "training": training_task(principal, until),
        "end_use": end_use_task(principal, until),
    }


__all__ = ["compliance_sweep_flow"]
