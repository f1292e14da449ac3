"""bike-api: builds the FastAPI app (middleware, routers, lifespan); `app` is what uvicorn runs."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, disable_created_metrics
from prometheus_client import multiprocess as prometheus_multiprocess

from api import logs
from api.champion import ModelFollower
from api.config import SecretFileError, Settings, get_settings
from api.deps import UNREADABLE
from api.history import HISTORY_FILE, History
from api.live_drift import LiveDriftMonitor, LiveWindow
from api.metrics import Metrics
from api.middleware import RequestMetricsMiddleware, known_label_sets
from api.model import ModelNotAvailable, load_bundle
from api.multiprocess import multiprocess_dir
from api.multiprocess import prepare as prepare_multiprocess
from api.openapi import document
from api.prefect_trigger import PrefectClient, TriggerDelivery
from api.registry import Registry
from api.retraining import DECISIONS_FILE, DecisionLog, possible_decisions
from api.routers import alerts, docs, evaluate, health, metrics, model, predict
from api.routers.evaluate import EvaluationRequest
from api.schemas import BikeSharingInput, field_name

__all__ = ["app", "create_app"]

log = logs.get("app")


def _package_version() -> str:
    try:
        return version("bikewatch")
    except PackageNotFoundError:
        return "0+unknown"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load the model once; without one the API still serves /health, /ready and /metrics."""
    settings: Settings = app.state.settings
    app_metrics: Metrics = app.state.metrics
    decisions_path = settings.state_dir / DECISIONS_FILE
    app.state.decision_log = DecisionLog(
        app_metrics, decisions_path, prefect_configured=settings.prefect_api_url is not None
    )
    app.state.trigger_delivery = None
    if settings.prefect_api_url is not None:
        auth = settings.prefect_api_auth_string
        client = PrefectClient(
            settings.prefect_api_url, auth.get_secret_value() if auth is not None else None
        )
        delivery = TriggerDelivery(decisions_path, app_metrics, client, settings.retrain_deployment)
        delivery.start()
        app.state.trigger_delivery = delivery
    registry = Registry(settings.mlflow_tracking_uri, settings.mlflow_artifacts_dir)
    follower = ModelFollower(
        app.state, app_metrics, registry, settings.model_cache_dir, settings.model_poll_seconds
    )
    app.state.follower = follower
    app.state.history = None
    if settings.model_source == "folder":
        # No MLflow at all: the model as MODEL_DIR holds it, no registry, no history.
        try:
            follower.install_folder(load_bundle(settings.model_dir))
            log.info("model %s loaded from %s", app.state.bundle.version, settings.model_dir)
        except ModelNotAvailable as exc:
            log.warning("starting without a model (%s): %s", settings.model_dir, exc)
            app.state.model_error = str(exc)
    else:
        # The cached champion serves at once; the registry is asked in the background.
        follower.load_cached()
        follower.start()
        app.state.history = History(
            settings.state_dir / HISTORY_FILE,
            registry,
            app_metrics,
            follow_seconds=settings.model_poll_seconds,
        )
        app.state.history.start(lambda: follower.status.registry_version)
    if app.state.bundle is None:
        app_metrics.model_loaded.set(0)
    app.state.live_drift = None
    if app.state.live_window is not None:

        def reference() -> Path | None:
            bundle = app.state.bundle
            return None if bundle is None else bundle.reference_path

        app.state.live_drift = LiveDriftMonitor(
            app.state.live_window,
            app_metrics,
            reference,
            interval=settings.live_drift_interval_seconds,
            min_rows=min(settings.live_drift_min_rows, settings.live_drift_window),
        )
        app.state.live_drift.start()
    # Everything loaded so far lives as long as the process: frozen, full garbage collections
    # stop rescanning it (~60 us per /predict request, measured with tests/bench/run.py).
    gc.freeze()
    yield
    follower.stop()
    if app.state.live_drift is not None:
        app.state.live_drift.stop()
    if app.state.trigger_delivery is not None:
        app.state.trigger_delivery.stop()
    if app.state.history is not None:
        app.state.history.stop()
    app.state.bundle = None
    folder = multiprocess_dir()
    if folder is not None:
        # Drops this worker's live gauges (active requests, model_loaded) from the sums.
        prometheus_multiprocess.mark_process_dead(os.getpid(), str(folder))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 listing each bad field with the rule it broke (and without echoing the input)."""
    assert isinstance(exc, RequestValidationError)
    problems: list[dict[str, Any]] = []
    for error in exc.errors():
        raw = tuple(error.get("loc", ()))
        loc = [str(part) for part in raw]
        rule = error.get("type")
        # A JSON syntax error's loc is a character position, not a field. `loc` starts with
        # "body"; the field is the path below it: "temp", "data[3].cnt", "alerts[0].status".
        field = "body" if rule == "json_invalid" else field_name(raw[1:] or raw)
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        problems.append({"field": field, "loc": loc, "rule": rule, "msg": message})
    message = "; ".join(f"{p['field']}: {p['msg']}" for p in problems)
    return JSONResponse({"detail": problems, "message": message}, status_code=422)


def _secret(what: str, read: Callable[[], str | None]) -> str | None:
    """The configured secret (None: none configured), or UNREADABLE (logged) when its file is
    configured but cannot be read: what it guards then refuses every call (fail closed) rather
    than the API refusing to start."""
    try:
        return read()
    except SecretFileError as exc:
        log.error("%s cannot be used, every call it guards is refused: %s", what, exc)
        return UNREADABLE


def create_app(
    settings: Settings | None = None, registry: CollectorRegistry | None = None
) -> FastAPI:
    """Build the API; nothing heavy happens here (the model loads in the lifespan)."""
    settings = settings or get_settings()
    logs.configure(settings.log_level, settings.log_format)
    folder = multiprocess_dir()
    if folder is not None:
        # Before this worker creates a metric: a new run starts from an empty folder.
        prepare_multiprocess(folder)
    # `_created` series double the exposition and no dashboard reads them.
    disable_created_metrics()
    app = FastAPI(
        title="bike-api",
        version=_package_version(),
        description="Hourly bike rental predictions (UCI Bike Sharing), monitored by bikewatch.",
        lifespan=lifespan,
        # /docs is served offline (routers/docs.py), /openapi.json by a route of ours (so it is
        # counted under its name); ReDoc would load from a CDN, so it is off.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.metrics = Metrics(registry if registry is not None else CollectorRegistry())
    app.state.bundle = None
    app.state.model_error = None
    # /predict's inputs for the live drift scores (None: LIVE_DRIFT_WINDOW=0, off).
    app.state.live_window = (
        LiveWindow(settings.live_drift_window) if settings.live_drift_window else None
    )
    app.state.webhook_token = _secret("the alert webhook's token", settings.webhook_token)
    app.state.api_key = _secret("the /evaluate key", settings.api_key)
    app.add_middleware(
        RequestMetricsMiddleware,
        metrics=app.state.metrics,
        max_body_bytes=settings.max_body_bytes,
        body_timeout=settings.request_body_timeout_seconds,
        allowed_hosts=settings.hosts,
    )
    app.add_exception_handler(RequestValidationError, _validation_error)
    # /predict first: routes are matched in order, and it is the route that carries load.
    app.include_router(predict.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(alerts.router)
    app.include_router(evaluate.router)
    app.include_router(model.router)
    app.include_router(docs.router)
    app.mount(docs.ASSETS_URL, docs.assets(), name="docs-assets")
    app.openapi = lambda: document(  # type: ignore[method-assign]
        app, (BikeSharingInput, EvaluationRequest), settings.max_evaluation_rows
    )
    app.openapi_url = docs.OPENAPI_URL
    requests, errors = _label_sets(app)
    app.state.metrics.start_at_zero(requests, errors, possible_decisions())
    return app


LabelSets = tuple[list[tuple[str, str, str]], list[tuple[str, str]]]
_known: list[LabelSets] = []


def _label_sets(app: FastAPI) -> LabelSets:
    """The counters' label sets, from the first app built: every app create_app builds has the
    same routes, and reading them from its OpenAPI document costs ~50 ms."""
    if not _known:
        _known.append(known_label_sets(_declared_routes(app)))
    return _known[0]


def _declared_routes(app: FastAPI) -> list[tuple[str, list[str], list[int]]]:
    """(template, methods, statuses) of every operation: the statuses its OpenAPI entry declares
    (FastAPI adds the 422 of validated input), and the documentation routes outside the schema."""
    declared = [
        (path, [method.upper()], [int(code) for code in operation.get("responses", {"200": {}})])
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
    ]
    schema_paths = {path for path, _, _ in declared}
    for route in app.routes:
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if path is not None and methods and path not in schema_paths:
            declared.append((path, sorted(methods - {"HEAD"}), [200]))
    return declared


app = create_app()
