"""GET /metrics: the Prometheus text exposition, summed across workers in multiprocess mode."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from api.multiprocess import drop_dead_workers, multiprocess_dir

__all__ = ["router"]

router = APIRouter(tags=["monitoring"])


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Every metric of this API in Prometheus' text format."""
    folder = multiprocess_dir()
    if folder is None:
        registry = request.app.state.metrics.registry
    else:
        # The worker's own registry holds only its share; the files hold every worker's.
        drop_dead_workers(folder)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(folder))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
