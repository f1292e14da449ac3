"""api/model.py: the tree walker equals scikit-learn's predict; broken artifacts are refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from api.config import FEATURES
from api.data import load_hourly
from api.model import CARD_FILE, REFERENCE_FILE, TREES_FILE, ModelNotAvailable, load_bundle


@pytest.fixture(scope="module")
def rows_2011(dataset_source: str) -> np.ndarray:
    hourly = load_hourly(dataset_source)
    x: np.ndarray = hourly.loc["2011", list(FEATURES)].to_numpy(dtype=np.float64)
    assert len(x) == 8645
    return x


def test_predict_one_equals_sklearn_on_every_2011_row(
    model_dir: Path, rows_2011: np.ndarray
) -> None:
    bundle = load_bundle(model_dir)
    expected = bundle.estimator.predict(rows_2011)
    walked = np.array([bundle.predict_one(row) for row in rows_2011.tolist()])
    assert np.allclose(walked, expected, rtol=0, atol=1e-9)
    # Python floats from the JSON body are the usual input, ints for the codes included.
    as_sent = [(*row[:4], *(int(v) for v in row[4:])) for row in rows_2011[:50].tolist()]
    assert [bundle.predict_one(r) for r in as_sent] == walked[:50].tolist()


def test_batch_predict_equals_sklearn_on_every_2011_row(
    model_dir: Path, rows_2011: np.ndarray
) -> None:
    bundle = load_bundle(model_dir)
    assert np.allclose(
        bundle.predict(rows_2011), bundle.estimator.predict(rows_2011), rtol=0, atol=1e-9
    )


def test_batch_predict_checks_shape(model_dir: Path) -> None:
    with pytest.raises(ValueError, match=r"expected shape \(n, 11\)"):
        load_bundle(model_dir).predict(np.zeros((3, 10)))


def test_bundle_exposes_card_version_and_reference(model_dir: Path) -> None:
    bundle = load_bundle(model_dir)
    card = json.loads((model_dir / CARD_FILE).read_text())
    assert bundle.card == card
    assert bundle.version == card["version"]
    assert bundle.reference_path.is_file()


@pytest.fixture
def copy_dir(model_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(model_dir, target)
    return target


def test_missing_artifact(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailable, match=r"no trained model .*run `make train`"):
        load_bundle(tmp_path)


def test_trees_not_matching_card_are_refused(copy_dir: Path) -> None:
    (copy_dir / TREES_FILE).write_text('{"format": 1}')
    with pytest.raises(ModelNotAvailable, match=r"does not match .*run `make train`"):
        load_bundle(copy_dir)


def test_unreadable_card_is_refused(copy_dir: Path) -> None:
    (copy_dir / CARD_FILE).write_text("{not json")
    with pytest.raises(ModelNotAvailable, match=f"unreadable {CARD_FILE}"):
        load_bundle(copy_dir)


def test_malformed_trees_with_matching_hash_are_refused(copy_dir: Path) -> None:
    import hashlib

    text = '{"format": 1, "features": ["temp"], "trees": []}'
    (copy_dir / TREES_FILE).write_text(text)
    card = json.loads((copy_dir / CARD_FILE).read_text())
    card["artifacts"][TREES_FILE] = hashlib.sha256(text.encode()).hexdigest()
    (copy_dir / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ModelNotAvailable, match=f"unreadable {TREES_FILE}"):
        load_bundle(copy_dir)


def _truncate(path: Path, size: int) -> None:
    path.write_bytes(path.read_bytes()[:size])


def test_a_truncated_reference_is_refused_and_named(copy_dir: Path) -> None:
    """Cut to 3,000 bytes, the reference would make an ordinary week look drifted (0.45)."""
    _truncate(copy_dir / REFERENCE_FILE, 3000)
    with pytest.raises(ModelNotAvailable) as refused:
        load_bundle(copy_dir)
    assert str(refused.value).startswith(f"{REFERENCE_FILE} does not match {CARD_FILE}")
    assert str(copy_dir) not in str(refused.value)  # a client may read it: no server path


def test_a_missing_reference_is_refused_and_named(copy_dir: Path) -> None:
    (copy_dir / REFERENCE_FILE).unlink()
    with pytest.raises(ModelNotAvailable, match=f"{REFERENCE_FILE} is missing"):
        load_bundle(copy_dir)
