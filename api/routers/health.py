"""Liveness, readiness and service information: GET /health, /ready and /."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.config import REFERENCE_END, REFERENCE_START
from api.deps import NOT_LOADED_HINT
from api.routers.docs import DOCS_URL

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers. It stays 200 without a model, so it is not restarted."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "no model loaded"}})
async def ready(request: Request) -> JSONResponse:
    """Readiness: 200 once the model is loaded, 503 (with the reason) until then."""
    bundle = request.app.state.bundle
    if bundle is None:
        request.state.error_type = "model_not_loaded"
        reason = request.app.state.model_error or NOT_LOADED_HINT
        return JSONResponse({"status": "not ready", "detail": reason}, status_code=503)
    status = request.app.state.follower.status
    body = {
        "status": "ready",
        "model_version": bundle.version,
        "registry_version": bundle.registry_version,
        # "cache": the registry was not reached; the last champion cached here serves.
        "model_source": status.source,
    }
    if status.registry_error is not None:
        body["registry_error"] = status.registry_error
    return JSONResponse(body)


@router.get("/")
async def service_info(request: Request) -> dict[str, Any]:
    """What this service is, which model it serves and where its endpoints are."""
    bundle = request.app.state.bundle
    model = None
    if bundle is not None:
        model = {
            "version": bundle.version,
            "trained_from": bundle.card.get("training_window", {}).get("start", REFERENCE_START),
            "trained_to": bundle.card.get("training_window", {}).get("end", REFERENCE_END),
            "training_metrics": bundle.card.get("training_metrics"),
            "registry_version": bundle.registry_version,
            "run_id": bundle.run_id,
        }
    return {
        "service": request.app.title,
        "version": request.app.version,
        "model": model,
        # The OpenAPI document is built once and cached by FastAPI.
        "endpoints": sorted(request.app.openapi()["paths"]),
        "docs": DOCS_URL,
    }
