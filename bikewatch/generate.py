"""The one entry point that writes `generated/`: `python -m bikewatch.generate [--check]`.

Every producer returns `{relative path: text}`; everything is built in memory first, so a broken
source fails with a one-line reason and leaves `generated/` untouched. `--check` regenerates
into memory and compares with the tree on disk: stale, missing and extra files fail with a diff
and the command that fixes them.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["GENERATED_README", "BuildError", "build_all", "check", "main", "write"]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "generated"
FIX_COMMAND = "make generate"

# Producers, as "module:function"; each returns {path relative to generated/: file text}.
PRODUCERS = (
    "bikewatch.dashboards:outputs",
    "rules_py.compiler:outputs",
    "bikewatch.preview:outputs",
)

GENERATED_README = """\
# generated/ — do not edit by hand

Everything here is written by `make generate` (`python -m bikewatch.generate`) from the Python
sources in `dashboards_py/`, `rules_py/` and `bikewatch/`. Change the source, run
`make generate`, and commit both. `make check` fails when this folder is stale.
"""


class BuildError(Exception):
    """A source that cannot be compiled; the message is one line naming what and why."""


def _load(spec: str) -> Callable[[], dict[str, str]]:
    module_name, func = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:  # a producer not written yet contributes nothing
            return dict
        raise
    producer: Callable[[], dict[str, str]] = getattr(module, func)
    return producer


def build_all() -> dict[str, str]:
    """Every file of `generated/`, in memory. Raises BuildError on any broken source."""
    files: dict[str, str] = {"README.md": GENERATED_README}
    for spec in PRODUCERS:
        for path, text in _load(spec)().items():
            if path in files:
                raise BuildError(f"{path}: written by two producers ({spec})")
            if not text.endswith("\n"):
                raise BuildError(f"{path}: output must end with a newline ({spec})")
            files[path] = text
    return dict(sorted(files.items()))


def _tree(out: Path) -> dict[str, str]:
    if not out.is_dir():
        return {}
    return {
        p.relative_to(out).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def write(files: dict[str, str], out: Path = DEFAULT_OUT) -> None:
    """Replace `out` with exactly `files`, via a sibling temporary folder and a rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".generated-", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; generated/ is read by the compose services
    try:
        for rel, text in files.items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="\n")
        old = out.with_name(out.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        if out.exists():
            os.replace(out, old)
        os.replace(tmp, out)
        if old.exists():
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def check(files: dict[str, str], out: Path = DEFAULT_OUT) -> list[str]:
    """Human-readable problems between the fresh build and `out` (empty when current)."""
    on_disk = _tree(out)
    problems: list[str] = []
    for rel in sorted(set(files) | set(on_disk)):
        fresh, disk = files.get(rel), on_disk.get(rel)
        if disk is None:
            problems.append(f"missing: generated/{rel}")
        elif fresh is None:
            problems.append(f"extra (no source writes it): generated/{rel}")
        elif fresh != disk:
            diff = difflib.unified_diff(
                disk.splitlines(keepends=True),
                fresh.splitlines(keepends=True),
                f"generated/{rel} (on disk)",
                f"generated/{rel} (fresh)",
                n=2,
            )
            problems.append(f"stale: generated/{rel}\n" + "".join(diff).rstrip("\n"))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bikewatch.generate", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="compare with generated/ instead of writing it"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    try:
        files = build_all()
    except BuildError as exc:
        print(f"generate: error: {exc}", file=sys.stderr)
        return 1
    if args.check:
        problems = check(files, args.out)
        if problems:
            print("\n".join(problems), file=sys.stderr)
            print(
                f"\ngenerated/ is not current: run `{FIX_COMMAND}` and commit the result.",
                file=sys.stderr,
            )
            return 1
        print(f"generated/ is current ({len(files)} files)")
        return 0
    write(files, args.out)
    print(f"wrote {len(files)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
