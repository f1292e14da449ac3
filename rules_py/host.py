"""Host rules: node-exporter reachable, CPU, memory and disks of the machine running the stack."""

from __future__ import annotations

from authoring import config
from authoring.alert_shapes import gauge_alert, scrape_target
from authoring.node_exporter import (
    CPU_SECONDS,
    FILESYSTEM_AVAIL_BYTES,
    MEMORY_AVAILABLE_BYTES,
    MEMORY_TOTAL_BYTES,
    UP,
)
from authoring.promql import avg_by, predict_linear, rate, sel
from authoring.rules_dsl import (
    AlertingRule,
    AlertTest,
    Fires,
    RuleGroup,
    Series,
    Threshold,
    format_duration,
)

__all__ = ["groups"]

W = config.RULE_WINDOW
JOB = {"job": config.NODE_JOB}
TARGET = scrape_target(config.NODE_JOB)
_cpu_max = f"{config.NODE_CPU_BUSY_MAX:.0%}"
_memory_min = f"{config.NODE_MEMORY_AVAILABLE_MIN:.0%}"
_horizon = format_duration(config.NODE_DISK_FULL_HORIZON_SECONDS)

node_exporter_down = gauge_alert(
    "NodeExporterDown",
    UP,
    "==",
    0,
    example=(1, 0),
    job=config.NODE_JOB,
    for_="2m",
    severity="warning",
    summary="node-exporter is down: host metrics are blind",
    description=(
        "Prometheus has not scraped {{ $labels.instance }} (job {{ $labels.job }}) for two "
        "minutes; the CPU, memory and disk alerts cannot fire."
    ),
)

_idle = rate(CPU_SECONDS, window=W, mode="idle", **JOB)
high_cpu = AlertingRule(
    name="NodeHighCpuUsage",
    threshold=Threshold(
        f"1 - {avg_by(_idle, ('job', 'instance'))}", ">", config.NODE_CPU_BUSY_MAX, unit="ratio"
    ),
    for_="15m",
    severity="warning",
    summary="The host's CPUs are saturated",
    description=(
        "CPUs of {{ $labels.instance }} are {{ $value | humanizePercentage }} busy over the last "
        f"{W} (threshold {_cpu_max}): the API's event loop is starved."
    ),
    tests=(
        AlertTest(
            name="two CPUs 95 % busy warn after fifteen minutes",
            series=tuple(
                # Idle time grows 3 s a minute: 5 % idle, 95 % busy.
                Series(sel(CPU_SECONDS, cpu=cpu, mode="idle", **TARGET), "0+3x30")
                for cpu in ("0", "1")
            ),
            fires=(Fires(TARGET, 0.95),),
        ),
    ),
)

low_memory = AlertingRule(
    name="NodeLowMemory",
    threshold=Threshold(
        f"{sel(MEMORY_AVAILABLE_BYTES, **JOB)} / {sel(MEMORY_TOTAL_BYTES, **JOB)}",
        "<",
        config.NODE_MEMORY_AVAILABLE_MIN,
        unit="ratio",
    ),
    for_="5m",
    severity="warning",
    summary="The host is running out of memory",
    description=(
        "Only {{ $value | humanizePercentage }} of memory is available on {{ $labels.instance }} "
        f"(threshold {_memory_min}): the OOM killer is next."
    ),
    tests=(
        AlertTest(
            name="5 % memory available warns after five minutes",
            series=(
                Series(sel(MEMORY_TOTAL_BYTES, **TARGET), "8000000000x20"),
                Series(sel(MEMORY_AVAILABLE_BYTES, **TARGET), "4000000000 400000000x20"),
            ),
            onset="1m",
            fires=(Fires(TARGET, 0.05),),
        ),
    ),
)

_filesystems = {**JOB, "fstype": "!~" + config.NODE_FILESYSTEM_EXCLUDED_FSTYPES}
_disk = {**TARGET, "device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"}
disk_filling_up = AlertingRule(
    name="NodeFilesystemFillingUp",
    threshold=Threshold(
        predict_linear(
            FILESYSTEM_AVAIL_BYTES,
            window=config.NODE_DISK_PREDICT_WINDOW,
            seconds=config.NODE_DISK_FULL_HORIZON_SECONDS,
            **_filesystems,
        ),
        "<",
        0,
    ),
    for_="1h",
    severity="warning",
    summary="A filesystem will be full within " + _horizon,
    description=(
        "{{ $labels.mountpoint }} ({{ $labels.device }}) on {{ $labels.instance }} is predicted "
        f"to run out of space within {_horizon} at its last "
        f"{config.NODE_DISK_PREDICT_WINDOW} of growth."
    ),
    tests=(
        AlertTest(
            name="20 GB free losing 1.2 GB an hour warns after an hour",
            series=(
                Series(sel(FILESYSTEM_AVAIL_BYTES, **_disk), "20000000000-20000000x90"),
                # tmpfs fills and empties with the workload; never predicted.
                Series(
                    sel(
                        FILESYSTEM_AVAIL_BYTES, **{**_disk, "fstype": "tmpfs", "mountpoint": "/run"}
                    ),
                    "20000000-1000000x90",
                ),
            ),
            fires=(Fires(_disk),),
        ),
    ),
)

groups = (
    RuleGroup(
        "host-alerts",
        (node_exporter_down, high_cpu, low_memory, disk_filling_up),
    ),
)
