"""Fixtures for tests that need a real MLflow store: an embedded SQLite store per test (copied
from one migrated once per session: creating MLflow's schema takes ~3 s), and a second,
smaller model to promote over the session's."""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

import pytest

from api.model import CARD_FILE
from api.registry import Registry


def _shared(factory: pytest.TempPathFactory) -> Path:
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow SQLite database with its schema, made once per test run."""
    shared = _shared(tmp_path_factory)
    path = shared / "mlflow-template.db"
    with (shared / "mlflow-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.is_file():
            building = shared / "mlflow-template-building.db"
            Registry(f"sqlite:///{building}", shared / "unused").champion()
            building.rename(path)
    return path


@pytest.fixture
def store_uri(migrated_store: Path, tmp_path: Path) -> str:
    """A fresh, empty MLflow store of this test (SQLite, artifacts beside it)."""
    folder = tmp_path / "mlruns"
    folder.mkdir()
    shutil.copy(migrated_store, folder / "mlflow.db")
    return f"sqlite:///{folder / 'mlflow.db'}"


@pytest.fixture
def store(store_uri: str, tmp_path: Path) -> Registry:
    return Registry(store_uri, tmp_path / "mlruns" / "artifacts")


@pytest.fixture(scope="session")
def small_model_dir(tmp_path_factory: pytest.TempPathFactory, dataset_source: str) -> Path:
    """A second model (5 trees): other predictions than the session's 50-tree model."""
    shared = _shared(tmp_path_factory)
    folder = shared / "small-model"
    with (shared / "small-model.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / CARD_FILE).is_file():
            from api.train import train

            train(folder, source=dataset_source, n_estimators=5)
    return folder
