"""Pure ASGI middleware: request metrics by route template, and the limits every request meets
before a handler runs (allowed Host, body size, body time), with client disconnects told apart
from server errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from time import perf_counter
from typing import Any

from fastapi import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import logs
from api.metrics import API_ERRORS, Metrics

__all__ = [
    "CLIENT_CLOSED",
    "SERVER_TIMING",
    "UNMATCHED",
    "UNTIMED_ENDPOINTS",
    "RequestMetricsMiddleware",
    "known_label_sets",
]

log = logs.get("requests")

# Every path no route matches counts under this one value: random 404 paths cannot create series.
UNMATCHED = "<unmatched>"
# Prometheus' own scrapes are counted but not timed: they would skew the API's latency.
UNTIMED_ENDPOINTS = frozenset({"/metrics"})
# Any other method (clients may send anything) is one value: the label stays bounded.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "OTHER"
SERVER_TIMING = b"server-timing"
# The client went away before its answer (nginx's 499): not the server's error, nor its latency.
CLIENT_CLOSED = 499
ERROR_TYPE_BY_STATUS = {
    401: "unauthorized",
    403: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    408: "timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation",
    CLIENT_CLOSED: "client_closed",
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
    if route is not None:
        return str(getattr(route, "path_format", None) or getattr(route, "path", UNMATCHED))
    # A mount (the docs' static files) names no route: its path (the root_path it added below
    # the app's own) is its template.
    root, app_root = str(scope.get("root_path", "")), str(scope.get("app_root_path", ""))
    mounted = root[len(app_root) :] if root.startswith(app_root) else ""
    return mounted if mounted and scope.get("endpoint") is not None else UNMATCHED


def _error_type(scope: Scope, status: int) -> str:
    # A handler may name its error (request.state.error_type); else the status decides.
    named = scope.get("state", {}).get("error_type")
    if named in ERROR_TYPES:
        return str(named)
    if status in ERROR_TYPE_BY_STATUS:
        return ERROR_TYPE_BY_STATUS[status]
    return "client_error" if status < 500 else "internal"


def _host(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"host":
            host = value.decode("latin-1").strip().lower()
            # `[::1]:8080` -> `[::1]`, `localhost:8080` -> `localhost`.
            return host.rsplit(":", 1)[0] if host.count(":") == 1 or "]:" in host else host
    return ""


class _BodyTooLarge(HTTPException):
    """Raised from `receive` once a streamed body passes the cap; FastAPI passes it through."""


class _BodyTooSlow(HTTPException):
    """Raised from `receive` when the body has not arrived within the time allowed."""


class _Body:
    """A request's `receive` with the body's limits: 413 past the size cap (declared or
    streamed), 408 past the time allowed, a disconnect noted (`closed`; the handler then fails
    to read).

    The time limit is one timer per request, armed at the first read and disarmed when the body
    is complete (2.5 us), not a timeout per read (10 us with asyncio.timeout, 18 with wait_for):
    at the deadline it cancels the reading task, which answers 408.
    """

    __slots__ = ("_expired", "_timer", "closed", "declared", "done", "mw", "receive", "received")

    def __init__(self, mw: RequestMetricsMiddleware, scope: Scope, receive: Receive) -> None:
        self.mw = mw
        self.receive = receive
        self.declared = mw._content_length(scope)
        self.received = 0
        self.done = False
        self.closed = False
        self._timer: asyncio.TimerHandle | None = None
        self._expired = False

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self, task: asyncio.Task[Any]) -> None:
        self._expired = True
        task.cancel()

    async def __call__(self) -> Message:
        limit = self.mw.max_body_bytes
        # Raised on the first read, so the router has already matched the route (label) and a
        # declared oversize body is refused before any of it is read.
        if self.declared is not None and self.declared > limit:
            raise _BodyTooLarge(status_code=413, detail=self.mw._too_large_detail())
        if self.done:
            return await self.receive()  # after the body: only a disconnect can come
        if self._timer is None:
            task = asyncio.current_task()
            if task is not None:
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(self.mw.body_timeout, self._expire, task)
        try:
            message = await self.receive()
        except asyncio.CancelledError:
            if not self._expired:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            raise _BodyTooSlow(status_code=408, detail=self.mw._too_slow_detail()) from None
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > limit:
                self.disarm()
                raise _BodyTooLarge(status_code=413, detail=self.mw._too_large_detail())
            if not message.get("more_body", False):
                self.done = True
                self.disarm()
        elif message["type"] == "http.disconnect":
            self.closed = True
            self.disarm()
        return message


def _server_timing(seconds: float) -> tuple[bytes, bytes]:
    """W3C `Server-Timing: app;dur=<ms>`, the time the latency histogram observes: a client
    sets it against its own clock to tell the server's share from the network's."""
    return SERVER_TIMING, b"app;dur=%.3f" % (seconds * 1000)


class RequestMetricsMiddleware:
    """Counts and times every HTTP request and enforces the limits of every request.

    Labels: `endpoint` is the matched route template (`/predict`), or UNMATCHED; `method`;
    `status_code`. The label children are cached per (endpoint, method, status), so the hot path
    is a dict lookup. Before any handler: a Host outside `allowed_hosts` gets 400; a body over
    `max_body_bytes` gets 413; a body that has not arrived within `body_timeout` seconds gets 408.
    A client that disconnects is counted as 499 (`client_closed`) and logged in one line. A
    request is timed to its answer's headers, and the answer tells that time in `Server-Timing`.

    Example:
        >>> from fastapi import FastAPI
        >>> from prometheus_client import CollectorRegistry
        >>> app = FastAPI()
        >>> app.add_middleware(
        ...     RequestMetricsMiddleware, metrics=Metrics(CollectorRegistry()), max_body_bytes=1024
        ... )
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        max_body_bytes: int,
        body_timeout: float = 10.0,
        allowed_hosts: Iterable[str] = ("*",),
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self.allowed_hosts = frozenset(h.lower() for h in allowed_hosts)
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
        # Seconds from the request's arrival to its answer's headers: what the histogram
        # observes and the Server-Timing header tells, one figure. The body's sending after
        # them is the network's and the client's time, not the server's.
        answered: float | None = None
        body = _Body(self, scope, receive)

        async def send_and_watch(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status = message["status"]
                answered = perf_counter() - start
                message = {
                    **message,
                    "headers": [*message.get("headers", ()), _server_timing(answered)],
                }
            await send(message)

        try:
            if "*" not in self.allowed_hosts and _host(scope) not in self.allowed_hosts:
                scope.setdefault("state", {})["error_type"] = "invalid_host"
                await self._answer(send_and_watch, 400, self._host_detail(scope))
                return
            try:
                await self.app(scope, body, send_and_watch)
            except (_BodyTooLarge, _BodyTooSlow) as exc:
                # Only where no FastAPI exception handler sits (a plain Starlette route).
                if answered is not None:
                    raise
                await self._answer(send_and_watch, exc.status_code, str(exc.detail))
            except ClientDisconnect:
                body.closed = True
        finally:
            body.disarm()
            active.dec()
            if body.closed and not body.done:
                status = CLIENT_CLOSED
                log.info(
                    "%s %s: the client closed the connection before its request was read",
                    scope["method"],
                    _route_template(scope),
                )
            self._record(scope, status, perf_counter() - start if answered is None else answered)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        endpoint = _route_template(scope)
        method = scope["method"]
        if method not in KNOWN_METHODS:
            method = OTHER_METHOD
        key = (endpoint, method, status)
        children = self._children.get(key)
        if children is None:
            labels = (endpoint, method, str(status))
            timed = endpoint not in UNTIMED_ENDPOINTS and status != CLIENT_CLOSED
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

    def _too_large_detail(self) -> str:
        return f"request body larger than {self.max_body_bytes} bytes (MAX_BODY_BYTES)"

    def _too_slow_detail(self) -> str:
        return (
            f"request body not received within {self.body_timeout:g} s "
            "(REQUEST_BODY_TIMEOUT_SECONDS)"
        )

    def _host_detail(self, scope: Scope) -> str:
        return f"Host {_host(scope)!r} is not served here (ALLOWED_HOSTS)"

    async def _answer(self, send: Send, status: int, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
