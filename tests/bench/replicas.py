"""`run.py --only replicas`: series per bike-api replica, and what N replicas cost one Prometheus.

One real bike-api (MLflow's server behind it, both as the native stack's plan runs them) gets
the traffic a production replica sees, so every label combination exists; its /metrics is
counted by family. Then, for each N, a fresh Debian Prometheus with the project's real rule
files scrapes that one API as N targets, each with its own `instance` (as N replicas differ):
N replicas' series load on one Prometheus, with one API process. Every figure is read from
Prometheus itself (a self-scrape job), after RUN_SECONDS of 5 s scrapes and evaluations.

The API serves N scrapes every 5 s here, where each real replica serves one: scrape durations
include its /metrics render time under that load, so they rise with N faster than they would.
"""

from __future__ import annotations

import csv
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
# The installed package carries the service alone; the stack's plan lives beside it.
sys.path.insert(0, str(ROOT))

from api.clients.batches import WEEKLY_PERIODS, evaluation_payload  # noqa: E402
from api.config import FEATURES  # noqa: E402
from api.data import load_hourly  # noqa: E402
from api.schemas import EXAMPLE_HOUR  # noqa: E402
from authoring import config  # noqa: E402
from authoring.profiles import Profile  # noqa: E402
from devtools import secrets  # noqa: E402
from devtools.local.plan import RULES_DIR, prepare_stack  # noqa: E402
from devtools.local.processes import Service, Stack, free_port, loopback_profile  # noqa: E402

__all__ = ["bench_replicas"]

REPLICA_COUNTS = (3, 50, 150)
# A fresh TSDB per N; long enough for 1 m rates of Prometheus's own metrics over a steady state.
RUN_SECONDS = 70
# The API's CPU and the machine's load are read over the same last minute as Prometheus's rates.
WINDOW_SECONDS = 60
INTERVAL = "5s"
PREDICTIONS = 300
# /predict per second during each run: request rates and latency quantiles are not empty.
BACKGROUND_RPS = 10
QUERY_ROUNDS = 20
# A query stops being repeated past this many seconds (after MIN_QUERY_ROUNDS): a raw 6 h panel
# at 150 replicas takes seconds, and the section has to fit in ~6 minutes.
QUERY_BUDGET_SECONDS = 8.0
MIN_QUERY_ROUNDS = 5
# A 6 h Grafana panel at ~1,000 px asks for a point every ~20 s.
RANGE_HOURS = 6
RANGE_STEP = "20s"
RECORD = "job:api_request_duration_seconds:p95_5m"
RECORDS_FILE = RULES_DIR / "bike-api-records.yml"
# Series Prometheus adds to every target: up, scrape_duration_seconds, scrape_samples_scraped,
# scrape_samples_post_metric_relabeling, scrape_series_added.
SYNTHETIC_PER_TARGET = 5
TOP_FAMILIES = 6


@dataclass
class Run:
    """What one Prometheus reported after scraping `replicas` targets for RUN_SECONDS."""

    replicas: int
    up: float = 0.0
    head_series: float = 0.0
    samples_per_scrape: float = 0.0
    appended_per_second: float = 0.0
    scrape_seconds: float = 0.0
    rule_group_seconds: dict[str, float] = field(default_factory=dict)
    iterations: float = 0.0
    missed: float = 0.0
    cpu: float = 0.0
    rss_bytes: float = 0.0
    # The one API process serving every target's scrapes, and the machine, over the last minute.
    api_cpu: float = 0.0
    load: float = 0.0
    # query -> (median wall-clock seconds, samples the engine touched, rounds)
    queries: dict[str, tuple[float, float | None, int]] = field(default_factory=dict)


