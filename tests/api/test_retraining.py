"""The retraining decision per alert, and the decision log's once-per-occurrence bounded record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from api.metrics import MODEL_RETRAINING_DECISIONS, Metrics
from api.retraining import REASON_LABEL, DecisionLog, decide

T0 = datetime(2026, 1, 1, tzinfo=UTC)
# Alerts as the webhook sees them: the API decides on the reason label, never on the name.
DRIFT = {"alertname": "AnyDriftAlert", REASON_LABEL: "data_drift"}
QUALITY = {"alertname": "AnyQualityAlert", REASON_LABEL: "model_quality"}
OTHER = {"alertname": "AnyOtherAlert"}


@pytest.mark.parametrize(
    ("labels", "status", "expected"),
    [
        (DRIFT, "firing", ("RETRAINING_TRIGGERED", "data_drift")),
        (DRIFT, "resolved", ("NO_ACTION", "resolved")),
        (QUALITY, "firing", ("NO_ACTION", "model_quality")),
        (OTHER, "firing", ("NO_ACTION", "other_alert")),
        (OTHER, "resolved", ("NO_ACTION", "resolved")),
        ({**OTHER, REASON_LABEL: "made_up"}, "firing", ("NO_ACTION", "other_alert")),
    ],
)
def test_only_a_firing_data_drift_alert_triggers_retraining(
    labels: dict[str, str], status: str, expected: tuple[str, str]
) -> None:
    assert decide(labels, status) == expected  # type: ignore[arg-type]


def test_every_decision_stays_within_the_metrics_bounded_labels(tmp_path: Path) -> None:
    allowed = MODEL_RETRAINING_DECISIONS.label_values
    reasons = (*allowed["reason"], "made_up", "")
    for labels in (*({"alertname": "A", REASON_LABEL: r} for r in reasons), OTHER):
        for status in ("firing", "resolved"):
            decision, reason = decide(labels, status)  # type: ignore[arg-type]
            assert decision in allowed["decision"]
            assert reason in allowed["reason"]


def _count(registry: CollectorRegistry, decision: str, reason: str) -> float:
    value = registry.get_sample_value(
        MODEL_RETRAINING_DECISIONS.name, {"decision": decision, "reason": reason}
    )
    return value or 0.0


def test_an_occurrence_is_decided_once_however_often_alertmanager_resends_it(
    tmp_path: Path,
) -> None:
    registry = CollectorRegistry()
    log = DecisionLog(Metrics(registry), tmp_path / "decisions.db")
    drift = DRIFT
    first = log.record(drift, "firing", "abc", T0)
    assert first is not None and first.decision == "RETRAINING_TRIGGERED"
    assert log.record(drift, "firing", "abc", T0) is None
    assert _count(registry, "RETRAINING_TRIGGERED", "data_drift") == 1
    # The same alert resolving, then firing again later, are new occurrences.
    assert log.record(drift, "resolved", "abc", T0) is not None
    assert log.record(drift, "firing", "abc", T0 + timedelta(hours=1)) is not None
    assert _count(registry, "RETRAINING_TRIGGERED", "data_drift") == 2
    assert _count(registry, "NO_ACTION", "resolved") == 1
    assert [d.status for d in log.history()] == ["firing", "resolved", "firing"]


def test_the_same_drift_from_two_sources_retrains_once(tmp_path: Path) -> None:
    # Prometheus's rule and its Grafana-managed twin: same alertname, other fingerprints.
    registry = CollectorRegistry()
    log = DecisionLog(Metrics(registry), tmp_path / "decisions.db")
    drift = DRIFT
    assert log.record(drift, "firing", "prometheus", T0) is not None
    assert log.record(drift, "firing", "grafana", T0 + timedelta(seconds=40)) is None
    assert _count(registry, "RETRAINING_TRIGGERED", "data_drift") == 1
    # The episode ends when its last occurrence resolves, and is recorded once.
    assert log.record(drift, "resolved", "prometheus", T0) is None
    assert log.record(drift, "resolved", "grafana", T0 + timedelta(seconds=40)) is not None
    assert _count(registry, "NO_ACTION", "resolved") == 1
    # A later drift is a new episode.
    assert log.record(drift, "firing", "grafana", T0 + timedelta(hours=1)) is not None
    assert _count(registry, "RETRAINING_TRIGGERED", "data_drift") == 2
    # Other alerts keep one decision per occurrence.
    log.record(QUALITY, "firing", "rmse-prometheus", T0)
    log.record(QUALITY, "firing", "rmse-grafana", T0)
    assert _count(registry, "NO_ACTION", "model_quality") == 2


def test_history_keeps_only_the_newest_decisions(tmp_path: Path) -> None:
    log = DecisionLog(Metrics(CollectorRegistry()), tmp_path / "decisions.db", size=3)
    for minute in range(5):
        log.record(OTHER, "firing", f"fp{minute}", T0 + timedelta(minutes=minute))
    assert [d.fingerprint for d in log.history()] == ["fp2", "fp3", "fp4"]


def test_without_prefect_a_trigger_is_recorded_not_started_and_restored_after_a_restart(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    metrics = Metrics(CollectorRegistry())
    log = DecisionLog(metrics, tmp_path / "decisions.db")
    with caplog.at_level("INFO", logger="bike-api.retraining"):
        log.record(DRIFT, "firing", "abc", T0)
    (record,) = caplog.records
    assert record.levelname == "INFO"
    message = record.getMessage()
    assert (
        "RETRAINING_TRIGGERED (data_drift) (recorded, not started: no PREFECT_API_URL)" in message
    )
    (trigger,) = log.triggers()
    assert trigger.state == "unconfigured" and trigger.flow_run_id is None
    assert trigger.key == f"AnyDriftAlert/abc/{T0.isoformat()}"
    registry = metrics.registry
    assert (
        registry.get_sample_value("model_retraining_triggers_total", {"outcome": "unconfigured"})
        == 1.0
    )
    decided = registry.get_sample_value("model_retraining_last_trigger_timestamp_seconds")
    assert decided == pytest.approx(trigger.decided_at)

    # A new process (a restart) restores the time of the newest trigger; none is added.
    again = Metrics(CollectorRegistry())
    DecisionLog(again, tmp_path / "decisions.db")
    assert again.registry.get_sample_value(
        "model_retraining_last_trigger_timestamp_seconds"
    ) == pytest.approx(trigger.decided_at)
    # Only RETRAINING_TRIGGERED decisions make triggers.
    log.record(OTHER, "firing", "other", T0)
    assert len(log.triggers()) == 1


def test_two_logs_on_one_file_decide_an_occurrence_once(tmp_path: Path) -> None:
    """Two workers of the API open the same file: an alert both receive is decided once, and
    both list the same history."""
    registry = CollectorRegistry()
    path = tmp_path / "decisions.db"
    first, second = (
        DecisionLog(Metrics(registry), path),
        DecisionLog(Metrics(CollectorRegistry()), path),
    )
    assert first.record(DRIFT, "firing", "abc", T0) is not None
    assert second.record(DRIFT, "firing", "abc", T0) is None
    assert second.record(DRIFT, "firing", "other-source", T0) is None  # joins the open episode
    assert first.history() == second.history()
    assert len(first.history()) == 1


def test_decisions_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "decisions.db"
    DecisionLog(Metrics(CollectorRegistry()), path).record(DRIFT, "firing", "abc", T0)
    again = DecisionLog(Metrics(CollectorRegistry()), path)
    assert again.record(DRIFT, "firing", "abc", T0) is None
    assert [d.fingerprint for d in again.history()] == ["abc"]
