"""`make traffic`: drive /predict with real hours of the UCI data and summarise the latencies."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TextIO

import httpx
import numpy as np

from api.clients.batches import api_url
from api.config import FEATURES
from api.data import DataError, load_hourly

__all__ = ["Summary", "drive", "main", "prediction_rows"]

# Progress redraws at most this often: a terminal repaint per request would cost more than it.
PROGRESS_SECONDS = 0.2
BAR_WIDTH = 30
REQUEST_TIMEOUT_SECONDS = 10.0


@dataclass
class Summary:
    """Outcome of a traffic run: latencies of answered requests and failures by status."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    @property
    def errors(self) -> dict[str, int]:
        return {s: n for s, n in sorted(self.statuses.items()) if s != "200"}

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies, q)) if self.latencies else float("nan")

    def line(self) -> str:
        rate = self.sent / self.seconds if self.seconds else 0.0
        errors = ", ".join(f"{s}={n}" for s, n in self.errors.items()) or "none"
        return (
            f"[traffic] {self.sent} requests in {self.seconds:.2f} s: {rate:.1f} req/s, "
            f"p50 {self.percentile(50) * 1000:.1f} ms, p99 {self.percentile(99) * 1000:.1f} ms, "
            f"errors by status: {errors}"
        )


def prediction_rows(
    source: str | None = None, seed: int = 0, period: str | None = None
) -> list[dict[str, Any]]:
    """Every hour of the dataset as a /predict body, shuffled (seeded) so runs mix seasons; or,
    with `period` (YYYY-MM), that month's hours in time order, whole days at a time (a replay:
    the live drift scores see the month as live traffic would bring it)."""
    hourly = load_hourly(source)
    if period is not None:
        month = hourly[hourly["dteday"].str.startswith(f"{period}-")]
        if month.empty:
            raise DataError(f"no hour of the dataset in {period} (YYYY-MM, 2011-01 to 2012-12)")
        return month[["dteday", *FEATURES]].to_dict(orient="records")  # type: ignore[no-any-return]
    rows = hourly[["dteday", *FEATURES]].to_dict(orient="records")
    order = np.random.default_rng(seed).permutation(len(rows))
    return [rows[i] for i in order]


def _progress(out: TextIO, done: int, total: int, started: float) -> None:
    filled = BAR_WIDTH * done // max(total, 1)
    rate = done / max(time.perf_counter() - started, 1e-9)
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    out.write(f"\r[{bar}] {done}/{total} {rate:.0f} req/s")
    out.flush()


async def drive(
    url: str,
    rows: list[dict[str, Any]],
    *,
    count: int,
    concurrency: int,
    rate: float | None = None,
    progress: TextIO | None = None,
) -> Summary:
    """Send `count` POST /predict with up to `concurrency` in flight, paced to `rate` req/s."""
    summary = Summary()
    next_index = 0
    started = time.perf_counter()
    last_drawn = 0.0

    async def one_worker(client: httpx.AsyncClient) -> None:
        nonlocal next_index, last_drawn
        while next_index < count:
            index = next_index
            next_index += 1
            if rate:
                # Paced by schedule, not by sleeping between calls: slow answers do not lower
                # the offered rate.
                delay = started + index / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            sent = time.perf_counter()
            try:
                response = await client.post("/predict", json=rows[index % len(rows)])
            except httpx.HTTPError as exc:
                summary.statuses[type(exc).__name__] += 1
            else:
                summary.statuses[str(response.status_code)] += 1
                if response.status_code == 200:
                    summary.latencies.append(time.perf_counter() - sent)
            now = time.perf_counter()
            if progress is not None and now - last_drawn >= PROGRESS_SECONDS:
                last_drawn = now
                _progress(progress, summary.sent, count, started)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=url, limits=limits, timeout=REQUEST_TIMEOUT_SECONDS
    ) as client:
        await asyncio.gather(*(one_worker(client) for _ in range(concurrency)))
    summary.seconds = time.perf_counter() - started
    if progress is not None:
        _progress(progress, summary.sent, count, started)
        progress.write("\n")
    return summary


def _positive(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m api.clients.traffic",
        description=__doc__,
        epilog="exit status: 0 when every request got 200, 1 otherwise",
    )
    parser.add_argument("--url", help="API base URL (default: $API_URL or http://localhost:8080)")
    parser.add_argument("--count", type=_positive(int), default=1000, help="requests to send")
    parser.add_argument("--concurrency", type=_positive(int), default=8, help="in flight at once")
    parser.add_argument("--rate", type=_positive(float), help="requests per second (default: max)")
    parser.add_argument("--source", help="dataset (default: BIKE_SHARING_SOURCE)")
    parser.add_argument("--seed", type=int, default=0, help="row shuffle seed")
    parser.add_argument(
        "--period",
        help="replay one month's hours in time order (YYYY-MM, e.g. 2011-07: the live drift "
        "alert fires with no label sent); default: every hour, shuffled",
    )
    args = parser.parse_args(argv)
    url = api_url(args.url)
    try:
        rows = prediction_rows(args.source, args.seed, args.period)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    pace = f" at {args.rate:g} req/s" if args.rate else ""
    print(
        f"[traffic] {args.count} POST {url}/predict, {args.concurrency} in flight{pace}",
        file=sys.stderr,
    )
    summary = asyncio.run(
        drive(
            url,
            rows,
            count=args.count,
            concurrency=args.concurrency,
            rate=args.rate,
            progress=sys.stderr,
        )
    )
    print(summary.line())
    if summary.sent and not any(status.isdigit() for status in summary.statuses):
        # Not one answer: every request failed to connect (or timed out).
        print(f"error: no request got an answer: is the API running at {url}?", file=sys.stderr)
    return 0 if not summary.errors else 1


if __name__ == "__main__":
    sys.exit(main())
