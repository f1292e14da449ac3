"""The `--update-goldens` flag: `pytest tests/review --update-goldens` rewrites expected files."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    # Registered here, so the flag exists when pytest is pointed at tests/review (as documented).
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite tests/review/cases/*/expected.{md,txt} from the current output",
    )


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens", default=False))
