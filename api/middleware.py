"""Pure ASGI middleware: request metrics by route template, and the request body size cap."""

from __future__ import annotations

import json
from collections.abc import Iterable
from time import perf_counter
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import API_ERRORS, Metrics

__all__ = ["UNMATCHED", "UNTIMED_ENDPOINTS", "RequestMetricsMiddleware", "known_label_sets"]

# Every path no route matches counts under this one value: random 404 paths cannot create series.
UNMATCHED = "<unmatched>"
# Prometheus' own scrapes are counted but not timed: they would skew the API's latency.
UNTIMED_ENDPOINTS = frozenset({"/metrics"})
# Any other method (clients may send anything) is one value: the label stays bounded.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "OTHER"
ERROR_TYPE_BY_STATUS = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    422: "validation",
}
ERROR_TYPES = frozenset(API_ERRORS.label_values["error_type"])
# What a route's declared error answers are named when the handler names them (request.state).
DECLARED_ERROR_TYPES = {**ERROR_TYPE_BY_STATUS, 429: "busy", 503: "model_not_loaded"}
# Every route can fail with a server error; the 5xx ratio and its alert count them.
SERVER_ERROR = 500
# A request to an unknown path: how clients most often get one.
UNMATCHED_REQUESTS = (("GET", 404), ("POST", 404))


def known_label_sets(
    routes: Iterable[tuple[str, Iterable[str], Iterable[int]]],
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """The (endpoint, method, status) and (endpoint, error_type) label sets the app can produce,
    from each route's template, methods and declared statuses (its OpenAPI responses), plus a
    server error for every route and the not-found answers of unknown paths."""
    requests: set[tuple[str, str, str]] = set()
    errors: set[tuple[str, str]] = set()
    declared = [
        (path, list(methods), {*statuses, SERVER_ERROR}) for path, methods, statuses in routes
    ]
    declared.append((UNMATCHED, [m for m, _ in UNMATCHED_REQUESTS], {404}))
    for path, methods, statuses in declared:
        for method in methods:
            requests.update((path, method, str(status)) for status in statuses)
        for status in statuses:
            if status >= 400:
                fallback = "client_error" if status < 500 else "internal"
                errors.add((path, DECLARED_ERROR_TYPES.get(status, fallback)))
    return sorted(requests), sorted(errors)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    if route is None:
        return UNMATCHED
    return str(getattr(route, "path_format", None) or getattr(route, "path", UNMATCHED))


def _error_type(scope: Scope, status: int) -> str:
    # A handler may name its error (request.state.error_type); else the status decides.
    named = scope.get("state", {}).get("error_type")
    if named in ERROR_TYPES:
        return str(named)
    if status in ERROR_TYPE_BY_STATUS:
        return ERROR_TYPE_BY_STATUS[status]
    return "client_error" if status < 500 else "internal"


class _BodyTooLarge(HTTPException):
    """Raised from `receive` once a streamed body passes the cap; FastAPI passes it through."""


class RequestMetricsMiddleware:
    """Counts and times every HTTP request and rejects bodies over `max_body_bytes` with 413.

    Labels: `endpoint` is the matched route template (`/predict`), or UNMATCHED; `method`;
    `status_code`. 404, 405, 413 and 422 answers are counted and timed like any other. The
    label children are cached per (endpoint, method, status), so the hot path is a dict lookup.

    Example:
        >>> from fastapi import FastAPI
        >>> from prometheus_client import CollectorRegistry
        >>> app = FastAPI()
        >>> app.add_middleware(
        ...     RequestMetricsMiddleware, metrics=Metrics(CollectorRegistry()), max_body_bytes=1024
        ... )
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._errors: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = perf_counter()
        active = self.metrics.api_active_requests
        active.inc()
        status = 500
        started = False

        async def send_and_watch(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
            await send(message)

        try:
            try:
                await self.app(scope, self._capped(scope, receive), send_and_watch)
            except _BodyTooLarge:
                # Only where no FastAPI exception handler sits (a plain Starlette route).
                if started:
                    raise
                await self._reject(send_and_watch)
        finally:
            active.dec()
            self._record(scope, status, perf_counter() - start)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        endpoint = _route_template(scope)
        method = scope["method"]
        if method not in KNOWN_METHODS:
            method = OTHER_METHOD
        key = (endpoint, method, status)
        children = self._children.get(key)
        if children is None:
            labels = (endpoint, method, str(status))
            timed = endpoint not in UNTIMED_ENDPOINTS
            children = (
                self.metrics.api_requests.labels(*labels),
                self.metrics.api_request_duration.labels(*labels) if timed else None,
            )
            self._children[key] = children
        requests, duration = children
        requests.inc()
        if duration is not None:
            duration.observe(seconds)
        if status >= 400:
            error_type = _error_type(scope, status)
            errors = self._errors.get((endpoint, error_type))
            if errors is None:
                errors = self.metrics.api_errors.labels(endpoint, error_type)
                self._errors[(endpoint, error_type)] = errors
            errors.inc()

    @staticmethod
    def _content_length(scope: Scope) -> int | None:
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return None
        return None

    def _capped(self, scope: Scope, receive: Receive) -> Receive:
        """`receive` that raises 413 once the body passes the cap: declared or streamed."""
        received = 0
        limit = self.max_body_bytes
        declared = self._content_length(scope)

        async def capped_receive() -> Message:
            nonlocal received
            # Raised on the first read, so the router has already matched the route (label)
            # and a declared oversize body is refused before any of it is read.
            if declared is not None and declared > limit:
                raise _BodyTooLarge(status_code=413, detail=self._too_large_detail())
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(status_code=413, detail=self._too_large_detail())
            return message

        return capped_receive

    def _too_large_detail(self) -> str:
        return f"request body larger than {self.max_body_bytes} bytes (MAX_BODY_BYTES)"

    async def _reject(self, send: Send) -> None:
        body = json.dumps({"detail": self._too_large_detail()}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
