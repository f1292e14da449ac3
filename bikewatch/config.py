"""Selectors, datasource uids and thresholds shared by dashboards and rules, each with its reason.

One file holds every value a reviewer may want to tune, as in the monitoring mixins' config.
Dashboards draw their threshold lines from the same numbers the alerts fire on.
"""

from __future__ import annotations

from api.config import DEFAULT_DRIFT_SHARE_THRESHOLD

# --- Selectors -------------------------------------------------------------------------------
# Scrape job names: the compose service names, so a target's job says which container it is.
API_JOB = "bike-api"
NODE_JOB = "node-exporter"
PROMETHEUS_JOB = "prometheus"
ALERTMANAGER_JOB = "alertmanager"

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

# --- Thresholds (alerts fire on these; dashboards draw them) --------------------------------
# An error ratio above 5 % for 5 minutes is well past the noise of clients sending bad rows.
API_ERROR_RATIO_MAX = 0.05
# /predict answers in ~1-5 ms from memory; 250 ms at p95 means the process is starved.
API_LATENCY_P95_MAX_SECONDS = 0.25
# Uvicorn serves a few dozen requests at once comfortably; 50 in flight means queueing.
API_ACTIVE_REQUESTS_MAX = 50
# Walking 50 trees costs well under a millisecond; 10 ms at p95 is a 10x regression.
INFERENCE_P95_MAX_SECONDS = 0.010
# The model trained on January 2011 scores RMSE ~30-60 on February weeks; summer rows (July)
# push it past 150. 100 sits between normal seasonal error and a model that no longer fits.
MODEL_RMSE_MAX = 100.0
# R2 on February weeks is ~0.6-0.8; below 0.3 the model explains little of the variance.
MODEL_R2_MIN = 0.3
# Share of the 11 features whose distribution drifted: the API decides with the same default.
DRIFT_SHARE_THRESHOLD = DEFAULT_DRIFT_SHARE_THRESHOLD
# Labelled data arrive weekly in the exam's scenario; a day without evaluation means the
# feedback loop stopped, which is a warning, not a page.
EVALUATION_MAX_AGE_SECONDS = 24 * 3600
# CPU busy above 90 % for 15 minutes starves the API's event loop.
NODE_CPU_BUSY_MAX = 0.90
# Less than 10 % memory available precedes the OOM killer.
NODE_MEMORY_AVAILABLE_MIN = 0.10
# Disk predicted full within 24 h from the last 6 h of growth.
NODE_DISK_FULL_HORIZON_SECONDS = 24 * 3600
NODE_DISK_PREDICT_WINDOW = "6h"
