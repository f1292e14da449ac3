"""The metric catalog: every series dashboards and rules may read, with its kind and unit.

The API's metrics and the retrain worker's are typed in `api/metrics.py`, node-exporter's in
`authoring/node_exporter.py`, cAdvisor's in `authoring/cadvisor.py`;
this module is the one place that puts them together, so the PromQL builder, the lint and the
threshold checks all look metrics up the same way.

Example:
    >>> spec_of("api_request_duration_seconds_bucket").unit
    'seconds'
"""

from __future__ import annotations

from api.metrics import ALL_SPECS as API_SPECS
from api.metrics import RETRAIN_SPECS, MetricSpec
from authoring.cadvisor import ALL_SPECS as CADVISOR_SPECS
from authoring.node_exporter import ALL_SPECS as NODE_SPECS

__all__ = ["ALL_SPECS", "counter_series", "series_names", "spec_of"]

# The retrain worker's metrics (job config.RETRAIN_WORKER_JOB) are typed beside the API's, which
# its flow runs share code with, but exposed by the worker: a query selects them by that job.
ALL_SPECS: tuple[MetricSpec, ...] = (*API_SPECS, *RETRAIN_SPECS, *NODE_SPECS, *CADVISOR_SPECS)
_BY_SERIES = {name: spec for spec in ALL_SPECS for name in spec.series_names}


def series_names() -> set[str]:
    """Every series name of the catalog (a histogram's `_bucket`, `_sum`, `_count` included)."""
    return set(_BY_SERIES)


def counter_series() -> set[str]:
    """Series that only grow: counters, and every series of a histogram (buckets, sum, count)."""
    return {name for name, spec in _BY_SERIES.items() if spec.kind != "gauge"}


def spec_of(series: str) -> MetricSpec | None:
    """The metric a series name belongs to, or None when the catalog has no such series."""
    return _BY_SERIES.get(series)
