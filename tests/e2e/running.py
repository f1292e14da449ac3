"""What the end-to-end modules share about a running native stack: its Prometheus and
Alertmanager as a client sees them, waiting on them, and logging in to its MLflow and API.

Each module starts its own stack (`devtools.local.plan.start_stack`) and wraps it in a
`RunningStack` (or a subclass with what only it needs)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from authoring.profiles import Profile
from devtools.local.processes import ROOT, Stack
from devtools.secrets import read_values

__all__ = ["LIVE_WINDOWS", "RunningStack", "live_expr", "wait_for"]

# What Grafana would put in a query: $__rate_interval is at least 4 scrapes; a minute holds 60.
LIVE_WINDOWS = {"__rate_interval": "1m", "__interval": "15s", "__range": "5m"}


@dataclass
class RunningStack:
    """A started stack: its addresses, its Prometheus's answers, its logins."""

    stack: Stack

    @property
    def profile(self) -> Profile:
        return self.stack.profile

    @property
    def api(self) -> str:
        """The API (its first replica) as a client calls it."""
        return f"http://{self.profile.api}"

    @property
    def prometheus(self) -> str:
        return f"http://{self.profile.prometheus}"

    @property
    def alertmanager(self) -> str:
        return f"http://{self.profile.alertmanager}"

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """An instant query, now or at the Unix time `at`."""
        params: dict[str, str | float] = {"query": expr}
        if at is not None:
            params["time"] = at
        body = httpx.get(f"{self.prometheus}/api/v1/query", params=params).json()
        assert body["status"] == "success", f"{expr}: {body.get('error')}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def prometheus_alerts(self) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = httpx.get(f"{self.prometheus}/api/v1/alerts").json()["data"][
            "alerts"
        ]
        return alerts

    def secret(self, name: str) -> str:
        """One of the stack's own secrets (its .env, drawn at start), by its .env key."""
        return read_values(self.stack.run_dir / ".env")[name]

    def mlflow_login(self) -> dict[str, str]:
        """The environment of an MLflow client of the stack's server: its URL and the admin's
        login."""
        return {
            "MLFLOW_TRACKING_URI": f"http://{self.profile.mlflow}",
            "MLFLOW_TRACKING_USERNAME": "admin",
            "MLFLOW_TRACKING_PASSWORD": self.secret("MLFLOW_ADMIN_PASSWORD"),
        }

    def train(self, model_dir: Path) -> subprocess.CompletedProcess[str]:
        """`make train` against the stack's MLflow (a small forest, quick): registers a new
        version and moves `champion` to it."""
        env = {**os.environ, **self.mlflow_login()}
        env.pop("MLFLOW_ARTIFACTS_DIR", None)
        command = [sys.executable, "-m", "api.train", "--n-estimators", "10"]
        return subprocess.run(
            [*command, "--model-dir", str(model_dir)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def wait_for(
    what: str, check: Callable[[], Any], timeout: float, detail: Callable[[], Any] | None = None
) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout`, with
    what `detail` returns then, if given."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except httpx.HTTPError as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.5)
    more = f"; {detail()}" if detail is not None else ""
    pytest.fail(f"{what}: still not true after {timeout:.0f} s (last: {last!r}){more}")


def live_expr(expr: str, variables: dict[str, str]) -> str:
    """A panel's PromQL as Grafana sends it: built-ins become windows, variables their value."""

    def one(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        if name in LIVE_WINDOWS:
            return LIVE_WINDOWS[name]
        if name in variables:
            return variables[name]
        if name.endswith("_ms"):
            return "60000"
        if name.startswith("__"):
            return "60"
        pytest.fail(f"{expr}: unknown variable ${name}")

    return re.sub(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]", one, expr)