@contextmanager
def api_stack(run_dir: Path, profile: Profile) -> Iterator[Stack]:
    """MLflow's server with a champion and bike-api following it, as `start_stack` starts them
    (same plan, same environment); Prefect, Alertmanager and the rest are not needed here."""
    stack, planned = prepare_stack(
        profile,
        run_dir,
        # The live window is scored every 5 s rather than every minute, so its gauges exist
        # right after the traffic.
        api_settings={"LIVE_DRIFT_INTERVAL_SECONDS": "5"},
        retraining=False,
    )
    services = {service.name: service for service in planned}
    try:
        for name in ("mlflow", "bike-api"):
            stack.start(services[name])
        yield stack
    finally:
        stack.stop_all()


def drive_traffic(api: str, run_dir: Path) -> dict[int, int]:
    """What a production replica serves in its first minutes; answers by status."""
    key = secrets.read_values(run_dir / ".env")["EVALUATE_API_KEY"]
    with (run_dir / "model" / "reference.csv").open() as f:
        rows = [
            {feature: float(row[feature]) for feature in FEATURES}
            | {"dteday": row["datetime"][:10]}
            for row in csv.DictReader(f)
        ]
    invalid: list[Any] = [
        {"hr": 25},
        {**EXAMPLE_HOUR, "temp": 2.0},
        {**EXAMPLE_HOUR, "dteday": "2011-02-30"},
        [],
    ]
    statuses: Counter[int] = Counter()
    with httpx.Client(base_url=api, timeout=30) as client:
        # The exam's example hour and the January rows (the live drift window needs 200).
        for i in range(PREDICTIONS):
            body = EXAMPLE_HOUR if i % 2 else rows[i % len(rows)]
            statuses[client.post("/predict", json=body).status_code] += 1
        for body in invalid:
            statuses[client.post("/predict", json=body).status_code] += 1
        not_json = {"Content-Type": "text/plain"}
        statuses[client.post("/predict", content=b"hr=1", headers=not_json).status_code] += 1
        for path in ("/health", "/ready", "/metrics", "/model", "/", "/no-such-page"):
            statuses[client.get(path).status_code] += 1
        payload = evaluation_payload(
            load_hourly(), "week1_february", *WEEKLY_PERIODS["week1_february"]
        )
        answer = client.post("/evaluate", json=payload, headers={"X-API-Key": key}, timeout=180)
        statuses[answer.status_code] += 1
        # The live window is scored on the API's own clock.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "model_live_drifted_features_ratio{" not in (
            client.get("/metrics").text
        ):
            time.sleep(0.5)
    return dict(sorted(statuses.items()))


def series_by_family(api: str) -> Counter[str]:
    """Samples in one scrape of the API's /metrics, by metric family (each is one series)."""
    text = httpx.get(f"{api}/metrics", timeout=10).text
    return Counter(
        {family.name: len(family.samples) for family in text_string_to_metric_families(text)}
    )


def bucket_samples(api: str) -> int:
    text = httpx.get(f"{api}/metrics", timeout=10).text
    return sum(
        1
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.endswith("_bucket")
    )


def prometheus_config(api: str, prometheus: str, replicas: int) -> dict[str, Any]:
    """The API as `replicas` targets of the bike-api job, plus Prometheus scraping itself."""
    width = len(str(replicas - 1))
    return {
        "global": {"scrape_interval": INTERVAL, "evaluation_interval": INTERVAL},
        "rule_files": [str(RULES_DIR.resolve() / "*.yml")],
        "scrape_configs": [
            {
                "job_name": config.API_JOB,
                "static_configs": [
                    # A distinct `instance` per target: the series of N replicas, and the
                    # rules joining `on (job, instance)` see N of them.
                    {"targets": [api], "labels": {"instance": f"bike-api-r{i:0{width}d}:8080"}}
                    for i in range(replicas)
                ],
            },
            {"job_name": config.PROMETHEUS_JOB, "static_configs": [{"targets": [prometheus]}]},
        ],
    }


