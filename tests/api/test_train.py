"""api/train.py: what one training run writes, and the model card's contents."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from api.config import FEATURES, REFERENCE_END, REFERENCE_START, TARGET
from api.data import _fetch_data
from api.model import CARD_FILE, MODEL_FILE, REFERENCE_FILE, TREES_FILE

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def card(model_dir: Path) -> dict[str, object]:
    text = (model_dir / CARD_FILE).read_text()
    assert text.endswith("}\n")
    loaded: dict[str, object] = json.loads(text)
    # Deterministic keys: the file is exactly its sorted, indented dump.
    assert text == json.dumps(loaded, sort_keys=True, indent=2) + "\n"
    return loaded


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_card_describes_the_training(card: dict, model_dir: Path, dataset_source: str) -> None:
    assert card["training_window"] == {"start": REFERENCE_START, "end": REFERENCE_END, "rows": 618}
    assert card["features"] == list(FEATURES)
    assert card["target"] == TARGET
    assert card["dataset"]["sha256"] == _fetch_data(dataset_source).attrs["sha256"]
    assert card["dataset"]["rows"] == 17379
    parameters = card["model"]["parameters"]
    assert parameters["n_estimators"] == 50 and parameters["random_state"] == 0
    assert card["model"]["class"].endswith("RandomForestRegressor")
    assert set(card["training_metrics"]) == {"rmse", "mae", "r2", "mape"}
    # In-sample on a fully grown forest: a good fit, far from perfect on bootstrap samples.
    assert 0.9 < card["training_metrics"]["r2"] < 1.0
    import sklearn  # imported where used: collection stays light for every xdist worker

    assert card["libraries"]["scikit-learn"] == sklearn.__version__
    assert set(card["libraries"]) >= {"python", "numpy", "pandas", "joblib"}


def test_card_pins_every_artifact(card: dict, model_dir: Path) -> None:
    artifacts = card["artifacts"]
    assert set(artifacts) == {MODEL_FILE, TREES_FILE, REFERENCE_FILE}
    for name, digest in artifacts.items():
        assert _sha(model_dir / name) == digest, name
    assert card["version"] == artifacts[MODEL_FILE][:12]


def test_model_artifact_is_the_configured_forest(model_dir: Path) -> None:
    import joblib

    model = joblib.load(model_dir / MODEL_FILE)
    assert len(model.estimators_) == 50
    assert model.n_features_in_ == len(FEATURES)


def test_reference_holds_the_january_window(model_dir: Path) -> None:
    reference = pd.read_csv(model_dir / REFERENCE_FILE, parse_dates=["datetime"])
    assert list(reference.columns) == ["datetime", *FEATURES, TARGET, "prediction"]
    assert len(reference) == 618
    assert reference["datetime"].min() == pd.Timestamp(REFERENCE_START)
    assert reference["datetime"].max() == pd.Timestamp(REFERENCE_END)
    assert reference["prediction"].notna().all()


def test_cli_parameters_and_rerun_is_byte_identical(tmp_path: Path, dataset_source: str) -> None:
    args = ["--n-estimators", "3", "--random-state", "7", "--source", dataset_source]
    args.append("--no-register")  # the registry's part: tests/api/test_registry.py
    from api.train import main

    assert main([*args, "--model-dir", str(tmp_path / "a")]) == 0
    assert main([*args, "--model-dir", str(tmp_path / "b")]) == 0
    card = json.loads((tmp_path / "a" / CARD_FILE).read_text())
    assert card["model"]["parameters"]["n_estimators"] == 3
    assert card["model"]["parameters"]["random_state"] == 7
    for name in (CARD_FILE, MODEL_FILE, TREES_FILE, REFERENCE_FILE):
        assert _sha(tmp_path / "a" / name) == _sha(tmp_path / "b" / name), name
    leftovers = [p.name for p in (tmp_path / "a").iterdir() if p.name.startswith(".")]
    assert leftovers == [], "atomic writes leave no temporary files"


def test_cli_bad_data_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "hour.csv"
    bad.write_text("a,b\n1,2\n")
    result = subprocess.run(
        [sys.executable, "-m", "api.train", "--source", str(bad), "--model-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "missing columns" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / CARD_FILE).exists()
