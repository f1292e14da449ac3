"""`Registry` (api/registry.py) against a real PostgreSQL backend store, no mocks.

A throwaway cluster (tests/postgres.py: Debian's binaries, a free 127.0.0.1 port, `nobody` when
the tests run as root) serves one fresh database per test. It proves that, through MLflow's
SQLAlchemy store on PostgreSQL:

- registering the session's trained model gives versions 1, 2, 3; `champion` follows the
  promoted ones only, and downloads as the same files, byte for byte;
- the evaluation history returns the newest run first, with its metrics, tags and params;
- a PostgreSQL that goes away under a running registry turns `champion()` into a prompt
  `RegistryError`, and the registry works again once PostgreSQL is back.

Not covered: a process whose *first* contact finds PostgreSQL down. MLflow then retries the
engine's creation 10 times with backoff (`mlflow.store.db.utils.MAX_RETRY_COUNT`): ~105 s before
the `RegistryError`, far over this module's budget.

A database store keeps its artifacts in the Registry's `artifacts_dir` (MLflow's default would
be `./mlruns` under whatever folder the first process ran in): each test checks they landed
there, and works in its `tmp_path`, so a regression cannot write into the repository.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from mlflow import MlflowClient

from api.registry import (
    ARTIFACT_PATH,
    EVALUATIONS_EXPERIMENT,
    Champion,
    Registry,
    RegistryError,
)
from tests.postgres import Cluster, throwaway_cluster

# A registry that has lost its database answers in well under this (measured: ~10 ms).
UNREACHABLE_WITHIN = 30.0
_DATABASES = itertools.count(1)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with throwaway_cluster() as running:
        yield running


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's working directory: MLflow's default artifact root (`./mlruns`) lands here.
    The store resolves it when first opened, in the test (each test has its own database)."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def _open(cluster: Cluster, tmp_path: Path) -> Registry:
    """A registry on a fresh database of `cluster` (MLflow creates its tables on first use)."""
    uri = cluster.create_database(f"mlflow_{next(_DATABASES)}")
    return Registry(uri, artifacts_dir=tmp_path / "artifacts")


@pytest.fixture
def pg_registry(cluster: Cluster, tmp_path: Path, workdir: Path) -> Registry:
    return _open(cluster, tmp_path)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _artifact_folder(registry: Registry, run_id: str) -> Path:
    """Where the store keeps the run's artifacts (a local path or a file: URI)."""
    uri = MlflowClient(tracking_uri=registry.tracking_uri).get_run(run_id).info.artifact_uri
    return Path(urlparse(uri).path)


def _register(registry: Registry, model_dir: Path, *, promote: bool, mae: float) -> Champion:
    return registry.register(
        model_dir,
        params={"n_estimators": 50, "source": "test"},
        metrics={"mae": mae},
        tags={"trigger": "test"},
        promote=promote,
    )


def test_versions_follow_registrations_and_champion_the_promoted(
    pg_registry: Registry, model_dir: Path, tmp_path: Path
) -> None:
    assert pg_registry.champion() is None  # a fresh database: no model yet

    first = _register(pg_registry, model_dir, promote=True, mae=12.0)
    second = _register(pg_registry, model_dir, promote=True, mae=11.0)
    assert (first.version, second.version) == ("1", "2")
    assert first.run_id != second.run_id

    champion = pg_registry.champion()
    assert champion is not None
    assert (champion.version, champion.run_id) == ("2", second.run_id)
    assert champion.created == pytest.approx(second.created)
    assert abs(champion.created - time.time()) < 600

    third = _register(pg_registry, model_dir, promote=False, mae=30.0)
    assert third.version == "3"
    champion = pg_registry.champion()
    assert champion is not None
    assert (champion.version, champion.run_id) == ("2", second.run_id)

    # The model's files sit in the registry's artifacts_dir, not in the working directory.
    for run_id in (first.run_id, second.run_id, third.run_id):
        stored = _artifact_folder(pg_registry, run_id) / ARTIFACT_PATH
        assert stored.is_relative_to(tmp_path / "artifacts"), stored
        assert _files(stored) == _files(model_dir)


