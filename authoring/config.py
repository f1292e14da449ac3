"""Selectors, datasource uids and thresholds shared by dashboards and rules, each with its reason.

One file holds every value a reviewer may want to tune, as in the monitoring mixins' config.
Dashboards draw their threshold lines from the same numbers the alerts fire on.
"""

from __future__ import annotations

from api.features import DEFAULT_DRIFT_SHARE_THRESHOLD

# --- Selectors -------------------------------------------------------------------------------
# Scrape job names: the compose service names, so a target's job says which container it is.
API_JOB = "bike-api"
NODE_JOB = "node-exporter"
PROMETHEUS_JOB = "prometheus"
ALERTMANAGER_JOB = "alertmanager"
# Optional (compose's `cadvisor` profile): scraped only while its container runs.
CADVISOR_JOB = "cadvisor"
# The labels that tell one replica of a job from another: `instance` (every scrape target) and
# `pod` (the Prometheus Operator's ServiceMonitor adds it). Aggregated away, a job has one value.
REPLICA_LABELS = ("instance", "pod")
# Jobs that run as several replicas (three on Kubernetes): every dashboard query and rule of their
# series says how replicas combine, which the lint checks. node-exporter is one per host (its
# alerts are per host on purpose) and the retrain worker one per stack (a concurrency limit of 1).
REPLICATED_JOBS = (API_JOB,)
# The process serving the `retrain` deployment: its /metrics adds up the flow runs' own metrics
# (api.metrics.RETRAIN_SPECS), so the retrain flow's outcomes are scraped from it, not the API.
RETRAIN_WORKER_JOB = "retrain-worker"

# --- Datasources ----------------------------------------------------------------------------
# Fixed uids, provisioned from generated/grafana/provisioning/datasources: panels and
# Grafana-managed alerts reference them directly, so no dashboard depends on a name lookup.
PROMETHEUS_DATASOURCE_UID = "bikewatch-prometheus"
ALERTMANAGER_DATASOURCE_UID = "bikewatch-alertmanager"

# --- Dashboards -----------------------------------------------------------------------------
# Grafana 11.2 writes schemaVersion 39; grafanalib 0.7.1 defaults to 12, which makes Grafana
# migrate (and mark dirty) every dashboard on open.
GRAFANA_SCHEMA_VERSION = 39
# Prometheus scrapes every 15 s; refreshing faster only redraws the same points.
DASHBOARD_REFRESH = "30s"
# Six hours covers a working session of evaluations and a day's alert drills.
DASHBOARD_TIME_FROM = "now-6h"
# Client errors (bad rows, oversized bodies): graphed next to server errors, never paged on.
API_CLIENT_ERROR_STATUS_REGEX = "4.."
# The loopback interface carries only in-host traffic; it would dwarf the real network graphs.
NODE_NETWORK_EXCLUDED_DEVICES = "lo"
# Dashboards colour a filesystem red from 90 % used; the alert predicts fullness instead, so a
# big but stable disk does not page.
NODE_FILESYSTEM_USED_MAX = 0.90

