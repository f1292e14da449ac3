"""The one exception of the build: a source that cannot be compiled.

It lives in its own module so that whichever module runs as `__main__`, every producer raises
and the entry point catches the same class.
"""

from __future__ import annotations

__all__ = ["BuildError"]


class BuildError(Exception):
    """A source that cannot be compiled; the message is one line naming the file and why."""
