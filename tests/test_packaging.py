"""`pip install .` ships the service alone: its wheel holds `api/` only, requires none of the
build's libraries, and serves /predict with the build's code and libraries out of reach."""

from __future__ import annotations

import email
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from api.schemas import EXAMPLE_HOUR

ROOT = Path(__file__).resolve().parents[1]
# What only the build needs: none of it may be importable by the shipped service.
BUILD_ONLY = (
    "authoring", "dashboards_py", "rules_py", "generator", "devtools",
    "grafanalib", "promql_parser", "grafana_foundation_sdk", "yaml",
)  # fmt: skip
# Starts uvicorn on the extracted wheel with the build-only modules refused at import.
LAUNCHER = """
import importlib.abc, sys
BLOCKED = set(sys.argv[2].split(","))
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is build-only: the service must not import it")
        return None
# The development install maps `api` to the checkout; the wheel's copy is the one under test.
sys.meta_path[:] = [Refuse()] + [f for f in sys.meta_path if "editable" not in repr(f).lower()]
import api.main, uvicorn
assert api.main.__file__.startswith(sys.argv[3]), api.main.__file__
uvicorn.run("api.main:app", host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip install .` would install, built offline from a copy of the project."""
    source = tmp_path_factory.mktemp("project")
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copytree(ROOT / "api", source / "api", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", str(source), "-w", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    (built,) = out.glob("*.whl")
    return built


def test_the_wheel_holds_the_service_only(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        top = {name.split("/")[0] for name in archive.namelist()}
    assert {t for t in top if not t.endswith(".dist-info")} == {"api"}


def test_the_build_libraries_are_an_extra(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        meta = next(n for n in archive.namelist() if n.endswith("dist-info/METADATA"))
        requires = email.message_from_bytes(archive.read(meta)).get_all("Requires-Dist") or []
    plain = [r for r in requires if "extra ==" not in r]
    for library in ("grafanalib", "promql-parser", "grafana-foundation-sdk", "pyyaml"):
        assert not any(r.lower().startswith(library) for r in plain), plain
        assert any(r.lower().startswith(library) and 'extra == "build"' in r for r in requires)
    assert any(r.startswith("fastapi") for r in plain)


def test_the_installed_service_serves_predict_without_the_build(
    wheel: Path, model_dir: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(site), "MODEL_DIR": str(model_dir)}
    env["REPORTS_DIR"] = str(tmp_path / "reports")
    env["EVALUATION_WORKER_START"] = "first_use"  # nothing evaluates here
    argv = [sys.executable, "-c", LAUNCHER, str(port), ",".join(BUILD_ONLY), str(site)]
    # Run from an empty folder: the checkout is not on the path.
    log = tmp_path / "api.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(argv, cwd=tmp_path, env=env, stderr=stderr)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        response = httpx.post(f"http://127.0.0.1:{port}/predict", json=EXAMPLE_HOUR, timeout=5)
        assert response.status_code == 200, response.text
        assert json.loads(response.text)["predicted_count"] > 0
    finally:
        process.terminate()
        process.wait(timeout=20)


LOCK = ROOT / "api" / "requirements.lock"
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+)(?:\s*;\s*(?P<marker>[^\\]+))?")


def _locked() -> dict[str, list[tuple[str, str | None]]]:
    """name -> [(version, marker)] of each pin in the lock file."""
    pins: dict[str, list[tuple[str, str | None]]] = {}
    for line in LOCK.read_text().splitlines():
        match = _PIN.match(line)
        if match:
            marker = match["marker"].strip() if match["marker"] else None
            pins.setdefault(canonicalize_name(match["name"]), []).append((match["version"], marker))
    return pins


def test_the_lock_pins_every_dependency_of_the_service_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _locked()
    for text in project["dependencies"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in api/requirements.lock: run `make lock`"
        for version, _ in pins[name]:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{name}=={version} is outside {requirement.specifier}: run `make lock`"
            )


def test_every_pin_of_the_lock_carries_hashes() -> None:
    # pip's --require-hashes refuses a file where one requirement lacks them; check it here too.
    text = LOCK.read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert len(entries) > 20
    for entry in entries:
        assert "--hash=sha256:" in entry, entry.splitlines()[0]


def test_the_image_installs_the_lock_with_hashes_before_the_service() -> None:
    dockerfile = (ROOT / "api" / "Dockerfile").read_text()
    install = dockerfile.index("pip install -q --require-hashes -r requirements.lock")
    assert dockerfile.index("COPY api/requirements.lock") < install
    assert install < dockerfile.index("pip install -q --no-deps .")
