"""`make fire-alert`: send the July batch to /evaluate, wait for the drift alerts to fire, then
for the webhook's decision of the drift episode.

The batch is real data of another season, so the drift share and RMSE gauges move because the
model's inputs and errors changed, not because anything set them by hand. Prometheus then has
to scrape the gauges and hold them past each rule's `for:` before the alerts fire. The alerts
are recognised by the label the API's webhook decides on (`retraining_reason`), not by name.

A drill is complete every time it runs: it ends with the episode's RETRAINING_TRIGGERED
decision, new (delivered by Alertmanager during this drill) or already taken (the episode opened
by an earlier drill is still open: the alert never resolved since, so Alertmanager, whose
notification log remembers it, does not notify again, and the API would not decide twice), with
its time and its retrain flow run. If no decision comes, it exits 1 naming the likely cause,
read from Alertmanager (a silence, an inhibition) and the API (refused webhook calls).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from api.clients.batches import SHIFTED_PERIOD, api_url
from api.clients.evaluation import print_result
from api.clients.shifted import reported, send_shifted
from api.retraining import REASON_LABEL

__all__ = ["WAITED_FOR", "diagnose", "episode_decision", "firing_alerts", "main"]

# The drift alert is the one the drill is about (it triggers retraining); a quality alert shows
# the drift hurt the model. Each is waited for by its retraining reason.
WAITED_FOR = ("data_drift", "model_quality")
DEFAULT_PROMETHEUS_URL = "http://localhost:9090"
DEFAULT_ALERTMANAGER_URL = "http://localhost:9093"
# Scrape (15 s) + rule evaluation (15 s) + `for: 1m`, with room for a slow machine.
DEFAULT_TIMEOUT_SECONDS = 300.0
# Alertmanager's group_wait for a warning (30 s) plus a group_interval (1 m), with room.
DECISION_TIMEOUT_SECONDS = 150.0
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


def episode_decision(decisions: list[dict[str, Any]], alertname: str) -> dict[str, Any] | None:
    """The RETRAINING_TRIGGERED decision of `alertname`'s open episode, if there is one: its
    newest decision, when that one is a firing RETRAINING_TRIGGERED (a `resolved` closes it)."""
    mine = [d for d in decisions if d["alertname"] == alertname]
    if mine and mine[-1]["status"] == "firing" and mine[-1]["decision"] == "RETRAINING_TRIGGERED":
        return mine[-1]
    return None


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "an unknown time"
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")


def _trigger_of(decision: dict[str, Any], triggers: list[dict[str, Any]]) -> str:
    prefix = f"{decision['alertname']}/{decision['fingerprint']}/"
    mine = [t for t in triggers if t["key"].startswith(prefix)]
    if not mine:
        return "no retraining trigger recorded"
    trigger = mine[-1]
    run = f", flow run {trigger['flow_run_id']}" if trigger.get("flow_run_id") else ""
    detail = f" ({trigger['detail']})" if trigger.get("detail") else ""
    return f"retraining trigger {trigger['state']}{run}{detail}"


def _refused_webhook_calls(url: str, client: httpx.Client) -> float:
    """`api_errors_total{endpoint="/alerts",error_type="unauthorized"}` of the API (0 if
    unreadable)."""
    try:
        text = client.get(f"{url}/metrics", timeout=10.0).text
    except httpx.HTTPError:
        return 0.0
    for line in text.splitlines():
        labels = ('endpoint="/alerts"', 'error_type="unauthorized"')
        if line.startswith("api_errors_total{") and all(label in line for label in labels):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def diagnose(alertmanager: str, url: str, alertname: str, client: httpx.Client) -> str:
    """Why no decision arrived, as far as Alertmanager and the API tell."""
    if _refused_webhook_calls(url, client) > 0:
        return (
            'the API refused webhook calls (api_errors_total{endpoint="/alerts",'
            "error_type=\"unauthorized\"} > 0): Alertmanager's token file and the API's "
            "ALERT_WEBHOOK_TOKEN differ"
        )
    try:
        response = client.get(
            f"{alertmanager}/api/v2/alerts",
            params={"filter": f'alertname="{alertname}"'},
            timeout=10.0,
        )
        held = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return f"Alertmanager at {alertmanager} does not answer ({type(exc).__name__})"
    if not held:
        return (
            "Alertmanager does not hold the alert: Prometheus does not reach it (its "
            "`alerting.alertmanagers` in prometheus.yml, Prometheus's log)"
        )
    status = held[0].get("status", {})
    if status.get("silencedBy"):
        return (
            f"a silence holds it: {', '.join(status['silencedBy'])} (Alertmanager's UI, Silences)"
        )
    if status.get("inhibitedBy"):
        return f"an inhibition holds it: by {', '.join(status['inhibitedBy'])} (the inhibit rules)"
    return (
        "Alertmanager holds it active, and its notification log remembers notifying this group "
        "within the route's repeat_interval, while the API has no open decision for it (its "
        "decision log, STATE_DIR/decisions.db, was reset and Alertmanager's storage was not). "
        "Wait for the repeat_interval, or `make local-stop`, remove run/alertmanager-data and "
        "`make local`"
    )


def _wait_decision(
    url: str, alertmanager: str, alertnames: list[str], started: float, timeout: float
) -> bool:
    deadline = time.monotonic() + timeout
    with httpx.Client() as client:
        while True:
            try:
                body = client.get(f"{url}/alerts/decisions", timeout=10.0).json()
            except (httpx.HTTPError, ValueError) as exc:
                print(f"  the API is not answering ({exc!r}), retrying")
                body = {"decisions": [], "triggers": []}
            found = {n: episode_decision(body.get("decisions", []), n) for n in alertnames}
            if all(found.values()):
                for name, decision in found.items():
                    assert decision is not None
                    when = _when(decision.get("decided_at"))
                    if (decision.get("decided_at") or 0) >= started:
                        print(f"  {name}: RETRAINING_TRIGGERED, decided at {when} (this drill)")
                    else:
                        print(
                            f"  {name}: already decided at {when}: RETRAINING_TRIGGERED. The "
                            "episode it opened is still open (the alert has not resolved since), "
                            "so this firing belongs to it: Alertmanager does not notify it again "
                            "within the route's repeat_interval, and the API decides an episode "
                            "once"
                        )
                    print(f"    {_trigger_of(decision, body.get('triggers', []))}")
                return True
            if time.monotonic() >= deadline:
                for name in (n for n, d in found.items() if d is None):
                    cause = diagnose(alertmanager, url, name, client)
                    print(f"\nNo decision for {name} after {timeout:.0f} s. Likely cause: {cause}")
                return False
            time.sleep(POLL_SECONDS)


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
        epilog="exit status: 0 when both alerts fire and the drift episode has its decision, "
        "1 on timeout (saying why) or error",
    )
    parser.add_argument("--url", help="API base URL (default: $API_URL or http://localhost:8080)")
    parser.add_argument(
        "--prometheus",
        default=os.environ.get("PROMETHEUS_URL", DEFAULT_PROMETHEUS_URL),
        help="Prometheus base URL (default: $PROMETHEUS_URL or %(default)s)",
    )
    parser.add_argument(
        "--alertmanager",
        default=os.environ.get("ALERTMANAGER_URL", DEFAULT_ALERTMANAGER_URL),
        help="Alertmanager base URL, to say why no decision came "
        "(default: $ALERTMANAGER_URL or %(default)s)",
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS)
    parser.add_argument(
        "--decision-timeout",
        type=float,
        default=DECISION_TIMEOUT_SECONDS,
        help="seconds to wait for the webhook's decision once the alerts fire",
    )
    parser.add_argument("--source", help="dataset (default: BIKE_SHARING_SOURCE)")
    args = parser.parse_args(argv)
    url, prometheus = api_url(args.url), args.prometheus.rstrip("/")
    started = time.time()
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
                break
            if time.monotonic() >= deadline:
                missing = [n for n, a in firing.items() if not a]
                print(f"\nTimeout: not firing after {args.timeout:.0f} s: {', '.join(missing)}")
                return 1
            time.sleep(POLL_SECONDS)
    drift = sorted({a["labels"]["alertname"] for a in firing["data_drift"]})
    print(f"\n--- 3. Waiting up to {args.decision_timeout:.0f} s for the webhook's decision ---")
    ok = _wait_decision(url, args.alertmanager.rstrip("/"), drift, started, args.decision_timeout)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
