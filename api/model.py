"""The trained model as the API uses it: loaded once, with a fast single-row predictor."""

from __future__ import annotations

import hashlib
import json
from array import array
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from api.config import FEATURES

__all__ = [
    "CARD_FILE",
    "MODEL_FILE",
    "REFERENCE_FILE",
    "TREES_FILE",
    "ModelBundle",
    "ModelNotAvailable",
    "export_trees",
    "load_bundle",
]

MODEL_FILE = "model.joblib"
# The same forest as plain arrays: the API loads it without importing scikit-learn, whose
# import alone takes ~2.5 s here and would blow the 3 s start-to-ready budget.
TREES_FILE = "trees.json"
CARD_FILE = "model_card.json"
REFERENCE_FILE = "reference.csv"
TREES_FORMAT = 1
_HINT = "run `make train`"
# One node of a flattened tree: (feature, threshold, left, right); a leaf has left == -1 and
# carries its value in the threshold slot, so one tuple unpack serves both cases.
Node = tuple[int, float, int, int]


class ModelNotAvailable(Exception):
    """No usable model artifact; the message says what is wrong and to run `make train`."""


def export_trees(estimator: Any) -> str:
    """The fitted forest's node arrays as JSON text (the TREES_FILE artifact)."""
    trees = [
        {
            "feature": e.tree_.feature.tolist(),
            "threshold": e.tree_.threshold.tolist(),
            "left": e.tree_.children_left.tolist(),
            "right": e.tree_.children_right.tolist(),
            "value": e.tree_.value[:, 0, 0].tolist(),
        }
        for e in estimator.estimators_
    ]
    document = {"format": TREES_FORMAT, "features": list(FEATURES), "trees": trees}
    return json.dumps(document, separators=(",", ":")) + "\n"


class ModelBundle:
    """The forest loaded from TREES_FILE, with its model card.

    `predict_one` walks the trees in pure Python: ~70 us for 50 trees, against ~10 ms for
    scikit-learn's `predict` on one row (input checks and dispatch per call). `predict`
    walks all trees for a batch with numpy. Both compare in float32, as scikit-learn's trees
    do, and sum the trees in the same order, so they equal scikit-learn's `predict` (tests check
    every row of 2011).

    Example:
        >>> bundle = load_bundle(Path("artifacts"))  # doctest: +SKIP
        >>> bundle.predict_one((0.24, 0.2879, 0.81, 0.0, 1, 0, 6, 1, 0, 0, 1))  # doctest: +SKIP
        23.3
    """

    def __init__(self, trees: list[dict[str, list[Any]]], card: dict[str, Any], model_dir: Path):
        self.card = card
        self.version: str = str(card["version"])
        self.model_dir = model_dir
        # Set when the model came from the registry: which version of bike-demand, which run.
        self.registry_version: str | None = None
        self.run_id: str | None = None
        self._nodes: list[list[Node]] = [
            [
                (f, v, -1, -1) if lo == -1 else (f, t, lo, hi)
                for f, t, lo, hi, v in zip(
                    tree["feature"],
                    tree["threshold"],
                    tree["left"],
                    tree["right"],
                    tree["value"],
                    strict=True,
                )
            ]
            for tree in trees
        ]
        self._n_trees = float(len(self._nodes))
        self._packed = _pack(trees)

    @property
    def reference_path(self) -> Path:
        """The January reference rows saved beside the model (features, cnt, prediction)."""
        return self.model_dir / REFERENCE_FILE

    @cached_property
    def estimator(self) -> Any:
        """The scikit-learn model itself (imports scikit-learn: slow, never on the hot path)."""
        import joblib

        return joblib.load(self.model_dir / MODEL_FILE)

    def predict_one(self, row: Sequence[float]) -> float:
        """Prediction for one row of the 11 FEATURES, in that order."""
        # scikit-learn casts inputs to float32 before comparing with the float64 thresholds.
        x = array("f", row).tolist()
        total = 0.0
        for nodes in self._nodes:
            feature, threshold, left, right = nodes[0]
            while left != -1:
                feature, threshold, left, right = nodes[left if x[feature] <= threshold else right]
            total += threshold
        return total / self._n_trees

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions for an (n, 11) array in FEATURES order."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(FEATURES):
            raise ValueError(f"expected shape (n, {len(FEATURES)}), got {x.shape}")
        feature, threshold, nxt_left, nxt_right, value, roots, depth = self._packed
        x32 = x.astype(np.float32).astype(np.float64)
        rows = np.arange(len(x))
        total = np.zeros(len(x))
        for root in roots:
            node = np.full(len(x), root)
            # Leaves point to themselves, so `depth` steps land every row on its leaf.
            for _ in range(depth):
                go_left = x32[rows, feature[node]] <= threshold[node]
                node = np.where(go_left, nxt_left[node], nxt_right[node])
            total += value[node]
        return total / len(roots)


