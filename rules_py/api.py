"""bike-api rules: request rate, error ratio and latency records, and the availability alerts."""

from __future__ import annotations

from api.metrics import API_ACTIVE_REQUESTS, API_REQUEST_DURATION, API_REQUESTS
from authoring import config
from authoring.alert_shapes import gauge_alert, ratio_alert, replica_targets, scrape_target
from authoring.node_exporter import UP
from authoring.promql import across_replicas, histogram_quantile, rate, sel
from authoring.rules_dsl import (
    AlertingRule,
    AlertTest,
    Fires,
    RecordingRule,
    RecordTest,
    RuleGroup,
    Sample,
    Series,
    Threshold,
    format_number,
    record_name,
)

__all__ = [
    "REPLICAS",
    "REQUEST_ERROR_RATE",
    "REQUEST_ERROR_RATIO",
    "REQUEST_LATENCY",
    "REQUEST_LATENCY_BY_ENDPOINT",
    "REQUEST_RATE",
    "REQUEST_RATE_BY_ENDPOINT",
    "groups",
]

W = config.RULE_WINDOW
JOB = {"job": config.API_JOB}
# Test series carry the labels Prometheus adds at scrape time in the compose stack.
TARGET = scrape_target(config.API_JOB)
# Client traffic: scrapes and health probes excluded.
CLIENT = {**JOB, "endpoint": "!~" + config.API_PROBE_ENDPOINTS}
ERRORS = {**CLIENT, "status_code": "~" + config.API_ERROR_STATUS_REGEX}
# The serving path: client traffic without /evaluate, whose Evidently report takes seconds.
SERVING = {
    **JOB,
    "endpoint": "!~" + f"{config.API_PROBE_ENDPOINTS}|{config.API_LATENCY_EXCLUDED_ENDPOINT}",
}


def _requests(status_code: str, per_minute: int, endpoint: str = "/predict") -> Series:
    labels = {**TARGET, "endpoint": endpoint, "method": "POST", "status_code": status_code}
    return Series(sel(API_REQUESTS, **labels), f"0+{per_minute}x20")


# Scrapes and health checks, as compose's healthcheck and Prometheus send them.
_PROBES = (_requests("200", 4, "/metrics"), _requests("200", 6, "/health"))


def _latency_buckets(endpoint: str, le_all: str) -> tuple[Series, ...]:
    """60 requests a minute to `endpoint`, none faster than 0.1 s and all within `le_all`."""
    labels = {**TARGET, "endpoint": endpoint, "method": "POST", "status_code": "200"}
    bucket = API_REQUEST_DURATION.bucket
    return (
        Series(sel(API_REQUEST_DURATION, bucket, le="0.1", **labels), "0x20"),
        Series(sel(API_REQUEST_DURATION, bucket, le=le_all, **labels), "0+60x20"),
        Series(sel(API_REQUEST_DURATION, bucket, le="+Inf", **labels), "0+60x20"),
    )


