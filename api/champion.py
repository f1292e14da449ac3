"""The model the API serves: the registry's champion, followed and swapped without a pause.

At start-up the API serves the last champion it cached (instantly, verified against its card),
then a background thread asks the registry which version `champion` points at, every
MODEL_POLL_SECONDS or at once on `POST /model/reload`. A new version is downloaded into the
cache, verified and loaded beside the serving one, then swapped in with one assignment: a request
reads the model once, so requests in flight finish on the old model and new ones use the new
one. The drift reference lives in the version's folder, so it moves with the model. A version
that cannot be downloaded or verified never replaces a working model; the failure is counted
(`model_reloads_total{outcome="failed"}`) and the reload-failure alert fires.

The cache (STATE_DIR/models: one folder per version and `champion.json` naming the one served)
is shared by the API's workers; each worker follows the alias on its own.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from api import logs
from api.config import REFERENCE_END, REFERENCE_START
from api.metrics import Metrics
from api.model import ModelBundle, ModelNotAvailable, load_bundle
from api.registry import Champion, Registry, RegistryError

__all__ = ["CACHE_POINTER", "ModelFollower", "Source", "Status"]

log = logs.get("champion")

CACHE_POINTER = "champion.json"
# Versions kept in the cache: the one served and the one before (a swap back needs no download).
CACHE_KEEP = 2
# "registry": the champion, confirmed by the registry; "cache": the last champion cached here,
# the registry not reached (yet); "folder": MODEL_SOURCE=folder, MODEL_DIR as it is.
Source = Literal["registry", "cache", "folder"]


@dataclass
class Status:
    """What /ready and / say about the model and the registry."""

    source: Source | None = None
    registry_version: str | None = None
    run_id: str | None = None
    # When the registry was last asked, and what went wrong, if it did.
    checked_at: float | None = None
    registry_error: str | None = None
    reload_error: str | None = None


class ModelFollower:
    """Loads, follows and swaps the served model on `state` (the app's `state`).

    `state.bundle` is the model requests read; `state.model_error` why there is none.
    """

    def __init__(
        self,
        state: Any,
        metrics: Metrics,
        registry: Registry,
        cache_dir: Path,
        poll_seconds: float,
    ) -> None:
        self._state = state
        self._metrics = metrics
        self._registry = registry
        self.cache_dir = cache_dir
        self.poll_seconds = poll_seconds
        self.status = Status()
        self._check_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._info_labels: tuple[str, ...] | None = None
        self._cache_error: str | None = None

    # Start-up ------------------------------------------------------------------------------

    def load_cached(self) -> bool:
        """Serve the last cached champion, if its files match its card; True when loaded."""
        pointer = self.cache_dir / CACHE_POINTER
        try:
            cached = Champion(**json.loads(pointer.read_text()))
        except FileNotFoundError:
            self._state.model_error = (
                f"no champion cached yet; waiting for the registry ({self._registry_name()})"
            )
            return False
        except (OSError, ValueError, TypeError) as exc:
            # The kind of error, not its text: an OSError's names a server path.
            self._cache_error = f"the cache's {CACHE_POINTER} is unreadable ({type(exc).__name__})"
            self._state.model_error = self._cache_error
            log.warning("%s: %s", self._cache_error, exc)
            return False
        try:
            bundle = load_bundle(self.cache_dir / cached.version)
        except ModelNotAvailable as exc:
            self._cache_error = f"the cached version {cached.version} is not usable: {exc}"
            self._state.model_error = self._cache_error
            log.warning("%s", self._cache_error)
            return False
        self._install(bundle, cached, "cache")
        log.info("model %s (version %s) loaded from the cache", bundle.version, cached.version)
        return True

    def install_folder(self, bundle: ModelBundle) -> None:
        """MODEL_SOURCE=folder: serve `bundle` as it is, no registry."""
        self._install(bundle, None, "folder")

    def start(self) -> None:
        """Follow the alias in a background thread (the first check runs at once)."""
        self._thread = threading.Thread(target=self._run, name="bike-api-champion", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=15)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:  # the follower must outlive any one bad poll
                log.exception("checking the champion failed; trying again at the next poll")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    # Following ------------------------------------------------------------------------------

    def check(self) -> dict[str, Any]:
        """Ask the registry for the champion and swap to it if it changed (never to a broken
        one). Returns what happened, for `POST /model/reload`."""
        with self._check_lock:
            return self._check()

    def _check(self) -> dict[str, Any]:
        self.status.checked_at = time.time()
        try:
            champion = self._registry.champion()
        except RegistryError as exc:
            self.status.registry_error = str(exc)
            if self._state.bundle is None:
                cache = f"; {self._cache_error}" if self._cache_error else " and no model is cached"
                self._state.model_error = f"the registry is unreachable ({exc}){cache}"
            log.warning("the registry is unreachable: %s", exc)
            return {"outcome": "registry_unreachable", "detail": str(exc)}
        self.status.registry_error = None
        if champion is None:
            if self._state.bundle is None:
                self._state.model_error = (
                    "the registry has no champion yet (no `bike-demand@champion`): run `make train`"
                )
            return {"outcome": "no_champion"}
        current = self.status.registry_version
        if current == champion.version and self._state.bundle is not None:
            if self.status.source == "cache":
                # The cached model is the champion: confirmed.
                self._install(self._state.bundle, champion, "registry")
            return {"outcome": "unchanged", "version": champion.version}
        try:
            bundle = self._fetch(champion)
        except (RegistryError, ModelNotAvailable) as exc:
            self._metrics.model_reloads.labels("failed").inc()
            self.status.reload_error = f"version {champion.version}: {exc}"
            log.error(
                "champion version %s not loaded, still serving %s: %s",
                champion.version,
                current or "nothing",
                exc,
            )
            if self._state.bundle is None:
                self._state.model_error = self.status.reload_error
            return {"outcome": "failed", "version": champion.version, "detail": str(exc)}
        self._install(bundle, champion, "registry")
        try:
            self._write_pointer(champion)
            self._prune(champion.version)
        except OSError as exc:
            # Served, but a restart without the registry would serve the previous version.
            log.warning(
                "version %s is served but not recorded in the cache: %s", champion.version, exc
            )
        self._metrics.model_reloads.labels("success").inc()
        self.status.reload_error = None
        log.info(
            "model %s (version %s, run %s) now serving, was %s",
            bundle.version,
            champion.version,
            champion.run_id,
            current or "nothing",
        )
        return {"outcome": "swapped", "version": champion.version, "previous": current}

    def _fetch(self, champion: Champion) -> ModelBundle:
        """The version's model, from the cache if a verified copy is there, else downloaded."""
        folder = self.cache_dir / champion.version
        if folder.is_dir():
            try:
                return load_bundle(folder)
            except ModelNotAvailable:
                # A damaged copy: removed, and downloaded anew.
                shutil.rmtree(folder, ignore_errors=True)
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=self.cache_dir, prefix=f".{champion.version}-"))
        except OSError as exc:
            raise RegistryError(f"cannot cache version {champion.version}: {exc.strerror}") from exc
        try:
            got = self._registry.download(champion, staging / "model")
            # Verified before it enters the cache: a broken version never gets a folder there.
            bundle = load_bundle(got)
            try:
                os.rename(got, folder)
            except OSError:
                if not folder.is_dir():  # not "another worker put it there first"
                    raise
        except OSError as exc:
            raise RegistryError(f"cannot cache version {champion.version}: {exc.strerror}") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        # Loaded and verified once; its files (the drift reference) are read from the cache now.
        bundle.model_dir = folder
        return bundle

    # Serving -------------------------------------------------------------------------------

    def _install(self, bundle: ModelBundle, champion: Champion | None, source: Source) -> None:
        """Serve `bundle` from now on, and say so in the metrics."""
        bundle.registry_version = champion.version if champion else None
        bundle.run_id = champion.run_id if champion else None
        self._state.bundle = bundle  # the swap: one assignment
        self._state.model_error = None
        self.status.source = source
        self.status.registry_version = champion.version if champion else None
        self.status.run_id = champion.run_id if champion else None
        metrics = self._metrics
        window = bundle.card.get("training_window", {})
        labels = (
            bundle.version,
            # The training window the card records (a retrained model's is not January's).
            str(window.get("start", REFERENCE_START)),
            str(window.get("end", REFERENCE_END)),
            champion.version if champion else "",
            champion.run_id if champion else "",
            source,
        )
        if self._info_labels != labels:
            if self._info_labels is not None:
                # 0 first: in multiprocess mode the removed series would otherwise stay at 1.
                metrics.model_info.labels(*self._info_labels).set(0)
                metrics.model_info.remove(*self._info_labels)
            metrics.model_info.labels(*labels).set(1)
            self._info_labels = labels
        metrics.model_loaded.set(1)
        if champion is not None:
            metrics.model_registry_version.set(float(champion.version))
            metrics.model_registry_version_created.set(champion.created)

    def _write_pointer(self, champion: Champion) -> None:
        pointer = self.cache_dir / CACHE_POINTER
        fd, tmp = tempfile.mkstemp(dir=self.cache_dir, prefix=f".{CACHE_POINTER}-")
        with os.fdopen(fd, "w") as out:
            json.dump(asdict(champion), out, sort_keys=True)
        os.replace(tmp, pointer)

    def _prune(self, serving: str) -> None:
        versions = sorted(
            (p for p in self.cache_dir.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        keep = {serving} | {p.name for p in versions[:CACHE_KEEP]}
        for path in versions:
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)

    def _registry_name(self) -> str:
        uri = self._registry.tracking_uri
        # A server URL may carry credentials; only its scheme and host are shown.
        if "@" in uri:
            scheme, _, rest = uri.partition("://")
            uri = f"{scheme}://{rest.rpartition('@')[2]}"
        return uri if not self._registry.local else "the embedded store"

    def wake(self) -> None:
        """Check now rather than at the next poll."""
        self._wake.set()
