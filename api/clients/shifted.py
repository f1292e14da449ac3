"""Send the July 2011 batch (a different season: real drift) through /evaluate of a running API."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import httpx

from api.clients.batches import SHIFTED_PERIOD, api_url, shifted_payload
from api.clients.evaluation import post_evaluation, print_result
from api.data import DataError

__all__ = ["main", "reported", "send_shifted"]


def send_shifted(url: str, source: str | None = None) -> httpx.Response:
    """POST the shifted batch to `url`/evaluate and return the answer."""
    with httpx.Client() as client:
        return post_evaluation(client, url, shifted_payload(source))


def reported(url: str, step: Callable[[], bool]) -> bool:
    """Run a step that reads the dataset and talks to the API at `url`; a data or HTTP error
    becomes one line on stderr and False, not a traceback."""
    try:
        return step()
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except httpx.HTTPError as exc:
        print(f"error: {exc!r}: is the API running at {url}?", file=sys.stderr)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.clients.shifted", description=__doc__)
    parser.add_argument("--url", help="API base URL (default: $API_URL or http://localhost:8080)")
    parser.add_argument("--source", help="dataset (default: BIKE_SHARING_SOURCE)")
    args = parser.parse_args(argv)
    url = api_url(args.url)
    name, start, end = SHIFTED_PERIOD
    print(f"--- Sending the shifted batch {name} ({start} to {end}) to {url}/evaluate ---")
    return 0 if reported(url, lambda: print_result(name, send_shifted(url, args.source))) else 1


if __name__ == "__main__":
    sys.exit(main())
