"""The OpenAPI document as the API really answers: our 422 body, and the bodies read by hand.

FastAPI describes a 422 as its `HTTPValidationError` (`type`, `loc`, `msg`); ours carries
`field`, `loc`, `rule`, `msg` and a one-line `message`. /predict and /evaluate read their bodies
themselves (the busy check and the fast path come first), so their schemas are added here to
the components they reference. A client generated from this document sends what the API takes.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from api.schemas import ValidationErrorBody

__all__ = ["document"]

_REF = "#/components/schemas/{model}"
_FASTAPI_422 = "#/components/schemas/HTTPValidationError"


def _components(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema and those it references, keyed for components/schemas."""
    schema = model.model_json_schema(ref_template=_REF)
    nested = schema.pop("$defs", {})
    return {model.__name__: schema, **nested}


def _swap_refs(node: Any, old: str, new: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and value == old:
                node[key] = new
            else:
                _swap_refs(value, old, new)
    elif isinstance(node, list):
        for item in node:
            _swap_refs(item, old, new)


def document(
    app: FastAPI, bodies: tuple[type[BaseModel], ...], max_evaluation_rows: int
) -> dict[str, Any]:
    """The app's OpenAPI document, built once and cached on the app; /evaluate's row cap is
    the configured one (MAX_EVALUATION_ROWS)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    models: tuple[type[BaseModel], ...] = (ValidationErrorBody, *bodies)
    for model in models:
        components.update(_components(model))
    _swap_refs(schema["paths"], _FASTAPI_422, _REF.format(model=ValidationErrorBody.__name__))
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    evaluation = components.get("EvaluationRequest")
    if evaluation is not None:
        evaluation["properties"]["data"]["maxItems"] = max_evaluation_rows
    app.openapi_schema = schema
    return schema
