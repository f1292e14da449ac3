"""Generic structural diff of parsed JSON/YAML: key order and list order of named items ignored."""

from __future__ import annotations

from typing import Any

from devtools.review.report import compact_pair

__all__ = ["MISSING", "differences", "displayed", "leaves"]


class _Missing:
    def __repr__(self) -> str:
        return "(none)"


MISSING: Any = _Missing()

# Lists of mappings are matched by the first of these keys that names every item uniquely, so a
# reordered list of scrape jobs, receivers or datasources is not a change.
IDENTITY_KEYS = (
    "name",
    "job_name",
    "uid",
    "alert",
    "record",
    "receiver",
    "title",
    "refId",
    "orgId",
)


def _identity(before: list[Any], after: list[Any]) -> str | None:
    """The key naming every item of both lists, uniquely within each list."""
    for key in IDENTITY_KEYS:
        for items in (before, after):
            if not all(isinstance(i, dict) and isinstance(i.get(key), str | int) for i in items):
                break
            if len({i[key] for i in items}) != len(items):
                break
        else:
            return key
    return None


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def differences(
    before: Any, after: Any, path: str = "", ignore: frozenset[str] = frozenset()
) -> list[tuple[str, Any, Any]]:
    """Leaf-level `(path, before, after)` differences; MISSING marks a side without the path."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[tuple[str, Any, Any]] = []
        for key in sorted(set(before) | set(after), key=str):
            if key not in ignore:
                b, a = before.get(key, MISSING), after.get(key, MISSING)
                found += differences(b, a, _join(path, key), ignore)
        return found
    if isinstance(before, list) and isinstance(after, list) and before and after:
        key = _identity(before, after)
        if key is not None:
            b_items = {str(i[key]): i for i in before}
            a_items = {str(i[key]): i for i in after}
            found = []
            for ident in sorted(set(b_items) | set(a_items)):
                b, a = b_items.get(ident, MISSING), a_items.get(ident, MISSING)
                found += differences(b, a, f"{path}[{ident}]", ignore)
            return found
    if before != after:
        return [(path, before, after)]
    return []


def leaves(value: Any, path: str = "") -> dict[str, Any]:
    """{dotted path: value} of the scalars and lists inside nested mappings."""
    if isinstance(value, dict) and value:
        found: dict[str, Any] = {}
        for key in sorted(value, key=str):
            found.update(leaves(value[key], _join(path, key)))
        return found
    return {path: value}


def displayed(before: Any, after: Any) -> tuple[str | None, str | None]:
    """The two sides of a difference as short text; None for a side without the value."""
    return compact_pair(None if before is MISSING else before, None if after is MISSING else after)
