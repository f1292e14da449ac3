"""The cAdvisor metrics the Infrastructure dashboard reads (compose's optional `cadvisor`
profile): per-container CPU and memory. cAdvisor defines these names; they are typed once here.
"""

from __future__ import annotations

from api.metrics import MetricSpec

__all__ = ["ALL_SPECS", "CONTAINER_CPU_SECONDS", "CONTAINER_MEMORY_WORKING_SET_BYTES"]

CONTAINER_CPU_SECONDS = MetricSpec(
    "container_cpu_usage_seconds_total",
    "counter",
    "CPU time a container used.",
    ("name", "image"),
    unit="cpu_seconds",
)
CONTAINER_MEMORY_WORKING_SET_BYTES = MetricSpec(
    "container_memory_working_set_bytes",
    "gauge",
    "Memory a container uses that the kernel cannot reclaim (what the OOM killer counts).",
    ("name", "image"),
    unit="bytes",
)

ALL_SPECS: tuple[MetricSpec, ...] = (CONTAINER_CPU_SECONDS, CONTAINER_MEMORY_WORKING_SET_BYTES)
