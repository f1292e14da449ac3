"""POST /alerts: Alertmanager's webhook, turned into retraining decisions; GET /alerts/decisions."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.retraining import HISTORY_SIZE, Decision, DecisionLog

__all__ = ["router"]

router = APIRouter(prefix="/alerts", tags=["alerts"])
logger = logging.getLogger("bike-api.alerts")

# Alertmanager groups alerts per notification; a few hundred at once means a storm, and the
# body-size cap bounds it anyway. The cap keeps one request's work small.
MAX_ALERTS_PER_NOTIFICATION = 1000


class WebhookAlert(BaseModel):
    """One alert of Alertmanager's webhook payload (version 4)."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    # Alertmanager sends 0001-01-01T00:00:00Z while the alert still fires.
    ends_at: datetime | None = Field(None, alias="endsAt")
    generator_url: str = Field("", alias="generatorURL")
    fingerprint: str = Field(min_length=1, max_length=64)

    @field_validator("labels")
    @classmethod
    def _has_alertname(cls, labels: dict[str, str]) -> dict[str, str]:
        if not labels.get("alertname"):
            raise ValueError("labels must contain a non-empty 'alertname'")
        return labels


class WebhookPayload(BaseModel):
    """Alertmanager's webhook notification (`webhook_config`, payload version 4)."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: str = ""
    group_key: str = Field("", alias="groupKey")
    truncated_alerts: int = Field(0, ge=0, alias="truncatedAlerts")
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field("", alias="externalURL")
    alerts: list[WebhookAlert] = Field(min_length=1, max_length=MAX_ALERTS_PER_NOTIFICATION)


class WebhookSummary(BaseModel):
    received: int = Field(description="alerts in the notification")
    truncated: int = Field(0, description="alerts Alertmanager left out of it (max_alerts)")
    already_decided: int = Field(description="alert occurrences decided by an earlier send")
    retraining_triggered: bool
    decisions: list[Decision] = Field(description="decisions taken on this notification")


class DecisionHistory(BaseModel):
    size: int = Field(description=f"the newest decisions kept (at most {HISTORY_SIZE})")
    decisions: list[Decision] = Field(description="oldest first")


async def get_decision_log(request: Request) -> DecisionLog:
    """The app's decision log, created on first use so main.py needs only the include line.

    One per process: with several uvicorn workers each keeps its own history, while the
    counter on /metrics sums them (multiprocess mode).

    Async so it runs on the event loop: two first requests cannot create two logs.
    """
    state = request.app.state
    log: DecisionLog | None = getattr(state, "decision_log", None)
    if log is None:
        log = state.decision_log = DecisionLog(state.metrics)
    return log


DecisionLogDep = Annotated[DecisionLog, Depends(get_decision_log)]


@router.post("", summary="Alertmanager webhook: record a retraining decision per alert")
async def receive(payload: WebhookPayload, log: DecisionLogDep) -> WebhookSummary:
    decisions = []
    for alert in payload.alerts:
        entry = log.record(alert.labels, alert.status, alert.fingerprint, alert.starts_at)
        if entry is not None:
            decisions.append(entry)
    if payload.truncated_alerts:
        # Alertmanager's max_alerts cut them: their decisions wait for the next notification.
        logger.warning(
            "notification %r left out %d alerts: not decided",
            payload.group_key,
            payload.truncated_alerts,
        )
    return WebhookSummary(
        received=len(payload.alerts),
        truncated=payload.truncated_alerts,
        already_decided=len(payload.alerts) - len(decisions),
        retraining_triggered=any(d.decision == "RETRAINING_TRIGGERED" for d in decisions),
        decisions=decisions,
    )


@router.get("/decisions", summary="The newest retraining decisions, oldest first")
async def decisions(log: DecisionLogDep) -> DecisionHistory:
    history = log.history()
    return DecisionHistory(size=len(history), decisions=history)