REQUEST_RATE = RecordingRule(
    record_name("job", API_REQUESTS, f"rate{W}"),
    rate(API_REQUESTS, by=("job",), window=W, **CLIENT),
    tests=(
        RecordTest(
            "every status code counts; scrapes and probes do not",
            (_requests("200", 540), _requests("500", 60), *_PROBES),
            at=W,
            samples=(Sample(JOB, 10),),
        ),
    ),
)
REQUEST_RATE_BY_ENDPOINT = RecordingRule(
    record_name("job_endpoint", API_REQUESTS, f"rate{W}"),
    rate(API_REQUESTS, by=("job", "endpoint"), window=W, **JOB),
)
REQUEST_ERROR_RATE = RecordingRule(
    record_name("job", API_REQUESTS, f"rate{W}", suffix="_5xx"),
    rate(API_REQUESTS, by=("job",), window=W, **ERRORS),
)
REQUEST_ERROR_RATIO = RecordingRule(
    record_name("job", API_REQUESTS, f"ratio_rate{W}", suffix="_5xx"),
    # `or ... * 0`: with no 5xx series yet the ratio is 0, not absent, so dashboards draw it.
    f"({REQUEST_ERROR_RATE.sel()} or {REQUEST_RATE.sel()} * 0) / {REQUEST_RATE.sel()}",
    unit="ratio",
    tests=(
        RecordTest(
            "one request in ten failing, however many probes succeed",
            (_requests("200", 540), _requests("500", 60), *_PROBES),
            at=W,
            samples=(Sample(JOB, 0.1),),
        ),
        RecordTest(
            "0, not absent, before the first server error; 4xx are not server errors",
            (_requests("200", 540), _requests("422", 60)),
            at=W,
            samples=(Sample(JOB, 0),),
        ),
    ),
)
# p50, p95 and p99 of the serving path: what the latency panels plot against the alert limit.
REQUEST_LATENCY = {
    q: RecordingRule(
        record_name("job", API_REQUEST_DURATION, f"p{round(q * 100)}_{W}"),
        histogram_quantile(q, API_REQUEST_DURATION, by=("job",), window=W, **SERVING),
        tests=(
            RecordTest(
                "a slow /evaluate and the probes do not move the serving path's p95",
                (
                    *_latency_buckets("/predict", "0.5"),
                    *_latency_buckets(config.API_LATENCY_EXCLUDED_ENDPOINT, "2.5"),
                    *_latency_buckets("/metrics", "2.5"),
                ),
                at=W,
                # 0.1 + 0.95 * (0.5 - 0.1) seconds: /predict's alone.
                samples=(Sample(JOB, 0.48),),
            ),
        )
        if q == 0.95
        else (),
    )
    for q in (0.5, 0.95, 0.99)
}
REQUEST_LATENCY_BY_ENDPOINT = RecordingRule(
    record_name("job_endpoint", API_REQUEST_DURATION, f"p95_{W}"),
    histogram_quantile(0.95, API_REQUEST_DURATION, by=("job", "endpoint"), window=W, **JOB),
    tests=(
        RecordTest(
            "one p95 per endpoint, interpolated inside its bucket",
            (*_latency_buckets("/predict", "0.5"), *_latency_buckets("/evaluate", "2.5")),
            at=W,
            samples=(
                # 0.1 + 0.95 * (0.5 - 0.1) and 0.1 + 0.95 * (2.5 - 0.1) seconds.
                Sample({**JOB, "endpoint": "/evaluate"}, 2.38),
                Sample({**JOB, "endpoint": "/predict"}, 0.48),
            ),
        ),
    ),
)

# Three replicas, as the Kubernetes target runs them: what a replica's test series carries.
REPLICAS = replica_targets(config.API_JOB)
_up_job = sel(UP, **JOB)
api_down = AlertingRule(
    name="BikeApiDown",
    # Every replica down, or none left to scrape: a Deployment scaled to zero has no target, hence
    # no `up` series at all. One replica down is BikeApiReplicaDown's warning.
    expression=f"{across_replicas(_up_job)} == 0 or absent({_up_job})",
    for_="1m",
    severity="critical",
    # While the API is down its warnings add nothing to the page. Only this alert inhibits:
    # other critical alerts (errors, no model) must not mute the drift and quality warnings the
    # retraining webhook acts on.
    inhibits="warning",
    summary="bike-api is down",
    description=(
        "Prometheus has scraped no replica of {{ $labels.job }} for a minute (every target down, "
        "or none discovered): /predict and /evaluate are unavailable."
    ),
    tests=(
        AlertTest(
            name="every replica down pages a minute later",
            series=tuple(Series(sel(UP, **r), "1 1 0x10") for r in REPLICAS),
            onset="2m",
            fires=(Fires(JOB, 0),),
        ),
        AlertTest(
            name="one replica of three down does not page",
            series=(
                Series(sel(UP, **REPLICAS[0]), "1 1 0x10"),
                *(Series(sel(UP, **r), "1x12") for r in REPLICAS[1:]),
            ),
            quiet_at=("5m", "10m"),
        ),
        AlertTest(
            name="no replica left to scrape (scaled to zero) pages too",
            # The targets vanish: Prometheus marks their series stale at once.
            series=tuple(Series(sel(UP, **r), "1 1 stale") for r in REPLICAS),
            onset="2m",
            fires=(Fires(JOB, 1),),
        ),
    ),
)