class Prometheus:
    """PromQL over HTTP against one Prometheus."""

    def __init__(self, address: str) -> None:
        self.client = httpx.Client(base_url=f"http://{address}", timeout=60)

    def vector(self, expr: str) -> list[tuple[dict[str, str], float]]:
        body = self.client.get("/api/v1/query", params={"query": expr}).json()
        if body.get("status") != "success":
            raise RuntimeError(f"{expr}: {body}")
        return [(r["metric"], float(r["value"][1])) for r in body["data"]["result"]]

    def scalar(self, expr: str) -> float:
        result = self.vector(expr)
        return result[0][1] if result else float("nan")

    def timed(self, path: str, params: dict[str, str]) -> tuple[float, float | None]:
        """Wall-clock seconds of one query, and the samples it touched (Prometheus's stats)."""
        started = time.perf_counter()
        body = self.client.get(path, params={**params, "stats": "all"}).json()
        elapsed = time.perf_counter() - started
        if body.get("status") != "success":
            raise RuntimeError(f"{params}: {body}")
        samples = body["data"].get("stats", {}).get("samples", {}).get("totalQueryableSamples")
        return elapsed, samples


def dashboard_queries() -> dict[str, tuple[str, dict[str, str]]]:
    """The p95 a dashboard draws, computed from the buckets (raw) and read from its record;
    the raw form is the record's own expression, so both give the same numbers."""
    groups = yaml.safe_load(RECORDS_FILE.read_text(encoding="utf-8"))["groups"]
    raw = next(r["expr"] for g in groups for r in g["rules"] if r.get("record") == RECORD)
    recorded = f'{RECORD}{{job="{config.API_JOB}"}}'
    now = time.time()
    span = {"start": str(now - RANGE_HOURS * 3600), "end": str(now), "step": RANGE_STEP}
    return {
        "raw": ("/api/v1/query", {"query": raw}),
        "recorded": ("/api/v1/query", {"query": recorded}),
        f"raw {RANGE_HOURS}h": ("/api/v1/query_range", {"query": raw, **span}),
        f"recorded {RANGE_HOURS}h": ("/api/v1/query_range", {"query": recorded, **span}),
    }


@contextmanager
def background_predictions(api: str) -> Iterator[None]:
    """BACKGROUND_RPS /predict per second until the block ends."""
    stop = threading.Event()

    def post() -> None:
        with httpx.Client(base_url=api, timeout=10) as client:
            while not stop.wait(1 / BACKGROUND_RPS):
                client.post("/predict", json=EXAMPLE_HOUR)

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of `pid` and its reaped children so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def measure(api_address: str, api_pid: int, profile: Profile, replicas: int) -> Run:
    """A fresh Prometheus scraping the API as `replicas` targets for RUN_SECONDS."""
    with tempfile.TemporaryDirectory(prefix=f"bikewatch-replicas-{replicas}-") as tmp:
        work = Path(tmp)
        address = f"127.0.0.1:{free_port()}"
        config_file = work / "prometheus.yml"
        config_file.write_text(
            yaml.safe_dump(prometheus_config(api_address, address, replicas), sort_keys=False)
        )
        stack = Stack(work, profile)
        service = Service(
            "prometheus",
            (
                "prometheus",
                f"--config.file={config_file}",
                f"--storage.tsdb.path={work / 'data'}",
                f"--web.listen-address={address}",
            ),
            address,
            "/-/ready",
        )
        try:
            stack.start(service)
            with background_predictions(f"http://{api_address}"):
                time.sleep(RUN_SECONDS - WINDOW_SECONDS)
                before, started = _cpu_seconds(api_pid), time.monotonic()
                time.sleep(WINDOW_SECONDS)
                api_cpu = (_cpu_seconds(api_pid) - before) / (time.monotonic() - started)
                load = os.getloadavg()[0]
            prom = Prometheus(address)
            try:
                run = _read(prom, replicas)
            finally:
                prom.client.close()
            run.api_cpu, run.load = api_cpu, load
            return run
        finally:
            stack.stop_all()


