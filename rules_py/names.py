"""Alert names, typed once: rule modules, the runbook test and `make fire-alert` import them."""

from __future__ import annotations

__all__ = [
    "ALL_ALERTS",
    "BIKE_API_DOWN",
    "BIKE_API_HIGH_CONCURRENT_REQUESTS",
    "BIKE_API_HIGH_ERROR_RATE",
    "BIKE_API_HIGH_LATENCY_P95",
    "BIKE_DATA_DRIFT_DETECTED",
    "BIKE_EVALUATION_STALE",
    "BIKE_MODEL_NOT_LOADED",
    "BIKE_MODEL_R2_LOW",
    "BIKE_MODEL_RMSE_HIGH",
    "BIKE_SLOW_INFERENCE",
    "NODE_EXPORTER_DOWN",
    "NODE_FILESYSTEM_FILLING_UP",
    "NODE_HIGH_CPU_USAGE",
    "NODE_LOW_MEMORY",
]

BIKE_API_DOWN = "BikeApiDown"
BIKE_API_HIGH_ERROR_RATE = "BikeApiHighErrorRate"
BIKE_API_HIGH_LATENCY_P95 = "BikeApiHighLatencyP95"
BIKE_API_HIGH_CONCURRENT_REQUESTS = "BikeApiHighConcurrentRequests"
BIKE_MODEL_NOT_LOADED = "BikeModelNotLoaded"
BIKE_SLOW_INFERENCE = "BikeSlowInference"
# `make fire-alert` waits for these two: a shifted batch drifts, and the model misfits it.
BIKE_DATA_DRIFT_DETECTED = "BikeDataDriftDetected"
BIKE_MODEL_RMSE_HIGH = "BikeModelRmseHigh"
BIKE_MODEL_R2_LOW = "BikeModelR2Low"
BIKE_EVALUATION_STALE = "BikeEvaluationStale"
NODE_EXPORTER_DOWN = "NodeExporterDown"
NODE_HIGH_CPU_USAGE = "NodeHighCpuUsage"
NODE_LOW_MEMORY = "NodeLowMemory"
NODE_FILESYSTEM_FILLING_UP = "NodeFilesystemFillingUp"

ALL_ALERTS: tuple[str, ...] = (
    BIKE_API_DOWN,
    BIKE_API_HIGH_ERROR_RATE,
    BIKE_API_HIGH_LATENCY_P95,
    BIKE_API_HIGH_CONCURRENT_REQUESTS,
    BIKE_MODEL_NOT_LOADED,
    BIKE_SLOW_INFERENCE,
    BIKE_DATA_DRIFT_DETECTED,
    BIKE_MODEL_RMSE_HIGH,
    BIKE_MODEL_R2_LOW,
    BIKE_EVALUATION_STALE,
    NODE_EXPORTER_DOWN,
    NODE_HIGH_CPU_USAGE,
    NODE_LOW_MEMORY,
    NODE_FILESYSTEM_FILLING_UP,
)
