"""Model rules: loaded, inference speed, drift and quality of the latest evaluation, staleness,
and the retraining loop (the API's triggers, the retrain worker's flow runs)."""

from __future__ import annotations

from api.metrics import (
    MODEL_DRIFT_DETECTED,
    MODEL_DRIFTED_FEATURES_RATIO,
    MODEL_INFERENCE_DURATION,
    MODEL_LAST_EVALUATION_TIMESTAMP,
    MODEL_LIVE_DRIFTED_FEATURES_RATIO,
    MODEL_LIVE_WINDOW_FULL,
    MODEL_LOADED,
    MODEL_R2,
    MODEL_REGISTRY_VERSION,
    MODEL_REGISTRY_VERSION_CREATED,
    MODEL_RELOADS,
    MODEL_RETRAINING_LAST_TRIGGER,
    MODEL_RETRAINING_TRIGGERS,
    MODEL_RMSE,
    RETRAIN_FLOW_LAST_PROMOTION,
    RETRAIN_FLOW_LAST_START,
    RETRAIN_FLOW_RUNS,
)
from authoring import config
from authoring.alert_shapes import (
    gauge_alert,
    replica_targets,
    retraining_reason,
    scrape_target,
)
from authoring.promql import (
    across_replicas,
    age,
    histogram_quantile,
    increase,
    latest,
    newest_age,
    sel,
)
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
    parse_duration,
    record_name,
)

__all__ = ["INFERENCE_LATENCY", "groups"]

W = config.RULE_WINDOW
JOB = {"job": config.API_JOB}
TARGET = scrape_target(config.API_JOB)
# The retrain worker exposes the flow runs' metrics: its own job and instance.
WORKER = {"job": config.RETRAIN_WORKER_JOB}
WORKER_TARGET = scrape_target(config.RETRAIN_WORKER_JOB)
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
    # A replica without a model answers its share of /predict with 503.
    replicas="each",
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
    # Every replica shows the newest evaluation in the registry: one alert for the job.
    replicas="max",
    summary="Input data drifted from the January reference",
    description=(
        "{{ $value | humanizePercentage }} of the model's features drifted in the latest "
        f"evaluation of {{{{ $labels.job }}}} (threshold {_drift_max}): the model sees data "
        "unlike its training window."
    ),
    labels=DATA_DRIFT,
    backends=BOTH,
)

_live_ratio = sel(MODEL_LIVE_DRIFTED_FEATURES_RATIO, **JOB)
_live_full = sel(MODEL_LIVE_WINDOW_FULL, **JOB)
_live_ratio_series = sel(MODEL_LIVE_DRIFTED_FEATURES_RATIO, **TARGET)
_live_full_series = sel(MODEL_LIVE_WINDOW_FULL, **TARGET)
live_input_drift = AlertingRule(
    name="BikeLiveInputDrift",
    # Only over a full window: a window still filling up is a few requests, not the traffic.
    # Each replica scores the inputs it served (a third of the traffic, at random): the job's
    # inputs drifted when any replica's full window did.
    expression=across_replicas(
        f"{_live_ratio} >= {format_number(config.DRIFT_SHARE_THRESHOLD)} "
        f"and on (job, instance) {_live_full} == 1"
    ),
    for_=config.LIVE_DRIFT_FOR,
    severity="warning",
    summary="Live /predict inputs drifted from the reference: labelled evaluation needed",
    description=(
        "{{ $value | humanizePercentage }} of the scored input features drifted over the last "
        f"/predict requests to {{{{ $labels.job }}}} (threshold {_drift_max}), before any "
        "label: send a labelled batch to /evaluate to see whether the model's error moved. It "
        "does not retrain by itself: there are no labels to retrain on."
    ),
    tests=(
        AlertTest(
            name="a full window of drifted inputs warns",
            series=(
                Series(_live_ratio_series, "0.1 0.1 0.45x20"),
                Series(_live_full_series, "1x22"),
            ),
            onset="2m",
            fires=(Fires(JOB, 0.45),),
        ),
        AlertTest(
            name="a window still filling up is not enough",
            series=(Series(_live_ratio_series, "0.45x20"), Series(_live_full_series, "0x20")),
            quiet_at=("5m", "15m"),
        ),
        AlertTest(
            name="under the threshold (February replayed) is quiet",
            series=(Series(_live_ratio_series, "0.27x20"), Series(_live_full_series, "1x20")),
            quiet_at=("5m", "15m"),
        ),
    ),
)

