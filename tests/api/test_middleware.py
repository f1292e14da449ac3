"""api/middleware.py: request metrics on a fresh registry, compared as exposition text."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from api.metrics import (
    ALL_SPECS,
    API_ACTIVE_REQUESTS,
    API_ERRORS,
    API_REQUEST_DURATION,
    API_REQUESTS,
)
from api.middleware import UNMATCHED
from api.schemas import EXAMPLE_HOUR as GOOD


def _lines(registry: CollectorRegistry, prefix: str) -> list[str]:
    """The series of `prefix` that counted something (every known label set exists at 0)."""
    text = generate_latest(registry).decode()
    return [
        line
        for line in text.splitlines()
        if line.startswith(prefix + "{") and not line.endswith(" 0.0")
    ]


def test_request_series_are_labelled_by_route_template(
    client: TestClient, registry: CollectorRegistry
) -> None:
    client.post("/predict", json=GOOD)
    client.post("/predict", json=GOOD)
    client.post("/predict", json={**GOOD, "hr": 99})
    client.get("/predict")
    client.request("BREW", "/predict")
    for path in ("/admin", "/wp-login.php", "/predict/123", "/a?b=c"):
        client.get(path)
    client.get("/health")
    assert sorted(_lines(registry, API_REQUESTS.name)) == sorted(
        [
            f'{API_REQUESTS.name}{{endpoint="/predict",method="POST",status_code="200"}} 2.0',
            f'{API_REQUESTS.name}{{endpoint="/predict",method="POST",status_code="422"}} 1.0',
            f'{API_REQUESTS.name}{{endpoint="/predict",method="GET",status_code="405"}} 1.0',
            f'{API_REQUESTS.name}{{endpoint="/predict",method="OTHER",status_code="405"}} 1.0',
            f'{API_REQUESTS.name}{{endpoint="{UNMATCHED}",method="GET",status_code="404"}} 4.0',
            f'{API_REQUESTS.name}{{endpoint="/health",method="GET",status_code="200"}} 1.0',
        ]
    )
    assert sorted(_lines(registry, API_ERRORS.name)) == sorted(
        [
            f'{API_ERRORS.name}{{endpoint="/predict",error_type="validation"}} 1.0',
            f'{API_ERRORS.name}{{endpoint="/predict",error_type="method_not_allowed"}} 2.0',
            f'{API_ERRORS.name}{{endpoint="{UNMATCHED}",error_type="not_found"}} 4.0',
        ]
    )


def test_random_paths_collapse_into_one_series(
    client: TestClient, registry: CollectorRegistry
) -> None:
    for i in range(25):
        client.get(f"/random/{i}/path-{i * 7}")
    lines = _lines(registry, API_REQUESTS.name)
    assert lines == [
        f'{API_REQUESTS.name}{{endpoint="{UNMATCHED}",method="GET",status_code="404"}} 25.0'
    ]
    counts = _lines(registry, API_REQUEST_DURATION.count)
    assert counts == [
        f'{API_REQUEST_DURATION.count}{{endpoint="{UNMATCHED}",method="GET",status_code="404"}} '
        "25.0"
    ]


def test_validation_errors_are_timed(client: TestClient, registry: CollectorRegistry) -> None:
    client.post("/predict", json={**GOOD, "temp": 3})
    labels = {"endpoint": "/predict", "method": "POST", "status_code": "422"}
    assert registry.get_sample_value(API_REQUEST_DURATION.count, labels) == 1.0
    assert (registry.get_sample_value(API_REQUEST_DURATION.sum, labels) or 0) > 0
    inf = {**labels, "le": "+Inf"}
    assert registry.get_sample_value(API_REQUEST_DURATION.bucket, inf) == 1.0


def test_oversized_bodies_count_as_payload_too_large(
    client: TestClient, registry: CollectorRegistry
) -> None:
    limit = client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    body = b"x" * (limit + 1)
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    labels = {"endpoint": "/predict", "error_type": "payload_too_large"}
    assert registry.get_sample_value(API_ERRORS.name, labels) == 1.0


def test_metrics_scrapes_are_counted_not_timed(
    client: TestClient, registry: CollectorRegistry
) -> None:
    for _ in range(3):
        scrape = client.get("/metrics")
    # The scrape in flight is the one active request it reports.
    assert f"{API_ACTIVE_REQUESTS.name} 1.0" in scrape.text.splitlines()
    assert _lines(registry, API_REQUESTS.name) == [
        f'{API_REQUESTS.name}{{endpoint="/metrics",method="GET",status_code="200"}} 3.0'
    ]
    assert _lines(registry, API_REQUEST_DURATION.count) == []
    assert registry.get_sample_value(API_ACTIVE_REQUESTS.name) == 0.0


def test_exposition_has_every_spec_and_no_created_series(client: TestClient) -> None:
    scrape = client.get("/metrics")
    assert scrape.headers["content-type"] == CONTENT_TYPE_LATEST
    families = {line.split()[2] for line in scrape.text.splitlines() if line.startswith("# TYPE ")}
    # Measurements (the evaluation scores) appear with the first measurement.
    assert families == {spec.name for spec in ALL_SPECS if not spec.absent_until_set}
    assert "_created" not in scrape.text


def test_prediction_metrics(client: TestClient, registry: CollectorRegistry) -> None:
    from api.metrics import MODEL_INFERENCE_DURATION, MODEL_PREDICTED_RENTALS

    predicted = client.post("/predict", json=GOOD).json()["predicted_count"]
    assert registry.get_sample_value(MODEL_INFERENCE_DURATION.count) == 1.0
    assert registry.get_sample_value(MODEL_PREDICTED_RENTALS.count) == 1.0
    assert registry.get_sample_value(MODEL_PREDICTED_RENTALS.sum) == predicted


def test_streamed_oversize_on_a_plain_starlette_route_is_413(registry: CollectorRegistry) -> None:
    # Outside FastAPI the 413 still comes out (Starlette's HTTPException handler, plain text).
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from api.metrics import Metrics
    from api.middleware import RequestMetricsMiddleware

    async def echo(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(await request.body())))

    app = Starlette(routes=[Route("/echo", echo, methods=["POST"])])
    app.add_middleware(RequestMetricsMiddleware, metrics=Metrics(registry), max_body_bytes=1024)
    with TestClient(app) as client:
        assert client.post("/echo", content=b"x" * 1000).text == "1000"
        streamed = client.post("/echo", content=(b"x" * 600 for _ in range(3)))
        assert streamed.status_code == 413
        assert "1024 bytes" in streamed.text
    assert _lines(registry, API_REQUESTS.name) == [
        f'{API_REQUESTS.name}{{endpoint="/echo",method="POST",status_code="200"}} 1.0',
        f'{API_REQUESTS.name}{{endpoint="/echo",method="POST",status_code="413"}} 1.0',
    ]


def test_streamed_oversize_on_a_bare_asgi_app_is_413(registry: CollectorRegistry) -> None:
    # No exception handler at all around the body read: the middleware answers 413 itself.
    from starlette.types import Receive, Scope, Send

    from api.metrics import Metrics
    from api.middleware import RequestMetricsMiddleware

    async def reader(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = RequestMetricsMiddleware(reader, metrics=Metrics(registry), max_body_bytes=1024)
    # No `with`: this app speaks no lifespan protocol.
    response = TestClient(app).post("/anything", content=(b"x" * 600 for _ in range(3)))
    assert response.status_code == 413
    assert "1024 bytes" in response.json()["detail"]
    assert _lines(registry, API_ERRORS.name) == [
        f'{API_ERRORS.name}{{endpoint="{UNMATCHED}",error_type="payload_too_large"}} 1.0'
    ]


def test_only_the_configured_hosts_are_answered(
    client: TestClient, registry: CollectorRegistry
) -> None:
    # A page whose DNS name was rebound to 127.0.0.1 still sends its own name as Host.
    for host in ("rebinding.example", "rebinding.example:8080", "127.0.0.2"):
        response = client.post("/predict", json=GOOD, headers={"Host": host})
        assert response.status_code == 400, host
        assert "ALLOWED_HOSTS" in response.json()["detail"]
    for host in ("localhost:8080", "127.0.0.1", "[::1]:8080", "bike-api:8080", "LOCALHOST"):
        assert client.post("/predict", json=GOOD, headers={"Host": host}).status_code == 200
    assert (
        registry.get_sample_value(
            API_ERRORS.name, {"endpoint": UNMATCHED, "error_type": "invalid_host"}
        )
        == 3
    )


def test_the_docs_and_the_schema_count_under_their_own_routes(
    client: TestClient, registry: CollectorRegistry
) -> None:
    for path in ("/docs", "/openapi.json", "/docs/assets/swagger-ui.css"):
        assert client.get(path).status_code == 200, path
    counted = _lines(registry, API_REQUESTS.name)
    assert any('endpoint="/docs"' in line for line in counted)
    assert any('endpoint="/openapi.json"' in line for line in counted)
    assert not any(UNMATCHED in line for line in counted), counted


def test_predict_takes_json_only(client: TestClient, registry: CollectorRegistry) -> None:
    text = client.post("/predict", content=b"hr=8", headers={"Content-Type": "text/plain"})
    form = client.post("/predict", data={"hr": "8"})
    for response in (text, form):
        assert response.status_code == 415
        assert "application/json" in response.json()["detail"]
    assert (
        registry.get_sample_value(
            API_ERRORS.name, {"endpoint": "/predict", "error_type": "unsupported_media_type"}
        )
        == 2
    )


def _server_milliseconds(response: httpx.Response) -> float:
    """The `app;dur=<ms>` of a response's Server-Timing header."""
    name, _, duration = response.headers["server-timing"].partition(";dur=")
    assert name == "app", response.headers["server-timing"]
    return float(duration)


def test_every_answer_tells_its_server_time(
    client: TestClient, registry: CollectorRegistry
) -> None:
    answers = {
        "200": client.post("/predict", json=GOOD),
        "422": client.post("/predict", json={**GOOD, "hr": 99}),
        "415": client.post("/predict", content=b"hr=8", headers={"Content-Type": "text/plain"}),
    }
    refused = client.post("/predict", json=GOOD, headers={"Host": "rebinding.example"})
    missing = client.get("/nowhere")
    for response in (*answers.values(), refused, missing):
        assert _server_milliseconds(response) > 0, response
        assert len(response.headers.get_list("server-timing")) == 1
    # One figure: what the histogram observed is what the client was told (to the header's us).
    for status, response in answers.items():
        labels = {"endpoint": "/predict", "method": "POST", "status_code": status}
        observed = registry.get_sample_value(API_REQUEST_DURATION.sum, labels)
        assert observed is not None, labels
        assert abs(_server_milliseconds(response) - observed * 1000) <= 0.0005, (status, observed)
