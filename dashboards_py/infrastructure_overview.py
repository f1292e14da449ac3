"""Infrastructure Overview: CPU, memory, disk, network and load of the host, from node-exporter."""

from __future__ import annotations

from authoring import cadvisor, config, promql
from authoring import node_exporter as node
from authoring.house_style import (
    GrafanaUnit,
    Section,
    above,
    below,
    dashboard,
    query,
    query_variable,
    stat,
    timeseries,
    value_text,
)

# Every selector: node-exporter's job and the instance picked in the dashboard variable.
HOST = {"job": config.NODE_JOB, "instance": "$instance"}
FILESYSTEMS = {**HOST, "fstype": "!~" + config.NODE_FILESYSTEM_EXCLUDED_FSTYPES}
NICS = {**HOST, "device": "!~" + config.NODE_NETWORK_EXCLUDED_DEVICES}

# cAdvisor's per-container series; `name` is empty on its cgroup totals, which are left out.
CONTAINERS = {"job": config.CADVISOR_JOB, "name": "!="}
_OPTIONAL = (
    " No data unless the compose stack runs with cAdvisor: "
    "`docker compose --profile cadvisor up -d` (never in the native stack)."
)

_CPU_BUSY = f"1 - {promql.avg_by(promql.rate(node.CPU_SECONDS, mode='idle', **HOST))}"
_MEMORY_AVAILABLE = (
    f"{promql.sel(node.MEMORY_AVAILABLE_BYTES, **HOST)}"
    f" / {promql.sel(node.MEMORY_TOTAL_BYTES, **HOST)}"
)
_DISK_USED = (
    f"1 - {promql.sel(node.FILESYSTEM_AVAIL_BYTES, **FILESYSTEMS)}"
    f" / {promql.sel(node.FILESYSTEM_SIZE_BYTES, **FILESYSTEMS)}"
)

