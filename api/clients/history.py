"""`make evaluations`: the evaluation history from MLflow (GET /evaluations), newest first."""

from __future__ import annotations

import argparse
import sys

import httpx

from api.clients.batches import api_url

__all__ = ["main"]

COLUMNS = ("evaluated_at", "period", "model_registry_version", "rows", "rmse", "r2", "drift_share")


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.clients.history", description=__doc__)
    parser.add_argument("--url", default=None, help="default: API_URL or http://localhost:8080")
    parser.add_argument("--limit", type=int, default=20, help="at most this many (1-100)")
    args = parser.parse_args(argv)
    url = api_url(args.url)
    try:
        response = httpx.get(f"{url}/evaluations", params={"limit": args.limit}, timeout=30)
    except httpx.HTTPError as exc:
        print(f"error: {url} cannot be reached: {exc}", file=sys.stderr)
        return 1
    if response.status_code != 200:
        print(f"error: HTTP {response.status_code}: {response.text[:500]}", file=sys.stderr)
        return 1
    rows = [[_cell(e.get(c)) for c in COLUMNS] for e in response.json()["evaluations"]]
    if not rows:
        print("no evaluation recorded yet (make evaluation sends three)")
        return 0
    header = ["time", "period", "version", "rows", "RMSE", "R2", "drift share"]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    for line in (header, *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
