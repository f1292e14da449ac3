"""Fixtures for the evaluation tests: the hourly data, the session model and labelled batches."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from api.config import FEATURES, TARGET
from api.data import load_hourly
from api.evaluation.result import PREDICTION
from api.model import ModelBundle, load_bundle

Batch = Callable[[str, str], pd.DataFrame]


@pytest.fixture(scope="session")
def hourly(dataset_source: str) -> pd.DataFrame:
    return load_hourly(dataset_source)


@pytest.fixture(scope="session")
def bundle(model_dir: Path) -> ModelBundle:
    return load_bundle(model_dir)


@pytest.fixture(scope="session")
def batch(hourly: pd.DataFrame, bundle: ModelBundle) -> Batch:
    """Rows of [start, end] with the session model's predictions beside cnt."""

    def make(start: str, end: str) -> pd.DataFrame:
        rows = hourly.loc[start:end, [*FEATURES, TARGET]].copy()
        rows[PREDICTION] = bundle.predict(rows[list(FEATURES)].to_numpy(dtype="float64"))
        return rows

    return make
