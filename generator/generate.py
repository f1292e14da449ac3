"""The one entry point that writes `generated/`: `python -m generator [--check] [--out DIR]`.

Discovers the sources, compiles everything in memory first, so a broken source fails with one
line naming its file and the reason (exit status 2) and leaves `generated/` untouched.
`--check` compares the fresh build with the tree on disk instead: stale, missing and extra
files fail with a diff and the command that fixes them.
"""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import sys
import tempfile
from pathlib import Path

from authoring.profiles import COMPOSE, KUBERNETES, LOCAL, Profile
from authoring.rules_dsl import RuleGroup
from generator import (
    dashboard_json,
    dashboard_lint,
    grafana_alerting,
    grafana_provisioning,
    kubernetes,
    previews,
    prometheus_rules,
)
from generator.errors import BuildError
from generator.runbook import finalize
from generator.sources import Sources, discover
from generator.stack_configs import render_alertmanager_config, render_prometheus_config
from generator.yaml_out import dump

__all__ = [
    "EXIT_BROKEN_SOURCE",
    "GENERATED_README",
    "build_all",
    "check",
    "main",
    "stack_config_files",
    "write",
]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "generated"
FIX_COMMAND = "make generate"
# A source that does not compile; 1 is "generated/ is stale" (--check).
EXIT_BROKEN_SOURCE = 2

GENERATED_README = """\
# generated/ — do not edit by hand

Everything here is written by `make generate` (`python -m generator`) from the Python sources
in `dashboards_py/` and `rules_py/`, written with the library in `authoring/`. Change the source,
run `make generate`, and commit both. `make check` fails when this folder is stale.
`kubernetes/` is the same monitoring as a kustomize base for kube-prometheus-stack.
"""


def stack_config_files(profile: Profile, groups: tuple[RuleGroup, ...]) -> dict[str, str]:
    """prometheus.yml and alertmanager.yml of a profile (names relative to its config folder)."""
    return {
        "prometheus/prometheus.yml": render_prometheus_config(profile),
        "alertmanager/alertmanager.yml": render_alertmanager_config(profile, groups),
    }


def _add(files: dict[str, str], more: dict[str, str]) -> None:
    for path, text in more.items():
        if path in files:
            raise BuildError(f"{path}: written twice")
        if not text.endswith("\n"):
            raise BuildError(f"{path}: output must end with a newline")
        files[path] = text


def build_all(sources: Sources | None = None) -> dict[str, str]:
    """Every file of `generated/`, in memory. Raises BuildError on any broken source."""
    sources = sources if sources is not None else discover()
    files: dict[str, str] = {"README.md": GENERATED_README}
    groups = finalize(sources.groups, origin=sources.origin)
    _add(files, prometheus_rules.compile_groups(groups, sources.origin))
    alerting = prometheus_rules.GRAFANA_ALERTING_DIR
    _add(
        files,
        {
            f"{alerting}/contact-points.yaml": dump(grafana_alerting.contact_points(COMPOSE)),
            f"{alerting}/policies.yaml": dump(grafana_alerting.policies()),
        },
    )
    _add(files, stack_config_files(COMPOSE, sources.groups))
    _add(
        files,
        {f"local/{p}": t for p, t in stack_config_files(LOCAL, sources.groups).items()},
    )
    dashboards = dashboard_json.compile_all(sources.dashboards, sources.origins)
    findings = dashboard_lint.lint(dashboards, dashboard_lint.known_series(sources))
    if findings:
        more = f" (+{len(findings) - 1} more: python -m generator.dashboard_lint)"
        raise BuildError(
            f"{sources.origin(findings[0].dashboard)}: {findings[0]}"
            + (more if len(findings) > 1 else "")
        )
    _add(
        files,
        {
            f"{dashboard_json.DASHBOARDS_DIR}/{name}.json": dashboard_json.dumps(data)
            for name, data in dashboards.items()
        },
    )
    _add(files, grafana_provisioning.outputs())
    _add(files, previews.outputs(dashboards))
    # Last: the Kubernetes base embeds the rule files, dashboards and Grafana rules built above.
    _add(files, kubernetes.outputs(KUBERNETES, groups, files))
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
    parser = argparse.ArgumentParser(prog="python -m generator", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="compare with generated/ instead of writing it"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    try:
        files = build_all()
    except BuildError as exc:
        print(f"generate: error: {exc}", file=sys.stderr)
        return EXIT_BROKEN_SOURCE
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
