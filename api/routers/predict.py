"""POST /predict: hourly rentals for one hour of features."""

from __future__ import annotations

from time import perf_counter
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.deps import require_bundle
from api.live_drift import LiveWindow
from api.metrics import Metrics
from api.schemas import ERROR_RESPONSES, BikeSharingInput, ErrorBody, PredictionOutput

__all__ = ["require_json", "router"]

router = APIRouter(tags=["model"])


def require_json(request: Request) -> None:
    """415 unless the body says it is JSON: a form or text body is a client's mistake, not a
    body to guess at."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        request.state.error_type = "unsupported_media_type"
        raise HTTPException(
            status_code=415, detail="Content-Type must be application/json (the body is JSON)"
        )


# The body is parsed by hand (below): its schema is declared here (api/openapi.py adds it).
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/BikeSharingInput"}}
        },
    }
}


@router.post(
    "/predict",
    response_model=PredictionOutput,
    openapi_extra=_BODY,
    responses={
        **ERROR_RESPONSES,
        415: {"model": ErrorBody, "description": "the body is not JSON (Content-Type)"},
        503: {"model": ErrorBody, "description": "no model loaded: run `make train`"},
    },
)
async def predict(request: Request) -> Response:
    """Predicted rentals (`cnt`) for the hour the body describes."""
    require_json(request)
    # The hot path is written out by hand, each step measured with tests/bench/run.py in
    # FastAPI 0.165: pydantic's own JSON parser in one pass saves ~60 us against FastAPI's
    # json.loads-then-validate, each dependency would cost ~50 us and response-model
    # serialisation ~20 us, against ~60 us for walking the trees.
    bundle = require_bundle(request)
    try:
        body = BikeSharingInput.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from None
    metrics: Metrics = request.app.state.metrics
    features = body.features()
    start = perf_counter()
    value = bundle.predict_one(features)
    metrics.model_inference_duration.observe(perf_counter() - start)
    metrics.model_predicted_rentals.observe(value)
    window: LiveWindow | None = request.app.state.live_window
    if window is not None:
        # The live drift scores' sample (~1 us: one lock, one row copy).
        window.add(features)
    # repr of a finite float is valid JSON; tree leaves are means of finite counts.
    return Response(f'{{"predicted_count":{value!r}}}', media_type="application/json")