api_replica_down = gauge_alert(
    "BikeApiReplicaDown",
    UP,
    "==",
    0,
    example=(1, 0),
    for_="1m",
    severity="warning",
    replicas="each",
    summary="A bike-api replica is down",
    description=(
        "Prometheus has not scraped {{ $labels.instance }} (job {{ $labels.job }}) for a minute: "
        "the other replicas serve its share of /predict; BikeApiDown pages if every one is down."
    ),
)

api_high_error_rate = ratio_alert(
    "BikeApiHighErrorRate",
    REQUEST_ERROR_RATIO,
    ">",
    config.API_ERROR_RATIO_MAX,
    example=((_requests("200", 540), _requests("500", 60)), 0.1),
    for_="5m",
    severity="critical",
    summary="bike-api answers too many requests with a server error",
    description=(
        "{{ $value | humanizePercentage }} of requests to {{ $labels.job }} ended in a 5xx "
        f"over the last {W} (threshold {config.API_ERROR_RATIO_MAX:.0%})."
    ),
    tests=(
        AlertTest(
            name="client errors alone never page",
            series=(_requests("200", 60), _requests("422", 540)),
            quiet_at=("10m", "20m"),
        ),
    ),
)

_latency_max = format_number(config.API_LATENCY_P95_MAX_SECONDS)
api_high_latency = AlertingRule(
    name="BikeApiHighLatencyP95",
    threshold=Threshold(
        REQUEST_LATENCY_BY_ENDPOINT.sel(
            endpoint="!=" + config.API_LATENCY_EXCLUDED_ENDPOINT, **JOB
        ),
        ">",
        config.API_LATENCY_P95_MAX_SECONDS,
    ),
    for_="10m",
    severity="warning",
    summary="bike-api is slow on {{ $labels.endpoint }}",
    description=(
        "p95 latency of {{ $labels.endpoint }} is {{ $value | humanizeDuration }} over the last "
        f"{W} (threshold {_latency_max}s)."
    ),
    tests=(
        AlertTest(
            name="a slow /predict warns after ten minutes; a slow /evaluate never does",
            series=(
                *_latency_buckets("/predict", "0.5"),
                *_latency_buckets(config.API_LATENCY_EXCLUDED_ENDPOINT, "2.5"),
            ),
            # Linear interpolation inside (0.1, 0.5]: 0.1 + 0.95 * 0.4 s.
            fires=(Fires({**JOB, "endpoint": "/predict"}, 0.48),),
        ),
    ),
)

api_high_concurrency = gauge_alert(
    "BikeApiHighConcurrentRequests",
    API_ACTIVE_REQUESTS,
    ">",
    config.API_ACTIVE_REQUESTS_MAX,
    example=(0, 60),
    for_="5m",
    severity="warning",
    # Each replica queues on its own: one starved replica is worth a warning.
    replicas="each",
    summary="bike-api is queueing requests",
    description=(
        "{{ $value }} requests are in flight on {{ $labels.instance }} "
        f"(threshold {config.API_ACTIVE_REQUESTS_MAX})."
    ),
)

groups = (
    RuleGroup(
        "bike-api-records",
        (
            REQUEST_RATE,
            REQUEST_RATE_BY_ENDPOINT,
            REQUEST_ERROR_RATE,
            REQUEST_ERROR_RATIO,
            *REQUEST_LATENCY.values(),
            REQUEST_LATENCY_BY_ENDPOINT,
        ),
    ),
    RuleGroup(
        "bike-api-alerts",
        (api_down, api_replica_down, api_high_error_rate, api_high_latency, api_high_concurrency),
    ),
)