def _read(prom: Prometheus, replicas: int) -> Run:
    api = f'job="{config.API_JOB}"'
    self_ = f'job="{config.PROMETHEUS_JOB}"'
    run = Run(replicas)
    # Prometheus's own figures first: the timed queries below cost it CPU too.
    run.up = prom.scalar(f"sum(up{{{api}}})")
    run.head_series = prom.scalar(f"prometheus_tsdb_head_series{{{self_}}}")
    run.samples_per_scrape = prom.scalar(f"sum(scrape_samples_scraped{{{api}}})")
    run.appended_per_second = prom.scalar(
        f"rate(prometheus_tsdb_head_samples_appended_total{{{self_}}}[1m])"
    )
    run.scrape_seconds = prom.scalar(f"avg(avg_over_time(scrape_duration_seconds{{{api}}}[1m]))")
    # The median of the last minute's evaluations: the first one, on a cold head, is an outlier.
    for labels, value in prom.vector(
        f"quantile_over_time(0.5, prometheus_rule_group_last_duration_seconds{{{self_}}}[1m])"
    ):
        run.rule_group_seconds[labels["rule_group"].rsplit(";", 1)[-1]] = value
    run.iterations = prom.scalar(f"sum(prometheus_rule_group_iterations_total{{{self_}}})")
    run.missed = prom.scalar(f"sum(prometheus_rule_group_iterations_missed_total{{{self_}}})")
    run.cpu = prom.scalar(f"rate(process_cpu_seconds_total{{{self_}}}[1m])")
    run.rss_bytes = prom.scalar(f"process_resident_memory_bytes{{{self_}}}")
    queries = dashboard_queries()
    timings: dict[str, list[tuple[float, float | None]]] = {name: [] for name in queries}
    for path, params in queries.values():  # warm-up: postings and chunks read once
        prom.timed(path, params)
    spent = dict.fromkeys(queries, 0.0)
    # Alternating, round after round: a burst of other work hits every query alike.
    for round_ in range(QUERY_ROUNDS):
        for name, (path, params) in queries.items():
            if round_ >= MIN_QUERY_ROUNDS and spent[name] > QUERY_BUDGET_SECONDS:
                continue
            timings[name].append(prom.timed(path, params))
            spent[name] += timings[name][-1][0]
    for name, results in timings.items():
        median = statistics.median(t for t, _ in results)
        run.queries[name] = (median, results[-1][1], len(results))
    return run


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def print_table(runs: list[Run], per_replica: int) -> None:
    def row(label: str, cells: list[str]) -> None:
        print(f"  {label:<44}" + "".join(f"{cell:>13}" for cell in cells))

    row("replicas (targets of job bike-api)", [str(r.replicas) for r in runs])
    row("targets up", [f"{r.up:.0f}" for r in runs])
    row("head series (prometheus_tsdb_head_series)", [f"{r.head_series:.0f}" for r in runs])
    row("samples per scrape round, all targets", [f"{r.samples_per_scrape:.0f}" for r in runs])
    row("samples appended /s (rate 1m)", [f"{r.appended_per_second:.0f}" for r in runs])
    row("avg scrape duration (ms)", [_ms(r.scrape_seconds) for r in runs])
    groups = sorted({group for r in runs for group in r.rule_group_seconds})
    print("  rule groups: the median evaluation of the last minute, wall-clock")
    for group in groups:
        row(
            f"  {group} (ms)",
            [_ms(r.rule_group_seconds.get(group, float("nan"))) for r in runs],
        )
    row(
        "all rule groups (ms per 5 s round)",
        [_ms(sum(r.rule_group_seconds.values())) for r in runs],
    )
    row("rule group iterations (missed)", [f"{r.iterations:.0f} ({r.missed:.0f})" for r in runs])
    row("Prometheus CPU (cores, rate 1m)", [f"{r.cpu:.3f}" for r in runs])
    row("Prometheus RSS (MiB)", [f"{r.rss_bytes / 2**20:.0f}" for r in runs])
    row("bike-api process CPU (cores, last minute)", [f"{r.api_cpu:.3f}" for r in runs])
    row("load average (1 m, machine)", [f"{r.load:.2f}" for r in runs])
    print(
        f"  p95 query: median of {QUERY_ROUNDS} runs (of fewer, in brackets, past "
        f"{QUERY_BUDGET_SECONDS:.0f} s)"
    )
    for name in runs[0].queries:
        row(
            f"  {name} (ms)",
            [
                _ms(r.queries[name][0])
                + (f" ({r.queries[name][2]})" if r.queries[name][2] < QUERY_ROUNDS else "")
                for r in runs
            ],
        )
        row(
            "    samples it touched",
            [f"{r.queries[name][1]:.0f}" if r.queries[name][1] is not None else "-" for r in runs],
        )
    for span in ("", f" {RANGE_HOURS}h"):
        row(
            f"  raw / recorded{span} (time ratio)",
            [f"{r.queries['raw' + span][0] / r.queries['recorded' + span][0]:.1f}x" for r in runs],
        )
    print(
        f"  (the {RANGE_HOURS} h range queries have data only in their last {RUN_SECONDS} s plus "
        "5 m of lookback: a fresh TSDB per N; the 5 m rate windows of the instant queries hold "
        f"{RUN_SECONDS} s of samples, not 5 m)"
    )
    by_replicas = {r.replicas: r for r in runs}
    if 3 in by_replicas and 50 in by_replicas:
        low, high = by_replicas[3], by_replicas[50]
        growth = (high.head_series - low.head_series) / (high.replicas - low.replicas)
        rss = (high.rss_bytes - low.rss_bytes) / (high.head_series - low.head_series)
        raw = high.queries["raw"][0] / low.queries["raw"][0]
        recorded = high.queries["recorded"][0] / low.queries["recorded"][0]
        records = high.rule_group_seconds.get("bike-api-records", float("nan")) / (
            low.rule_group_seconds.get("bike-api-records", float("nan"))
        )
        print(
            f"  head series per added replica (50 vs 3): {growth:.0f} "
            f"(one /metrics scrape: {per_replica} samples + {SYNTHETIC_PER_TARGET} per target)"
        )
        print(f"  RSS per added head series (50 vs 3): {rss:.0f} B")
        print(
            f"  50 vs 3 replicas: head series {high.head_series / low.head_series:.1f}x, "
            f"raw p95 query {raw:.1f}x, recorded {recorded:.1f}x, bike-api-records group "
            f"{records:.1f}x, Prometheus CPU {high.cpu / low.cpu:.1f}x"
        )