# --- Thresholds (alerts fire on these; dashboards draw them) --------------------------------
# An error ratio above 5 % for 5 minutes is well past the noise of clients sending bad rows.
API_ERROR_RATIO_MAX = 0.05
# /predict answers in ~1-5 ms from memory; 250 ms at p95 means the process is starved.
API_LATENCY_P95_MAX_SECONDS = 0.25
# Uvicorn serves a few dozen requests at once comfortably; 50 in flight means queueing.
API_ACTIVE_REQUESTS_MAX = 50
# Walking 50 trees costs well under a millisecond; 10 ms at p95 is a 10x regression.
INFERENCE_P95_MAX_SECONDS = 0.010
# Measured: the model trained on January 2011 scores RMSE 21, 21 and 37 on the exam's three
# February weeks and 163 on July 2011. 100 sits between normal seasonal error and a model
# that no longer fits.
MODEL_RMSE_MAX = 100.0
# Measured R2: 0.84, 0.88, 0.74 on the February weeks, -0.28 on July. Below 0.3 the model
# explains little of the variance.
MODEL_R2_MIN = 0.3
# Share of the 11 features whose distribution drifted: the API decides with the same default.
DRIFT_SHARE_THRESHOLD = DEFAULT_DRIFT_SHARE_THRESHOLD
# The live-input drift alert holds for a minute of full windows: the window is the last
# LIVE_DRIFT_WINDOW requests, so a burst of odd requests cannot fill it alone, and a shift that
# fills it stays until other traffic replaces it; a minute covers one scoring (every 60 s).
LIVE_DRIFT_FOR = "1m"
# Labelled data arrive weekly in the exam's scenario: eight days without an evaluation means a
# weekly batch was missed and the feedback loop stopped, which is a warning, not a page.
EVALUATION_MAX_AGE_SECONDS = 8 * 24 * 3600
# The last evaluation's time is read as its maximum over this window, so an API restart (which
# resets the gauge to 0) does not hide staleness. Longer than the max age, within Prometheus's
# default 15-day retention.
EVALUATION_LOOKBACK = "9d"
# Each replica asks the registry for the champion every 30 s (MODEL_POLL_SECONDS), so a promotion
# is served everywhere within a minute; replicas serving different versions for ten minutes is no
# rollout in progress but a replica that refuses the champion or cannot reach the registry.
MODEL_VERSION_SKEW_FOR = "10m"
# A champion version that fails to load is retried at every poll (30 s); ten minutes of
# failures is no transient download error: the registry holds a version the API refuses.
MODEL_RELOAD_FAILURE_WINDOW = "10m"
# Labelled data arrive weekly, and a drift alert starts a retraining at once: a champion older
# than a week while drift persists means no retraining produced a better model (or none ran).
CHAMPION_MAX_AGE_UNDER_DRIFT_SECONDS = 7 * 24 * 3600
# A retrain flow run fails only after its tasks' own retries, and nothing retries the run until
# the next drift alert (a weekly batch): one failure is worth a warning. It stays firing for a
# day after the failure, so a run failing at night is still on the alerts page (and re-sent:
# warnings repeat every 4 h) in the next working hours.
RETRAIN_FAILURE_WINDOW = "24h"
# Drift detected after a promotion means the retrained model does not fit the new data either.
# Batches arrive weekly, so the first one after a promotion normally comes past these two days
# and, drifting, warns at once. The grace spares what comes with the promotion itself (a batch
# sent while the run decided, evaluated before the API followed the alias, or re-sent to check
# the new champion) when a clean batch follows; it stays well under the week, so drift found
# soon after a promotion still warns before the next batch is due.
RETRAIN_DRIFT_GRACE_SECONDS = 2 * 24 * 3600
# The retrain worker polls the Prefect server every ~10 s and a run starts within a minute of a
# RETRAINING_TRIGGERED decision; ten minutes also cover a Prefect server restart and the API's
# delivery retries with backoff. Past that the decision was lost (or Prefect is down).
RETRAIN_START_DEADLINE_SECONDS = 10 * 60
# The worker's timestamps (last start, last promotion) are read as their maximum over this
# window, so a worker restart that empties them does not hide a promotion or invent a missing
# start: a week of batches plus the drift grace, within Prometheus's 15-day retention.
RETRAIN_LOOKBACK = "9d"
# The MLflow UI (registry, runs), as a browser reaches it: compose publishes it and `make local`
# runs it on this address.
MLFLOW_UI_URL = "http://localhost:5000"
# CPU busy above 90 % for 15 minutes starves the API's event loop.
NODE_CPU_BUSY_MAX = 0.90
# Less than 10 % memory available precedes the OOM killer.
NODE_MEMORY_AVAILABLE_MIN = 0.10
# Disk predicted full within 24 h from the last 6 h of growth.
NODE_DISK_FULL_HORIZON_SECONDS = 24 * 3600
NODE_DISK_PREDICT_WINDOW = "6h"

# --- Rules (rules_py) -----------------------------------------------------------------------
# Recording rules and rate-based alerts look at 5 minutes: 20 scrapes at 15 s, smooth enough to
# page on without hiding an outage for long.
RULE_WINDOW = "5m"
# Server errors only: 4xx are the client's mistakes (bad rows, oversized bodies), already
# answered with a clear message, and must not page anyone.
API_ERROR_STATUS_REGEX = "5.."
# /evaluate builds an Evidently report and legitimately takes seconds; the latency alert guards
# the serving path, not batch evaluation.
API_LATENCY_EXCLUDED_ENDPOINT = "/evaluate"
# Prometheus scrapes and health probes (~10 a minute, never failing) are not client traffic:
# counted in the error ratio they dilute the 5xx share of real requests below the alert limit.
API_PROBE_ENDPOINTS = "/metrics|/health|/ready"
# Virtual and read-only filesystems never fill from writes; predicting them only adds noise.
NODE_FILESYSTEM_EXCLUDED_FSTYPES = "tmpfs|ramfs|overlay|squashfs|nsfs|autofs|fuse.lxcfs"
# Every alert carries these labels (final pass): one team owns API, model and host, and
# Alertmanager silences and routes by it.
ALERT_COMMON_LABELS = {"team": "bikewatch"}
# runbook_url = this + "#" + the alert's anchor. Grafana and Alertmanager render the link as is,
# so it is absolute: where the repository's rules_py/RUNBOOK.md renders with heading anchors.
# Change it to the repository's real address when publishing.
RUNBOOK_URL = "https://github.com/bikewatch/bikewatch/blob/main/rules_py/RUNBOOK.md"
# Grafana-managed rules: the folder they appear in, and how often Grafana evaluates them (its
# own minimum is 10 s; a minute matches the gauges, which change once per evaluation batch).
GRAFANA_ALERT_FOLDER = "bikewatch"
GRAFANA_RULE_INTERVAL = "1m"
# Alertmanager timing by severity: critical goes out at once and repeats hourly; warnings wait
# to group related alerts and repeat twice a working day; info only once a day.
ALERTMANAGER_GROUP_INTERVAL = "1m"
ALERTMANAGER_TIMING = {
    "critical": {"group_wait": "0s", "repeat_interval": "1h"},
    "warning": {"group_wait": "30s", "repeat_interval": "4h"},
    "info": {"group_wait": "5m", "repeat_interval": "24h"},
}
