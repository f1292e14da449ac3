"""The registry against a real MLflow store (embedded SQLite): `make train` logs a run and
registers a version that `champion` points at; a download is the registered folder, byte for
byte; an unreachable store is one RegistryError line, quickly."""

from __future__ import annotations

import filecmp
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api.model import CARD_FILE, REFERENCE_FILE, TREES_FILE, load_bundle
from api.registry import (
    CHAMPION_ALIAS,
    MODEL_NAME,
    TRAINING_EXPERIMENT,
    Registry,
    RegistryError,
)
from api.train import register
from tests.api.mlflow_store import migrated_store, small_model_dir, store, store_uri
from tests.api.routers.test_metrics import _free_port

__all__ = ["migrated_store", "small_model_dir", "store", "store_uri"]

ROOT = Path(__file__).resolve().parents[2]


def _card(folder: Path) -> dict[str, object]:
    card: dict[str, object] = json.loads((folder / CARD_FILE).read_text())
    return card


def test_an_empty_store_has_no_champion(store: Registry) -> None:
    assert store.champion() is None


def test_register_promotes_and_a_download_is_the_registered_folder(
    store: Registry, model_dir: Path, small_model_dir: Path, tmp_path: Path
) -> None:
    first = register(store, model_dir, _card(model_dir), promote=True, trigger="manual")
    second = register(
        store, small_model_dir, _card(small_model_dir), promote=True, trigger="manual"
    )
    assert (first.version, second.version) == ("1", "2")
    assert store.champion() == second
    # Registered without promotion: a candidate, the champion stays.
    third = register(store, model_dir, _card(model_dir), promote=False, trigger="drift")
    assert third.version == "3" and store.champion() == second

    got = store.download(second, tmp_path / "got")
    for name in (CARD_FILE, TREES_FILE, REFERENCE_FILE):
        assert filecmp.cmp(got / name, small_model_dir / name, shallow=False), name
    assert load_bundle(got).version == _card(small_model_dir)["version"]

    run = store.runs(TRAINING_EXPERIMENT, limit=1)[0]
    assert run["run_id"] == third.run_id
    assert run["tags"]["trigger"] == "drift"
    assert run["tags"]["dataset_sha256"] == _card(model_dir)["dataset"]["sha256"]  # type: ignore[index]
    assert run["params"]["n_estimators"] == "50"
    assert run["metrics"]["training_rmse"] > 0


def test_make_train_registers_and_moves_the_champion(
    store_uri: str, tmp_path: Path, dataset_source: str
) -> None:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": store_uri,
        "MLFLOW_ARTIFACTS_DIR": str(tmp_path / "mlruns" / "artifacts"),
        "BIKE_SHARING_SOURCE": dataset_source,
    }

    def train(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "api.train", "--n-estimators", "3", *args]
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)

    first = train("--model-dir", str(tmp_path / "a"))
    assert first.returncode == 0, first.stderr
    assert f"{MODEL_NAME}@{CHAMPION_ALIAS} -> version 1" in first.stdout
    # Compose's first start: a champion exists, nothing is trained.
    skipped = train("--unless-champion", "--model-dir", str(tmp_path / "b"))
    assert skipped.returncode == 0 and "not retraining" in skipped.stdout
    assert not (tmp_path / "b").exists()
    second = train("--random-state", "3", "--model-dir", str(tmp_path / "c"))
    assert second.returncode == 0, second.stderr
    registry = Registry(store_uri, tmp_path / "mlruns" / "artifacts")
    champion = registry.champion()
    assert champion is not None and champion.version == "2"
    # No MLflow: the folder alone.
    alone = train("--no-register", "--model-dir", str(tmp_path / "d"))
    assert alone.returncode == 0 and "registered" not in alone.stdout
    assert registry.champion() == champion


def test_an_unreachable_server_is_one_error_line_within_seconds(tmp_path: Path) -> None:
    registry = Registry(f"http://127.0.0.1:{_free_port()}", None)
    start = time.monotonic()
    with pytest.raises(RegistryError) as raised:
        registry.champion()
    assert time.monotonic() - start < 15
    message = str(raised.value)
    assert message.startswith(f"cannot read {MODEL_NAME}@{CHAMPION_ALIAS}: ")
    assert "\n" not in message


def test_train_reports_an_unreachable_registry_and_keeps_the_model(
    tmp_path: Path, dataset_source: str
) -> None:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{_free_port()}",
        "BIKE_SHARING_SOURCE": dataset_source,
    }
    command = [sys.executable, "-m", "api.train", "--n-estimators", "2"]
    result = subprocess.run(
        [*command, "--model-dir", str(tmp_path / "m")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: the model was trained but not registered: ")
    assert (tmp_path / "m" / CARD_FILE).is_file()
