"""The retraining decision taken on each Alertmanager alert, and a bounded log of the decisions."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from api.metrics import Metrics

__all__ = [
    "HISTORY_SIZE",
    "REASON_LABEL",
    "Decision",
    "DecisionLog",
    "DecisionName",
    "Reason",
    "decide",
    "possible_decisions",
]

logger = logging.getLogger("bike-api.retraining")

DecisionName = Literal["RETRAINING_TRIGGERED", "NO_ACTION"]
Reason = Literal["data_drift", "model_quality", "resolved", "other_alert"]

# The alert label that says why an alert may call for retraining; the rules set it (see
# rules_py/model.py), so the API decides without knowing any alert's name.
REASON_LABEL = "retraining_reason"
# The course's monitor flow retrains on data drift; quality alerts are recorded under their own
# reason so the dashboard tells "the model misfits" from "the inputs moved".
RETRAIN_ON: frozenset[Reason] = frozenset({"data_drift"})
# The reasons an alert's label may give ("resolved" and "other_alert" are the API's own).
LABELLED_REASONS: dict[str, Reason] = {"data_drift": "data_drift", "model_quality": "model_quality"}
# Enough to show the last drills on a dashboard or in a test; older decisions live in the logs
# and in the counter, so memory stays bounded whatever Alertmanager sends.
HISTORY_SIZE = 100
# Alertmanager re-sends a firing alert on every group change and repeat interval; remembering
# this many (fingerprint, startsAt, status) keys keeps one decision per alert occurrence.
SEEN_SIZE = 1000
# In the compose stack the drift rule fires twice, once from Prometheus and once from its
# Grafana-managed twin (other labels, so another fingerprint); both reach /alerts. While one
# occurrence of a retraining alert is open, another one of the same alertname joins it instead
# of retraining again; the episode's `resolved` is recorded when its last occurrence resolves.


@dataclass(frozen=True)
class Decision:
    """What the API decided for one alert occurrence (the course's monitor-flow decision)."""

    alertname: str
    status: Literal["firing", "resolved"]
    decision: DecisionName
    reason: Reason
    fingerprint: str
    starts_at: datetime


def decide(
    labels: Mapping[str, str], status: Literal["firing", "resolved"]
) -> tuple[DecisionName, Reason]:
    """Retrain on a firing alert labelled `retraining_reason="data_drift"`; record everything
    else without acting.

    A model-quality alert alone does not retrain: a high RMSE on a week of unusual weather is
    noise until the inputs themselves have moved, which is what the drift alert measures.
    """
    if status == "resolved":
        return "NO_ACTION", "resolved"
    reason = LABELLED_REASONS.get(labels.get(REASON_LABEL, ""), "other_alert")
    return ("RETRAINING_TRIGGERED" if reason in RETRAIN_ON else "NO_ACTION"), reason


def possible_decisions() -> list[tuple[DecisionName, Reason]]:
    """Every (decision, reason) `decide` can return: the counter's label sets, started at 0."""
    labels = [{REASON_LABEL: reason} for reason in LABELLED_REASONS] + [{}]
    return sorted({decide(lab, status) for lab in labels for status in ("firing", "resolved")})


class DecisionLog:
    """Records decisions once per alert occurrence: logged, counted, kept in a bounded history.

    Example:
        >>> from prometheus_client import CollectorRegistry
        >>> log = DecisionLog(Metrics(CollectorRegistry()))
        >>> log.history()
        []
    """

    def __init__(self, metrics: Metrics, size: int = HISTORY_SIZE) -> None:
        self._metrics = metrics
        self._history: deque[Decision] = deque(maxlen=size)
        self._seen: OrderedDict[tuple[str, datetime, str], None] = OrderedDict()
        # alertname -> fingerprints of its open occurrences, for retraining alerts only.
        self._open: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def record(
        self,
        labels: Mapping[str, str],
        status: Literal["firing", "resolved"],
        fingerprint: str,
        starts_at: datetime,
    ) -> Decision | None:
        """The new decision, or None when this occurrence was already decided (a re-send)."""
        alertname = labels.get("alertname", "")
        key = (fingerprint, starts_at, status)
        with self._lock:
            if key in self._seen:
                return None
            self._seen[key] = None
            while len(self._seen) > SEEN_SIZE:
                self._seen.popitem(last=False)
            decision, reason = decide(labels, status)
            if self._joins_open_episode(alertname, status, fingerprint, decision):
                return None
            entry = Decision(alertname, status, decision, reason, fingerprint, starts_at)
            self._history.append(entry)
        self._metrics.model_retraining_decisions.labels(decision=decision, reason=reason).inc()
        if decision == "RETRAINING_TRIGGERED":
            # Simulated, as in the course's monitor flow: say so clearly and launch nothing.
            logger.warning(
                "%s: alert %r is %s -> RETRAINING_TRIGGERED (simulated, nothing launched)",
                reason,
                alertname,
                status,
            )
        else:
            logger.info("%s: alert %r is %s -> NO_ACTION", reason, alertname, status)
        return entry

    def _joins_open_episode(
        self, alertname: str, status: str, fingerprint: str, decision: DecisionName
    ) -> bool:
        """Track open retraining episodes; True when this occurrence joins one already decided."""
        if decision == "RETRAINING_TRIGGERED":
            open_ = self._open.setdefault(alertname, set())
            joined = bool(open_)
            if len(open_) < SEEN_SIZE:
                open_.add(fingerprint)
            return joined
        if status == "resolved" and fingerprint in self._open.get(alertname, ()):
            self._open[alertname].discard(fingerprint)
            if self._open[alertname]:
                return True
            del self._open[alertname]
        return False

    def history(self) -> list[Decision]:
        """Recorded decisions, oldest first."""
        with self._lock:
            return list(self._history)
