"""One evaluation at a time on this host, whichever of the API's workers receives it.

An exclusive `flock` on a file in STATE_DIR: taken without waiting before a request's body is
read (a second evaluation is answered 429 at once), released when the evaluation ends, and
released by the kernel if the worker holding it dies.

Example:
    >>> lock = EvaluationLock(Path("/tmp/evaluation.lock"))
    >>> with lock.hold() as held:  # doctest: +SKIP
    ...     assert held  # False: another evaluation runs
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["EvaluationLock"]


class EvaluationLock:
    """An exclusive, non-blocking lock shared by every process that opens the same file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def hold(self) -> Iterator[bool]:
        """True inside when this process holds the lock, False when another one does."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
