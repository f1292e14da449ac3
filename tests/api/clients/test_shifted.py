"""The drill clients turn a missing dataset or an unreachable API into one line, not a traceback."""

from __future__ import annotations

import pytest

from api.clients import fire_alert, shifted
from api.data import DataError


def _raise(exc: Exception) -> bool:
    raise exc


def test_reported_passes_the_steps_answer_through() -> None:
    assert shifted.reported("http://x", lambda: True) is True
    assert shifted.reported("http://x", lambda: False) is False


def test_a_data_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert shifted.reported("http://x", lambda: _raise(DataError("bad zip"))) is False
    assert capsys.readouterr().err == "error: bad zip\n"


@pytest.mark.parametrize("main", [shifted.main, fire_alert.main])
def test_an_unreachable_api_exits_1_naming_the_url(
    main: object, capsys: pytest.CaptureFixture[str], dataset_source: str
) -> None:
    url = "http://127.0.0.1:1"  # nothing listens on port 1
    assert callable(main)
    assert main(["--url", url, "--source", dataset_source]) == 1
    assert f"is the API running at {url}?" in capsys.readouterr().err
