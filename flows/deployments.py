"""Register qgov's flows as deployments of a Prefect work pool (``python -m flows.deployments POOL``).

Each flow becomes the deployment ``<flow name>/<pool>``. The entry point is a module path
(``flows.ingest.ingest_flow``): a worker runs the qgov installed on its own machine, so no
code is uploaded and no storage block is needed. Parameters are the flows' own — the store's
home, a principal and ids (:func:`flows.session.flow_args`); the worker reads the store's
settings (database URL, object store, keys) from its own environment, never from a run.
"""

from __future__ import annotations

import sys
from typing import Any

from flows.ingest import ingest_flow
from flows.privacy import release_queue_flow
from flows.reclassify import reclassify_flow
from flows.retention import retention_sweep_flow
from flows.screening import screening_refresh_flow
from flows.submit import deployment_name

FLOWS: tuple[Any, ...] = (
    ingest_flow,
    reclassify_flow,
    retention_sweep_flow,
    screening_refresh_flow,
    release_queue_flow,
)


def register(pool: str) -> list[str]:
    """Create or update one deployment per flow in ``pool``; returns their names."""
    from prefect.deployments.runner import EntrypointType

    names = []
    for flow in FLOWS:
        flow.deploy(
            name=pool,
            work_pool_name=pool,
            build=False,
            push=False,
            entrypoint_type=EntrypointType.MODULE_PATH,
            enforce_parameter_schema=False,
            print_next_steps=False,
            ignore_warnings=True,
            description=(flow.__doc__ or "").strip().splitlines()[0] if flow.__doc__ else None,
        )
        names.append(deployment_name(flow.name, pool))
    return names


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].strip():
        print("usage: python -m flows.deployments POOL", file=sys.stderr)
        return 2
    for name in register(argv[0].strip()):
        print(name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))


__all__ = ["FLOWS", "register"]