dashboard = dashboard(
    "Infrastructure Overview",
    "The host running the stack, from node-exporter: is bike-api starved of CPU, memory, disk "
    "or network?",
    [
        Section(
            "Now",
            [
                stat(
                    "Target up",
                    "Whether Prometheus's last scrape of this node-exporter succeeded.",
                    query(promql.sel(node.UP, **HOST)),
                    mappings=value_text({0: ("down", "red"), 1: ("up", "green")}),
                    sparkline=False,
                    width=4,
                ),
                stat(
                    "CPU busy",
                    "Share of CPU time not idle, over all cores; red past the alert limit.",
                    query(_CPU_BUSY),
                    thresholds=above(config.NODE_CPU_BUSY_MAX),
                    width=5,
                    unit=GrafanaUnit.RATIO,
                ),
                stat(
                    "Memory available",
                    "Share of memory available for new work; red below the alert limit.",
                    query(_MEMORY_AVAILABLE),
                    thresholds=below(config.NODE_MEMORY_AVAILABLE_MIN),
                    width=5,
                    unit=GrafanaUnit.RATIO,
                ),
                stat(
                    "Fullest filesystem",
                    "Used share of the fullest real filesystem (virtual ones excluded).",
                    query(f"max({_DISK_USED})"),
                    thresholds=above(config.NODE_FILESYSTEM_USED_MAX),
                    width=5,
                    unit=GrafanaUnit.RATIO,
                ),
                stat(
                    "Load (1m)",
                    "1-minute load average: runnable plus waiting tasks; compare with the "
                    "number of cores.",
                    query(promql.sel(node.LOAD1, **HOST)),
                    width=5,
                ),
            ],
        ),
        Section(
            "CPU and memory",
            [
                timeseries(
                    "CPU by mode",
                    "Share of CPU time per mode (user, system, iowait...), averaged over cores "
                    "and stacked; idle is left out.",
                    query(
                        promql.avg_by(
                            promql.rate(
                                node.CPU_SECONDS, by=("cpu", "mode"), mode="!=idle", **HOST
                            ),
                            ("mode",),
                        ),
                        "{{mode}}",
                    ),
                    stacked=True,
                    min_value=0,
                    max_value=1,
                    unit=GrafanaUnit.RATIO,
                ),
                timeseries(
                    "Memory",
                    "Memory in use (total minus available) and total.",
                    query(
                        f"{promql.sel(node.MEMORY_TOTAL_BYTES, **HOST)}"
                        f" - {promql.sel(node.MEMORY_AVAILABLE_BYTES, **HOST)}",
                        "used",
                    ),
                    query(promql.sel(node.MEMORY_TOTAL_BYTES, **HOST), "total"),
                    min_value=0,
                    unit=GrafanaUnit.BYTES,
                ),
            ],
        ),
        Section(
            "Disk",
            [
                timeseries(
                    "Filesystem used",
                    "Used share of each real filesystem, by mount point; the dashed line "
                    "is the colour limit.",
                    query(_DISK_USED, "{{mountpoint}}"),
                    thresholds=above(config.NODE_FILESYSTEM_USED_MAX),
                    min_value=0,
                    max_value=1,
                    width=8,
                    unit=GrafanaUnit.RATIO,
                ),
                timeseries(
                    "Disk throughput",
                    "Bytes read and written per second, by block device.",
                    query(
                        promql.rate(node.DISK_READ_BYTES, by=("device",), **HOST), "read {{device}}"
                    ),
                    query(
                        promql.rate(node.DISK_WRITTEN_BYTES, by=("device",), **HOST),
                        "written {{device}}",
                    ),
                    width=8,
                    unit=GrafanaUnit.BYTES_PER_SECOND,
                ),
                timeseries(
                    "Disk busy",
                    "Share of time each device was busy with I/O; near 100 % it saturates.",
                    query(promql.rate(node.DISK_IO_TIME, by=("device",), **HOST), "{{device}}"),
                    min_value=0,
                    max_value=1,
                    width=8,
                    unit=GrafanaUnit.RATIO,
                ),
            ],
        ),
        Section(
            "Network and load",
            [
                timeseries(
                    "Network traffic",
                    "Bytes received and transmitted per second, by interface (loopback excluded).",
                    query(
                        promql.rate(node.NETWORK_RECEIVE_BYTES, by=("device",), **NICS),
                        "received {{device}}",
                    ),
                    query(
                        promql.rate(node.NETWORK_TRANSMIT_BYTES, by=("device",), **NICS),
                        "transmitted {{device}}",
                    ),
                    unit=GrafanaUnit.BYTES_PER_SECOND,
                ),
                timeseries(
                    "Load average",
                    "1, 5 and 15-minute load averages.",
                    query(promql.sel(node.LOAD1, **HOST), "1m"),
                    query(promql.sel(node.LOAD5, **HOST), "5m"),
                    query(promql.sel(node.LOAD15, **HOST), "15m"),
                    min_value=0,
                ),
            ],
        ),
        Section(
            "Containers",
            [
                timeseries(
                    "Container CPU",
                    "CPU used by each container of the stack, in cores." + _OPTIONAL,
                    query(
                        promql.rate(cadvisor.CONTAINER_CPU_SECONDS, by=("name",), **CONTAINERS),
                        "{{name}}",
                    ),
                    min_value=0,
                    unit=GrafanaUnit.NONE,
                ),
                timeseries(
                    "Container memory",
                    "Working set of each container: the memory the OOM killer counts." + _OPTIONAL,
                    query(
                        promql.sum_by(
                            promql.sel(cadvisor.CONTAINER_MEMORY_WORKING_SET_BYTES, **CONTAINERS),
                            ("name",),
                        ),
                        "{{name}}",
                    ),
                    min_value=0,
                ),
            ],
        ),
    ],
    tags=["infrastructure"],
    variables=[
        query_variable(
            "instance",
            "Instance",
            promql.label_values(node.UP, "instance", job=config.NODE_JOB),
        )
    ],
)
