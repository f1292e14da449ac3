"""`python -m devtools.review diff`: what the working tree's sources change in generated/."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devtools.review.compare_trees import diff_trees
from devtools.review.git import MAIN_BRANCH, GitError, default_base, describe, read_tree
from devtools.review.render import render
from generator.errors import BuildError
from generator.generate import ROOT, build_all

AFTER_LABEL = "working tree (freshly generated)"


def _read_dir(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.review", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    diff = commands.add_parser(
        "diff",
        help="semantic diff of generated/ at a git ref vs a fresh build of the working tree",
    )
    base = diff.add_mutually_exclusive_group()
    base.add_argument(
        "--base",
        metavar="REF",
        help="git ref to compare with (default: merge base with main on a branch, else HEAD)",
    )
    base.add_argument(
        "--base-dir", type=Path, metavar="DIR", help="compare with a folder shaped like generated/"
    )
    diff.add_argument(
        "--format",
        choices=("text", "markdown"),
        default="text",
        help="text for the terminal (default), markdown for a pull-request comment",
    )
    diff.add_argument(
        "--exit-code", action="store_true", help="exit 1 when there are changes (like git diff)"
    )
    args = parser.parse_args(argv)

    try:
        if args.base_dir is not None:
            before, label = _read_dir(args.base_dir), f"{args.base_dir}"
        else:
            ref = args.base if args.base is not None else default_base(ROOT)
            if ref is None:  # no commit yet: everything generated is new
                before, label = {}, "no commits yet"
            else:
                before, label = read_tree(ROOT, ref), f"generated/ at {describe(ROOT, ref)}"
                if args.base is None and ref != "HEAD":
                    label += f", the merge base with {MAIN_BRANCH}"
        after = build_all()
    except (GitError, BuildError) as exc:
        print(f"review: error: {exc}", file=sys.stderr)
        return 2
    report = diff_trees(before, after, label, AFTER_LABEL)
    sys.stdout.write(render(report, args.format))
    return 1 if args.exit_code and not report.empty else 0


if __name__ == "__main__":
    sys.exit(main())
