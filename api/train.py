"""Train the model once on the January 2011 reference window: `python -m api.train`."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import RandomForestRegressor

from api.config import FEATURES, REFERENCE_END, REFERENCE_START, TARGET, get_settings
from api.data import CSV_MEMBER, DataError, _fetch_data, _process_data
from api.model import CARD_FILE, MODEL_FILE, REFERENCE_FILE, TREES_FILE, export_trees
from api.registry import CHAMPION_ALIAS, MODEL_NAME, Champion, Registry, RegistryError

__all__ = [
    "DEFAULT_N_ESTIMATORS",
    "DEFAULT_RANDOM_STATE",
    "main",
    "register",
    "regression_metrics",
    "train",
]

DEFAULT_N_ESTIMATORS = 50
DEFAULT_RANDOM_STATE = 0


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE, R2 and MAPE (percent), the scores the evaluation reports."""
    error = y_true - y_pred
    ss_tot = float(((y_true - y_true.mean()) ** 2).sum())
    return {
        "rmse": float(np.sqrt((error**2).mean())),
        "mae": float(np.abs(error).mean()),
        "r2": 1.0 - float((error**2).sum()) / ss_tot if ss_tot else 0.0,
        # cnt is at least 1 in the UCI data, so the ratio is defined.
        "mape": float((np.abs(error) / np.abs(y_true)).mean() * 100.0),
    }


def _atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file in the same folder, then rename over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    os.close(fd)
    try:
        write(Path(tmp))
        # mkstemp creates 0600; the API may run as another user than the training job.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else repr(value)


