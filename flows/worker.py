"""The retrain worker: serves the `retrain` deployment to a Prefect server and exposes the flow
runs' metrics for Prometheus.

`python -m flows.worker` (compose's `retrain-worker`, `make local`): registers the deployment
`retrain/retrain` on the server at PREFECT_API_URL (basic auth from PREFECT_API_AUTH_STRING) and
runs each flow run the API creates, one at a time, each in a process of its own (Prefect's
runner). The deployment's concurrency limit is 1 with CANCEL_NEW: a run created while one is
active is cancelled by Prefect itself, whatever created it.

The flow runs write their metrics to prometheus-client's multiprocess files in
PROMETHEUS_MULTIPROC_DIR (default: STATE_DIR/retrain-metrics); this process serves their sum on
/metrics (RETRAIN_METRICS_HOST:RETRAIN_METRICS_PORT, default 0.0.0.0:9400, as exporters do).
The folder is never emptied: the counters and the last start/success/promotion times outlive a
restart of the worker.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from api.config import get_settings

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The flow runs inherit this process's environment: set before prometheus-client is imported,
# here and in them.
if not os.environ.get(MULTIPROCESS_ENV):
    os.environ[MULTIPROCESS_ENV] = str(get_settings().state_dir / "retrain-metrics")

from prefect.client.schemas.objects import (  # noqa: E402
    ConcurrencyLimitConfig,
    ConcurrencyLimitStrategy,
)
from prefect.deployments.runner import EntrypointType  # noqa: E402
from prometheus_client import CollectorRegistry, multiprocess, start_http_server  # noqa: E402

from flows.retrain import metrics, retrain  # noqa: E402

__all__ = ["DEPLOYMENT_NAME", "main"]

# flow/deployment = retrain/retrain: the API's RETRAIN_DEPLOYMENT default.
DEPLOYMENT_NAME = "retrain"
DEFAULT_METRICS_PORT = 9400


def serve_metrics(host: str, port: int) -> None:
    """The flow runs' metrics (every process's files in the folder, dead ones included)."""
    folder = Path(os.environ[MULTIPROCESS_ENV])
    folder.mkdir(parents=True, exist_ok=True)
    # The outcome counters exist at 0 before the first run, so its increase() is seen.
    metrics().start_at_zero()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(folder))
    start_http_server(port, addr=host, registry=registry)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.worker", description=__doc__)
    parser.add_argument("--metrics-host", default=os.environ.get("RETRAIN_METRICS_HOST", "0.0.0.0"))
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=int(os.environ.get("RETRAIN_METRICS_PORT", DEFAULT_METRICS_PORT)),
    )
    args = parser.parse_args(argv)
    if not os.environ.get("PREFECT_API_URL"):
        print(
            "error: the worker serves a Prefect server's deployment: set PREFECT_API_URL "
            "(and PREFECT_API_AUTH_STRING); `make retrain` runs the flow without one",
            file=sys.stderr,
        )
        return 2
    serve_metrics(args.metrics_host, args.metrics_port)
    print(f"retrain worker: metrics on http://{args.metrics_host}:{args.metrics_port}/metrics")
    retrain.serve(
        name=DEPLOYMENT_NAME,
        global_limit=ConcurrencyLimitConfig(
            limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
        ),
        limit=1,
        entrypoint_type=EntrypointType.MODULE_PATH,
        description="Train a challenger on the newest labelled data; promote it on evidence.",
        tags=["bikewatch"],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
