"""Model rules: loaded, inference speed, drift and quality of the latest evaluation, staleness."""

from __future__ import annotations

from api.metrics import (
    MODEL_DRIFT_DETECTED,
    MODEL_DRIFTED_FEATURES_RATIO,
    MODEL_INFERENCE_DURATION,
    MODEL_LAST_EVALUATION_TIMESTAMP,
    MODEL_LOADED,
    MODEL_R2,
    MODEL_REGISTRY_VERSION_CREATED,
    MODEL_RELOADS,
    MODEL_RMSE,
)
from authoring import config
from authoring.alert_shapes import gauge_alert, retraining_reason, scrape_target
from authoring.promql import age, histogram_quantile, increase, sel
from authoring.rules_dsl import (
    BOTH,
    AlertingRule,
    AlertTest,
    Fires,
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
TARGET = scrape_target(config.API_JOB)
# The label the API's webhook decides on (POST /alerts): why an alert may call for retraining,
# so the service never needs to know alert names.
DATA_DRIFT = retraining_reason("data_drift")
MODEL_QUALITY = retraining_reason("model_quality")

INFERENCE_LATENCY = RecordingRule(
    record_name("job", MODEL_INFERENCE_DURATION, f"p95_{W}"),
    histogram_quantile(0.95, MODEL_INFERENCE_DURATION, by=("job",), window=W, **JOB),
)

model_not_loaded = gauge_alert(
    "BikeModelNotLoaded",
    MODEL_LOADED,
    "==",
    0,
    example=(1, 0),
    for_="2m",
    severity="critical",
    summary="bike-api has no model loaded",
    description=(
        "{{ $labels.instance }} answers /predict with 503: no model artifact is loaded. "
        "Run `make train` and restart the API."
    ),
)

_bucket = MODEL_INFERENCE_DURATION.bucket
_inference_max_ms = format_number(config.INFERENCE_P95_MAX_SECONDS * 1000)
slow_inference = AlertingRule(
    name="BikeSlowInference",
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
            # Interpolated inside (0.01, 0.025]: 0.01 + 0.95 * 0.015 s.
            fires=(Fires(JOB, 0.02425),),
        ),
    ),
)

_drift_max = f"{config.DRIFT_SHARE_THRESHOLD:.0%}"
data_drift = gauge_alert(
    "BikeDataDriftDetected",
    MODEL_DRIFTED_FEATURES_RATIO,
    # `>=`: the API's own decision (Evidently's dataset drift) uses the same comparison.
    ">=",
    config.DRIFT_SHARE_THRESHOLD,
    example=(0, 0.5),
    for_="1m",
    severity="warning",
    summary="Input data drifted from the January reference",
    description=(
        "{{ $value | humanizePercentage }} of the model's features drifted in the latest "
        f"evaluation on {{{{ $labels.instance }}}} (threshold {_drift_max}): the model sees data "
        "unlike its training window."
    ),
    labels=DATA_DRIFT,
    backends=BOTH,
)

rmse_high = gauge_alert(
    "BikeModelRmseHigh",
    MODEL_RMSE,
    ">",
    config.MODEL_RMSE_MAX,
    example=(40, 150),
    for_="1m",
    severity="warning",
    summary="Model error is too high",
    description=(
        'RMSE of the latest evaluation on {{ $labels.instance }} is {{ $value | printf "%.1f" }} '
        f"rentals per hour (threshold {format_number(config.MODEL_RMSE_MAX)})."
    ),
    labels=MODEL_QUALITY,
    backends=BOTH,
)

# The evaluation gauges are absent until the first evaluation: a fresh API cannot page on them.
r2_low = gauge_alert(
    "BikeModelR2Low",
    MODEL_R2,
    "<",
    config.MODEL_R2_MIN,
    example=(0.84, 0.1),
    for_="1m",
    severity="warning",
    summary="Model explains little of the variance",
    description=(
        'R2 of the latest evaluation on {{ $labels.instance }} is {{ $value | printf "%.2f" }} '
        f"(threshold {format_number(config.MODEL_R2_MIN)})."
    ),
    labels=MODEL_QUALITY,
)

