"""The node-exporter (and Prometheus built-in) metrics that dashboards and host alerts read.

node-exporter defines these names, not us; they are listed once here, typed like the API's
metrics, so no dashboard or rule retypes them and the lint can check every name.
"""

from __future__ import annotations

from api.metrics import MetricSpec

__all__ = [
    "ALL_SPECS",
    "CPU_SECONDS",
    "DISK_IO_TIME",
    "DISK_READ_BYTES",
    "DISK_WRITTEN_BYTES",
    "FILESYSTEM_AVAIL_BYTES",
    "FILESYSTEM_SIZE_BYTES",
    "LOAD1",
    "LOAD5",
    "LOAD15",
    "MEMORY_AVAILABLE_BYTES",
    "MEMORY_TOTAL_BYTES",
    "NETWORK_RECEIVE_BYTES",
    "NETWORK_TRANSMIT_BYTES",
    "UP",
]

# Prometheus's own per-target health series, written at every scrape.
UP = MetricSpec(
    "up",
    "gauge",
    "1 when the last scrape of the target succeeded.",
    ("job", "instance"),
    unit="boolean",
)
CPU_SECONDS = MetricSpec(
    "node_cpu_seconds_total", "counter", "CPU time by mode.", ("cpu", "mode"), unit="cpu_seconds"
)
MEMORY_AVAILABLE_BYTES = MetricSpec(
    "node_memory_MemAvailable_bytes", "gauge", "Memory available for new work.", unit="bytes"
)
MEMORY_TOTAL_BYTES = MetricSpec(
    "node_memory_MemTotal_bytes", "gauge", "Total memory.", unit="bytes"
)
FILESYSTEM_AVAIL_BYTES = MetricSpec(
    "node_filesystem_avail_bytes",
    "gauge",
    "Filesystem space available to non-root users.",
    ("device", "fstype", "mountpoint"),
    unit="bytes",
)
FILESYSTEM_SIZE_BYTES = MetricSpec(
    "node_filesystem_size_bytes",
    "gauge",
    "Filesystem size.",
    ("device", "fstype", "mountpoint"),
    unit="bytes",
)
DISK_READ_BYTES = MetricSpec(
    "node_disk_read_bytes_total", "counter", "Bytes read.", ("device",), unit="bytes"
)
DISK_WRITTEN_BYTES = MetricSpec(
    "node_disk_written_bytes_total", "counter", "Bytes written.", ("device",), unit="bytes"
)
DISK_IO_TIME = MetricSpec(
    "node_disk_io_time_seconds_total",
    "counter",
    "Time spent doing I/Os.",
    ("device",),
    unit="seconds",
)
NETWORK_RECEIVE_BYTES = MetricSpec(
    "node_network_receive_bytes_total", "counter", "Bytes received.", ("device",), unit="bytes"
)
NETWORK_TRANSMIT_BYTES = MetricSpec(
    "node_network_transmit_bytes_total", "counter", "Bytes transmitted.", ("device",), unit="bytes"
)
LOAD1 = MetricSpec("node_load1", "gauge", "1-minute load average.", unit="score")
LOAD5 = MetricSpec("node_load5", "gauge", "5-minute load average.", unit="score")
LOAD15 = MetricSpec("node_load15", "gauge", "15-minute load average.", unit="score")

ALL_SPECS: tuple[MetricSpec, ...] = (
    UP,
    CPU_SECONDS,
    MEMORY_AVAILABLE_BYTES,
    MEMORY_TOTAL_BYTES,
    FILESYSTEM_AVAIL_BYTES,
    FILESYSTEM_SIZE_BYTES,
    DISK_READ_BYTES,
    DISK_WRITTEN_BYTES,
    DISK_IO_TIME,
    NETWORK_RECEIVE_BYTES,
    NETWORK_TRANSMIT_BYTES,
    LOAD1,
    LOAD5,
    LOAD15,
)