def bench_replicas(seconds: int) -> bool:
    """Series per replica; head series, scrape and rule cost, CPU, RSS and the p95 query raw vs
    recorded at 3, 50 and 150 simulated replicas (one Prometheus each)."""
    del seconds
    counts = ", ".join(map(str, REPLICA_COUNTS))
    print(f"== replicas: series per bike-api replica; one Prometheus at {counts} replicas")
    profile = loopback_profile("replicas", INTERVAL)
    with tempfile.TemporaryDirectory(prefix="bikewatch-replicas-") as tmp:
        run_dir = Path(tmp)
        with api_stack(run_dir, profile) as stack:
            api = f"http://{profile.api}"
            statuses = drive_traffic(api, run_dir)
            families = series_by_family(api)
            buckets = bucket_samples(api)
            per_replica = sum(families.values())
            print(f"  traffic: answers by status {statuses}")
            print(
                f"  one replica's /metrics: {per_replica} series in {len(families)} families; "
                f"{buckets} are histogram buckets ({buckets / per_replica:.0%})"
            )
            for name, count in families.most_common(TOP_FAMILIES):
                print(f"    {count:5d}  {name}")
            pid = int(json.loads(stack.pid_file("bike-api").read_text())["pid"])
            runs = [measure(profile.api, pid, profile, n) for n in REPLICA_COUNTS]
    print_table(runs, per_replica)
    # Figures, not targets (the issue sets none): the section holds if every target was up.
    return all(r.up == r.replicas for r in runs)