Packed = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[int], int]


def _pack(trees: list[dict[str, list[Any]]]) -> Packed:
    """All trees in shared arrays with global node indices; leaves loop onto themselves."""
    features, thresholds, lefts, rights, values, roots = [], [], [], [], [], []
    depth = 0
    offset = 0
    for tree in trees:
        n = len(tree["feature"])
        left = np.asarray(tree["left"])
        right = np.asarray(tree["right"])
        own = np.arange(n)
        leaf = left == -1
        lefts.append(np.where(leaf, own, left) + offset)
        rights.append(np.where(leaf, own, right) + offset)
        # Leaves have feature -2; any valid column works since they never move.
        features.append(np.where(leaf, 0, np.asarray(tree["feature"])))
        thresholds.append(np.asarray(tree["threshold"], dtype=np.float64))
        values.append(np.asarray(tree["value"], dtype=np.float64))
        roots.append(offset)
        depth = max(depth, _depth(tree["left"], tree["right"]))
        offset += n
    return (
        np.concatenate(features),
        np.concatenate(thresholds),
        np.concatenate(lefts),
        np.concatenate(rights),
        np.concatenate(values),
        roots,
        depth,
    )


def _depth(left: list[int], right: list[int]) -> int:
    deepest, stack = 0, [(0, 0)]
    while stack:
        node, level = stack.pop()
        if left[node] == -1:
            deepest = max(deepest, level)
        else:
            stack += [(left[node], level + 1), (right[node], level + 1)]
    return deepest


def _verified(model_dir: Path, card: dict[str, Any], name: str) -> bytes:
    """The bytes of an artifact the API uses, checked against the sha256 its card recorded.

    The message names the file, not where it lives (a client may read it on /ready)."""
    path = model_dir / name
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise ModelNotAvailable(f"{name} is missing beside {CARD_FILE}: {_HINT}") from None
    except OSError as exc:
        raise ModelNotAvailable(f"{name} cannot be read ({exc.strerror}): {_HINT}") from None
    expected = card.get("artifacts", {}).get(name)
    if hashlib.sha256(blob).hexdigest() != expected:
        raise ModelNotAvailable(f"{name} does not match {CARD_FILE} (sha256): {_HINT}")
    return blob


def load_bundle(model_dir: Path) -> ModelBundle:
    """Load the model from `model_dir`, every artifact the API uses verified against its card
    (the forest, and the reference rows /evaluate compares with), or raise ModelNotAvailable."""
    card_path = model_dir / CARD_FILE
    if not card_path.is_file():
        raise ModelNotAvailable(f"no trained model ({CARD_FILE} missing): {_HINT}")
    try:
        card = json.loads(card_path.read_text())
        str(card["version"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelNotAvailable(f"unreadable {CARD_FILE} ({type(exc).__name__}): {_HINT}") from exc
    blob = _verified(model_dir, card, TREES_FILE)
    # A truncated reference would make every batch look drifted: it is checked like the model.
    _verified(model_dir, card, REFERENCE_FILE)
    try:
        document = json.loads(blob)
        if document["format"] != TREES_FORMAT or document["features"] != list(FEATURES):
            raise ValueError(f"format {document['format']}, features {document['features']}")
        return ModelBundle(document["trees"], card, model_dir)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise ModelNotAvailable(f"unreadable {TREES_FILE} ({exc}): {_HINT}") from exc
