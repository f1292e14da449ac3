"""promtool's expanding notation for test series (`0 0 150x10`, `0+60x20`), read back as values.

The build reads it to derive when an alert's expression first holds; promtool itself remains
the judge of the tests.

Example:
    >>> expand("1 1 0x2")
    [1.0, 1.0, 0.0, 0.0, 0.0]
    >>> constant_rate("0+60x20"), constant_rate("0 0 150x10")
    (True, False)
"""

from __future__ import annotations

import re

__all__ = ["constant_rate", "expand"]

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TERM = re.compile(rf"(?P<start>{_NUMBER}|_)(?:(?P<op>[-+])(?P<step>{_NUMBER}))?(?:x(?P<n>\d+))?")


def expand(values: str) -> list[float | None]:
    """Every sample of a series, one per interval; None for `_` (missing) and `stale`."""
    out: list[float | None] = []
    for token in values.split():
        if token == "stale":
            out.append(None)
            continue
        match = _TERM.fullmatch(token)
        if match is None:
            raise ValueError(f"not promtool series notation: {token!r}")
        repeat = int(match["n"]) if match["n"] is not None else 0
        if match["start"] == "_":
            out.extend([None] * (repeat + (1 if match["n"] is None else 0)))
            continue
        start = float(match["start"])
        step = float(match["step"] or 0) * (-1 if match["op"] == "-" else 1)
        out.extend(start + step * i for i in range(repeat + 1))
    return out


def constant_rate(values: str) -> bool:
    """True for one term growing (or shrinking) by the same step from the start: `a+bxN`."""
    tokens = values.split()
    return len(tokens) == 1 and tokens[0] != "stale" and bool(_TERM.fullmatch(tokens[0]))
