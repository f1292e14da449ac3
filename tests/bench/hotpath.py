"""`run.py --only hotpath`: where a /predict's time goes, in-process, without the network.

The ASGI apps are called directly, request after request, on one event loop: the bare app of
`bare_app.py`, then bike-api (its real lifespan: model, metrics, live window, evaluation
worker) with `ModelBundle.predict_one` timed in place, so the walk of the trees is measured
inside the request path, caches as the rest of the request leaves them. wrk's figures add
uvicorn's HTTP parsing and the socket to both sides alike.

Run as a child by run.py (`python hotpath.py`): the API reads its settings at import.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from api.schemas import EXAMPLE_HOUR  # noqa: E402

BODY = json.dumps(EXAMPLE_HOUR).encode()
WARM_UP = 500
REQUESTS = 5000
ROUNDS = 3
# The evaluation worker's child imports Evidently after start-up: let it finish first.
SETTLE_SECONDS = 10

Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def _scope() -> dict[str, Any]:
    headers = [
        (b"host", b"127.0.0.1:8080"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
    ]
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/predict", "raw_path": b"/predict", "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8080), "state": {},
    }  # fmt: skip


async def _request(app: Asgi) -> None:
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": BODY, "more_body": False}
        await asyncio.Event().wait()  # no disconnect while the answer is sent
        raise AssertionError("unreachable")

    status = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(), receive, send)
    if status != 200:
        raise RuntimeError(f"/predict answered {status}")


async def _per_request_us(app: Asgi) -> float:
    """Microseconds per request: the median of ROUNDS runs of REQUESTS after a warm-up."""
    for _ in range(WARM_UP):
        await _request(app)
    runs = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        for _ in range(REQUESTS):
            await _request(app)
        runs.append((time.perf_counter() - began) / REQUESTS * 1e6)
    return statistics.median(runs)


async def _measure() -> dict[str, float]:
    from bare_app import app as bare

    from api.main import app
    from api.model import ModelBundle

    figures = {"bare_us": await _per_request_us(bare)}
    async with app.router.lifespan_context(app):
        await asyncio.sleep(SETTLE_SECONDS)
        figures["predict_us"] = await _per_request_us(app)
        walk = ModelBundle.predict_one
        spent = [0.0, 0]

        def timed(self: ModelBundle, row: Any) -> float:
            began = time.perf_counter()
            value = walk(self, row)
            spent[0] += time.perf_counter() - began
            spent[1] += 1
            return value

        ModelBundle.predict_one = timed  # type: ignore[method-assign]
        try:
            await _per_request_us(app)
        finally:
            ModelBundle.predict_one = walk  # type: ignore[method-assign]
        figures["walk_us"] = spent[0] / spent[1] * 1e6
    return figures


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_measure())))
