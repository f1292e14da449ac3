"""MLflow as bike-api uses it: the registered model `bike-demand`, its `champion` alias, and the
history of evaluations and retraining decisions, behind a thin layer of our own.

Every call goes through `Registry`; MLflow is imported on first use (its import takes ~2 s,
kept off the API's start-up) and every failure comes out as `RegistryError`, one line saying
what could not be done. The store is MLflow's: `MLFLOW_TRACKING_URI` names a server
(`http://mlflow:5000`) or a database; unset, an embedded SQLite store under `mlruns/`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ARTIFACT_PATH",
    "CHAMPION_ALIAS",
    "DECISIONS_EXPERIMENT",
    "EVALUATIONS_EXPERIMENT",
    "MODEL_NAME",
    "TRAINING_EXPERIMENT",
    "Champion",
    "Registry",
    "RegistryError",
]

MODEL_NAME = "bike-demand"
CHAMPION_ALIAS = "champion"
# Each kind of run in its own experiment, so the UI lists evaluations apart from trainings.
TRAINING_EXPERIMENT = "bike-demand-training"
EVALUATIONS_EXPERIMENT = "bike-demand-evaluations"
DECISIONS_EXPERIMENT = "bike-demand-retraining-decisions"
# Where a training run keeps the model's folder (what a model version points at).
ARTIFACT_PATH = "model"
# MLflow's HTTP client retries 7 times with backoff and waits 120 s per call by default: minutes
# before a poll of an unreachable server gives up. Ours fail in seconds and retry at the next
# poll (or the next attempt of the history's outbox). The environment still wins.
_CLIENT_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    # A progress bar per download is noise in the API's log.
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


class RegistryError(Exception):
    """The registry or the history could not be used; the message says what and why."""


@dataclass(frozen=True)
class Champion:
    """The model version the `champion` alias points at."""

    version: str
    run_id: str
    # When the version was registered (Unix seconds): the champion's age.
    created: float

    @property
    def uri(self) -> str:
        return f"models:/{MODEL_NAME}@{CHAMPION_ALIAS}"


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first[:300]}"


def _is_local_store(uri: str) -> bool:
    """A store this process writes itself (a database, a folder): its artifacts go to
    `artifacts_dir`. A server (http, https) keeps its own."""
    return not uri.startswith(("http://", "https://"))


class Registry:
    """One MLflow store: the model registry and the run history.

    `artifacts_dir` is where a local store (SQLite, a folder) keeps artifacts; a server keeps its
    own (`mlflow server --serve-artifacts`), so it is ignored there.

    Example:
        >>> registry = Registry("sqlite:///mlruns/mlflow.db", Path("mlruns/artifacts"))
        >>> registry.champion()  # doctest: +SKIP
        Champion(version='3', run_id='9d1c...', created=1796005087.8)
    """

    def __init__(self, tracking_uri: str, artifacts_dir: Path | None = None) -> None:
        self.tracking_uri = tracking_uri
        self.artifacts_dir = artifacts_dir
        self._client: Any = None
        self._experiments: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def local(self) -> bool:
        return _is_local_store(self.tracking_uri)

    @contextmanager
    def _calling(self, what: str) -> Iterator[Any]:
        """The MLflow client; any failure inside becomes RegistryError naming `what`."""
        try:
            yield self._get_client()
        except RegistryError:
            raise
        except Exception as exc:  # MLflow raises its own, requests', SQLAlchemy's, OSError...
            raise RegistryError(f"{what}: {_short(exc)}") from exc

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                for name, value in _CLIENT_DEFAULTS.items():
                    os.environ.setdefault(name, value)
                try:
                    from mlflow import MlflowClient
                except ImportError as exc:  # pragma: no cover - an install problem
                    raise RegistryError(f"MLflow is not installed: {exc}") from exc
                if self.tracking_uri.startswith("sqlite:"):
                    _sqlite_folder(self.tracking_uri)
                    try:
                        import sqlalchemy  # noqa: F401
                    except ImportError:
                        raise RegistryError(
                            "the embedded SQLite store needs full MLflow (`pip install "
                            "'bikewatch[store]'`), or set MLFLOW_TRACKING_URI to a server"
                        ) from None
                self._client = MlflowClient(
                    tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
                )
            return self._client

    def experiment_id(self, name: str) -> str:
        """The experiment's id, created on first use (artifacts under `artifacts_dir` when the
        store is local)."""
        if name in self._experiments:
            return self._experiments[name]
        with self._calling(f"cannot open the experiment {name!r}") as client:
            experiment = client.get_experiment_by_name(name)
            if experiment is not None:
                found = str(experiment.experiment_id)
            else:
                location = None
                if self.local and self.artifacts_dir is not None:
                    location = (self.artifacts_dir.resolve() / name).as_uri()
                try:
                    found = str(client.create_experiment(name, artifact_location=location))
                except Exception:
                    # Another process created it first.
                    experiment = client.get_experiment_by_name(name)
                    if experiment is None:
                        raise
                    found = str(experiment.experiment_id)
        self._experiments[name] = found
        return found

    # The registry ---------------------------------------------------------------------------

    def register(
        self,
        model_dir: Path,
        *,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        tags: Mapping[str, str],
        promote: bool,
    ) -> Champion:
        """Log a training run (params, metrics, tags, the folder as its `model` artifact),
        register it as a new version of `bike-demand`, and move `champion` to it if `promote`."""
        experiment = self.experiment_id(TRAINING_EXPERIMENT)
        with self._calling("cannot register the model") as client:
            run = client.create_run(experiment, tags={"mlflow.runName": "train", **tags})
            run_id = run.info.run_id
            try:
                for key, value in params.items():
                    client.log_param(run_id, key, value)
                for key, number in metrics.items():
                    client.log_metric(run_id, key, float(number))
                client.log_artifacts(run_id, str(model_dir), ARTIFACT_PATH)
            except Exception:
                client.set_terminated(run_id, "FAILED")
                raise
            client.set_terminated(run_id)
            try:
                client.create_registered_model(MODEL_NAME)
            except Exception:
                client.get_registered_model(MODEL_NAME)  # it exists (else this raises)
            version = client.create_model_version(
                MODEL_NAME, f"runs:/{run_id}/{ARTIFACT_PATH}", run_id=run_id, tags=dict(tags)
            )
            if promote:
                client.set_registered_model_alias(MODEL_NAME, CHAMPION_ALIAS, version.version)
        return Champion(str(version.version), run_id, version.creation_timestamp / 1000)

    def champion(self) -> Champion | None:
        """The version `champion` points at, or None when there is none yet."""
        with self._calling(f"cannot read {MODEL_NAME}@{CHAMPION_ALIAS}") as client:
            try:
                version = client.get_model_version_by_alias(MODEL_NAME, CHAMPION_ALIAS)
            except Exception as exc:
                # No such model or alias (yet); anything else (a wrong URL's 404 included) is
                # an error.
                if getattr(exc, "error_code", None) == "RESOURCE_DOES_NOT_EXIST":
                    return None
                raise
        return Champion(
            str(version.version), str(version.run_id), version.creation_timestamp / 1000
        )

    def download(self, champion: Champion, dest: Path) -> Path:
        """The version's model folder, downloaded into `dest` (created; must not exist)."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        with self._calling(f"cannot download version {champion.version}") as client:
            staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".download-{dest.name}-"))
            try:
                got = Path(client.download_artifacts(champion.run_id, ARTIFACT_PATH, str(staging)))
                os.replace(got, dest)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return dest

    def read_text(self, run_id: str, artifact: str) -> str:
        """A run's text artifact (a labelled batch)."""
        with (
            self._calling(f"cannot read {artifact} of run {run_id}") as client,
            tempfile.TemporaryDirectory(prefix="bike-artifact-") as folder,
        ):
            got = Path(client.download_artifacts(run_id, artifact, folder))
            return got.read_text(encoding="utf-8")

    # The history ----------------------------------------------------------------------------

    def log_run(
        self,
        experiment_name: str,
        *,
        run_name: str,
        start_time: float,
        metrics: Mapping[str, float],
        tags: Mapping[str, str],
        params: Mapping[str, Any] | None = None,
        artifacts: tuple[Path, ...] = (),
        texts: Mapping[str, str] | None = None,
    ) -> str:
        """One finished run (time of the event, metrics, tags, files under `report/`, and
        `texts`: artifact path -> content); returns its id."""
        experiment = self.experiment_id(experiment_name)
        millis = round(start_time * 1000)
        with self._calling(f"cannot log to {experiment_name!r}") as client:
            from mlflow.entities import Metric, Param, RunTag

            run = client.create_run(
                experiment, start_time=millis, tags={"mlflow.runName": run_name, **tags}
            )
            run_id = run.info.run_id
            client.log_batch(
                run_id,
                metrics=[Metric(k, float(v), millis, 0) for k, v in metrics.items()],
                params=[Param(k, str(v)) for k, v in (params or {}).items()],
                tags=[RunTag(k, str(v)) for k, v in tags.items()],
            )
            for path in artifacts:
                if path.is_file():
                    client.log_artifact(run_id, str(path), "report")
            for artifact, text in (texts or {}).items():
                client.log_text(run_id, text, artifact)
            client.set_terminated(run_id, end_time=millis)
        return str(run_id)

    def runs(
        self, experiment_name: str, *, limit: int, filter_string: str = ""
    ) -> list[dict[str, Any]]:
        """The experiment's finished runs, newest first: id, start time (s), metrics, tags,
        params. A run `log_run` is still writing (or left half-written when the server went
        away: the retry writes another) is never read: its metrics may not be there yet."""
        experiment = self.experiment_id(experiment_name)
        finished = "attributes.status = 'FINISHED'"
        with self._calling(f"cannot read {experiment_name!r}") as client:
            found = client.search_runs(
                [experiment],
                filter_string=f"{finished} and {filter_string}" if filter_string else finished,
                max_results=limit,
                order_by=["attributes.start_time DESC"],
            )
        return [
            {
                "run_id": run.info.run_id,
                "start_time": run.info.start_time / 1000,
                "metrics": dict(run.data.metrics),
                "tags": {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
                "params": dict(run.data.params),
            }
            for run in found
        ]


def _sqlite_folder(uri: str) -> None:
    """SQLite creates the database file, not its folder."""
    path = uri.removeprefix("sqlite:///")
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
