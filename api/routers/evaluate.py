"""POST /evaluate: score a labelled batch against the January reference with Evidently.

One evaluation at a time on the host (a lock shared by every worker): a second request gets 429
with Retry-After before its body is read. With EVALUATE_API_KEY set, the `X-API-Key` header is
required: a batch moves the gauges the quality and drift alerts (and the retraining) read.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, NoReturn

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from api import logs
from api.config import FEATURES, TARGET
from api.deps import API_KEY_HEADER, MetricsDep, SettingsDep, require_api_key, require_bundle
from api.evaluation.lock import EvaluationLock
from api.evaluation.result import PREDICTION, REPORT_DECIMALS, EvaluationResult
from api.evaluation.worker import EvaluationFailed, EvaluationJob, EvaluationWorker, WorkerBusy
from api.history import History, LabelledBatch
from api.metrics import Metrics
from api.model import ModelBundle
from api.routers.predict import require_json
from api.schemas import ERROR_RESPONSES, JSON_NUMBER, BikeSharingInput, ErrorBody, field_name

__all__ = ["EvaluationRecord", "EvaluationReportOutput", "EvaluationRequest", "router"]

log = logs.get("evaluation")

# Labels of model_evaluations_total{outcome}.
SUCCESS, REJECTED, BUSY, FAILED = "success", "rejected", "busy", "failed"
# An hour of one city's bike system: UCI's busiest hour has 977 rentals.
MAX_CNT = 100_000
MAX_PERIOD_NAME = 100
# A day of hours: drift scores of a handful of rows are noise (one row scores a drift share of
# 0.45, which would page and trigger retraining), and the exam's weeks hold ~235.
MIN_EVALUATION_ROWS = 24
# A batch of broken rows would otherwise answer with one entry per bad field of every row.
MAX_LISTED_ERRORS = 20
BUSY_DETAIL = "an evaluation is already running (one at a time): retry when it is done"
# An evaluation of the exam's week takes ~1 s, one of the 10,000-row cap ~10 s.
RETRY_AFTER_SECONDS = 5
LOCK_FILE = "evaluation.lock"


class EvaluationRecord(BikeSharingInput):
    """One labelled hour: the 11 features, `dteday` and the true rentals `cnt`.

    Other keys of hour.csv (`instant`, `yr`, `casual`, `registered`) are accepted and ignored.
    """

    cnt: Annotated[
        int, Field(ge=0, le=MAX_CNT, description="true rentals in that hour"), JSON_NUMBER
    ]


class EvaluationRequest(BaseModel):
    """What the exam's run_evaluation.py sends (the schema the body is checked against)."""

    data: list[EvaluationRecord] = Field(
        min_length=MIN_EVALUATION_ROWS,
        description=f"labelled hours, at least {MIN_EVALUATION_ROWS} (a day) and at most "
        "MAX_EVALUATION_ROWS (10,000 by default); at least one with rentals (cnt > 0)",
        # Where every cnt is 0 the error scores are undefined: said in the schema too.
        json_schema_extra={
            "contains": {
                "type": "object",
                "properties": {"cnt": {"type": "integer", "minimum": 1}},
                "required": ["cnt"],
            }
        },
    )
    evaluation_period_name: str = Field(
        "unnamed", min_length=1, max_length=MAX_PERIOD_NAME, examples=["week1_february"]
    )


class EvaluationReportOutput(BaseModel):
    """The exam's EvaluationReportOutput, plus the drift details and where the report is."""

    message: str
    rmse: float | None = Field(description="None when undefined for the batch")
    mape: float | None = Field(description="percent")
    mae: float | None
    r2score: float | None = Field(description="None for a batch whose cnt is constant")
    drift_detected: bool = Field(description="drift_share >= DRIFT_SHARE_THRESHOLD")
    evaluated_items: int
    drift_share: float = Field(description="share of the 11 input features that drifted")
    drift_share_threshold: float
    drifted_features: list[str]
    feature_drift_scores: dict[str, float]
    report_html: str | None
    report_json: str | None
    warning: str | None = Field(
        None, description="set when the scores were published but the report was not written"
    )