rmse_high = gauge_alert(
    "BikeModelRmseHigh",
    MODEL_RMSE,
    ">",
    config.MODEL_RMSE_MAX,
    example=(40, 150),
    for_="1m",
    severity="warning",
    replicas="max",
    summary="Model error is too high",
    description=(
        'RMSE of the latest evaluation is {{ $value | printf "%.1f" }} rentals per hour '
        f"(threshold {format_number(config.MODEL_RMSE_MAX)})."
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
    replicas="min",
    summary="Model explains little of the variance",
    description=(
        'R2 of the latest evaluation is {{ $value | printf "%.2f" }} '
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
_stale_fires = Fires(JOB, _stale_onset)
evaluation_stale = AlertingRule(
    name="BikeEvaluationStale",
    # Read over the lookback: a restart (the gauge absent again until the next evaluation) does
    # not hide it. A never-evaluated API has no series, hence no feedback loop to go stale.
    expression=f"{newest_age(MODEL_LAST_EVALUATION_TIMESTAMP, _lookback, **JOB)} > {_max_age}",
    for_="10m",
    severity="warning",
    summary="No model evaluation for too long",
    description=(
        "The latest evaluation of {{ $labels.job }} is {{ $value | humanizeDuration }} old "
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

# Three replicas, as the Kubernetes target runs them: what a replica's test series carries.
REPLICAS = replica_targets(config.API_JOB)
_versions = (
    "count_values without (instance, pod) "
    f'("registry_version", {sel(MODEL_REGISTRY_VERSION, **JOB)})'
)
_skew_for = config.MODEL_VERSION_SKEW_FOR


def _served(*versions: str) -> tuple[Series, ...]:
    return tuple(
        Series(sel(MODEL_REGISTRY_VERSION, **replica), values)
        for replica, values in zip(REPLICAS, versions, strict=True)
    )


model_version_skew = AlertingRule(
    name="BikeModelVersionSkew",
    # How many registry versions the replicas serve: one, but for the minute a promotion takes to
    # reach every replica.
    expression=f"count without (registry_version) ({_versions}) > 1",
    for_=_skew_for,
    severity="warning",
    summary="bike-api replicas serve different model versions",
    description=(
        "The replicas of {{ $labels.job }} serve {{ $value }} registry versions of bike-demand, "
        f"for {_skew_for} now: a promotion reaches every replica within a minute, so one refuses "
        "the champion or cannot reach the registry. The Model dashboard's version-by-replica "
        "panel names it; GET /model on it says why."
    ),
    tests=(
        AlertTest(
            name=f"one replica left on the old version warns {_skew_for} later",
            series=_served("1 1 2x15", "1 1 2x15", "1x17"),
            onset="2m",
            fires=(Fires(JOB, 2),),
        ),
        AlertTest(
            name="a promotion every replica serves within a minute is quiet",
            series=_served("1 1 2x15", "1 1 1 2x14", "1 1 1 2x14"),
            quiet_at=("5m", "15m"),
        ),
    ),
)

_champion_max_age = config.CHAMPION_MAX_AGE_UNDER_DRIFT_SECONDS
# The newest champion any replica serves, and the newest evaluation's drift.
_champion_age = newest_age(MODEL_REGISTRY_VERSION_CREATED, **JOB)
_HOUR = 3600
# The champion registered at t=0, drift from the start, evaluated hourly: the age passes the
# limit one step after max age.
_champion_onset = _champion_max_age + _HOUR
_champion_samples = (_champion_onset + 2 * _HOUR) // _HOUR + 2
champion_stale_under_drift = AlertingRule(
    name="BikeChampionStaleUnderDrift",
    expression=(
        f"{_champion_age} > {_champion_max_age} "
        f"and on (job) {across_replicas(sel(MODEL_DRIFT_DETECTED, **JOB))} == 1"
    ),
    for_="1h",
    severity="warning",
    summary="The champion is old and the data drifted",
    description=(
        "bike-demand@champion ({{ $labels.job }}) was registered "
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
            fires=(Fires(JOB, _champion_onset + _HOUR),),
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

_failure_window = config.RETRAIN_FAILURE_WINDOW
_failed_runs = sel(RETRAIN_FLOW_RUNS, outcome="failed", **WORKER_TARGET)
_run_failures = increase(
    RETRAIN_FLOW_RUNS, by=("job", "instance"), window=_failure_window, outcome="failed", **WORKER
)
# The day-long window is shown going quiet at a coarser step (fewer evaluations).
_TEN_MINUTES = 600
retrain_flow_failed = AlertingRule(
    name="BikeRetrainFlowFailed",
    expression=f"{_run_failures} > 0",
    # A run fails only after its tasks' own retries: one failure is the news, no need to wait.
    for_="0m",
    severity="warning",
    summary="A retrain flow run failed",
    description=(
        f"A retrain flow run on {{{{ $labels.instance }}}} failed in the last {_failure_window}: "
        "nothing was promoted, and no run is retried before the next drift alert. The worker's "
        "log and the run in the Prefect UI name the failed task."
    ),
    tests=(
        AlertTest(
            name="one failed run warns at once",
            series=(Series(_failed_runs, "0 0 1x30"),),
            onset="2m",
            fires=(Fires(WORKER_TARGET),),
        ),
        AlertTest(
            name="promoted and rejected runs are quiet",
            series=(
                Series(_failed_runs, "0x30"),
                Series(sel(RETRAIN_FLOW_RUNS, outcome="promoted", **WORKER_TARGET), "0 0 1x30"),
                Series(sel(RETRAIN_FLOW_RUNS, outcome="rejected", **WORKER_TARGET), "0 0 0 1x30"),
            ),
            quiet_at=("3m", "10m"),
        ),
        AlertTest(
            name="a worker restart (its counters back to 0) is no failure",
            series=(Series(_failed_runs, "1x5 0x25"),),
            quiet_at=("6m", "20m"),
        ),
        AlertTest(
            name=f"quiet again {_failure_window} after the failure",
            series=(Series(_failed_runs, "0 1x160"),),
            interval=format_duration(_TEN_MINUTES),
            quiet_at=(format_duration(parse_duration(_failure_window) + _HOUR),),
        ),
    ),
)

_grace = config.RETRAIN_DRIFT_GRACE_SECONDS
_retrain_lookback = config.RETRAIN_LOOKBACK
# The promotion's time, surviving a worker restart (read over the lookback); the API's gauges
# are restored at its start, so they are read as they are.
_promotion = latest(RETRAIN_FLOW_LAST_PROMOTION, _retrain_lookback, **WORKER)
_promotion_age = age(RETRAIN_FLOW_LAST_PROMOTION, _retrain_lookback, **WORKER)
_promotion_series = sel(RETRAIN_FLOW_LAST_PROMOTION, **WORKER_TARGET)
_evaluated_series = sel(MODEL_LAST_EVALUATION_TIMESTAMP, **TARGET)
_drift_series = sel(MODEL_DRIFT_DETECTED, **TARGET)
# Promoted at 1h, evaluated (with drift) at 3h: the promotion is older than the grace one step
# after 1h + grace, and when the alert fires an hour later it is `onset` old.
_persist_onset = _HOUR + _grace + _HOUR
_persist_samples = (_persist_onset + 4 * _HOUR) // _HOUR
_promoted_at_1h = f"_ {_HOUR}x{_persist_samples}"
_evaluated_at_3h = f"0 0 0 {3 * _HOUR}x{_persist_samples}"
drift_persists_after_retrain = AlertingRule(
    name="BikeDriftPersistsAfterRetrain",
    # Different jobs, different label sets: the worker's promotion time is reduced to one
    # label-less value before it meets the API's series (`on ()`).
    expression=(
        f"{_promotion_age} > {_grace} "
        "and on () "
        + across_replicas(
            f"{sel(MODEL_DRIFT_DETECTED, **JOB)} == 1 "
            f"and on (job, instance) {sel(MODEL_LAST_EVALUATION_TIMESTAMP, **JOB)} "
            f"> on () group_left () max({_promotion})"
        )
    ),
    for_="1h",
    severity="warning",
    summary="Drift persists after a retraining",
    description=(
        "The retrain flow promoted a new champion {{ $value | humanizeDuration }} ago and the "
        "latest evaluation, made after it, still detected drift (grace "
        f"{format_duration(_grace)}): the retrained model does not fit the new data either. "
        "Compare the evaluations before and after the promotion in MLflow."
    ),
    tests=(
        AlertTest(
            name="drift after a promotion warns once the promotion is two days old",
            series=(
                Series(_promotion_series, _promoted_at_1h),
                Series(_evaluated_series, _evaluated_at_3h),
                Series(_drift_series, f"1x{_persist_samples}"),
            ),
            interval=format_duration(_HOUR),
            onset=format_duration(_persist_onset),
            fires=(Fires(WORKER_TARGET, _persist_onset),),
        ),
        AlertTest(
            name="a worker restart (the promotion time absent again) does not hide it",
            series=(
                Series(_promotion_series, f"_ {_HOUR}x10 _x{_persist_samples - 10}"),
                Series(_evaluated_series, _evaluated_at_3h),
                Series(_drift_series, f"1x{_persist_samples}"),
            ),
            interval=format_duration(_HOUR),
            onset=format_duration(_persist_onset),
            fires=(Fires(WORKER_TARGET, _persist_onset),),
        ),
        AlertTest(
            name="the latest evaluation predates the promotion: quiet",
            series=(
                Series(_promotion_series, _promoted_at_1h),
                Series(_evaluated_series, f"0x{_persist_samples}"),
                Series(_drift_series, f"1x{_persist_samples}"),
            ),
            interval=format_duration(_HOUR),
            quiet_at=(
                format_duration(_persist_onset + _HOUR),
                format_duration(_persist_onset + 3 * _HOUR),
            ),
        ),
        AlertTest(
            name="a clean evaluation after the promotion: quiet",
            series=(
                Series(_promotion_series, _promoted_at_1h),
                Series(_evaluated_series, _evaluated_at_3h),
                Series(_drift_series, f"1 1 1 0x{_persist_samples}"),
            ),
            interval=format_duration(_HOUR),
            quiet_at=(format_duration(_persist_onset + _HOUR),),
        ),
        AlertTest(
            name="never promoted: quiet (the stale-champion alert covers it)",
            series=(
                Series(_evaluated_series, _evaluated_at_3h),
                Series(_drift_series, f"1x{_persist_samples}"),
            ),
            interval=format_duration(_HOUR),
            quiet_at=(format_duration(_persist_onset + _HOUR),),
        ),
    ),
)

_deadline = config.RETRAIN_START_DEADLINE_SECONDS
_last_trigger = f"max({sel(MODEL_RETRAINING_LAST_TRIGGER, **JOB)})"
# The newest start, surviving a worker restart; 0 when the worker never reported one (or is not
# scraped at all), so a decision with no worker behind it still counts as not started.
_last_start = f"(max({latest(RETRAIN_FLOW_LAST_START, _retrain_lookback, **WORKER)}) or vector(0))"
_trigger_series = sel(MODEL_RETRAINING_LAST_TRIGGER, **TARGET)
_start_series = sel(RETRAIN_FLOW_LAST_START, **WORKER_TARGET)
# A decision at 1m: the deadline has passed one step after 1m + deadline, and when the alert
# fires a minute later the decision is `onset` old.
_start_onset = 60 + _deadline + 60
_triggered_at_1m = "_ 60x20"
retrain_not_started = AlertingRule(
    name="BikeRetrainNotStarted",
    expression=(
        f"time() - {_last_trigger} > {_deadline} and on () {_last_trigger} > {_last_start}"
    ),
    # A run that starts just before the deadline is scraped up to one interval later.
    for_="1m",
    severity="warning",
    summary="A retraining was decided and no flow run started",
    description=(
        "The newest RETRAINING_TRIGGERED decision was taken {{ $value | humanizeDuration }} "
        f"ago and no retrain flow run started since (deadline {format_duration(_deadline)}). "
        "This is also how a Prefect server that is down shows: the API keeps the decision "
        "pending and retries its delivery, and no run starts. Otherwise the API has no "
        "PREFECT_API_URL, or the retrain worker is down or not polling; "
        f"{MODEL_RETRAINING_TRIGGERS.name} by outcome and the pending triggers say which."
    ),
    tests=(
        AlertTest(
            name="a decision with no run warns once the deadline passed",
            series=(Series(_trigger_series, _triggered_at_1m), Series(_start_series, "0x20")),
            onset=format_duration(_start_onset),
            fires=(Fires({}, _start_onset),),
        ),
        AlertTest(
            name="the retrain worker's metric absent entirely: warns the same",
            series=(Series(_trigger_series, _triggered_at_1m),),
            onset=format_duration(_start_onset),
            fires=(Fires({}, _start_onset),),
        ),
        AlertTest(
            name="a run started two minutes after the decision: quiet",
            series=(
                Series(_trigger_series, _triggered_at_1m),
                Series(_start_series, "0 0 0 180x20"),
            ),
            quiet_at=(format_duration(_start_onset + 60), "20m"),
        ),
        AlertTest(
            name="a worker restart after the run (its start time absent again): quiet",
            series=(
                Series(_trigger_series, _triggered_at_1m),
                Series(_start_series, "0 0 0 180x5 _x14"),
            ),
            quiet_at=(format_duration(_start_onset + 60), "20m"),
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
            live_input_drift,
            model_reload_failed,
            model_version_skew,
            champion_stale_under_drift,
            retrain_flow_failed,
            drift_persists_after_retrain,
            retrain_not_started,
        ),
    ),
)
