"""Deterministic YAML, the way every generated YAML file is written."""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["dump", "dump_with_blocks"]


class _Dumper(yaml.SafeDumper):
    """SafeDumper without `&id001` anchors: a value shared in memory is written out each time."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


# Subclasses of str (the PromQL builder's Expr) are written as the plain strings they are.
_Dumper.add_multi_representer(str, yaml.representer.SafeRepresenter.represent_str)


def dump(data: Any) -> str:
    """Sorted keys, block style, a trailing newline, no anchors."""
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True
    )


class _BlockDumper(_Dumper):
    """`_Dumper` writing a string of several lines as a literal block (`|`): a file embedded in
    a Kubernetes object (a dashboard in a ConfigMap) reads as the file itself."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(data), style=style)


_BlockDumper.add_representer(str, _represent_str)
_BlockDumper.add_multi_representer(str, _represent_str)


def dump_with_blocks(data: Any) -> str:
    """`dump`, with strings of several lines as literal blocks (loaded back byte for byte; YAML
    falls back to a quoted string where a block cannot hold the text exactly)."""
    return yaml.dump(
        data, Dumper=_BlockDumper, sort_keys=True, default_flow_style=False, allow_unicode=True
    )
