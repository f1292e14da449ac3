"""The metric catalog: every series looked up the same way, each metric with its unit and range."""

from __future__ import annotations

from api.metrics import ALL_SPECS as API_SPECS
from api.metrics import (
    MODEL_DRIFTED_FEATURES_RATIO,
    MODEL_MAPE,
    MODEL_R2,
    MODEL_RMSE,
    RETRAIN_FLOW_DURATION,
    RETRAIN_SPECS,
)
from authoring import cadvisor, catalog, node_exporter


def test_the_catalog_holds_every_source_of_metrics() -> None:
    assert set(catalog.ALL_SPECS) == {
        *API_SPECS,
        *RETRAIN_SPECS,
        *node_exporter.ALL_SPECS,
        *cadvisor.ALL_SPECS,
    }
    # The retrain worker's metrics are its own, not the API's: the API's /metrics never has them.
    assert not set(RETRAIN_SPECS) & set(API_SPECS)
    assert catalog.spec_of(RETRAIN_FLOW_DURATION.bucket) is RETRAIN_FLOW_DURATION
    assert catalog.spec_of("node_load1") is node_exporter.LOAD1
    assert catalog.spec_of(MODEL_RMSE.name) is MODEL_RMSE
    assert catalog.spec_of("nope") is None


def test_histogram_series_belong_to_their_metric_and_count_as_counters() -> None:
    for spec in catalog.ALL_SPECS:
        for series in spec.series_names:
            assert catalog.spec_of(series) is spec
            assert (series in catalog.counter_series()) == (spec.kind != "gauge")


def test_every_gauge_and_histogram_says_what_it_measures() -> None:
    """A measured value has a unit of its own; only counters count plain events."""
    for spec in catalog.ALL_SPECS:
        if spec.kind != "counter":
            assert spec.unit != "events", f"{spec.name}: give it a unit"


def test_ranges_follow_the_unit_unless_the_metric_narrows_them() -> None:
    assert MODEL_DRIFTED_FEATURES_RATIO.bounds == (0.0, 1.0)
    assert MODEL_R2.bounds == (None, 1.0)  # below 0: worse than the batch's mean
    assert MODEL_MAPE.unit == "percent" and MODEL_MAPE.bounds == (0.0, None)
    assert "percent" in MODEL_MAPE.documentation  # the HELP says it is not a ratio
