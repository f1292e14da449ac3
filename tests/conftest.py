"""Shared fixtures: the dataset source, a model trained once per session, an API client."""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from api.config import Settings, get_settings
from api.model import CARD_FILE

ROOT = Path(__file__).resolve().parent.parent
# Every app the tests build answers TestClient's Host and keeps its shared state (decisions, the
# evaluation lock) out of the repository; a test that needs its own state passes state_dir.
os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],bike-api,testserver")
os.environ.setdefault("STATE_DIR", tempfile.mkdtemp(prefix="bike-api-state-"))
# Apps serve the model folder they are given (MODEL_SOURCE=folder: no MLflow); the tests of the
# registry, the hot swap and the history say MODEL_SOURCE=registry with a store of their own.
# Nothing a test runs touches the repository's mlruns/.
os.environ.setdefault("MODEL_SOURCE", "folder")
_MLFLOW_DIR = tempfile.mkdtemp(prefix="bike-mlflow-")
os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{_MLFLOW_DIR}/mlflow.db")
os.environ.setdefault("MLFLOW_ARTIFACTS_DIR", f"{_MLFLOW_DIR}/artifacts")


@pytest.fixture(scope="session")
def dataset_source() -> str:
    """The UCI data the tests read: the loader's own default (the bundled copy), or what
    BIKE_SHARING_SOURCE names; a local file, never a download."""
    source = get_settings().bike_sharing_source
    if not Path(source).is_file():
        pytest.fail(f"BIKE_SHARING_SOURCE={source} is not a local file: the tests read no URL")
    return source


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, dataset_source: str) -> Path:
    """A model trained once per test run with the default parameters (50 trees, ~2 s), shared
    by the xdist workers: the first to take the lock trains, the others read it. Tests only
    read it (those that change a model copy it first)."""
    # Under xdist each worker's base temp folder sits in one folder of this run.
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = shared / "model"
    with (shared / "model.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / CARD_FILE).is_file():
            from api.train import train

            train(folder, source=dataset_source)
    return folder


@pytest.fixture
def settings(model_dir: Path, dataset_source: str, tmp_path: Path) -> Settings:
    return Settings(
        bike_sharing_source=dataset_source,
        model_dir=model_dir,
        data_dir=tmp_path / "data",
        reports_dir=tmp_path / "reports",
        state_dir=tmp_path / "state",
        # Most tests never evaluate: Evidently's import waits for the first /evaluate.
        evaluation_worker_start="first_use",
        model_source="folder",
    )


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def client(settings: Settings, registry: CollectorRegistry) -> Iterator[TestClient]:
    """The API with the session's model and a fresh metrics registry, lifespan started."""
    from api.main import create_app

    with TestClient(create_app(settings, registry=registry)) as test_client:
        yield test_client


# --- The build ------------------------------------------------------------------------------
# The layers the build needs, copied with a source broken on purpose: `python -m generator` runs
# there as a user runs it, in its own interpreter.
BUILD_LAYERS = ("api", "authoring", "dashboards_py", "rules_py", "generator")


@pytest.fixture(scope="session")
def generated_files() -> dict[str, str]:
    """Every file of generated/, freshly built from the sources (once per session)."""
    from generator.generate import build_all

    return build_all()


@pytest.fixture
def source_copy(tmp_path: Path) -> Path:
    """A copy of the build's layers in a temporary folder, to break and build there."""
    import shutil

    copy = tmp_path / "repo"
    for layer in BUILD_LAYERS:
        shutil.copytree(ROOT / layer, copy / layer, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under xdist (`--dist loadgroup`), a module's tests share a worker unless they name a
    group: module fixtures (an app, a built wheel, a compiled tree) are then built once.

    The long runs come first (end to end, then the contract run): workers take groups in this
    order, so the longest starts at once and the unit tests fill the other workers around it.
    The sort is stable: a module's tests keep their file order."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))

    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker("e2e") is not None:
            return 0
        return 1 if item.get_closest_marker("contract") is not None else 2

    items.sort(key=rank)
