"""FastAPI dependencies as `Annotated` aliases: settings, metrics and the loaded model."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from api.config import Settings
from api.metrics import Metrics
from api.model import ModelBundle

__all__ = [
    "NOT_LOADED_HINT",
    "BundleDep",
    "MetricsDep",
    "SettingsDep",
    "get_bundle",
    "require_bundle",
]

NOT_LOADED_HINT = "the model is not loaded: run `make train` (then restart the API)"


# async: a plain `def` dependency would cost a thread-pool hop per request.
async def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def app_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


def require_bundle(request: Request) -> ModelBundle:
    """The loaded model, or 503 telling the operator to train one."""
    bundle: ModelBundle | None = request.app.state.bundle
    if bundle is None:
        request.state.error_type = "model_not_loaded"
        raise HTTPException(status_code=503, detail=NOT_LOADED_HINT)
    return bundle


async def get_bundle(request: Request) -> ModelBundle:
    return require_bundle(request)


SettingsDep = Annotated[Settings, Depends(app_settings)]
MetricsDep = Annotated[Metrics, Depends(app_metrics)]
BundleDep = Annotated[ModelBundle, Depends(get_bundle)]