def test_download_gives_the_registered_files(
    pg_registry: Registry, model_dir: Path, tmp_path: Path
) -> None:
    _register(pg_registry, model_dir, promote=True, mae=12.0)
    champion = pg_registry.champion()
    assert champion is not None

    dest = tmp_path / "downloads" / "champion"
    got = pg_registry.download(champion, dest)

    assert got == dest and dest.is_dir()
    expected = _files(model_dir)
    assert expected, f"{model_dir} has no files"
    assert _files(dest) == expected
    # No staging folder is left beside it.
    assert [p.name for p in dest.parent.iterdir()] == ["champion"]


def test_runs_returns_the_newest_evaluation_first(pg_registry: Registry, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    report.write_text("<html>drift</html>")
    older = pg_registry.log_run(
        EVALUATIONS_EXPERIMENT,
        run_name="evaluation",
        start_time=1_796_000_000.0,
        metrics={"mae": 12.5, "drift_share": 0.1},
        tags={"verdict": "ok"},
    )
    newer = pg_registry.log_run(
        EVALUATIONS_EXPERIMENT,
        run_name="evaluation",
        start_time=1_796_003_600.5,
        metrics={"mae": 30.25, "drift_share": 0.6},
        tags={"verdict": "drift"},
        params={"window_hours": 168},
        artifacts=(report,),
    )

    assert pg_registry.runs(EVALUATIONS_EXPERIMENT, limit=1) == [
        {
            "run_id": newer,
            "start_time": 1_796_003_600.5,
            "metrics": {"mae": 30.25, "drift_share": 0.6},
            "tags": {"verdict": "drift"},
            "params": {"window_hours": "168"},
        }
    ]
    everything = pg_registry.runs(EVALUATIONS_EXPERIMENT, limit=10)
    assert [run["run_id"] for run in everything] == [newer, older]
    assert everything[1]["metrics"] == {"mae": 12.5, "drift_share": 0.1}
    assert everything[1]["tags"] == {"verdict": "ok"}
    ok = pg_registry.runs(EVALUATIONS_EXPERIMENT, limit=10, filter_string="tags.verdict = 'ok'")
    assert [run["run_id"] for run in ok] == [older]

    stored = _artifact_folder(pg_registry, newer) / "report" / report.name
    assert stored.is_relative_to(tmp_path), stored
    assert stored.read_bytes() == report.read_bytes()


@pytest.mark.usefixtures("workdir")
def test_a_lost_database_fails_promptly_and_recovers(model_dir: Path, tmp_path: Path) -> None:
    # A cluster of its own: this test stops it.
    with throwaway_cluster() as own:
        registry = _open(own, tmp_path)
        registered = _register(registry, model_dir, promote=True, mae=12.0)
        assert registry.runs(EVALUATIONS_EXPERIMENT, limit=1) == []

        own.stop()
        started = time.monotonic()
        with pytest.raises(RegistryError) as raised:
            registry.champion()
        elapsed = time.monotonic() - started
        assert elapsed < UNREACHABLE_WITHIN, f"champion() took {elapsed:.1f} s to fail"
        message = str(raised.value)
        assert message.startswith("cannot read bike-demand@champion: "), message
        assert "connection" in message.lower() and str(own.port) in message, message
        assert "\n" not in message
        with pytest.raises(RegistryError, match=f"^cannot read '{EVALUATIONS_EXPERIMENT}': "):
            registry.runs(EVALUATIONS_EXPERIMENT, limit=1)

        # Back on the same port: the next call reconnects, nothing to restart on our side.
        own.start()
        champion = registry.champion()
        assert champion is not None
        assert (champion.version, champion.run_id) == ("1", registered.run_id)
