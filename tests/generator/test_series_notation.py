"""promtool's series notation, expanded as promtool expands it."""

from __future__ import annotations

import pytest

from generator.series_notation import constant_rate, expand


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ("1 1 0x2", [1, 1, 0, 0, 0]),
        ("0+60x3", [0, 60, 120, 180]),
        ("-2+4x3", [-2, 2, 6, 10]),
        ("10-1x2", [10, 9, 8]),
        ("_x2 1", [None, None, 1]),
        ("1 _ stale 2", [1, None, None, 2]),
        ("1.5e3", [1500]),
    ],
)
def test_expand(values: str, expected: list[float | None]) -> None:
    assert expand(values) == expected


def test_bad_notation_is_refused() -> None:
    with pytest.raises(ValueError, match="notation"):
        expand("1 x3")


@pytest.mark.parametrize(
    ("values", "constant"),
    [("0+60x20", True), ("20000000000-20000000x90", True), ("0x20", True), ("0 0 1x5", False)],
)
def test_constant_rate(values: str, constant: bool) -> None:
    assert constant_rate(values) is constant
