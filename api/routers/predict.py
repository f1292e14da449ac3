"""POST /predict: hourly rentals for one hour of features."""

from __future__ import annotations

from time import perf_counter
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.deps import require_bundle
from api.metrics import Metrics
from api.schemas import BikeSharingInput, PredictionOutput

__all__ = ["router"]

router = APIRouter(tags=["model"])

# The body is parsed by hand (below), so its schema is declared for the OpenAPI docs here.
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": BikeSharingInput.model_json_schema()}},
    }
}


@router.post(
    "/predict",
    response_model=PredictionOutput,
    openapi_extra=_BODY,
    responses={
        413: {"description": "body over MAX_BODY_BYTES"},
        422: {"description": "a field breaks its rule; the body names each field and rule"},
        503: {"description": "no model loaded: run `make train`"},
    },
)
async def predict(request: Request) -> Response:
    """Predicted rentals (`cnt`) for the hour the body describes."""
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
    start = perf_counter()
    value = bundle.predict_one(body.features())
    metrics.model_inference_duration.observe(perf_counter() - start)
    metrics.model_predicted_rentals.observe(value)
    # repr of a finite float is valid JSON; tree leaves are means of finite counts.
    return Response(f'{{"predicted_count":{value!r}}}', media_type="application/json")
