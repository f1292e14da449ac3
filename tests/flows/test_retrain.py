"""The `retrain` flow (Prefect, in its own environment .venv-flows) against a real MLflow store:
a challenger trained through July 2011 beats the January champion on the newest week and is
promoted; a challenger that does not win by the margin is registered, not promoted, with the
reason. Run as `make retrain` runs it: a plain local process (Prefect's temporary server)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from api.model import CARD_FILE
from api.registry import TRAINING_EXPERIMENT, Registry
from api.train import register
from tests.api.mlflow_store import migrated_store, store, store_uri

__all__ = ["migrated_store", "store", "store_uri"]

ROOT = Path(__file__).resolve().parents[2]
FLOWS_PYTHON = ROOT / ".venv-flows" / "bin" / "python"


def _retrain(store: Registry, tmp_path: Path, *args: str) -> dict[str, Any]:
    assert FLOWS_PYTHON.is_file(), "the flows' environment is missing: run `make flows-env`"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": store.tracking_uri,
        "MLFLOW_ARTIFACTS_DIR": str(store.artifacts_dir),
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    result = subprocess.run(
        [str(FLOWS_PYTHON), "-m", "flows.retrain", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    outcome: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return outcome


def test_a_challenger_that_wins_is_promoted_one_that_does_not_is_not(
    store: Registry, model_dir: Path, tmp_path: Path
) -> None:
    card = json.loads((model_dir / CARD_FILE).read_text())
    register(store, model_dir, card, promote=True, trigger="manual")

    # After July's drift: trained through 2011-07-24, judged on the last week of July.
    won = _retrain(store, tmp_path, "--until", "2011-07-31")
    assert won["outcome"] == "promoted" and won["version"] == "2"
    assert won["training_window"] == ["2011-01-01 00:00:00", "2011-07-24 23:00:00"]
    scores = won["scores"]
    assert scores["challenger_rmse"] < 0.5 * scores["champion_rmse"]
    champion = store.champion()
    assert champion is not None and champion.version == "2"

    # A margin no challenger meets: registered as a candidate with the reason, not promoted.
    lost = _retrain(store, tmp_path, "--until", "2011-07-31", "--margin", "0.99")
    assert lost["outcome"] == "rejected" and lost["version"] == "3"
    assert "does not beat champion v2" in lost["reason"]
    champion = store.champion()
    assert champion is not None and champion.version == "2"
    (run,) = store.runs(TRAINING_EXPERIMENT, limit=1)
    assert run["tags"]["decision"] == "rejected" and run["tags"]["trigger"] == "retrain"
    assert run["tags"]["reason"] == lost["reason"]
    assert run["metrics"]["challenger_rmse"] == lost["scores"]["challenger_rmse"]
