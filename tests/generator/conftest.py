"""Fixtures of the build's tests: the discovered sources and the series they may select."""

from __future__ import annotations

import pytest

from generator import dashboard_lint
from generator.sources import Sources, discover


@pytest.fixture(scope="session")
def sources() -> Sources:
    return discover()


@pytest.fixture(scope="session")
def known(sources: Sources) -> set[str]:
    """Every series a dashboard may select: the metric catalog and the recording rules."""
    return dashboard_lint.known_series(sources)