_records = TypeAdapter(list[EvaluationRecord])


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Spawn the evaluation child once the model is loaded (or at the first /evaluate, when
    EVALUATION_WORKER_START says so); stop it on shutdown."""
    settings = app.state.settings
    worker = EvaluationWorker(log_level=settings.log_level, log_format=settings.log_format)
    bundle = app.state.bundle
    # Without a model /evaluate answers 503 until a restart, so there is nothing to warm.
    if bundle is not None:
        if settings.evaluation_worker_start == "startup":
            worker.start(bundle.reference_path)
        else:
            worker.prepare(bundle.reference_path)
    app.state.evaluation_worker = worker
    app.state.evaluation_lock = EvaluationLock(app.state.settings.state_dir / LOCK_FILE)
    try:
        yield
    finally:
        worker.stop()
        app.state.evaluation_worker = None


router = APIRouter(tags=["model"], lifespan=_lifespan)


def _refuse(request: Request, metrics: Metrics, outcome: str, status: int, detail: str) -> NoReturn:
    metrics.model_evaluations.labels(outcome).inc()
    request.state.error_type = "busy" if outcome == BUSY else "payload_too_large"
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if outcome == BUSY else None
    raise HTTPException(status_code=status, detail=detail, headers=headers)


def _parse(body: bytes, metrics: Metrics) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        metrics.model_evaluations.labels(REJECTED).inc()
        problem = {"type": "json_invalid", "loc": ("body",), "msg": f"not JSON: {exc}"[:200]}
        raise RequestValidationError([problem]) from None


def _validate(
    payload: Any, metrics: Metrics, max_rows: int, request: Request
) -> tuple[str, list[EvaluationRecord]]:
    """The period name and records, or 422 naming the record index, the field and the rule."""
    errors: list[dict[str, Any]] = []
    if not isinstance(payload, dict):
        errors.append({"type": "dict_type", "loc": ("body",), "msg": "must be a JSON object"})
        metrics.model_evaluations.labels(REJECTED).inc()
        raise RequestValidationError(errors)
    data = payload.get("data")
    if isinstance(data, list) and len(data) > max_rows:
        # Refused before any record is validated: the schema's maxItems, configured.
        metrics.model_evaluations.labels(REJECTED).inc()
        too_long = f"{len(data)} records, at most {max_rows} per evaluation (MAX_EVALUATION_ROWS)"
        raise RequestValidationError(
            [{"type": "too_long", "loc": ("body", "data"), "msg": too_long}]
        )
    name = payload.get("evaluation_period_name", "unnamed")
    if not isinstance(name, str) or not 0 < len(name) <= MAX_PERIOD_NAME:
        errors.append(
            {
                "type": "string_type",
                "loc": ("body", "evaluation_period_name"),
                "msg": f"must be a string of 1-{MAX_PERIOD_NAME} characters",
            }
        )
    records: list[EvaluationRecord] = []
    if data is None:
        errors.append({"type": "missing", "loc": ("body", "data"), "msg": "Field required"})
    elif not isinstance(data, list) or not data:
        errors.append(
            {"type": "list_type", "loc": ("body", "data"), "msg": "must be a non-empty list"}
        )
    else:
        try:
            records = _records.validate_python(data)
        except ValidationError as exc:
            found = exc.errors(include_url=False, include_context=False, include_input=False)
            for error in found[:MAX_LISTED_ERRORS]:
                errors.append(
                    {
                        "type": error["type"],
                        "loc": ("body", field_name(("data", *error["loc"]))),
                        "msg": error["msg"],
                    }
                )
            if len(found) > MAX_LISTED_ERRORS:
                errors.append(
                    {
                        "type": "too_many_errors",
                        "loc": ("body", "data"),
                        "msg": f"{len(found) - MAX_LISTED_ERRORS} more errors not listed",
                    }
                )
        else:
            if len(records) < MIN_EVALUATION_ROWS:
                errors.append(
                    {
                        "type": "too_short",
                        "loc": ("body", "data"),
                        "msg": f"{len(records)} records, at least {MIN_EVALUATION_ROWS} (a day "
                        "of hours): drift on fewer rows is noise",
                    }
                )
            elif not any(record.cnt for record in records):
                # MAPE divides by cnt; Evidently cannot score a batch without one rental.
                errors.append(
                    {
                        "type": "value_error",
                        "loc": ("body", "data"),
                        "msg": "cnt is 0 in every record: the error scores are undefined",
                    }
                )
    if errors:
        metrics.model_evaluations.labels(REJECTED).inc()
        raise RequestValidationError(errors)
    return name, records


# UCI publishes its ratios with 4 decimals. The report sees the batch at 1e-6: values closer than
# that (0 and 5e-324 are both valid ratios) would leave Evidently's histograms no finite-sized
# bins, and the evaluation would fail on a valid batch.


def _predicted_batch(records: list[EvaluationRecord], bundle: ModelBundle) -> pd.DataFrame:
    """The records as the report's table: the 11 features, the true cnt and the prediction
    (made on the values as sent; the table's features are rounded to REPORT_DECIMALS)."""
    table = np.array([(*r.features(), r.cnt) for r in records], dtype=np.float64)
    predictions = bundle.predict(table[:, : len(FEATURES)])
    current = pd.DataFrame(table.round(REPORT_DECIMALS), columns=[*FEATURES, TARGET])
    current[PREDICTION] = predictions
    return current


def _labelled_batch(records: list[EvaluationRecord]) -> LabelledBatch:
    """The labels as received (the values as sent, not the report's rounded ones), for the
    retrain flow: dteday, the 11 features and cnt."""
    frame = pd.DataFrame(
        [(r.dteday, *r.features(), r.cnt) for r in records], columns=["dteday", *FEATURES, TARGET]
    )
    days = frame["dteday"]
    return LabelledBatch(frame.to_csv(index=False), str(days.min()), str(days.max()))


def _message(name: str, result: EvaluationResult, threshold: float) -> str:
    drifted = len(result.drifted_features)
    verdict = "detected" if result.drift_detected else "not detected"
    rmse = "undefined" if result.rmse is None else f"{result.rmse:.2f}"
    return (
        f"Evaluation of '{name}' done on {result.rows} rows: RMSE {rmse}; data drift {verdict} "
        f"({drifted} of {len(FEATURES)} features drifted, share {result.drift_share:.2f} "
        f"{'>=' if result.drift_detected else '<'} threshold {threshold:.2f})"
    )


_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/EvaluationRequest"}}
        },
    }
}


