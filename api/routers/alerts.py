"""POST /alerts: Alertmanager's webhook, turned into retraining decisions; GET /alerts/decisions.

Only Alertmanager may call it: a request needs `Authorization: Bearer <ALERT_WEBHOOK_TOKEN>`
(compared in constant time), and without a token configured the webhook refuses every call.
Every string and map of the payload is bounded (in characters, as the OpenAPI schema states them,
so at most 4 bytes each in UTF-8), so no payload can grow the API's memory.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from api import logs
from api.deps import require_webhook_token
from api.history import History
from api.prefect_trigger import TriggerDelivery, TriggerRecord
from api.retraining import HISTORY_SIZE, Decision, DecisionLog
from api.schemas import ERROR_RESPONSES, JSON_NUMBER, ErrorBody

__all__ = ["router"]

router = APIRouter(prefix="/alerts", tags=["alerts"])
logger = logs.get("alerts")

# Alertmanager groups alerts per notification; a few hundred at once means a storm, and the
# body-size cap bounds it anyway. The cap keeps one request's work small.
MAX_ALERTS_PER_NOTIFICATION = 1000
# Bounds of every string Alertmanager sends, in characters (UTF-8: 4 bytes at most each): far
# above what our rules produce (label values are names and addresses, annotations a sentence or
# two), far below what could grow the API's memory.
MAX_LABELS = 64
MAX_LABEL_VALUE_CHARS = 1024
MAX_ANNOTATION_CHARS = 8192
MAX_URL_CHARS = 2048
MAX_GROUP_KEY_CHARS = 4096
# Prometheus's (classic) label names; Alertmanager 0.27 in its default mode sends these only.
LABEL_NAME_PATTERN = r"^[a-zA-Z_][a-zA-Z0-9_]{0,127}$"

LabelName = Annotated[str, StringConstraints(pattern=LABEL_NAME_PATTERN)]
LabelValue = Annotated[str, StringConstraints(max_length=MAX_LABEL_VALUE_CHARS)]
AnnotationValue = Annotated[str, StringConstraints(max_length=MAX_ANNOTATION_CHARS)]
# No key outside the pattern: said in the schema (additionalProperties), so clients know.
_NAMED_KEYS_ONLY = {"additionalProperties": False}
Labels = Annotated[
    dict[LabelName, LabelValue], Field(max_length=MAX_LABELS, json_schema_extra=_NAMED_KEYS_ONLY)
]
Annotations = Annotated[
    dict[LabelName, AnnotationValue],
    Field(max_length=MAX_LABELS, json_schema_extra=_NAMED_KEYS_ONLY),
]
Url = Annotated[str, StringConstraints(max_length=MAX_URL_CHARS)]


def _text_only(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 date-time string")  # not a number of seconds
    return value


# A date-time as the schema says (`format: date-time`): text, never a number of seconds.
Timestamp = Annotated[datetime, BeforeValidator(_text_only)]


def _labels_schema(schema: dict[str, Any]) -> None:
    # `alertname` and other keys matching the label-name pattern, nothing else.
    schema["additionalProperties"] = False
    schema["patternProperties"] = {
        LABEL_NAME_PATTERN: {"type": "string", "maxLength": MAX_LABEL_VALUE_CHARS}
    }
    schema["maxProperties"] = MAX_LABELS


class AlertLabels(BaseModel):
    """An alert's labels: `alertname` (required) and up to 63 others, each value bounded."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_labels_schema)
    __pydantic_extra__: dict[LabelName, LabelValue] = Field(init=False)

    alertname: Annotated[LabelValue, StringConstraints(min_length=1)]

    @model_validator(mode="after")
    def _bounded(self) -> AlertLabels:
        if len(self.__pydantic_extra__ or {}) >= MAX_LABELS:
            raise ValueError(f"more than {MAX_LABELS} labels")
        return self

    def as_dict(self) -> dict[str, str]:
        return {"alertname": self.alertname, **(self.__pydantic_extra__ or {})}


class WebhookAlert(BaseModel):
    """One alert of Alertmanager's webhook payload (version 4); unknown fields are dropped."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    status: Literal["firing", "resolved"]
    labels: AlertLabels
    annotations: Annotations = Field(default_factory=dict)
    starts_at: Timestamp = Field(alias="startsAt")
    # Alertmanager sends 0001-01-01T00:00:00Z while the alert still fires.
    ends_at: Timestamp | None = Field(None, alias="endsAt")
    generator_url: Url = Field("", alias="generatorURL")
    fingerprint: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")


class WebhookPayload(BaseModel):
    """Alertmanager's webhook notification (`webhook_config`, payload version 4)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: LabelValue = ""
    group_key: str = Field("", alias="groupKey", max_length=MAX_GROUP_KEY_CHARS)
    truncated_alerts: Annotated[int, JSON_NUMBER] = Field(
        0, ge=0, le=1_000_000, alias="truncatedAlerts"
    )
    group_labels: Labels = Field(default_factory=dict, alias="groupLabels")
    common_labels: Labels = Field(default_factory=dict, alias="commonLabels")
    common_annotations: Annotations = Field(default_factory=dict, alias="commonAnnotations")
    external_url: Url = Field("", alias="externalURL")
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
    triggers: list[TriggerRecord] = Field(
        description="RETRAINING_TRIGGERED decisions and their retrain flow runs, oldest first: "
        "pending (being delivered to Prefect), started (flow_run_id), skipped (a run was "
        "already active), unconfigured (no Prefect server)"
    )


async def get_decision_log(request: Request) -> DecisionLog:
    """The decision log the app opened at start-up, shared by every worker (STATE_DIR)."""
    log: DecisionLog = request.app.state.decision_log
    return log


DecisionLogDep = Annotated[DecisionLog, Depends(get_decision_log)]


@router.post(
    "",
    summary="Alertmanager webhook: record a retraining decision per alert",
    dependencies=[Depends(require_webhook_token)],
    responses={
        401: {"model": ErrorBody, "description": "no or a wrong `Authorization: Bearer` token"},
        403: {"model": ErrorBody, "description": "no token configured: the webhook is off"},
        **ERROR_RESPONSES,
    },
)
async def receive(payload: WebhookPayload, log: DecisionLogDep, request: Request) -> WebhookSummary:
    history: History | None = request.app.state.history
    decisions = []
    for alert in payload.alerts:
        labels = alert.labels.as_dict()
        entry = await asyncio.to_thread(
            log.record, labels, alert.status, alert.fingerprint, alert.starts_at
        )
        if entry is not None:
            decisions.append(entry)
            if history is not None:
                # Into the outbox; written to MLflow's decisions experiment in the background.
                await asyncio.to_thread(history.record_decision, entry, time.time())
    delivery: TriggerDelivery | None = getattr(request.app.state, "trigger_delivery", None)
    if delivery is not None and any(d.decision == "RETRAINING_TRIGGERED" for d in decisions):
        delivery.wake()
    if payload.truncated_alerts:
        # Alertmanager's max_alerts cut them: their decisions wait for the next notification.
        logger.warning(
            "notification %r left out %d alerts: not decided",
            payload.group_key[:200],
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
    history = await asyncio.to_thread(log.history)
    triggers = await asyncio.to_thread(log.triggers)
    return DecisionHistory(size=len(history), decisions=history, triggers=triggers)
