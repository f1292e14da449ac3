"""Model rules: loaded, inference speed, drift and quality of the latest evaluation, staleness."""

from __future__ import annotations

from api.metrics import (
    MODEL_DRIFTED_FEATURES_RATIO,
    MODEL_EVALUATION_ROWS,
    MODEL_INFERENCE_DURATION,
    MODEL_LAST_EVALUATION_TIMESTAMP,
    MODEL_LOADED,
    MODEL_R2,
    MODEL_RMSE,
)
from bikewatch import config
from bikewatch.profiles import COMPOSE
from bikewatch.promql import age, histogram_quantile, latest, sel
from rules_py import names
from rules_py.dsl import (
    BOTH,
    AlertingRule,
    AlertTest,
    Fired,
    RecordingRule,
    RuleGroup,
    Series,
    Threshold,
    format_duration,
    format_number,
    record_name,
)

__all__ = ["INFERENCE_LATENCY", "groups"]

W = config.RULE_WINDOW
JOB = {"job": config.API_JOB}
TARGET = {**JOB, "instance": COMPOSE.api}

INFERENCE_LATENCY = RecordingRule(
    record_name("job", MODEL_INFERENCE_DURATION, f"p95_{W}"),
    histogram_quantile(0.95, MODEL_INFERENCE_DURATION, by=("job",), window=W, **JOB),
)

# Gauges of the latest evaluation read 0 until the first one: an alert on "too low" must wait
# for an evaluation to have happened, or every fresh API would page.
_evaluated = f"{sel(MODEL_EVALUATION_ROWS, **JOB)} > 0"


model_not_loaded = AlertingRule(
    name=names.BIKE_MODEL_NOT_LOADED,
    threshold=Threshold(sel(MODEL_LOADED, **JOB), "==", 0),
    for_="2m",
    severity="critical",
    summary="bike-api has no model loaded",
    description=(
        "{{ $labels.instance }} answers /predict with 503: no model artifact is loaded. "
        "Run `make train` and restart the API."
    ),
    tests=(
        AlertTest(
            name="an API without its model pages after two minutes",
            series=(Series(sel(MODEL_LOADED, **TARGET), "1 0x10"),),
            onset="1m",
            fired=(
                Fired(
                    TARGET,
                    "bike-api has no model loaded",
                    f"{COMPOSE.api} answers /predict with 503: no model artifact is loaded. "
                    "Run `make train` and restart the API.",
                ),
            ),
        ),
    ),
)

_bucket = MODEL_INFERENCE_DURATION.bucket
_inference_max_ms = format_number(config.INFERENCE_P95_MAX_SECONDS * 1000)
slow_inference = AlertingRule(
    name=names.BIKE_SLOW_INFERENCE,
    threshold=Threshold(INFERENCE_LATENCY.sel(**JOB), ">", config.INFERENCE_P95_MAX_SECONDS),
    for_="10m",
    severity="warning",
    summary="Model inference is slow",
    description=(
        "p95 time in the model is {{ $value | humanizeDuration }} per prediction over the last "
        f"{W} (threshold {_inference_max_ms}ms)."
    ),
    tests=(
        AlertTest(
            name="predictions of 10-25 ms warn after ten minutes",
            series=(
                Series(sel(MODEL_INFERENCE_DURATION, _bucket, le="0.01", **TARGET), "0x20"),
                Series(sel(MODEL_INFERENCE_DURATION, _bucket, le="0.025", **TARGET), "0+60x20"),
                Series(sel(MODEL_INFERENCE_DURATION, _bucket, le="+Inf", **TARGET), "0+60x20"),
            ),
            onset="1m",
            fired=(
                Fired(
                    JOB,
                    "Model inference is slow",
                    # Interpolated inside (0.01, 0.025]: 0.01 + 0.95 * 0.015 s.
                    "p95 time in the model is 24.25ms per prediction over the last "
                    f"{W} (threshold {_inference_max_ms}ms).",
                ),
            ),
        ),
    ),
)

_drift_max = f"{config.DRIFT_SHARE_THRESHOLD:.0%}"
data_drift = AlertingRule(
    name=names.BIKE_DATA_DRIFT_DETECTED,
    # `>=`: the API's own decision (Evidently's dataset drift) uses the same comparison.
    threshold=Threshold(
        sel(MODEL_DRIFTED_FEATURES_RATIO, **JOB), ">=", config.DRIFT_SHARE_THRESHOLD
    ),
    for_="1m",
    severity="warning",
    summary="Input data drifted from the January reference",
    description=(
        "{{ $value | humanizePercentage }} of the model's features drifted in the latest "
        f"evaluation on {{{{ $labels.instance }}}} (threshold {_drift_max}): the model sees data "
        "unlike its training window."
    ),
    backends=BOTH,
    tests=(
        AlertTest(
            name="half the features drifting warns after a minute",
            series=(Series(sel(MODEL_DRIFTED_FEATURES_RATIO, **TARGET), "0 0 0.5x10"),),
            onset="2m",
            fired=(
                Fired(
                    TARGET,
                    "Input data drifted from the January reference",
                    "50% of the model's features drifted in the latest evaluation on "
                    f"{COMPOSE.api} (threshold {_drift_max}): the model sees data unlike its "
                    "training window.",
                ),
            ),
        ),
    ),
)

