"""Every Prometheus metric of bike-api, defined once: names are typed here and nowhere else.

Dashboards and rules import the `MetricSpec` objects below (through `authoring.promql`), so a
renamed metric is a one-line change that the generators, the lint and the tests all follow.

Example:
    >>> from prometheus_client import CollectorRegistry
    >>> metrics = Metrics(CollectorRegistry())
    >>> metrics.model_loaded.set(1)
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from api.evaluation.result import EvaluationResult
from api.features import FEATURES

__all__ = [
    "ALL_SPECS",
    "API_ACTIVE_REQUESTS",
    "API_ERRORS",
    "API_REQUESTS",
    "API_REQUEST_DURATION",
    "DRIFT_FEATURES",
    "MODEL_DRIFTED_FEATURES_RATIO",
    "MODEL_DRIFT_DETECTED",
    "MODEL_EVALUATIONS",
    "MODEL_EVALUATION_DURATION",
    "MODEL_EVALUATION_REPORT_FAILURES",
    "MODEL_EVALUATION_ROWS",
    "MODEL_FEATURE_DRIFT_SCORE",
    "MODEL_INFERENCE_DURATION",
    "MODEL_INFO",
    "MODEL_LAST_EVALUATION_TIMESTAMP",
    "MODEL_LIVE_DRIFTED_FEATURES_RATIO",
    "MODEL_LIVE_DRIFT_LAST_RUN",
    "MODEL_LIVE_FEATURE_DRIFT_SCORE",
    "MODEL_LIVE_WINDOW_FULL",
    "MODEL_LIVE_WINDOW_ROWS",
    "MODEL_LOADED",
    "MODEL_MAE",
    "MODEL_MAPE",
    "MODEL_PREDICTED_RENTALS",
    "MODEL_R2",
    "MODEL_RETRAINING_DECISIONS",
    "MODEL_RETRAINING_LAST_TRIGGER",
    "MODEL_RETRAINING_TRIGGERS",
    "MODEL_RETRAINING_TRIGGERS_PENDING",
    "MODEL_RMSE",
    "RETRAIN_FLOW_DURATION",
    "RETRAIN_FLOW_HOLDOUT_RMSE",
    "RETRAIN_FLOW_LAST_PROMOTION",
    "RETRAIN_FLOW_LAST_START",
    "RETRAIN_FLOW_LAST_SUCCESS",
    "RETRAIN_FLOW_RUNS",
    "RETRAIN_SPECS",
    "UNIT_BOUNDS",
    "MetricSpec",
    "Metrics",
    "Range",
    "RetrainMetrics",
    "Unit",
]

Kind = Literal["counter", "gauge", "histogram"]
# What a metric's value measures. Dashboards derive their panel units from it and the build
# checks every alert threshold against it (a ratio is 0-1, a percent 0-100: never mixed up).
Unit = Literal[
    "seconds",  # durations, and histograms of them
    "timestamp_seconds",  # Unix time
    "ratio",  # a share, 0-1
    "percent",  # a share or an error written 0-100 (MAPE, as Evidently reports it)
    "rentals",  # hourly rentals (cnt): predictions and the errors of predictions
    "requests",  # HTTP requests, in flight or counted
    "events",  # other counted things: evaluations, decisions, errors
    "rows",  # rows of a labelled batch
    "triggers",  # retraining triggers waiting for delivery
    "bytes",
    "score",  # a dimensionless statistic (R2, a drift distance, a load average)
    "boolean",  # 0 or 1
    "info",  # always 1, the labels carry the information
    "version",  # a registry version number (1, 2, 3...)
    "cpu_seconds",  # CPU time (a counter of seconds spent)
    "per_second",  # a rate of anything counted (a recorded rate)
]
# Where a metric's values live, when they are bounded: (low, high), None for unbounded.
Range = tuple[float | None, float | None]
UNIT_BOUNDS: dict[str, Range] = {
    "ratio": (0.0, 1.0),
    "boolean": (0.0, 1.0),
    "info": (1.0, 1.0),
    "percent": (0.0, None),  # an error in percent may pass 100 (MAPE of a 3x overestimate)
    "seconds": (0.0, None),
    "timestamp_seconds": (0.0, None),
    "rentals": (0.0, None),
    "requests": (0.0, None),
    "events": (0.0, None),
    "rows": (0.0, None),
    "triggers": (0.0, None),
    "bytes": (0.0, None),
    "cpu_seconds": (0.0, None),
    "per_second": (0.0, None),
}
# prometheus-client multiprocess aggregation for gauges (see its docs).
MultiprocessMode = Literal[
    "all",
    "liveall",
    "min",
    "livemin",
    "max",
    "livemax",
    "sum",
    "livesum",
    "mostrecent",
    "livemostrecent",
]


@dataclass(frozen=True)
class MetricSpec:
    """A metric's identity: the name as exposed, its type, labels and help text.

    `name` is the exposition name (`api_requests_total`, not `api_requests`), which is what
    PromQL selects; histogram series names derive from it (`bucket`, `sum`, `count`).
    """

    name: str
    kind: Kind
    documentation: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()
    multiprocess_mode: MultiprocessMode = "livesum"
    # Every value each label can take, where the set is closed: documents the cardinality bound
    # and lets tests and dashboards enumerate series.
    label_values: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    unit: Unit = "events"
    # The values it can take, where bounded; a threshold outside it can never be crossed.
    valid_range: Range | None = None
    # A gauge of a measurement (the latest evaluation's scores) is absent until the first
    # measurement sets it: 0 would read as a perfect model with no drift.
    absent_until_set: bool = False

    @property
    def bounds(self) -> Range:
        """`valid_range`, or what the unit implies: a ratio is 0-1, a boolean 0 or 1."""
        if self.valid_range is not None:
            return self.valid_range
        return UNIT_BOUNDS.get(self.unit, (None, None))

    @property
    def bucket(self) -> str:
        return self._series("_bucket")

    @property
    def sum(self) -> str:
        return self._series("_sum")

    @property
    def count(self) -> str:
        return self._series("_count")

    def _series(self, suffix: str) -> str:
        if self.kind != "histogram":
            raise TypeError(f"{self.name} is a {self.kind}, it has no {suffix} series")
        return self.name + suffix

    @property
    def series_names(self) -> tuple[str, ...]:
        """Every series name this metric exposes."""
        if self.kind == "histogram":
            return (self.bucket, self.sum, self.count)
        return (self.name,)


# Latency of a request served from memory: most land in 1-20 ms, so the buckets are fine there
# and coarse beyond 1 s, where only failures live.
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
# Walking 50 trees costs well under a millisecond; anything past 10 ms is a regression.
INFERENCE_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.00075,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
)
# Hourly rentals in the UCI data range 1-977; January 2011 peaks near 250.
PREDICTION_BUCKETS = (
    10.0,
    25.0,
    50.0,
    75.0,
    100.0,
    150.0,
    200.0,
    300.0,
    400.0,
    500.0,
    600.0,
    800.0,
    1000.0,
)
# An Evidently report of up to a few thousand rows takes 0.1-5 s.
EVALUATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

# The per-feature drift gauge has exactly one series per model input: 11, bounded.
DRIFT_FEATURES = FEATURES

API_REQUESTS = MetricSpec(
    "api_requests_total",
    "counter",
    "HTTP requests served, by route template, method and status code.",
    ("endpoint", "method", "status_code"),
    unit="requests",
)
API_REQUEST_DURATION = MetricSpec(
    "api_request_duration_seconds",
    "histogram",
    "HTTP request latency in seconds, to the answer's headers, by route template, method and "
    "status code.",
    ("endpoint", "method", "status_code"),
    LATENCY_BUCKETS,
    unit="seconds",
)
API_ACTIVE_REQUESTS = MetricSpec(
    "api_active_requests",
    "gauge",
    "HTTP requests in flight.",
    multiprocess_mode="livesum",
    unit="requests",
)
API_ERRORS = MetricSpec(
    "api_errors_total",
    "counter",
    "Failed requests by route template and error type.",
    ("endpoint", "error_type"),
    label_values={
        "error_type": (
            "validation",
            "payload_too_large",
            "unsupported_media_type",
            "not_found",
            "method_not_allowed",
            "unauthorized",
            "invalid_host",
            "timeout",
            "client_closed",
            "model_not_loaded",
            "busy",
            "client_error",
            "internal",
        )
    },
    unit="requests",
)
MODEL_LOADED = MetricSpec(
    "model_loaded",
    "gauge",
    "1 when the model artifact is loaded and /predict can answer.",
    multiprocess_mode="livemin",
    unit="boolean",
)
MODEL_INFO = MetricSpec(
    "model_info",
    "gauge",
    "1 for the model served (0 for one it replaced); labels describe it: its card's version, "
    "its registry version and training run, and where it came from (registry, cache, folder).",
    ("version", "trained_from", "trained_to", "registry_version", "run_id", "source"),
    multiprocess_mode="livemax",
    label_values={"source": ("registry", "cache", "folder")},
    unit="info",
)
MODEL_REGISTRY_VERSION = MetricSpec(
    "model_registry_version",
    "gauge",
    "Registry version of bike-demand served (the champion when it was last loaded).",
    multiprocess_mode="livemax",
    unit="version",
    absent_until_set=True,
)
MODEL_REGISTRY_VERSION_CREATED = MetricSpec(
    "model_registry_version_created_timestamp_seconds",
    "gauge",
    "Unix time the served registry version was registered: the champion's age.",
    multiprocess_mode="livemax",
    unit="timestamp_seconds",
    absent_until_set=True,
)
MODEL_RELOADS = MetricSpec(
    "model_reloads_total",
    "counter",
    "Champion changes picked up from the registry, by outcome; a failed one left the previous "
    "model serving.",
    ("outcome",),
    label_values={"outcome": ("success", "failed")},
)
MODEL_INFERENCE_DURATION = MetricSpec(
    "model_inference_duration_seconds",
    "histogram",
    "Time spent in the model for one prediction, in seconds.",
    (),
    INFERENCE_BUCKETS,
    unit="seconds",
)
MODEL_PREDICTED_RENTALS = MetricSpec(
    "model_predicted_rentals",
    "histogram",
    "Distribution of predicted hourly rentals (cnt) returned by /predict.",
    (),
    PREDICTION_BUCKETS,
    unit="rentals",
)
MODEL_RMSE = MetricSpec(
    "model_rmse_score",
    "gauge",
    "RMSE of the latest evaluation, in rentals per hour.",
    multiprocess_mode="mostrecent",
    unit="rentals",
    absent_until_set=True,
)
MODEL_MAE = MetricSpec(
    "model_mae_score",
    "gauge",
    "MAE of the latest evaluation, in rentals per hour.",
    multiprocess_mode="mostrecent",
    unit="rentals",
    absent_until_set=True,
)
MODEL_R2 = MetricSpec(
    "model_r2_score",
    "gauge",
    "R2 of the latest evaluation.",
    multiprocess_mode="mostrecent",
    unit="score",
    # 1 is a perfect fit; below 0 the model does worse than the batch's mean.
    valid_range=(None, 1.0),
    absent_until_set=True,
)
MODEL_MAPE = MetricSpec(
    "model_mape_score",
    "gauge",
    "MAPE of the latest evaluation, in percent (0-100, as Evidently reports it; not a ratio).",
    multiprocess_mode="mostrecent",
    unit="percent",
    absent_until_set=True,
)
MODEL_DRIFTED_FEATURES_RATIO = MetricSpec(
    "model_drifted_features_ratio",
    "gauge",
    "Share of the 11 input features drifted in the latest evaluation (0-1).",
    multiprocess_mode="mostrecent",
    unit="ratio",
    absent_until_set=True,
)
MODEL_DRIFT_DETECTED = MetricSpec(
    "model_drift_detected",
    "gauge",
    "1 when the latest evaluation's drifted share reached the drift threshold.",
    multiprocess_mode="mostrecent",
    unit="boolean",
    absent_until_set=True,
)
MODEL_FEATURE_DRIFT_SCORE = MetricSpec(
    "model_feature_drift_score",
    "gauge",
    "Per-feature drift score of the latest evaluation (Evidently's drift statistic).",
    ("feature",),
    multiprocess_mode="mostrecent",
    label_values={"feature": DRIFT_FEATURES},
    unit="score",
    # Both statistics are distances: Wasserstein (in reference standard deviations) has no upper
    # bound, Jensen-Shannon stays within 0-1.
    valid_range=(0.0, None),
)
MODEL_EVALUATION_ROWS = MetricSpec(
    "model_evaluation_rows",
    "gauge",
    "Rows in the latest evaluation.",
    multiprocess_mode="mostrecent",
    unit="rows",
    absent_until_set=True,
)
MODEL_LAST_EVALUATION_TIMESTAMP = MetricSpec(
    "model_last_evaluation_timestamp_seconds",
    "gauge",
    "Unix time of the latest successful evaluation.",
    multiprocess_mode="max",
    unit="timestamp_seconds",
    absent_until_set=True,
)
MODEL_EVALUATIONS = MetricSpec(
    "model_evaluations_total",
    "counter",
    "Evaluations requested, by outcome.",
    ("outcome",),
    label_values={"outcome": ("success", "rejected", "busy", "failed")},
)
MODEL_EVALUATION_DURATION = MetricSpec(
    "model_evaluation_duration_seconds",
    "histogram",
    "Time to predict and build the Evidently report for one evaluation, in seconds.",
    (),
    EVALUATION_BUCKETS,
    unit="seconds",
)
MODEL_EVALUATION_REPORT_FAILURES = MetricSpec(
    "model_evaluation_report_failures_total",
    "counter",
    "Evaluations whose HTML/JSON report could not be written; their scores were published.",
)
MODEL_RETRAINING_DECISIONS = MetricSpec(
    "model_retraining_decisions_total",
    "counter",
    "Retraining decisions taken on alerts; each RETRAINING_TRIGGERED starts a retrain flow run.",
    ("decision", "reason"),
    label_values={
        "decision": ("RETRAINING_TRIGGERED", "NO_ACTION"),
        "reason": ("data_drift", "model_quality", "resolved", "other_alert"),
    },
)

MODEL_HISTORY_WRITES = MetricSpec(
    "model_history_writes_total",
    "counter",
    "Evaluations and retraining decisions written to the MLflow history, by outcome; a failed "
    "write stays queued and is retried.",
    ("kind", "outcome"),
    label_values={"kind": ("evaluation", "decision"), "outcome": ("success", "failed")},
)

MODEL_RETRAINING_TRIGGERS = MetricSpec(
    "model_retraining_triggers_total",
    "counter",
    "RETRAINING_TRIGGERED decisions handed to Prefect, by outcome: started (a retrain flow run "
    "was created), skipped (one was already scheduled or running: recorded, not started), "
    "unconfigured (no PREFECT_API_URL: recorded only), retried (the delivery failed and is "
    "retried).",
    ("outcome",),
    label_values={"outcome": ("started", "skipped", "unconfigured", "retried")},
)
MODEL_RETRAINING_TRIGGERS_PENDING = MetricSpec(
    "model_retraining_triggers_pending",
    "gauge",
    "RETRAINING_TRIGGERED decisions recorded and not yet delivered to Prefect.",
    multiprocess_mode="livemax",
    unit="triggers",
)
MODEL_RETRAINING_LAST_TRIGGER = MetricSpec(
    "model_retraining_last_trigger_timestamp_seconds",
    "gauge",
    "Unix time of the newest RETRAINING_TRIGGERED decision that should start a retrain flow run "
    "(one skipped because a run was already active does not count; 0 when every one was), "
    "restored from the decision log.",
    multiprocess_mode="mostrecent",
    unit="timestamp_seconds",
    absent_until_set=True,
)

MODEL_LIVE_FEATURE_DRIFT_SCORE = MetricSpec(
    "model_live_feature_drift_score",
    "gauge",
    "Drift score of each input feature over the live window of /predict inputs, as /evaluate "
    "scores a batch (NaN: not scored, a cyclic calendar feature whose cycle the window does not "
    "cover yet).",
    ("feature",),
    multiprocess_mode="mostrecent",
    label_values={"feature": DRIFT_FEATURES},
    unit="score",
)
MODEL_LIVE_DRIFTED_FEATURES_RATIO = MetricSpec(
    "model_live_drifted_features_ratio",
    "gauge",
    "Share of the scored input features drifted over the live window of /predict inputs.",
    multiprocess_mode="mostrecent",
    unit="ratio",
    absent_until_set=True,
)
MODEL_LIVE_WINDOW_ROWS = MetricSpec(
    "model_live_window_rows",
    "gauge",
    "/predict inputs in the live window scored last (at most LIVE_DRIFT_WINDOW).",
    multiprocess_mode="mostrecent",
    unit="rows",
    absent_until_set=True,
)
MODEL_LIVE_WINDOW_FULL = MetricSpec(
    "model_live_window_full",
    "gauge",
    "1 when the live window scored last held LIVE_DRIFT_WINDOW inputs (its full size).",
    multiprocess_mode="mostrecent",
    unit="boolean",
    absent_until_set=True,
)
MODEL_LIVE_DRIFT_LAST_RUN = MetricSpec(
    "model_live_drift_last_run_timestamp_seconds",
    "gauge",
    "Unix time the live window was last scored.",
    multiprocess_mode="max",
    unit="timestamp_seconds",
    absent_until_set=True,
)

# The retrain flow's metrics: exposed by the retrain worker's /metrics (flows/worker.py), whose
# flow runs write them from their own processes (prometheus-client's multiprocess files).
RETRAIN_DURATION_BUCKETS = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)
RETRAIN_FLOW_RUNS = MetricSpec(
    "retrain_flow_runs_total",
    "counter",
    "Retrain flow runs finished, by outcome: promoted (the challenger became champion), "
    "rejected (registered, not promoted), failed (nothing promoted).",
    ("outcome",),
    label_values={"outcome": ("promoted", "rejected", "failed")},
)
RETRAIN_FLOW_DURATION = MetricSpec(
    "retrain_flow_duration_seconds",
    "histogram",
    "Duration of a retrain flow run, start to outcome, in seconds.",
    (),
    RETRAIN_DURATION_BUCKETS,
    unit="seconds",
)
RETRAIN_FLOW_LAST_START = MetricSpec(
    "retrain_flow_last_start_timestamp_seconds",
    "gauge",
    "Unix time the newest retrain flow run started.",
    multiprocess_mode="max",
    unit="timestamp_seconds",
    absent_until_set=True,
)
RETRAIN_FLOW_LAST_SUCCESS = MetricSpec(
    "retrain_flow_last_success_timestamp_seconds",
    "gauge",
    "Unix time the newest retrain flow run that did not fail ended (promoted or rejected).",
    multiprocess_mode="max",
    unit="timestamp_seconds",
    absent_until_set=True,
)
RETRAIN_FLOW_LAST_PROMOTION = MetricSpec(
    "retrain_flow_last_promotion_timestamp_seconds",
    "gauge",
    "Unix time a retrain flow run last promoted its challenger to champion.",
    multiprocess_mode="max",
    unit="timestamp_seconds",
    absent_until_set=True,
)
RETRAIN_FLOW_HOLDOUT_RMSE = MetricSpec(
    "retrain_flow_holdout_rmse_score",
    "gauge",
    "RMSE on the holdout week of the newest retrain flow run, challenger vs champion, in rentals "
    "per hour.",
    ("model",),
    multiprocess_mode="mostrecent",
    label_values={"model": ("challenger", "champion")},
    unit="rentals",
)

ALL_SPECS: tuple[MetricSpec, ...] = (
    API_REQUESTS,
    API_REQUEST_DURATION,
    API_ACTIVE_REQUESTS,
    API_ERRORS,
    MODEL_LOADED,
    MODEL_INFO,
    MODEL_INFERENCE_DURATION,
    MODEL_PREDICTED_RENTALS,
    MODEL_RMSE,
    MODEL_MAE,
    MODEL_R2,
    MODEL_MAPE,
    MODEL_DRIFTED_FEATURES_RATIO,
    MODEL_DRIFT_DETECTED,
    MODEL_FEATURE_DRIFT_SCORE,
    MODEL_EVALUATION_ROWS,
    MODEL_LAST_EVALUATION_TIMESTAMP,
    MODEL_EVALUATIONS,
    MODEL_EVALUATION_DURATION,
    MODEL_EVALUATION_REPORT_FAILURES,
    MODEL_RETRAINING_DECISIONS,
    MODEL_REGISTRY_VERSION,
    MODEL_REGISTRY_VERSION_CREATED,
    MODEL_RELOADS,
    MODEL_HISTORY_WRITES,
    MODEL_RETRAINING_TRIGGERS,
    MODEL_RETRAINING_TRIGGERS_PENDING,
    MODEL_RETRAINING_LAST_TRIGGER,
    MODEL_LIVE_FEATURE_DRIFT_SCORE,
    MODEL_LIVE_DRIFTED_FEATURES_RATIO,
    MODEL_LIVE_WINDOW_ROWS,
    MODEL_LIVE_WINDOW_FULL,
    MODEL_LIVE_DRIFT_LAST_RUN,
)
# The retrain worker's metrics (not the API's).
RETRAIN_SPECS: tuple[MetricSpec, ...] = (
    RETRAIN_FLOW_RUNS,
    RETRAIN_FLOW_DURATION,
    RETRAIN_FLOW_LAST_START,
    RETRAIN_FLOW_LAST_SUCCESS,
    RETRAIN_FLOW_LAST_PROMOTION,
    RETRAIN_FLOW_HOLDOUT_RMSE,
)


def _counter(spec: MetricSpec, registry: CollectorRegistry) -> Counter:
    assert spec.kind == "counter", spec.name
    # prometheus-client appends `_total` itself.
    return Counter(
        spec.name.removesuffix("_total"), spec.documentation, spec.labels, registry=registry
    )


def _gauge(spec: MetricSpec, registry: CollectorRegistry) -> Gauge:
    assert spec.kind == "gauge", spec.name
    return Gauge(
        spec.name,
        spec.documentation,
        spec.labels,
        registry=registry,
        multiprocess_mode=spec.multiprocess_mode,
    )


def _histogram(spec: MetricSpec, registry: CollectorRegistry) -> Histogram:
    assert spec.kind == "histogram", spec.name
    return Histogram(
        spec.name, spec.documentation, spec.labels, registry=registry, buckets=spec.buckets
    )


def _lazy(spec: MetricSpec, registry: CollectorRegistry) -> LazyGauge:
    assert spec.kind == "gauge" and spec.absent_until_set and not spec.labels, spec.name
    return LazyGauge(spec, registry)


class LazyGauge:
    """A gauge that does not exist until its first `set`: absent from /metrics (in every
    worker's files, in multiprocess mode) rather than a made-up 0.

    Example:
        >>> from prometheus_client import CollectorRegistry, generate_latest
        >>> registry = CollectorRegistry()
        >>> rmse = LazyGauge(MODEL_RMSE, registry)
        >>> b"model_rmse_score" in generate_latest(registry)
        False
        >>> rmse.set(20.7)
        >>> b"model_rmse_score 20.7" in generate_latest(registry)
        True
    """

    def __init__(self, spec: MetricSpec, registry: CollectorRegistry) -> None:
        self._spec = spec
        self._registry = registry
        self._gauge: Gauge | None = None
        self._lock = threading.Lock()

    def set(self, value: float) -> None:
        if self._gauge is None:
            with self._lock:
                if self._gauge is None:
                    self._gauge = _gauge(self._spec, self._registry)
        self._gauge.set(value)


def _gauge_value(value: float | None) -> float:
    # NaN, not a stale number: the last batch left this score undefined.
    return math.nan if value is None else value


class Metrics:
    """The live metric objects of one API process, registered on an injectable registry.

    Example:
        >>> from prometheus_client import CollectorRegistry, generate_latest
        >>> m = Metrics(CollectorRegistry())
        >>> m.api_requests.labels("/predict", "POST", "200").inc()
        >>> b"api_requests_total" in generate_latest(m.registry)
        True
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        r = registry
        self.api_requests = _counter(API_REQUESTS, r)
        self.api_request_duration = _histogram(API_REQUEST_DURATION, r)
        self.api_active_requests = _gauge(API_ACTIVE_REQUESTS, r)
        self.api_errors = _counter(API_ERRORS, r)
        self.model_loaded = _gauge(MODEL_LOADED, r)
        self.model_info = _gauge(MODEL_INFO, r)
        self.model_inference_duration = _histogram(MODEL_INFERENCE_DURATION, r)
        self.model_predicted_rentals = _histogram(MODEL_PREDICTED_RENTALS, r)
        self.model_rmse = _lazy(MODEL_RMSE, r)
        self.model_mae = _lazy(MODEL_MAE, r)
        self.model_r2 = _lazy(MODEL_R2, r)
        self.model_mape = _lazy(MODEL_MAPE, r)
        self.model_drifted_features_ratio = _lazy(MODEL_DRIFTED_FEATURES_RATIO, r)
        self.model_drift_detected = _lazy(MODEL_DRIFT_DETECTED, r)
        self.model_feature_drift_score = _gauge(MODEL_FEATURE_DRIFT_SCORE, r)
        self.model_evaluation_rows = _lazy(MODEL_EVALUATION_ROWS, r)
        self.model_last_evaluation_timestamp = _lazy(MODEL_LAST_EVALUATION_TIMESTAMP, r)
        self.model_evaluations = _counter(MODEL_EVALUATIONS, r)
        self.model_evaluation_duration = _histogram(MODEL_EVALUATION_DURATION, r)
        self.model_evaluation_report_failures = _counter(MODEL_EVALUATION_REPORT_FAILURES, r)
        self.model_retraining_decisions = _counter(MODEL_RETRAINING_DECISIONS, r)
        self.model_registry_version = _lazy(MODEL_REGISTRY_VERSION, r)
        self.model_registry_version_created = _lazy(MODEL_REGISTRY_VERSION_CREATED, r)
        self.model_reloads = _counter(MODEL_RELOADS, r)
        self.model_history_writes = _counter(MODEL_HISTORY_WRITES, r)
        self.model_retraining_triggers = _counter(MODEL_RETRAINING_TRIGGERS, r)
        self.model_retraining_triggers_pending = _gauge(MODEL_RETRAINING_TRIGGERS_PENDING, r)
        self.model_retraining_last_trigger = _lazy(MODEL_RETRAINING_LAST_TRIGGER, r)
        self.model_live_feature_drift_score = _gauge(MODEL_LIVE_FEATURE_DRIFT_SCORE, r)
        self.model_live_drifted_features_ratio = _lazy(MODEL_LIVE_DRIFTED_FEATURES_RATIO, r)
        self.model_live_window_rows = _lazy(MODEL_LIVE_WINDOW_ROWS, r)
        self.model_live_window_full = _lazy(MODEL_LIVE_WINDOW_FULL, r)
        self.model_live_drift_last_run = _lazy(MODEL_LIVE_DRIFT_LAST_RUN, r)

    def publish_evaluation(self, result: EvaluationResult, at: float) -> None:
        """The scores and drift of the latest evaluation (done at Unix time `at`) as gauges."""
        self.model_rmse.set(_gauge_value(result.rmse))
        self.model_mae.set(_gauge_value(result.mae))
        self.model_r2.set(_gauge_value(result.r2))
        self.model_mape.set(_gauge_value(result.mape))
        self.model_drifted_features_ratio.set(result.drift_share)
        self.model_drift_detected.set(1 if result.drift_detected else 0)
        for feature in DRIFT_FEATURES:
            score = result.feature_drift_scores.get(feature)
            self.model_feature_drift_score.labels(feature).set(_gauge_value(score))
        self.model_evaluation_rows.set(result.rows)
        self.model_last_evaluation_timestamp.set(at)

    def start_at_zero(
        self,
        requests: Iterable[tuple[str, str, str]],
        errors: Iterable[tuple[str, str]],
        decisions: Iterable[tuple[str, str]],
    ) -> None:
        """Create every known label set of the counters at 0, so that the first request, error,
        evaluation or decision is an increase `rate()` and `increase()` can see.

        `requests` are (endpoint, method, status_code), `errors` (endpoint, error_type),
        `decisions` (decision, reason): the label sets the app can produce.
        """
        for labels in requests:
            self.api_requests.labels(*labels)
        for endpoint, error_type in errors:
            self.api_errors.labels(endpoint, error_type)
        for outcome in MODEL_EVALUATIONS.label_values["outcome"]:
            self.model_evaluations.labels(outcome)
        for decision, reason in decisions:
            self.model_retraining_decisions.labels(decision, reason)
        for outcome in MODEL_RELOADS.label_values["outcome"]:
            self.model_reloads.labels(outcome)
        for kind in MODEL_HISTORY_WRITES.label_values["kind"]:
            for outcome in MODEL_HISTORY_WRITES.label_values["outcome"]:
                self.model_history_writes.labels(kind, outcome)
        for outcome in MODEL_RETRAINING_TRIGGERS.label_values["outcome"]:
            self.model_retraining_triggers.labels(outcome)


class RetrainMetrics:
    """The retrain flow's live metrics, in the process of one flow run (multiprocess files
    when PROMETHEUS_MULTIPROC_DIR is set: the retrain worker's /metrics adds them up)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        r = registry
        self.runs = _counter(RETRAIN_FLOW_RUNS, r)
        self.duration = _histogram(RETRAIN_FLOW_DURATION, r)
        self.last_start = _lazy(RETRAIN_FLOW_LAST_START, r)
        self.last_success = _lazy(RETRAIN_FLOW_LAST_SUCCESS, r)
        self.last_promotion = _lazy(RETRAIN_FLOW_LAST_PROMOTION, r)
        self.holdout_rmse = _gauge(RETRAIN_FLOW_HOLDOUT_RMSE, r)

    def start_at_zero(self) -> None:
        for outcome in RETRAIN_FLOW_RUNS.label_values["outcome"]:
            self.runs.labels(outcome)
