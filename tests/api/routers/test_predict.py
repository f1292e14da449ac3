"""POST /predict: answers, and the bad-input table (each 4xx naming the field, never 5xx)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.config import FEATURES
from api.model import load_bundle
from api.schemas import EXAMPLE_HOUR

GOOD: dict[str, Any] = dict(EXAMPLE_HOUR)
JSON = {"content-type": "application/json"}


def test_predict_returns_the_models_prediction(client: TestClient, model_dir: Path) -> None:
    response = client.post("/predict", json=GOOD)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["predicted_count"]
    expected = load_bundle(model_dir).predict_one(tuple(float(GOOD[f]) for f in FEATURES))
    assert body["predicted_count"] == expected
    assert body["predicted_count"] > 0


def test_integral_floats_and_extra_fields_are_accepted(client: TestClient) -> None:
    # Clients serialising a float frame send 8.0 for hr; exported rows may carry cnt/instant.
    body = {**GOOD, "hr": 8.0, "mnth": 2.0, "cnt": 120, "instant": 1000}
    assert client.post("/predict", json=body).json() == client.post("/predict", json=GOOD).json()


def test_bounds_are_inclusive(client: TestClient) -> None:
    edge = {**GOOD, "temp": 0, "atemp": 1, "hum": 1.0, "windspeed": 0.0, "hr": 23, "weekday": 0}
    assert client.post("/predict", json=edge).status_code == 200


def _without(field: str) -> dict[str, Any]:
    return {k: v for k, v in GOOD.items() if k != field}


# (case id, raw body, field the answer must name, words of the rule it must state)
BAD_INPUTS: list[tuple[str, str, str, str]] = [
    ("temp above 1", json.dumps({**GOOD, "temp": 1.01}), "temp", "less than or equal to 1"),
    ("atemp negative", json.dumps({**GOOD, "atemp": -0.1}), "atemp", "greater than or equal to 0"),
    ("hum above 1", json.dumps({**GOOD, "hum": 55}), "hum", "less than or equal to 1"),
    (
        "windspeed NaN",
        json.dumps(GOOD).replace('"windspeed": 0.2836', '"windspeed": NaN'),
        "windspeed",
        "finite",
    ),
    (
        "temp Infinity",
        json.dumps(GOOD).replace('"temp": 0.22', '"temp": Infinity'),
        "temp",
        "finite",
    ),
    ("temp as string", json.dumps({**GOOD, "temp": "0.22"}), "temp", "not str"),
    ("mnth 0", json.dumps({**GOOD, "mnth": 0}), "mnth", "greater than or equal to 1"),
    ("mnth 13", json.dumps({**GOOD, "mnth": 13}), "mnth", "less than or equal to 12"),
    ("hr 24", json.dumps({**GOOD, "hr": 24}), "hr", "less than or equal to 23"),
    ("hr fractional", json.dumps({**GOOD, "hr": 7.5}), "hr", "fractional part"),
    ("hr boolean", json.dumps({**GOOD, "hr": True}), "hr", "not bool"),
    ("weekday 7", json.dumps({**GOOD, "weekday": 7}), "weekday", "less than or equal to 6"),
    ("season 5", json.dumps({**GOOD, "season": 5}), "season", "less than or equal to 4"),
    ("holiday 2", json.dumps({**GOOD, "holiday": 2}), "holiday", "less than or equal to 1"),
    ("workingday -1", json.dumps({**GOOD, "workingday": -1}), "workingday", "greater than"),
    ("weathersit 0", json.dumps({**GOOD, "weathersit": 0}), "weathersit", "greater than"),
    ("weathersit null", json.dumps({**GOOD, "weathersit": None}), "weathersit", "integer"),
    ("dteday other format", json.dumps({**GOOD, "dteday": "14/02/2011"}), "dteday", "YYYY-MM-DD"),
    ("dteday not a day", json.dumps({**GOOD, "dteday": "2011-02-30"}), "dteday", "calendar date"),
    ("dteday a number", json.dumps({**GOOD, "dteday": 20110214}), "dteday", "string"),
    ("missing hr", json.dumps(_without("hr")), "hr", "Field required"),
    ("missing dteday", json.dumps(_without("dteday")), "dteday", "Field required"),
    ("not JSON", "temp=0.22&hr=8", "body", "Invalid JSON"),
    ("empty body", "", "body", "Invalid JSON"),
    ("a list", json.dumps([GOOD]), "body", "object"),
]


@pytest.mark.parametrize(
    ("body", "field", "rule"), [case[1:] for case in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_input_is_a_4xx_naming_field_and_rule(
    client: TestClient, body: str, field: str, rule: str
) -> None:
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    answer = response.json()
    named = [p for p in answer["detail"] if p["field"] == field]
    assert named, f"{field} not named in {answer}"
    assert any(rule in p["msg"] for p in named), answer
    assert f"{field}: " in answer["message"]
    assert "input" not in named[0], "the input is not echoed back"


def test_oversized_body_is_413(client: TestClient) -> None:
    limit = client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    padded = json.dumps({**GOOD, "pad": "x" * limit})
    response = client.post("/predict", content=padded, headers=JSON)
    assert response.status_code == 413
    assert "MAX_BODY_BYTES" in response.json()["detail"]


def test_oversized_streamed_body_is_413(client: TestClient) -> None:
    # No Content-Length (chunked): the cap counts the bytes as they arrive.
    limit = client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    chunks = (b"x" * 65536 for _ in range(limit // 65536 + 2))
    response = client.post("/predict", content=chunks, headers=JSON)
    assert response.status_code == 413


def test_wrong_method_is_405(client: TestClient) -> None:
    assert client.get("/predict").status_code == 405
