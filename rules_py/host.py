"""Host rules: node-exporter reachable, CPU, memory and disks of the machine running the stack."""

from __future__ import annotations

from bikewatch import config
from bikewatch.node_exporter import (
    CPU_SECONDS,
    FILESYSTEM_AVAIL_BYTES,
    MEMORY_AVAILABLE_BYTES,
    MEMORY_TOTAL_BYTES,
    UP,
)
from bikewatch.profiles import COMPOSE
from bikewatch.promql import avg_by, predict_linear, rate, sel
from rules_py import names
from rules_py.dsl import (
    AlertingRule,
    AlertTest,
    Fired,
    RuleGroup,
    Series,
    Threshold,
    format_duration,
)

__all__ = ["groups"]

W = config.RULE_WINDOW
JOB = {"job": config.NODE_JOB}
TARGET = {**JOB, "instance": COMPOSE.node_exporter}
_cpu_max = f"{config.NODE_CPU_BUSY_MAX:.0%}"
_memory_min = f"{config.NODE_MEMORY_AVAILABLE_MIN:.0%}"
_horizon = format_duration(config.NODE_DISK_FULL_HORIZON_SECONDS)

node_exporter_down = AlertingRule(
    name=names.NODE_EXPORTER_DOWN,
    threshold=Threshold(sel(UP, **JOB), "==", 0),
    for_="2m",
    severity="warning",
    summary="node-exporter is down: host metrics are blind",
    description=(
        "Prometheus has not scraped {{ $labels.instance }} (job {{ $labels.job }}) for two "
        "minutes; the CPU, memory and disk alerts cannot fire."
    ),
    tests=(
        AlertTest(
            name="a silent node-exporter warns after two minutes",
            series=(Series(sel(UP, **TARGET), "1 0x10"),),
            onset="1m",
            fired=(
                Fired(
                    TARGET,
                    "node-exporter is down: host metrics are blind",
                    f"Prometheus has not scraped {COMPOSE.node_exporter} (job {config.NODE_JOB}) "
                    "for two minutes; the CPU, memory and disk alerts cannot fire.",
                ),
            ),
        ),
    ),
)

_idle = rate(CPU_SECONDS, window=W, mode="idle", **JOB)
high_cpu = AlertingRule(
    name=names.NODE_HIGH_CPU_USAGE,
    threshold=Threshold(f"1 - {avg_by(_idle, ('job', 'instance'))}", ">", config.NODE_CPU_BUSY_MAX),
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
            onset="1m",
            fired=(
                Fired(
                    TARGET,
                    "The host's CPUs are saturated",
                    f"CPUs of {COMPOSE.node_exporter} are 95% busy over the last {W} "
                    f"(threshold {_cpu_max}): the API's event loop is starved.",
                ),
            ),
        ),
    ),
)

low_memory = AlertingRule(
    name=names.NODE_LOW_MEMORY,
    threshold=Threshold(
        f"{sel(MEMORY_AVAILABLE_BYTES, **JOB)} / {sel(MEMORY_TOTAL_BYTES, **JOB)}",
        "<",
        config.NODE_MEMORY_AVAILABLE_MIN,
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
            fired=(
                Fired(
                    TARGET,
                    "The host is running out of memory",
                    f"Only 5% of memory is available on {COMPOSE.node_exporter} "
                    f"(threshold {_memory_min}): the OOM killer is next.",
                ),
            ),
        ),
    ),
)

_filesystems = {**JOB, "fstype": "!~" + config.NODE_FILESYSTEM_EXCLUDED_FSTYPES}
_disk = {**TARGET, "device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"}
disk_filling_up = AlertingRule(
    name=names.NODE_FILESYSTEM_FILLING_UP,
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
            onset="1m",
            fired=(
                Fired(
                    _disk,
                    "A filesystem will be full within " + _horizon,
                    f"/ (/dev/sda1) on {COMPOSE.node_exporter} is predicted to run out of space "
                    f"within {_horizon} at its last {config.NODE_DISK_PREDICT_WINDOW} of growth.",
                ),
            ),
        ),
    ),
)

groups = (
    RuleGroup(
        "host-alerts",
        (node_exporter_down, high_cpu, low_memory, disk_filling_up),
    ),
)