_rmse_max = format_number(config.MODEL_RMSE_MAX)
rmse_high = AlertingRule(
    name=names.BIKE_MODEL_RMSE_HIGH,
    threshold=Threshold(sel(MODEL_RMSE, **JOB), ">", config.MODEL_RMSE_MAX),
    for_="1m",
    severity="warning",
    summary="Model error is too high",
    description=(
        'RMSE of the latest evaluation on {{ $labels.instance }} is {{ $value | printf "%.1f" }} '
        f"rentals per hour (threshold {_rmse_max})."
    ),
    backends=BOTH,
    tests=(
        AlertTest(
            name="an RMSE of 150 warns after a minute",
            series=(Series(sel(MODEL_RMSE, **TARGET), "40 40 150x10"),),
            onset="2m",
            fired=(
                Fired(
                    TARGET,
                    "Model error is too high",
                    f"RMSE of the latest evaluation on {COMPOSE.api} is 150.0 rentals per hour "
                    f"(threshold {_rmse_max}).",
                ),
            ),
        ),
    ),
)

_r2_min = format_number(config.MODEL_R2_MIN)
r2_low = AlertingRule(
    name=names.BIKE_MODEL_R2_LOW,
    expression=f"{sel(MODEL_R2, **JOB)} < {_r2_min} and {_evaluated}",
    for_="1m",
    severity="warning",
    summary="Model explains little of the variance",
    description=(
        'R2 of the latest evaluation on {{ $labels.instance }} is {{ $value | printf "%.2f" }} '
        f"(threshold {_r2_min})."
    ),
    tests=(
        AlertTest(
            name="an R2 of 0.1 warns after a minute",
            series=(
                Series(sel(MODEL_R2, **TARGET), "0 0 0.1x10"),
                Series(sel(MODEL_EVALUATION_ROWS, **TARGET), "0 0 168x10"),
            ),
            onset="2m",
            fired=(
                Fired(
                    TARGET,
                    "Model explains little of the variance",
                    f"R2 of the latest evaluation on {COMPOSE.api} is 0.10 (threshold {_r2_min}).",
                ),
            ),
        ),
        AlertTest(
            name="an API that never evaluated stays quiet",
            series=(
                Series(sel(MODEL_R2, **TARGET), "0x30"),
                Series(sel(MODEL_EVALUATION_ROWS, **TARGET), "0x30"),
            ),
            quiet_at=("30m",),
        ),
    ),
)

_max_age = config.EVALUATION_MAX_AGE_SECONDS
_lookback = config.EVALUATION_LOOKBACK
# One evaluation at t=10m: the expression first holds one evaluation after 10m + the max age.
_stale_onset = format_duration(600 + _max_age + 60)
# Samples every 10 minutes: promtool's test engine loads at most 10,000 samples per query, and
# the lookback holds nine days of them.
_STALE_STEP = 600
_stale_samples = (600 + _max_age) // _STALE_STEP + 3
_stale_fired = Fired(
    TARGET,
    "No model evaluation for too long",
    f"The latest evaluation on {COMPOSE.api} is {_max_age // 86400}d 0h 11m 0s old "
    f"(threshold {format_duration(_max_age)}): labelled data stopped reaching /evaluate.",
)
evaluation_stale = AlertingRule(
    name=names.BIKE_EVALUATION_STALE,
    # A never-evaluated API has no feedback loop to go stale; `> 0` keeps it quiet.
    expression=f"{age(MODEL_LAST_EVALUATION_TIMESTAMP, _lookback, **JOB)} > {_max_age} "
    f"and {latest(MODEL_LAST_EVALUATION_TIMESTAMP, _lookback, **JOB)} > 0",
    for_="10m",
    severity="warning",
    summary="No model evaluation for too long",
    description=(
        "The latest evaluation on {{ $labels.instance }} is {{ $value | humanizeDuration }} old "
        f"(threshold {format_duration(_max_age)}): labelled data stopped reaching /evaluate."
    ),
    tests=(
        AlertTest(
            name="eight days without evaluation warn ten minutes later",
            series=(
                Series(sel(MODEL_LAST_EVALUATION_TIMESTAMP, **TARGET), f"600x{_stale_samples}"),
            ),
            interval=format_duration(_STALE_STEP),
            onset=_stale_onset,
            fired=(_stale_fired,),
        ),
        AlertTest(
            name="an API restart (the gauge back to 0) does not hide it",
            series=(
                Series(
                    sel(MODEL_LAST_EVALUATION_TIMESTAMP, **TARGET),
                    f"600x10 0x{_stale_samples - 11}",
                ),
            ),
            interval=format_duration(_STALE_STEP),
            onset=_stale_onset,
            fired=(_stale_fired,),
        ),
    ),
)

groups = (
    RuleGroup("bike-model-records", (INFERENCE_LATENCY,)),
    RuleGroup(
        "bike-model-alerts",
        (
            model_not_loaded,
            slow_inference,
            data_drift,
            rmse_high,
            r2_low,
            evaluation_stale,
        ),
    ),
)
