"""Shared fixtures: the dataset source, a model trained once per session, an API client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from api.config import Settings

ROOT = Path(__file__).resolve().parent.parent
# CI and the README point BIKE_SHARING_SOURCE at the shared copy; this is its usual place.
DEFAULT_SOURCE = ROOT.parent / "shared/data/bike-sharing/bike+sharing+dataset.zip"
os.environ.setdefault("BIKE_SHARING_SOURCE", str(DEFAULT_SOURCE))


@pytest.fixture(scope="session")
def dataset_source() -> str:
    """The local UCI zip (or csv) the tests read; never a download."""
    source = os.environ["BIKE_SHARING_SOURCE"]
    if not Path(source).is_file():
        pytest.fail(f"BIKE_SHARING_SOURCE={source} is not a file: point it at the UCI zip")
    return source


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, dataset_source: str) -> Path:
    """A model trained once per session with the default parameters (50 trees, ~2 s)."""
    from api.train import train

    folder = tmp_path_factory.mktemp("model")
    train(folder, source=dataset_source)
    return folder


@pytest.fixture
def settings(model_dir: Path, dataset_source: str, tmp_path: Path) -> Settings:
    return Settings(
        bike_sharing_source=dataset_source,
        model_dir=model_dir,
        data_dir=tmp_path / "data",
        reports_dir=tmp_path / "reports",
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