@router.post(
    "/evaluate",
    response_model=EvaluationReportOutput,
    openapi_extra=_BODY,
    dependencies=[Depends(require_api_key)],
    responses={
        **ERROR_RESPONSES,
        401: {"model": ErrorBody, "description": f"EVALUATE_API_KEY is set: {API_KEY_HEADER}"},
        403: {"model": ErrorBody, "description": "EVALUATE_API_KEY_FILE is set but unreadable"},
        413: {
            "model": ErrorBody,
            "description": "the body is larger than MAX_BODY_BYTES",
        },
        415: {"model": ErrorBody, "description": "the body is not JSON (Content-Type)"},
        429: {"model": ErrorBody, "description": "an evaluation is running: see Retry-After"},
        503: {"model": ErrorBody, "description": "no model loaded, or the evaluation failed"},
    },
)
async def evaluate(
    request: Request, settings: SettingsDep, metrics: MetricsDep
) -> EvaluationReportOutput:
    """Predict the batch, report it against the reference (Evidently) and update the gauges.

    `{"data": [records], "evaluation_period_name": "week1_february"}`: each record holds the 11
    features, dteday (YYYY-MM-DD) and the true cnt, as the exam's run_evaluation.py sends them.
    One evaluation runs at a time on the host, in a child process (the event loop and /predict
    never wait on it); a request arriving meanwhile gets 429 at once, before its body is read.
    """
    require_json(request)
    bundle = require_bundle(request)
    worker: EvaluationWorker | None = getattr(request.app.state, "evaluation_worker", None)
    if worker is None:
        metrics.model_evaluations.labels(FAILED).inc()
        raise HTTPException(status_code=503, detail="the evaluation worker is not running")
    lock: EvaluationLock = request.app.state.evaluation_lock
    with lock.hold() as held:
        if not held or worker.busy:
            _refuse(request, metrics, BUSY, 429, BUSY_DETAIL)
        # Parsing 2 MB of JSON takes ~20 ms: off the event loop too.
        payload = await asyncio.to_thread(_parse, await request.body(), metrics)
        return await _evaluate(request, settings, metrics, bundle, worker, payload)


