"""Model Performance & Drift: evaluation scores, data drift, predictions, retraining decisions
and the retrain flow's runs."""

from __future__ import annotations

from api.metrics import (
    MODEL_DRIFT_DETECTED,
    MODEL_DRIFTED_FEATURES_RATIO,
    MODEL_EVALUATION_DURATION,
    MODEL_EVALUATION_ROWS,
    MODEL_EVALUATIONS,
    MODEL_FEATURE_DRIFT_SCORE,
    MODEL_INFO,
    MODEL_LAST_EVALUATION_TIMESTAMP,
    MODEL_LIVE_DRIFTED_FEATURES_RATIO,
    MODEL_LIVE_FEATURE_DRIFT_SCORE,
    MODEL_LIVE_WINDOW_ROWS,
    MODEL_MAE,
    MODEL_MAPE,
    MODEL_PREDICTED_RENTALS,
    MODEL_R2,
    MODEL_REGISTRY_VERSION,
    MODEL_REGISTRY_VERSION_CREATED,
    MODEL_RELOADS,
    MODEL_RETRAINING_DECISIONS,
    MODEL_RETRAINING_TRIGGERS,
    MODEL_RETRAINING_TRIGGERS_PENDING,
    MODEL_RMSE,
    RETRAIN_FLOW_DURATION,
    RETRAIN_FLOW_HOLDOUT_RMSE,
    RETRAIN_FLOW_LAST_SUCCESS,
    RETRAIN_FLOW_RUNS,
    MetricSpec,
)
from api.registry import CHAMPION_ALIAS, MODEL_NAME
from authoring import config, promql
from authoring.house_style import (
    WHOLE_RANGE,
    GrafanaUnit,
    Section,
    above,
    bar_gauge,
    below,
    dashboard,
    event_annotation,
    external_link,
    gauge,
    query,
    stat,
    timeseries,
    value_text,
)
from authoring.rules_dsl import format_duration
from dashboards_py import _shared_panels as panels

JOB = config.API_JOB
_LOOKBACK = config.EVALUATION_LOOKBACK


def _job_value(metric: MetricSpec, how: str = "max") -> promql.Expr:
    """A gauge of the API as one value across its replicas. Every replica shows the newest
    evaluation in the registry (the API follows it there), so the evaluation's gauges agree
    across replicas and `max` is that evaluation's value."""
    return promql.across_replicas(promql.sel(metric, job=JOB), how)


_evaluation_age = promql.newest_age(MODEL_LAST_EVALUATION_TIMESTAMP, _LOOKBACK, job=JOB)
# The evaluation gauges are absent until an evaluation sets them (no made-up 0): say so.
_UNTIL_EVALUATED = " No data until the first evaluation (POST /evaluate)."
_SERVED = promql.Expr(f"{promql.sel(MODEL_INFO, job=JOB)} == 1", "info")
# Each model served, once however many replicas serve it (two while a promotion rolls out).
_SERVED_MODELS = promql.across_replicas(_SERVED)
# How many registry versions the replicas serve: 1, but for the minute a promotion takes.
_VERSIONS_SERVED = promql.Expr(
    "count without (registry_version) (count_values without (instance, pod) "
    f'("registry_version", {promql.sel(MODEL_REGISTRY_VERSION, job=JOB)}))',
    "version",
)
_VERSION_SKEW_FOR = config.MODEL_VERSION_SKEW_FOR
# Evaluations credited to the version served when they ran.
_EVALUATIONS_PER_VERSION = (
    "sum by (registry_version) ("
    f"increase({promql.sel(MODEL_EVALUATIONS, outcome='success', job=JOB)}[$__rate_interval])"
    f" * on (job, instance) group_left (registry_version) ({_SERVED}))"
)
_UNTIL_LIVE = " No data until the live window holds LIVE_DRIFT_MIN_ROWS /predict requests."
_UNTIL_REGISTERED = " No data until a registry version is served (MODEL_SOURCE=folder has none)."
_MLFLOW_MODEL = f"{config.MLFLOW_UI_URL}/#/models/{MODEL_NAME}"
# The retrain flow's metrics come from the retrain worker, which runs the flow runs.
WORKER = config.RETRAIN_WORKER_JOB
_UNTIL_RUN = " No data until the retrain worker has finished a run."
_START_DEADLINE = format_duration(config.RETRAIN_START_DEADLINE_SECONDS)
# Runs are rare (one per drift episode): quantiles of the runs over the picked range, from
# increase() (a quantile is the same of counts as of rates), not of a few minutes' rate.
_RUN_BUCKETS = promql.increase(
    RETRAIN_FLOW_DURATION,
    series=RETRAIN_FLOW_DURATION.bucket,
    by=("le",),
    window=WHOLE_RANGE,
    job=WORKER,
)


