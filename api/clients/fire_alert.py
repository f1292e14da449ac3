"""`make fire-alert`: send the July batch to /evaluate, then wait for the drift alerts to fire.

The batch is real data of another season, so the drift share and RMSE gauges move because the
model's inputs and errors changed, not because anything set them by hand. Prometheus then has
to scrape the gauges and hold them past each rule's `for:` before the alerts fire. The alerts
are recognised by the label the API's webhook decides on (`retraining_reason`), not by name.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import httpx

from api.clients.batches import SHIFTED_PERIOD, api_url
from api.clients.evaluation import print_result
from api.clients.shifted import reported, send_shifted
from api.retraining import REASON_LABEL

__all__ = ["WAITED_FOR", "firing_alerts", "main"]

# The drift alert is the one the drill is about (it triggers retraining); a quality alert shows
# the drift hurt the model. Each is waited for by its retraining reason.
WAITED_FOR = ("data_drift", "model_quality")
DEFAULT_PROMETHEUS_URL = "http://localhost:9090"
# Scrape (15 s) + rule evaluation (15 s) + `for: 1m`, with room for a slow machine.
DEFAULT_TIMEOUT_SECONDS = 300.0
POLL_SECONDS = 5.0
# A concurrent evaluation answers 429; retry a few times rather than give up.
BUSY_RETRIES = 10
BUSY_WAIT_SECONDS = 3.0


def firing_alerts(prometheus_url: str, client: httpx.Client) -> dict[str, list[dict[str, Any]]]:
    """Alerts Prometheus reports, by retraining reason (each with its state, labels and
    annotations); alerts without the label are left out."""
    response = client.get(f"{prometheus_url}/api/v1/alerts", timeout=10.0)
    response.raise_for_status()
    alerts: dict[str, list[dict[str, Any]]] = {}
    for alert in response.json()["data"]["alerts"]:
        reason = alert["labels"].get(REASON_LABEL)
        if reason is not None:
            alerts.setdefault(reason, []).append(alert)
    return alerts


def _describe(alert: dict[str, Any]) -> str:
    annotations = alert.get("annotations", {})
    text = annotations.get("description") or annotations.get("summary") or ""
    return f"{alert['state']} since {alert.get('activeAt', '?')}: {text}".strip()


def _states(alerts: list[dict[str, Any]]) -> str:
    """`AlertName pending`, one entry per alert name, or `inactive`."""
    by_name: dict[str, set[str]] = {}
    for alert in alerts:
        by_name.setdefault(alert["labels"].get("alertname", "?"), set()).add(alert["state"])
    text = ", ".join(f"{n} {'/'.join(sorted(s))}" for n, s in sorted(by_name.items()))
    return text or "inactive"


def _evaluate(url: str, source: str | None) -> bool:
    name = SHIFTED_PERIOD[0]
    for _ in range(BUSY_RETRIES):
        response = send_shifted(url, source)
        if response.status_code != 429:
            return print_result(name, response)
        print(f"  - API busy with another evaluation, retrying in {BUSY_WAIT_SECONDS:.0f} s")
        time.sleep(BUSY_WAIT_SECONDS)
    print("  - FAILED: the API stayed busy")
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m api.clients.fire_alert",
        description=__doc__,
        epilog="exit status: 0 when both alerts fire, 1 on timeout or error",
    )
    parser.add_argument("--url", help="API base URL (default: $API_URL or http://localhost:8080)")
    parser.add_argument(
        "--prometheus",
        default=os.environ.get("PROMETHEUS_URL", DEFAULT_PROMETHEUS_URL),
        help="Prometheus base URL (default: $PROMETHEUS_URL or %(default)s)",
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS)
    parser.add_argument("--source", help="dataset (default: BIKE_SHARING_SOURCE)")
    args = parser.parse_args(argv)
    url, prometheus = api_url(args.url), args.prometheus.rstrip("/")
    name, start, end = SHIFTED_PERIOD
    print(f"--- 1. Sending the shifted batch {name} ({start} to {end}) to {url}/evaluate ---")
    if not reported(url, lambda: _evaluate(url, args.source)):
        return 1
    reasons = ", ".join(f'{REASON_LABEL}="{r}"' for r in WAITED_FOR)
    print(f"\n--- 2. Waiting up to {args.timeout:.0f} s for alerts with {reasons} ---")
    deadline = time.monotonic() + args.timeout
    seen: dict[str, str] = {}
    with httpx.Client() as client:
        while True:
            try:
                alerts = firing_alerts(prometheus, client)
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                print(f"  prometheus not answering ({exc!r}), retrying")
                alerts = {}
            for reason in WAITED_FOR:
                states = _states(alerts.get(reason, []))
                if seen.get(reason) != states:
                    seen[reason] = states
                    print(f"  {reason}: {states}")
            firing = {
                r: [a for a in alerts.get(r, []) if a["state"] == "firing"] for r in WAITED_FOR
            }
            if all(firing.values()):
                print("\nFired:")
                for instances in firing.values():
                    for alert in instances:
                        labels = alert["labels"]
                        print(f"  {labels.get('alertname')} ({labels.get('severity', '?')}):")
                        print(f"    {_describe(alert)}")
                return 0
            if time.monotonic() >= deadline:
                missing = [n for n, a in firing.items() if not a]
                print(f"\nTimeout: not firing after {args.timeout:.0f} s: {', '.join(missing)}")
                return 1
            time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    sys.exit(main())
