"""bike-api settings: one pydantic-settings class read from the environment (`.env.example`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.features import (
    DEFAULT_DRIFT_SHARE_THRESHOLD,
    FEATURES,
    REFERENCE_END,
    REFERENCE_START,
    TARGET,
)

__all__ = [
    "BUNDLED_DATASET",
    "DEFAULT_DEPLOYMENT",
    "DEFAULT_DRIFT_SHARE_THRESHOLD",
    "FEATURES",
    "REFERENCE_END",
    "REFERENCE_START",
    "TARGET",
    "UCI_URL",
    "SecretFileError",
    "Settings",
    "get_settings",
]

ROOT = Path(__file__).resolve().parent.parent

# The UCI data as the project bundles it (CC BY 4.0, see api/dataset/README.md): the default
# source, so training, the API and the tests run offline on a fresh clone.
BUNDLED_DATASET = Path(__file__).resolve().parent / "dataset" / "bike+sharing+dataset.zip"
# UCI's own download, for BIKE_SHARING_SOURCE when a fresh copy is wanted.
UCI_URL = "https://archive.ics.uci.edu/static/public/275/bike+sharing+dataset.zip"


# The retrain deployment (flow/deployment) as flows/worker.py serves it.
DEFAULT_DEPLOYMENT = "retrain/retrain"


class Settings(BaseSettings):
    """Everything configurable about bike-api; each field maps to an upper-case env var."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", protected_namespaces=())

    bike_sharing_source: str = Field(
        str(BUNDLED_DATASET), description="a local .zip or hour.csv, or a URL (default: bundled)"
    )
    data_dir: Path = Field(ROOT / "data", description="download cache (git-ignored)")
    model_dir: Path = Field(ROOT / "artifacts", description="model artifact, card, reference")
    reports_dir: Path = Field(ROOT / "reports", description="Evidently reports (git-ignored)")
    reports_keep: int = Field(20, ge=1, description="newest report pairs kept")
    # A /predict body is ~250 bytes; an /evaluate of the exam's 1000-row weeks is ~300 KB.
    max_body_bytes: int = Field(2_000_000, ge=1024)
    # The exam's client sends at most 1000 rows per week; 10x leaves room for larger batches
    # while bounding the report's memory and time.
    max_evaluation_rows: int = Field(10_000, ge=1)
    drift_share_threshold: float = Field(DEFAULT_DRIFT_SHARE_THRESHOLD, gt=0, le=1)
    # The evaluation child imports Evidently (~6 s of CPU): at start-up, so the first /evaluate
    # is fast, or at the first /evaluate, for processes that rarely evaluate (tests, scripts).
    evaluation_worker_start: Literal["startup", "first_use"] = "startup"
    # What the API's workers share on this host: the decision log and the evaluation lock.
    state_dir: Path = Field(ROOT / "state", description="shared by the workers (git-ignored)")
    # Host headers answered; any other gets 400, so a page that rebinds its own DNS name to
    # 127.0.0.1 cannot reach a loopback-bound API from a browser. Comma-separated.
    allowed_hosts: str = Field("localhost,127.0.0.1,[::1],bike-api")
    # POST /alerts needs `Authorization: Bearer <token>` (Alertmanager's http_config.authorization
    # reads the same file); without one configured the webhook refuses every call.
    alert_webhook_token: SecretStr | None = None
    alert_webhook_token_file: Path | None = None
    # POST /evaluate needs `X-API-Key: <key>` when a key is configured (it moves the quality and
    # drift gauges the alerts and the retraining read).
    evaluate_api_key: SecretStr | None = None
    evaluate_api_key_file: Path | None = None
    # A request body must arrive within this time, or 408: slow clients cannot hold the API.
    request_body_timeout_seconds: float = Field(10.0, gt=0)
    # The MLflow store: model registry (`bike-demand@champion`) and the evaluation history. A
    # server (`http://mlflow:5000`) or a database; unset, an embedded SQLite store in mlruns/.
    mlflow_tracking_uri: str = Field(f"sqlite:///{ROOT / 'mlruns' / 'mlflow.db'}")
    # Artifacts of a local (SQLite) store; a server keeps its own (--serve-artifacts).
    mlflow_artifacts_dir: Path = Field(ROOT / "mlruns" / "artifacts")
    # "registry": serve the champion (cached in STATE_DIR/models, followed, hot-swapped);
    # "folder": serve MODEL_DIR as `python -m api.train --no-register` left it, no registry.
    model_source: Literal["registry", "folder"] = "registry"
    # How often the API asks the registry whether `champion` moved (POST /model/reload: at once),
    # and for the newest evaluation of the model it serves (the gauges every replica shows).
    # 30 s: a promotion is served within a minute, at two cheap registry calls per worker per poll.
    model_poll_seconds: float = Field(30.0, gt=0)
    # The Prefect server a RETRAINING_TRIGGERED decision starts the `retrain` flow on (Prefect's
    # own variable names; the auth string is `user:password`, the server's basic auth). Unset:
    # a decision is recorded, and no retraining starts (`make retrain` runs one by hand).
    prefect_api_url: str | None = None
    prefect_api_auth_string: SecretStr | None = None
    # flow/deployment, as flows/worker.py serves it.
    retrain_deployment: str = Field(DEFAULT_DEPLOYMENT, pattern=r"^[\w.-]+/[\w.-]+$")
    # Drift on live /predict inputs (api/live_drift.py): the window of the last N requests each
    # worker keeps (0: off), scored every interval once it holds the minimum. 1,000 requests
    # span six weeks of hours in a replay and minutes to hours of real traffic; 200 (eight
    # days of hours) covers every weekday and hour, so the calendar scores mean something.
    live_drift_window: int = Field(1000, ge=0, le=100_000)
    live_drift_min_rows: int = Field(200, ge=1)
    # Once a minute: the gauges move with the traffic, at a few ms of CPU per scoring.
    live_drift_interval_seconds: float = Field(60.0, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    @property
    def model_cache_dir(self) -> Path:
        """Champion versions downloaded from the registry, shared by the workers."""
        return self.state_dir / "models"

    @property
    def hosts(self) -> list[str]:
        return [h.strip() for h in self.allowed_hosts.split(",") if h.strip()]

    def webhook_token(self) -> str | None:
        """The webhook's token, from ALERT_WEBHOOK_TOKEN or the file ALERT_WEBHOOK_TOKEN_FILE."""
        return _secret(self.alert_webhook_token, self.alert_webhook_token_file)

    def api_key(self) -> str | None:
        """The /evaluate key, from EVALUATE_API_KEY or the file EVALUATE_API_KEY_FILE."""
        return _secret(self.evaluate_api_key, self.evaluate_api_key_file)

    @field_validator("bike_sharing_source", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        # compose passes `BIKE_SHARING_SOURCE=` through when the user set nothing: the default.
        return str(BUNDLED_DATASET) if value in ("", None) else value

    @field_validator("retrain_deployment", mode="before")
    @classmethod
    def _default_when_empty(cls, value: object) -> object:
        # compose passes `RETRAIN_DEPLOYMENT=` through when the user set nothing: the default.
        return DEFAULT_DEPLOYMENT if value in ("", None) else value

    @field_validator("prefect_api_url", "prefect_api_auth_string", mode="before")
    @classmethod
    def _none_when_empty(cls, value: object) -> object:
        # compose's `PREFECT_API_URL=` (nothing set) means no Prefect server, not a bad URL.
        return None if value == "" else value


class SecretFileError(ValueError):
    """A secret file that cannot be read: the message names the setting and the file."""


def _secret(value: SecretStr | None, path: Path | None) -> str | None:
    if value is not None and value.get_secret_value().strip():
        return value.get_secret_value().strip()
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecretFileError(f"cannot read the secret file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SecretFileError(f"the secret file {path} is not UTF-8 text") from None
    if not text:
        # A file was configured: empty is a mistake, never "no secret" (which opens /evaluate).
        raise SecretFileError(f"the secret file {path} is empty")
    return text


@lru_cache
def get_settings() -> Settings:
    return Settings()