async def _evaluate(
    request: Request,
    settings: Any,
    metrics: Metrics,
    bundle: ModelBundle,
    worker: EvaluationWorker,
    payload: Any,
) -> EvaluationReportOutput:
    # Validating and predicting 10,000 records takes ~0.4 s: off the event loop, like the report.
    name, records = await asyncio.to_thread(
        _validate, payload, metrics, settings.max_evaluation_rows, request
    )
    start = time.perf_counter()
    current = await asyncio.to_thread(_predicted_batch, records, bundle)
    job = EvaluationJob(
        current=current,
        reference_path=bundle.reference_path,
        drift_share_threshold=settings.drift_share_threshold,
        reports_dir=settings.reports_dir,
        reports_keep=settings.reports_keep,
        label=name,
    )
    try:
        result = await worker.run(job)
    except WorkerBusy:  # cannot happen while the lock is held; kept as the worker's own guard
        _refuse(request, metrics, BUSY, 429, BUSY_DETAIL)
    except EvaluationFailed as exc:
        log.error("evaluation of %r failed: %s", name, exc)
        metrics.model_evaluations.labels(FAILED).inc()
        request.state.error_type = "internal"
        raise HTTPException(status_code=503, detail=f"evaluation failed: {exc.public}") from None
    seconds = time.perf_counter() - start
    metrics.model_evaluation_duration.observe(seconds)
    metrics.model_evaluations.labels(SUCCESS).inc()
    # In whole milliseconds, as MLflow keeps a run's start: the replicas that follow this
    # evaluation there show exactly the time this one does.
    at = int(time.time() * 1000) / 1000
    history: History | None = getattr(request.app.state, "history", None)
    if history is None:
        metrics.publish_evaluation(result, at)
    else:
        # Into the outbox (a local insert), then the gauges; the MLflow run is written in the
        # background, and every replica follows it there.
        model = (bundle.version, bundle.registry_version or "", bundle.run_id or "")
        batch = await asyncio.to_thread(_labelled_batch, records)
        await asyncio.to_thread(
            history.record_evaluation,
            name,
            result,
            model,
            settings.drift_share_threshold,
            at,
            batch,
        )
    warning = None
    if result.report_error is not None:
        # The scores are the product, the HTML a by-product: published, and said so.
        metrics.model_evaluation_report_failures.inc()
        log.warning("evaluation of %r: the report was not written: %s", name, result.report_error)
        warning = "the scores are published, but the report could not be written (see the log)"
    log.info(
        "evaluation of %r: %d rows in %.2f s, RMSE %s, drift share %.2f",
        name,
        result.rows,
        seconds,
        "undefined" if result.rmse is None else f"{result.rmse:.2f}",
        result.drift_share,
    )
    return EvaluationReportOutput(
        message=_message(name, result, settings.drift_share_threshold),
        rmse=result.rmse,
        mape=result.mape,
        mae=result.mae,
        r2score=result.r2,
        drift_detected=result.drift_detected,
        evaluated_items=result.rows,
        drift_share=result.drift_share,
        drift_share_threshold=settings.drift_share_threshold,
        drifted_features=list(result.drifted_features),
        feature_drift_scores=result.feature_drift_scores,
        report_html=str(result.html_path) if result.html_path else None,
        report_json=str(result.json_path) if result.json_path else None,
        warning=warning,
    )
