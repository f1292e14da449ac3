"""A child process that runs the Evidently reports, so the API's event loop never waits on them.

A thread would not do: Evidently is pure-Python work that holds the GIL for seconds, and
/predict (also Python) would stall behind it. The child is spawned when the API starts and
imports Evidently (~6.5 s) in the background, so neither /ready nor the first evaluation's
caller pays for the import.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import pandas as pd

from api import logs
from api.evaluation.result import EvaluationResult

__all__ = [
    "EvaluationFailed",
    "EvaluationJob",
    "EvaluationWorker",
    "WorkerBusy",
]

log = logs.get("evaluation")

# An evaluation of the 10,000-row cap takes ~10 s; a child silent for this long is stuck.
TIMEOUT_SECONDS = 120.0
# Scheduling priority of the child relative to the API (0 = same, 19 = lowest).
NICENESS = 10
# Time a child gets to exit on SIGTERM before it is killed.
STOP_GRACE_SECONDS = 2.0


class WorkerBusy(Exception):
    """An evaluation is already running (one at a time: the report holds a whole CPU)."""


class EvaluationFailed(Exception):
    """The report could not be produced (the request was valid: this is the server's fault).

    `str()` is the whole story, for the log; `public` is what a client may read: no server path.
    """

    def __init__(self, message: str, public: str | None = None) -> None:
        super().__init__(message)
        self.public = public or message


@dataclass(frozen=True)
class EvaluationJob:
    """What the child needs: the batch (features, cnt, prediction) and where things live."""

    current: pd.DataFrame
    reference_path: Path
    drift_share_threshold: float
    reports_dir: Path
    reports_keep: int
    label: str


@dataclass(frozen=True)
class _Failure:
    message: str
    public: str


def _serve(
    conn: Connection, reference_path: Path | None, log_level: str, log_format: logs.LogFormat
) -> None:
    """The child's loop: import Evidently, warm it up, then answer one job at a time."""
    logs.configure(log_level, log_format)
    # Reports are batch work: on a busy machine the API process (and /predict) goes first.
    os.nice(NICENESS)
    from api.evaluation import reports

    references: dict[tuple[Path, int, int], reports.Reference] = {}

    def reference(path: Path) -> reports.Reference:
        stat = path.stat()
        key = (path, stat.st_mtime_ns, stat.st_size)
        if key not in references:
            references.clear()
            references[key] = reports.Reference.from_csv(path)
        return references[key]

    if reference_path is not None and reference_path.is_file():
        # The first report pays for lazy imports and caches (plotly, scipy); pay it now.
        with contextlib.suppress(Exception):
            warm = reference(reference_path)
            reports.evaluate(warm, warm.frame.head(48), drift_share_threshold=1.0)
    conn.send("ready")
    while True:
        try:
            job: EvaluationJob = conn.recv()
        except (EOFError, OSError):
            return
        answer: EvaluationResult | _Failure
        try:
            answer = reports.evaluate(
                reference(job.reference_path),
                job.current,
                drift_share_threshold=job.drift_share_threshold,
                reports_dir=job.reports_dir,
                label=job.label,
                keep=job.reports_keep,
            )
        except reports.ReportError as exc:
            answer = _Failure(str(exc), "the batch could not be reported on (see the API's log)")
        except OSError as exc:
            missing = exc.filename == str(job.reference_path) or exc.filename == job.reference_path
            public = (
                "the model's reference data is missing: run `make train`"
                if missing
                else f"the evaluation could not read or write a file: {exc.strerror}"
            )
            answer = _Failure(f"{exc.strerror or exc}: {exc.filename}", public)
        except Exception as exc:
            # The child must outlive a bad report; the traceback goes to the log, the client
            # gets one line.
            log.exception("the evaluation failed")
            answer = _Failure(f"{type(exc).__name__}: {exc}", "the evaluation failed (see the log)")
        conn.send(answer)


class EvaluationWorker:
    """One spawned child running evaluations one at a time; `run` awaits it off the loop.

    Example:
        >>> worker = EvaluationWorker()
        >>> worker.start(Path("artifacts/reference.csv"))  # doctest: +SKIP
        >>> result = await worker.run(job)  # doctest: +SKIP
        >>> worker.stop()  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        timeout_seconds: float = TIMEOUT_SECONDS,
        log_level: str = "INFO",
        log_format: logs.LogFormat = "text",
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self._log = (log_level, log_format)
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._ready = False
        self._reference_path: Path | None = None
        self._current: asyncio.Future[Any] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def busy(self) -> bool:
        return self._current is not None and not self._current.done()

    def prepare(self, reference_path: Path | None) -> None:
        """Remember the reference for a child started at the first `run`, not now."""
        self._reference_path = reference_path

    def start(self, reference_path: Path | None = None) -> None:
        """Spawn the child; it imports Evidently and warms up while the API serves."""
        self._reference_path = reference_path
        # spawn, not fork: forking a process with an event loop and threads is unsafe.
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(
            target=_serve,
            args=(child, reference_path, *self._log),
            name="bike-api-evaluation",
            daemon=True,
        )
        process.start()
        child.close()
        self._process, self._conn, self._ready = process, parent, False
        log.info("evaluation worker started (pid %s)", process.pid)

    def stop(self) -> None:
        """Stop the child now; a report in flight is abandoned."""
        process, conn = self._process, self._conn
        self._process, self._conn = None, None
        if conn is not None:
            conn.close()
        if process is None:
            return
        if process.is_alive():
            process.terminate()
            process.join(STOP_GRACE_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()
        process.close()

    def _restart(self) -> None:
        self.stop()
        self.start(self._reference_path)

    def _roundtrip(self, job: EvaluationJob) -> EvaluationResult | _Failure:
        """Blocking send/receive, run in a thread: the pipe is the child's only channel."""
        conn = self._conn
        if conn is None or self._process is None or not self._process.is_alive():
            raise EvaluationFailed("the evaluation worker is not running")
        if not self._ready:
            # The warm-up answers "ready" first; the import can take the whole timeout.
            if not conn.poll(self.timeout_seconds):
                raise TimeoutError
            conn.recv()
            self._ready = True
        conn.send(job)
        if not conn.poll(self.timeout_seconds):
            raise TimeoutError
        answer: EvaluationResult | _Failure = conn.recv()
        return answer

    async def run(self, job: EvaluationJob) -> EvaluationResult:
        """The report of `job`; raises WorkerBusy at once if one is running."""
        if self.busy:
            raise WorkerBusy("an evaluation is already running")
        if self._process is None or not self._process.is_alive():
            self._restart()
        loop = asyncio.get_running_loop()
        self._current = loop.run_in_executor(None, self._roundtrip, job)
        try:
            # shield: a client hanging up must not free the pipe while the child still works.
            answer = await asyncio.shield(self._current)
        except TimeoutError:
            self._restart()
            raise EvaluationFailed(
                f"the evaluation took over {self.timeout_seconds:.0f} s; the worker was restarted"
            ) from None
        except (EOFError, OSError, BrokenPipeError) as exc:
            self._restart()
            raise EvaluationFailed(f"the evaluation worker died ({exc!r}); restarted") from None
        if isinstance(answer, _Failure):
            raise EvaluationFailed(answer.message, answer.public)
        return answer