_max_age = config.EVALUATION_MAX_AGE_SECONDS
_lookback = config.EVALUATION_LOOKBACK
# Samples and evaluations every 10 minutes over nine days: promtool's test engine loads at most
# 10,000 samples per query, and evaluating minute by minute would take ten times as long.
_STALE_STEP = 600
# One evaluation at t=10m (one step): the expression first holds one step after 10m + max age.
_stale_onset = _STALE_STEP + _max_age + _STALE_STEP
_stale_samples = (_stale_onset + 600) // _STALE_STEP + 2
# Firing at onset + for: (10m), the evaluation made at 10m is `onset` old.
_stale_fires = Fires(TARGET, _stale_onset)
evaluation_stale = AlertingRule(
    name="BikeEvaluationStale",
    # Read over the lookback: a restart (the gauge absent again until the next evaluation) does
    # not hide it. A never-evaluated API has no series, hence no feedback loop to go stale.
    expression=f"{age(MODEL_LAST_EVALUATION_TIMESTAMP, _lookback, **JOB)} > {_max_age}",
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
            onset=format_duration(_stale_onset),
            fires=(_stale_fires,),
        ),
        AlertTest(
            name="an API restart (the gauge absent until the next evaluation) does not hide it",
            series=(
                Series(
                    sel(MODEL_LAST_EVALUATION_TIMESTAMP, **TARGET),
                    f"600x10 _x{_stale_samples - 11}",
                ),
            ),
            interval=format_duration(_STALE_STEP),
            onset=format_duration(_stale_onset),
            fires=(_stale_fires,),
        ),
    ),
)

_reload_window = config.MODEL_RELOAD_FAILURE_WINDOW
_failed_reloads = sel(MODEL_RELOADS, outcome="failed", **TARGET)
_reload_failures = increase(
    MODEL_RELOADS, by=("job", "instance"), window=_reload_window, outcome="failed", **JOB
)
model_reload_failed = AlertingRule(
    name="BikeModelReloadFailed",
    expression=f"{_reload_failures} > 0",
    for_="5m",
    severity="warning",
    summary="bike-api refuses the registry's champion",
    description=(
        "{{ $labels.instance }} failed to load bike-demand@champion again and again over the "
        f"last {_reload_window} and still serves the previous version: the version cannot be "
        "downloaded or does not match its model card. "
        "GET /model names the cause."
    ),
    tests=(
        AlertTest(
            name="a version refused at every poll warns after five minutes",
            # Two failures a minute (the 30 s poll), from one minute in.
            series=(Series(_failed_reloads, "0 0+2x30"),),
            onset="2m",
            fires=(Fires(TARGET),),
        ),
        AlertTest(
            name="one failure, then the fixed version loads: quiet ten minutes later",
            series=(Series(_failed_reloads, "0 1x30"),),
            quiet_at=("20m", "30m"),
        ),
    ),
)

_champion_max_age = config.CHAMPION_MAX_AGE_UNDER_DRIFT_SECONDS
_champion_age = age(MODEL_REGISTRY_VERSION_CREATED, **JOB)
_HOUR = 3600
# The champion registered at t=0, drift from the start, evaluated hourly: the age passes the
# limit one step after max age.
_champion_onset = _champion_max_age + _HOUR
_champion_samples = (_champion_onset + 2 * _HOUR) // _HOUR + 2
champion_stale_under_drift = AlertingRule(
    name="BikeChampionStaleUnderDrift",
    expression=(
        f"{_champion_age} > {_champion_max_age} "
        f"and on (job, instance) {sel(MODEL_DRIFT_DETECTED, **JOB)} == 1"
    ),
    for_="1h",
    severity="warning",
    summary="The champion is old and the data drifted",
    description=(
        "bike-demand@champion on {{ $labels.instance }} was registered "
        "{{ $value | humanizeDuration }} ago and the latest evaluation detected drift "
        f"(threshold {format_duration(_champion_max_age)}): no retraining replaced it. See the "
        "retraining decisions and the MLflow runs."
    ),
    tests=(
        AlertTest(
            name="a week-old champion with drift warns an hour later",
            series=(
                Series(sel(MODEL_REGISTRY_VERSION_CREATED, **TARGET), f"0x{_champion_samples}"),
                Series(sel(MODEL_DRIFT_DETECTED, **TARGET), f"1x{_champion_samples}"),
            ),
            interval=format_duration(_HOUR),
            onset=format_duration(_champion_onset),
            fires=(Fires(TARGET, _champion_onset + _HOUR),),
        ),
        AlertTest(
            name="an old champion without drift is quiet",
            series=(
                Series(sel(MODEL_REGISTRY_VERSION_CREATED, **TARGET), f"0x{_champion_samples}"),
                Series(sel(MODEL_DRIFT_DETECTED, **TARGET), f"0x{_champion_samples}"),
            ),
            interval=format_duration(_HOUR),
            quiet_at=(format_duration(_champion_onset + 2 * _HOUR),),
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
            model_reload_failed,
            champion_stale_under_drift,
        ),
    ),
)