def _run_duration(q: float) -> promql.Expr:
    return promql.Expr(f"histogram_quantile({q:g}, {_RUN_BUCKETS})", RETRAIN_FLOW_DURATION.unit)


dashboard = dashboard(
    "Model Performance & Drift",
    "How well the January-2011 model predicts hourly rentals on the data it is evaluated on, "
    "whether its inputs drifted, what the alert-driven retraining decided, and what the retrain "
    "flow did.",
    [
        Section(
            "Latest evaluation",
            [
                stat(
                    "RMSE",
                    "Root mean squared error of the latest evaluation, in rentals per hour; "
                    "red past the alert limit." + _UNTIL_EVALUATED,
                    query(_job_value(MODEL_RMSE)),
                    thresholds=above(config.MODEL_RMSE_MAX),
                    width=4,
                ),
                stat(
                    "MAE",
                    "Mean absolute error of the latest evaluation, in rentals per hour."
                    + _UNTIL_EVALUATED,
                    query(_job_value(MODEL_MAE)),
                    width=4,
                ),
                stat(
                    "R²",
                    "Share of the variance of hourly rentals the model explains (1 is perfect); "
                    "red below the alert limit." + _UNTIL_EVALUATED,
                    query(_job_value(MODEL_R2)),
                    thresholds=below(config.MODEL_R2_MIN),
                    decimals=3,
                    width=4,
                ),
                stat(
                    "MAPE",
                    "Mean absolute percentage error of the latest evaluation." + _UNTIL_EVALUATED,
                    query(_job_value(MODEL_MAPE)),
                    width=4,
                ),
                stat(
                    "Rows evaluated",
                    "Labelled rows in the latest evaluation: scores from a handful of rows "
                    "are noise." + _UNTIL_EVALUATED,
                    query(_job_value(MODEL_EVALUATION_ROWS)),
                    sparkline=False,
                    width=4,
                ),
                stat(
                    "Age of last evaluation",
                    "Time since the latest successful evaluation (surviving API restarts); red "
                    "when the feedback loop has been silent longer than the alert allows."
                    + _UNTIL_EVALUATED,
                    query(_evaluation_age),
                    thresholds=above(config.EVALUATION_MAX_AGE_SECONDS),
                    sparkline=False,
                    width=4,
                    unit=GrafanaUnit.SECONDS,
                ),
            ],
        ),
        Section(
            "Scores over time",
            [
                timeseries(
                    "RMSE and MAE",
                    "Error of each evaluation, in rentals per hour; the dashed line is the RMSE "
                    "alert limit. Each step is one POST /evaluate." + _UNTIL_EVALUATED,
                    query(_job_value(MODEL_RMSE), "RMSE"),
                    query(_job_value(MODEL_MAE), "MAE"),
                    thresholds=above(config.MODEL_RMSE_MAX),
                    width=8,
                ),
                timeseries(
                    "R²",
                    "Explained variance of each evaluation; the dashed line is the alert limit."
                    + _UNTIL_EVALUATED,
                    query(_job_value(MODEL_R2), "R²"),
                    thresholds=below(config.MODEL_R2_MIN),
                    width=8,
                ),
                timeseries(
                    "MAPE",
                    "Mean absolute percentage error of each evaluation (inflated by the "
                    "night hours, where true counts are tiny)." + _UNTIL_EVALUATED,
                    query(_job_value(MODEL_MAPE), "MAPE"),
                    width=8,
                ),
            ],
        ),
        Section(
            "Data drift",
            [
                gauge(
                    "Drifted feature share",
                    "Share of the 11 input features whose distribution drifted from the "
                    "January reference in the latest evaluation; the marker is the threshold "
                    "at which drift is declared." + _UNTIL_EVALUATED,
                    query(_job_value(MODEL_DRIFTED_FEATURES_RATIO)),
                    min_value=0,
                    max_value=1,
                    thresholds=above(config.DRIFT_SHARE_THRESHOLD),
                ),
                stat(
                    "Drift detected",
                    "Whether the latest evaluation's drifted share reached the threshold."
                    + _UNTIL_EVALUATED,
                    query(_job_value(MODEL_DRIFT_DETECTED)),
                    mappings=value_text({0: ("no drift", "green"), 1: ("drift", "red")}),
                    sparkline=False,
                    height=6,
                ),
                bar_gauge(
                    "Drift score by feature",
                    "Evidently's drift statistic per input feature in the latest evaluation "
                    "(the test Evidently picked for that column); compare features with each "
                    "other to see which inputs moved." + _UNTIL_EVALUATED,
                    query(_job_value(MODEL_FEATURE_DRIFT_SCORE), "{{feature}}"),
                    height=6,
                ),
                timeseries(
                    "Drifted feature share over time",
                    "Drift share of each evaluation; the dashed line is the drift threshold."
                    + _UNTIL_EVALUATED,
                    query(_job_value(MODEL_DRIFTED_FEATURES_RATIO), "drift share"),
                    thresholds=above(config.DRIFT_SHARE_THRESHOLD),
                    min_value=0,
                    max_value=1,
                ),
                timeseries(
                    "Drift score by feature over time",
                    "Per-feature drift statistic of each evaluation." + _UNTIL_EVALUATED,
                    query(_job_value(MODEL_FEATURE_DRIFT_SCORE), "{{feature}}"),
                ),
            ],
        ),
        Section(
            "Live inputs",
            [
                timeseries(
                    "Drifted feature share: live inputs vs labelled evaluations",
                    "Share of the input features drifted over the last LIVE_DRIFT_WINDOW "
                    "/predict requests (live, scored every minute, no label needed; the most "
                    "drifted replica's window) next to the latest labelled evaluation's; the "
                    "dashed line is the threshold. The live alert needs a full window."
                    + _UNTIL_LIVE,
                    query(_job_value(MODEL_LIVE_DRIFTED_FEATURES_RATIO), "live"),
                    query(_job_value(MODEL_DRIFTED_FEATURES_RATIO), "labelled"),
                    thresholds=above(config.DRIFT_SHARE_THRESHOLD),
                    min_value=0,
                    max_value=1,
                    width=12,
                ),
                bar_gauge(
                    "Live drift score by feature",
                    "Drift score of each input over the live window, as /evaluate scores a "
                    "batch. The hour and weekday are left out (no value) until the window covers "
                    "all 24 hours and all 7 weekdays." + _UNTIL_LIVE,
                    query(_job_value(MODEL_LIVE_FEATURE_DRIFT_SCORE), "{{feature}}"),
                    width=8,
                ),
                stat(
                    "Live window",
                    "/predict inputs in the live window scored last, on the replica holding the "
                    "fewest (each scores the inputs it served; the alert waits for a full "
                    "window)." + _UNTIL_LIVE,
                    query(_job_value(MODEL_LIVE_WINDOW_ROWS, "min")),
                    width=4,
                    unit=GrafanaUnit.COUNT,
                ),
            ],
        ),
        Section(
            "Predictions",
            [
                panels.predicted_rentals_distribution(),
                panels.inference_percentiles(),
                timeseries(
                    "Predictions per second",
                    "Predictions served per second (one per /predict row).",
                    query(
                        promql.rate(
                            MODEL_PREDICTED_RENTALS,
                            series=MODEL_PREDICTED_RENTALS.count,
                            by=(),
                            job=JOB,
                        ),
                        "predictions",
                    ),
                    unit=GrafanaUnit.OPS_PER_SECOND,
                ),
                timeseries(
                    "Evaluation duration p95",
                    "95th percentile time to predict and build the Evidently report for one "
                    "evaluation.",
                    query(
                        promql.histogram_quantile(0.95, MODEL_EVALUATION_DURATION, job=JOB), "p95"
                    ),
                ),
            ],
        ),
        Section(
            "Registry",
            [
                stat(
                    "Champion version",
                    f"The newest version of {MODEL_NAME} served ({MODEL_NAME}@{CHAMPION_ALIAS} "
                    "when it was last loaded); the purple marks on the graphs are its changes. Its "
                    "runs and versions are in the MLflow UI (the link at the top)."
                    + _UNTIL_REGISTERED,
                    query(_job_value(MODEL_REGISTRY_VERSION), "version"),
                    decimals=0,
                    width=4,
                ),
                stat(
                    "Champion age",
                    "Time since the served version was registered; orange past the age at "
                    "which, with drift, the stale-champion alert warns." + _UNTIL_REGISTERED,
                    query(
                        promql.newest_age(MODEL_REGISTRY_VERSION_CREATED, job=JOB),
                        "age",
                    ),
                    thresholds=above(config.CHAMPION_MAX_AGE_UNDER_DRIFT_SECONDS, over="orange"),
                    sparkline=False,
                    width=4,
                ),
                bar_gauge(
                    "Champion changes by outcome",
                    "Versions picked up from the registry over the picked range: success, or "
                    "failed (the previous version kept serving, and an alert warns).",
                    query(
                        promql.increase(
                            MODEL_RELOADS, by=("outcome",), window=WHOLE_RANGE, job=JOB
                        ),
                        "{{outcome}}",
                        instant=True,
                    ),
                    width=8,
                    height=4,
                    unit=GrafanaUnit.COUNT,
                ),
                timeseries(
                    "Evaluations per version",
                    "Successful evaluations, by the registry version served when each ran.",
                    query(_EVALUATIONS_PER_VERSION, "version {{registry_version}}"),
                    unit=GrafanaUnit.COUNT,
                    bars=True,
                    width=8,
                    height=4,
                ),
            ],
        ),
        Section(
            "Replicas",
            [
                stat(
                    "Versions served",
                    "How many registry versions the API's replicas serve: 1, but for the minute "
                    "a promotion takes to reach every replica (each polls the champion); red "
                    f"from 2. The skew alert warns when it lasts {_VERSION_SKEW_FOR}."
                    + _UNTIL_REGISTERED,
                    query(_VERSIONS_SERVED, "versions"),
                    thresholds=above(2),
                    decimals=0,
                    width=6,
                ),
                timeseries(
                    "Registry version by replica",
                    "The registry version each replica serves: the lines part during a "
                    "rollout, and one left behind names the replica that refuses the champion "
                    "or cannot reach the registry." + _UNTIL_REGISTERED,
                    query(
                        promql.per_replica(promql.sel(MODEL_REGISTRY_VERSION, job=JOB)),
                        "{{instance}}",
                    ),
                    width=18,
                    height=6,
                ),
            ],
        ),
        Section(
            "Model and retraining",
            [
                panels.loaded_model(),
                stat(
                    "Model version",
                    "The served model's card version, registry version, training run and "
                    "source (registry, cache when the registry was unreachable, or folder); two "
                    "while the replicas serve two models.",
                    query(
                        _SERVED_MODELS,
                        "{{version}} v{{registry_version}} run {{run_id}} ({{source}})",
                        instant=True,
                    ),
                    show_name=True,
                    sparkline=False,
                    width=10,
                ),
                bar_gauge(
                    "Evaluations by outcome",
                    "POST /evaluate calls over the picked range, by outcome (success, "
                    "rejected, busy, failed).",
                    query(
                        promql.increase(
                            MODEL_EVALUATIONS, by=("outcome",), window=WHOLE_RANGE, job=JOB
                        ),
                        "{{outcome}}",
                        instant=True,
                    ),
                    width=8,
                    height=4,
                    unit=GrafanaUnit.COUNT,
                ),
                bar_gauge(
                    "Retraining decisions",
                    "Decisions taken when Alertmanager called the webhook, over the picked "
                    "range, by decision and reason; each RETRAINING_TRIGGERED is handed to "
                    "Prefect (the Retraining row). Empty until the first alert reaches the API.",
                    query(
                        promql.increase(
                            MODEL_RETRAINING_DECISIONS,
                            by=("decision", "reason"),
                            window=WHOLE_RANGE,
                            job=JOB,
                        ),
                        "{{decision}} ({{reason}})",
                        instant=True,
                    ),
                    width=24,
                    height=6,
                    unit=GrafanaUnit.COUNT,
                ),
            ],
        ),
        Section(
            "Retraining",
            [
                bar_gauge(
                    "Flow runs by outcome",
                    "Retrain flow runs finished over the picked range, by outcome: promoted "
                    "(the challenger became champion), rejected (registered, not promoted), "
                    "failed (an alert warns)." + _UNTIL_RUN,
                    query(
                        promql.increase(
                            RETRAIN_FLOW_RUNS, by=("outcome",), window=WHOLE_RANGE, job=WORKER
                        ),
                        "{{outcome}}",
                        instant=True,
                    ),
                    width=8,
                    height=6,
                    unit=GrafanaUnit.COUNT,
                ),
                bar_gauge(
                    "Flow run duration",
                    "Median and 90th percentile duration of the retrain flow runs that finished "
                    "over the picked range, start to outcome (bucket-interpolated)." + _UNTIL_RUN,
                    query(_run_duration(0.5), "p50", instant=True),
                    query(_run_duration(0.9), "p90", instant=True),
                    width=8,
                    height=6,
                ),
                bar_gauge(
                    "Holdout RMSE: challenger vs champion",
                    "RMSE of the last run's challenger and of the champion it was compared with, "
                    "on the newest labelled week, in rentals per hour: the challenger is "
                    "promoted only when clearly lower." + _UNTIL_RUN,
                    query(promql.sel(RETRAIN_FLOW_HOLDOUT_RMSE, job=WORKER), "{{model}}"),
                    width=8,
                    height=6,
                ),
                stat(
                    "Time since last successful retrain",
                    "Time since the newest retrain flow run that did not fail (promoted or "
                    "rejected) ended, surviving worker restarts. Runs start on drift alerts "
                    "only, so a long time without drift is a long time without runs." + _UNTIL_RUN,
                    query(
                        promql.age(RETRAIN_FLOW_LAST_SUCCESS, config.RETRAIN_LOOKBACK, job=WORKER)
                    ),
                    sparkline=False,
                    width=6,
                    height=6,
                ),
                bar_gauge(
                    "Retraining triggers by outcome",
                    "RETRAINING_TRIGGERED decisions handed to Prefect over the picked range: "
                    "started (a flow run was created), skipped (one was already scheduled or "
                    "running), unconfigured (the API has no PREFECT_API_URL), retried (a "
                    "delivery failed: Prefect down?).",
                    query(
                        promql.increase(
                            MODEL_RETRAINING_TRIGGERS, by=("outcome",), window=WHOLE_RANGE, job=JOB
                        ),
                        "{{outcome}}",
                        instant=True,
                    ),
                    width=9,
                    height=6,
                    unit=GrafanaUnit.COUNT,
                ),
                timeseries(
                    "Pending triggers",
                    "Decisions recorded and not yet delivered to Prefect, summed over the "
                    "replicas (each keeps its own); above 0 for more than a "
                    "few seconds, the deliveries fail and are retried (the not-started alert "
                    f"warns {_START_DEADLINE} after a decision with no run).",
                    query(_job_value(MODEL_RETRAINING_TRIGGERS_PENDING, "sum"), "pending"),
                    thresholds=above(1),
                    min_value=0,
                    width=9,
                    height=6,
                ),
            ],
        ),
    ],
    tags=["model"],
    annotations=[
        event_annotation(
            f"{MODEL_NAME}@{CHAMPION_ALIAS} changed",
            promql.across_replicas(
                f"changes({promql.sel(MODEL_REGISTRY_VERSION, job=JOB)}[2m])", "sum"
            )
            + " > 0",
        )
    ],
    links=[
        external_link(
            "MLflow: bike-demand",
            _MLFLOW_MODEL,
            "The registered model's versions, aliases and training runs in the MLflow UI",
        )
    ],
)
