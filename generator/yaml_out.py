"""Deterministic YAML, the way every generated YAML file is written."""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["dump"]


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