def train(
    model_dir: Path,
    *,
    source: str | None = None,
    n_estimators: int = DEFAULT_N_ESTIMATORS,
    random_state: int = DEFAULT_RANDOM_STATE,
    window: tuple[str, str] = (REFERENCE_START, REFERENCE_END),
    labelled: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Fit on the reference window, write model.joblib, model_card.json, reference.csv.

    `labelled`: hours labelled outside the dataset (the batches /evaluate received, indexed by
    hour like the dataset, with the features and cnt); they replace the dataset's rows of the
    same hours and add the others, before the window is cut.

    Also trees.json (the forest as arrays, what the API loads). Returns the model card. Each
    file is replaced atomically; the card is written last and records every file's sha256, so a
    reader never pairs a card with another run's model.
    """
    raw = _fetch_data(source)
    hourly = _process_data(raw)
    extra = 0
    if labelled is not None and len(labelled):
        rows = labelled[[*FEATURES, TARGET]]
        hourly = pd.concat([hourly.drop(index=rows.index, errors="ignore"), rows]).sort_index()
        extra = len(rows)
    # The training window is also the drift reference the model carries (reference.csv).
    reference = hourly.loc[window[0] : window[1]]
    x = reference[list(FEATURES)].to_numpy(dtype=np.float64)
    y = reference[TARGET].to_numpy(dtype=np.float64)
    # Fitted on a bare array (no feature names), so predicting from arrays raises no warning;
    # n_jobs=1: no joblib pool per predict call.
    model = RandomForestRegressor(
        n_estimators=n_estimators, random_state=random_state, n_jobs=1
    ).fit(x, y)
    prediction = model.predict(x)

    model_dir.mkdir(parents=True, exist_ok=True)
    model_path = model_dir / MODEL_FILE
    _atomic_write(model_path, lambda p: joblib.dump(model, p))
    table = reference[list(FEATURES)].copy()
    table[TARGET] = reference[TARGET]
    table["prediction"] = prediction
    reference_path = model_dir / REFERENCE_FILE
    _atomic_write(
        reference_path,
        lambda p: table.to_csv(p, index_label="datetime", date_format="%Y-%m-%d %H:%M:%S"),
    )
    trees_path = model_dir / TREES_FILE
    trees_text = export_trees(model)
    _atomic_write(trees_path, lambda p: p.write_text(trees_text))
    artifact_sha = _sha256(model_path)
    card = {
        "version": artifact_sha[:12],
        # sha256 of each file written beside the card: the API refuses a mismatched pair.
        "artifacts": {
            MODEL_FILE: artifact_sha,
            TREES_FILE: _sha256(trees_path),
            REFERENCE_FILE: _sha256(reference_path),
        },
        "dataset": {
            "file": CSV_MEMBER,
            "sha256": raw.attrs["sha256"],
            "source": raw.attrs["source"],
            "rows": len(raw),
            # Hours from labelled batches (the API's /evaluate), over or beside the file's.
            "labelled_batch_rows": extra,
        },
        "training_window": {
            "start": window[0],
            "end": window[1],
            "rows": len(reference),
        },
        "features": list(FEATURES),
        "target": TARGET,
        "model": {
            "class": f"{type(model).__module__}.{type(model).__name__}",
            "parameters": {k: _jsonable(v) for k, v in sorted(model.get_params().items())},
        },
        # In-sample scores: the held-out scores come from /evaluate on later weeks.
        "training_metrics": regression_metrics(y, prediction),
        "reference": {"file": REFERENCE_FILE, "rows": len(table)},
        "libraries": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "joblib": joblib.__version__,
        },
    }
    text = json.dumps(card, sort_keys=True, indent=2) + "\n"
    _atomic_write(model_dir / CARD_FILE, lambda p: p.write_text(text))
    return card


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m api.train", description=__doc__)
    parser.add_argument("--n-estimators", type=int, default=DEFAULT_N_ESTIMATORS)
    parser.add_argument("--random-state", type=int, default=DEFAULT_RANDOM_STATE)
    parser.add_argument("--model-dir", type=Path, default=settings.model_dir)
    parser.add_argument("--source", default=None, help="default: BIKE_SHARING_SOURCE")
    parser.add_argument(
        "--no-register",
        action="store_true",
        help="only write --model-dir (MODEL_SOURCE=folder); by default the model is also logged "
        f"to MLflow and registered as the new {MODEL_NAME}@{CHAMPION_ALIAS}",
    )
    parser.add_argument(
        "--unless-champion",
        action="store_true",
        help=f"do nothing when {MODEL_NAME}@{CHAMPION_ALIAS} exists (compose's first start)",
    )
    args = parser.parse_args(argv)
    if args.n_estimators < 1:
        parser.error("--n-estimators must be at least 1")
    registry = Registry(settings.mlflow_tracking_uri, settings.mlflow_artifacts_dir)
    if args.unless_champion:
        try:
            existing = registry.champion()
        except RegistryError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        if existing is not None:
            print(f"{MODEL_NAME}@{CHAMPION_ALIAS} is version {existing.version}: not retraining")
            return 0
    try:
        card = train(
            args.model_dir,
            source=args.source,
            n_estimators=args.n_estimators,
            random_state=args.random_state,
        )
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    metrics = card["training_metrics"]
    print(
        f"trained {card['version']} on {card['training_window']['rows']} rows "
        f"({REFERENCE_START} -> {REFERENCE_END}): in-sample RMSE {metrics['rmse']:.1f}, "
        f"R2 {metrics['r2']:.3f} -> {args.model_dir}"
    )
    if args.no_register:
        return 0
    try:
        # A manual training always promotes: the operator asked for this model.
        champion = register(registry, args.model_dir, card, promote=True, trigger="manual")
    except RegistryError as exc:
        print(f"error: the model was trained but not registered: {exc}", file=sys.stderr)
        return 1
    print(
        f"registered {MODEL_NAME} version {champion.version} (run {champion.run_id}); "
        f"{MODEL_NAME}@{CHAMPION_ALIAS} -> version {champion.version}"
    )
    return 0


def register(
    registry: Registry,
    model_dir: Path,
    card: dict[str, Any],
    *,
    promote: bool,
    trigger: str,
    metrics: dict[str, float] | None = None,
    tags: dict[str, str] | None = None,
) -> Champion:
    """Log the training run of `card` (its folder as the run's model) and register it; `metrics`
    and `tags` add to the run's own (a retraining's comparison with the champion)."""
    params = {
        **card["model"]["parameters"],
        "training_window_start": card["training_window"]["start"],
        "training_window_end": card["training_window"]["end"],
        "training_rows": card["training_window"]["rows"],
    }
    run_tags = {
        "model_version": card["version"],
        "dataset_sha256": card["dataset"]["sha256"],
        "dataset_source": str(card["dataset"]["source"])[:500],
        "trigger": trigger,
    }
    run_metrics = {f"training_{k}": v for k, v in card["training_metrics"].items()}
    return registry.register(
        model_dir,
        params=params,
        metrics={**run_metrics, **(metrics or {})},
        tags={**run_tags, **(tags or {})},
        promote=promote,
    )


if __name__ == "__main__":
    sys.exit(main())
