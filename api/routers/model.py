"""The served model and its history: POST /model/reload, GET /model, GET /evaluations."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from api.champion import ModelFollower
from api.deps import API_KEY_HEADER, require_operator_key
from api.history import MAX_LISTED, History
from api.registry import CHAMPION_ALIAS, MODEL_NAME, RegistryError
from api.schemas import ERROR_RESPONSES, ErrorBody

__all__ = ["router"]

router = APIRouter(tags=["model"])


class ModelStatus(BaseModel):
    """The model served, where it came from, and the registry as last seen."""

    model_version: str | None = Field(description="the model card's version (artifact sha256)")
    registry_version: str | None = Field(description=f"version of {MODEL_NAME} served")
    run_id: str | None = Field(description="the MLflow run that trained it")
    source: str | None = Field(description="registry, cache (registry not reached) or folder")
    registry_error: str | None = Field(description="why the registry was not reached, if so")
    reload_error: str | None = Field(description="why the newest champion is not served, if so")


class ReloadOutcome(BaseModel):
    outcome: str = Field(
        description="swapped, unchanged, failed, no_champion or registry_unreachable"
    )
    version: str | None = None
    previous: str | None = None
    detail: str | None = None


class Evaluation(BaseModel):
    run_id: str
    evaluated_at: str
    period: str | None
    model_version: str | None
    model_registry_version: str | None
    rows: int | None
    rmse: float | None
    mae: float | None
    r2: float | None
    mape: float | None
    drift_share: float | None
    drift_detected: bool


class EvaluationList(BaseModel):
    evaluations: list[Evaluation] = Field(description="newest first")


def _follower(request: Request) -> ModelFollower:
    follower: ModelFollower = request.app.state.follower
    return follower


def _status(request: Request) -> ModelStatus:
    bundle = request.app.state.bundle
    status = _follower(request).status
    return ModelStatus(
        model_version=bundle.version if bundle is not None else None,
        registry_version=bundle.registry_version if bundle is not None else None,
        run_id=bundle.run_id if bundle is not None else None,
        source=status.source if bundle is not None else None,
        registry_error=status.registry_error,
        reload_error=status.reload_error,
    )


@router.get("/model", summary="The model served and the registry's state")
async def model(request: Request) -> ModelStatus:
    return _status(request)


@router.post(
    "/model/reload",
    summary=f"Serve {MODEL_NAME}@{CHAMPION_ALIAS} now, rather than at the next poll",
    dependencies=[Depends(require_operator_key)],
    responses={
        401: {"model": ErrorBody, "description": f"no or a wrong {API_KEY_HEADER}"},
        403: {"model": ErrorBody, "description": "no key configured: reloads are off"},
        409: {"model": ErrorBody, "description": "MODEL_SOURCE=folder: no registry to follow"},
        **ERROR_RESPONSES,
    },
)
async def reload(request: Request) -> ReloadOutcome:
    """Ask the registry for the champion and swap to it (verified first; a broken version is
    refused and the served model stays). Other workers follow at their next poll."""
    follower = _follower(request)
    if request.app.state.settings.model_source == "folder":
        raise HTTPException(status_code=409, detail="MODEL_SOURCE=folder: there is no registry")
    outcome: dict[str, Any] = await asyncio.to_thread(follower.check)
    return ReloadOutcome(**outcome)


@router.get(
    "/evaluations",
    summary="Evaluations recorded in MLflow, newest first",
    responses={
        409: {"model": ErrorBody, "description": "MODEL_SOURCE=folder: no MLflow history"},
        503: {"model": ErrorBody, "description": "the MLflow store cannot be read"},
    },
)
async def evaluations(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED, description="at most this many")] = 20,
) -> EvaluationList:
    history: History | None = request.app.state.history
    if history is None:
        raise HTTPException(status_code=409, detail="MODEL_SOURCE=folder: no MLflow history")
    try:
        found = await asyncio.to_thread(history.evaluations, limit)
    except RegistryError as exc:
        request.state.error_type = "internal"
        raise HTTPException(status_code=503, detail=f"the history cannot be read: {exc}") from None
    return EvaluationList(evaluations=[Evaluation(**item) for item in found])
