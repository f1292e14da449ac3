"""`make evaluation`: send the exam's three February weeks to /evaluate and print each result."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import httpx

from api.clients.batches import WEEKLY_PERIODS, api_key_headers, api_url, evaluation_payload
from api.data import DataError, load_hourly

__all__ = ["main", "post_evaluation", "print_result"]

# The exam's client waits up to 300 s; an evaluation here takes ~1 s once the API is warm.
TIMEOUT_SECONDS = 300.0


def post_evaluation(client: httpx.Client, url: str, payload: dict[str, Any]) -> httpx.Response:
    return client.post(
        f"{url}/evaluate", json=payload, headers=api_key_headers(), timeout=TIMEOUT_SECONDS
    )


def print_result(name: str, response: httpx.Response) -> bool:
    """Print one evaluation's answer as the exam's client does; False when it failed."""
    if response.status_code == 401:
        print(
            "  - FAILED: HTTP 401: /evaluate needs its API key: set EVALUATE_API_KEY, or "
            "EVALUATE_API_KEY_FILE=secrets/evaluate-api-key (written by `make all`)"
        )
        return False
    if response.status_code != 200:
        print(f"  - FAILED: HTTP {response.status_code}: {response.text[:500]}")
        return False
    result = response.json()
    print(f"  - Message: {result.get('message')}")
    for key, label in (("rmse", "RMSE"), ("mape", "MAPE"), ("mae", "MAE"), ("r2score", "R2")):
        value = result.get(key)
        print(f"  - {label}: {value:.4f}" if value is not None else f"  - {label}: N/A")
    print(f"  - Data Drift Detected: {'Yes' if result.get('drift_detected') else 'No'}")
    drifted = ", ".join(result.get("drifted_features") or []) or "none"
    print(f"  - Drift share: {result.get('drift_share'):.2f} (drifted: {drifted})")
    print(f"  - Evaluated Items: {result.get('evaluated_items')}")
    print(f"  - Report: {result.get('report_html')}")
    if result.get("warning"):
        print(f"  - Warning: {result['warning']}")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.clients.evaluation", description=__doc__)
    parser.add_argument("--url", help="API base URL (default: $API_URL or http://localhost:8080)")
    parser.add_argument("--source", help="dataset (default: BIKE_SHARING_SOURCE)")
    args = parser.parse_args(argv)
    url = api_url(args.url)
    try:
        hourly = load_hourly(args.source)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    ok = True
    with httpx.Client() as client:
        for name, (start, end) in WEEKLY_PERIODS.items():
            payload = evaluation_payload(hourly, name, start, end)
            print(f"\n--- Running evaluation for period: {name} ({start} to {end}) ---")
            print(f"Sending {len(payload['data'])} samples to API endpoint {url}/evaluate...")
            try:
                response = post_evaluation(client, url, payload)
            except httpx.HTTPError as exc:
                print(f"  - FAILED: {exc!r}: is the API running at {url}?")
                ok = False
                continue
            ok = print_result(name, response) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
