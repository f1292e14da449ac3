"""Renders the subset of Prometheus's alert templates our rules use, as Prometheus renders them.

A promtool test compares the annotations Prometheus renders with the expected text; the build
renders that text from the rule's own summary and description and the test's labels and
`$value`, so an author never types an alert's text twice. Supported: `{{ $value }}`,
`{{ $labels.name }}`, and the pipelines `humanize`, `humanizePercentage`, `humanizeDuration`
and `printf "<verb>"`; anything else is a TemplateError naming it.

Example:
    >>> render("{{ $value | humanizePercentage }} of {{ $labels.job }}", {"job": "api"}, 0.5)
    '50% of api'
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal

__all__ = ["TemplateError", "go_float", "render"]

_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")
_PRINTF = re.compile(r'printf\s+"(?P<format>[^"]*)"')
_SMALL_PREFIXES = ("m", "u", "n", "p", "f", "a", "z", "y")
_LARGE_PREFIXES = ("k", "M", "G", "T", "P", "E", "Z", "Y")


class TemplateError(ValueError):
    """A template the renderer cannot reproduce exactly; the message names the action."""


def go_float(value: float) -> str:
    """A float64 as Go's `fmt.Sprint` writes it: the shortest digits, with an exponent below
    1e-4 and from 1e6 on (`60`, `0.5`, `999999`, `1e+06`, `1.2345675e+06`)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    number = Decimal(repr(value)).normalize()
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    scientific = exponent + len(digits) - 1
    # strconv's shortest %g: the exponent form when it is below -4 or at least 6.
    if -4 <= scientific < 6:
        return format(number, "f")
    mantissa = "".join(map(str, digits))
    mantissa = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{'-' if scientific < 0 else '+'}{abs(scientific):02d}"


def _g4(value: float) -> str:
    return "%.4g" % value  # noqa: UP031 (Go's %.4g and C's agree on our values)


def humanize(value: float) -> str:
    if value == 0 or math.isnan(value) or math.isinf(value):
        return _g4(value)
    prefix = ""
    if abs(value) >= 1:
        for p in _LARGE_PREFIXES:
            if abs(value) < 1000:
                break
            prefix, value = p, value / 1000
    else:
        for p in _SMALL_PREFIXES:
            if abs(value) >= 1:
                break
            prefix, value = p, value * 1000
    return f"{_g4(value)}{prefix}"


def humanize_percentage(value: float) -> str:
    return f"{_g4(value * 100)}%"


def humanize_duration(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return _g4(value)
    if abs(value) >= 2**63:
        # Go converts to int64 first; past its range the result is the platform's, not ours.
        raise TemplateError(f"humanizeDuration of {value!r} overflows Go's int64")
    if value == 0:
        return f"{_g4(value)}s"
    if abs(value) >= 1:
        sign = "-" if value < 0 else ""
        whole = int(abs(value))
        seconds, minutes = whole % 60, (whole // 60) % 60
        hours, days = (whole // 3600) % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g4(abs(value))}s"
    prefix = ""
    for p in _SMALL_PREFIXES:
        if abs(value) >= 1:
            break
        prefix, value = p, value * 1000
    return f"{_g4(value)}{prefix}s"


_FUNCTIONS = {
    "humanize": humanize,
    "humanizePercentage": humanize_percentage,
    "humanizeDuration": humanize_duration,
}


def _pipeline(action: str, labels: Mapping[str, str], value: float | None) -> str:
    head, *stages = (part.strip() for part in action.split("|"))
    current: float | str
    if head == "$value":
        if value is None:
            raise TemplateError(
                "the text shows $value: give the expected value (Fires(..., value))"
            )
        current = value
    elif head.startswith("$labels."):
        name = head.removeprefix("$labels.")
        if name not in labels:
            raise TemplateError(f"the text shows $labels.{name}, which the alert's series lacks")
        current = labels[name]
    else:
        raise TemplateError(f"cannot render {{{{ {action} }}}}")
    for stage in stages:
        printf = _PRINTF.fullmatch(stage)
        if stage in _FUNCTIONS and isinstance(current, float | int):
            current = _FUNCTIONS[stage](float(current))
        elif printf and isinstance(current, float | int) and printf["format"].endswith(("f", "e")):
            current = printf["format"] % float(current)
        else:
            raise TemplateError(f"cannot render {{{{ {action} }}}} (stage {stage!r})")
    return current if isinstance(current, str) else go_float(float(current))


def render(template: str, labels: Mapping[str, str], value: float | None) -> str:
    """`template` with every `{{ ... }}` action replaced as Prometheus would."""
    return _ACTION.sub(lambda m: _pipeline(m.group(1), labels, value), template)
