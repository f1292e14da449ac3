"""FastAPI dependencies as `Annotated` aliases: settings, metrics, the loaded model, and the
checks of the secrets that guard what can change the model's state (alerts, evaluations)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from api.config import Settings
from api.metrics import Metrics
from api.model import ModelBundle

__all__ = [
    "API_KEY_HEADER",
    "NOT_LOADED_HINT",
    "UNREADABLE",
    "BundleDep",
    "MetricsDep",
    "SettingsDep",
    "get_bundle",
    "require_api_key",
    "require_bundle",
    "require_operator_key",
    "require_webhook_token",
]

# The header that carries the /evaluate key.
API_KEY_HEADER = "X-API-Key"
# app.state's value for a secret whose file is configured but unreadable: nothing matches it.
UNREADABLE = "\0unreadable"

NOT_LOADED_HINT = "the model is not loaded (GET /ready says why): run `make train`"


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


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison: the time taken says nothing about how much matched."""
    return hmac.compare_digest(given.encode(), expected.encode())


def _unauthorized(request: Request, status: int, detail: str, challenge: str) -> HTTPException:
    request.state.error_type = "unauthorized"
    return HTTPException(status_code=status, detail=detail, headers={"WWW-Authenticate": challenge})


async def require_webhook_token(request: Request) -> None:
    """`Authorization: Bearer <ALERT_WEBHOOK_TOKEN>`, or 401; 403 when none is configured."""
    expected: str | None = request.app.state.webhook_token
    if expected is None or expected == UNREADABLE:
        why = "is configured" if expected is None else "can be read (see the log)"
        raise _unauthorized(
            request, 403, f"the alert webhook is off: no ALERT_WEBHOOK_TOKEN(_FILE) {why}", "Bearer"
        )
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not _same(token.strip(), expected):
        raise _unauthorized(
            request, 401, "a valid `Authorization: Bearer` token is required", "Bearer"
        )


async def require_operator_key(request: Request) -> None:
    """`X-API-Key: <EVALUATE_API_KEY>`, or 401; 403 when no key is configured: what changes the
    served model is never open."""
    expected: str | None = request.app.state.api_key
    if expected is None or expected == UNREADABLE:
        why = "is configured" if expected is None else "can be read (see the log)"
        raise _unauthorized(
            request, 403, f"model reloads are off: no EVALUATE_API_KEY(_FILE) {why}", API_KEY_HEADER
        )
    if not _same(request.headers.get(API_KEY_HEADER, ""), expected):
        raise _unauthorized(
            request, 401, f"a valid {API_KEY_HEADER} header is required", API_KEY_HEADER
        )


async def require_api_key(request: Request) -> None:
    """`X-API-Key: <EVALUATE_API_KEY>` when a key is configured, or 401."""
    expected: str | None = request.app.state.api_key
    if expected == UNREADABLE:
        raise _unauthorized(
            request,
            403,
            "/evaluate is off: EVALUATE_API_KEY_FILE is set but cannot be read (see the log)",
            API_KEY_HEADER,
        )
    if expected is not None and not _same(request.headers.get(API_KEY_HEADER, ""), expected):
        raise _unauthorized(
            request, 401, f"a valid {API_KEY_HEADER} header is required", API_KEY_HEADER
        )
