"""GET /metrics: the Prometheus text exposition, summed across workers in multiprocess mode."""

from __future__ import annotations

import os

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["MULTIPROCESS_ENV", "multiprocess_dir", "router"]

# prometheus-client's own variable (read when it is imported): set, every worker writes its
# values to files in that folder, and this route sums them.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

router = APIRouter(tags=["monitoring"])


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROCESS_ENV) or None


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Every metric of this API in Prometheus' text format."""
    folder = multiprocess_dir()
    if folder is None:
        registry = request.app.state.metrics.registry
    else:
        # The worker's own registry holds only its share; the files hold every worker's.
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=folder)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
