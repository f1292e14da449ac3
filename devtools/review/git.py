"""Read `generated/` as it was at a git ref, without touching the working tree or the index."""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["GitError", "default_base", "describe", "read_tree"]

FOLDER = "generated"
MAIN_BRANCH = "main"


class GitError(Exception):
    """A ref that does not resolve, or no git repository; the message says which."""


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> bytes:
    result = subprocess.run(
        ["git", "-C", str(repo), *args], input=stdin, capture_output=True, check=False
    )
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"git {' '.join(args)}: {message[-1] if message else 'failed'}")
    return result.stdout


def _resolves(repo: Path, ref: str) -> bool:
    try:
        _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GitError:
        return False
    return True


def default_base(repo: Path) -> str | None:
    """The merge base with `main` on another branch, else HEAD; None before the first commit."""
    if not _resolves(repo, "HEAD"):
        return None
    branch = _git(repo, "rev-parse", "--abbrev-ref", "HEAD").decode().strip()
    if branch != MAIN_BRANCH and _resolves(repo, MAIN_BRANCH):
        return _git(repo, "merge-base", "HEAD", MAIN_BRANCH).decode().strip()
    return "HEAD"


def describe(repo: Path, ref: str) -> str:
    """`HEAD (6b01571)`: the ref as given, and the commit it names."""
    sha = _git(repo, "rev-parse", "--short", f"{ref}^{{commit}}").decode().strip()
    return sha if sha.startswith(ref) else f"{ref} ({sha})"


def read_tree(repo: Path, ref: str, folder: str = FOLDER) -> dict[str, str]:
    """{path relative to folder: text} of every file under `folder` at `ref`."""
    if not _resolves(repo, ref):
        raise GitError(f"{ref!r} does not name a commit in {repo}")
    listing = _git(repo, "ls-tree", "-r", "-z", "--full-tree", ref, "--", f"{folder}/")
    entries = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, path = record.split(b"\t", 1)
        _, kind, sha = meta.split()
        if kind == b"blob":
            entries.append((path.decode()[len(folder) + 1 :], sha.decode()))
    if not entries:
        return {}
    # One `cat-file --batch` for the whole tree instead of a `git show` per file.
    out = _git(repo, "cat-file", "--batch", stdin="".join(f"{s}\n" for _, s in entries).encode())
    files, pos = {}, 0
    for rel, _ in entries:
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].split()[2])
        start = header_end + 1
        files[rel] = out[start : start + size].decode("utf-8")
        pos = start + size + 1
    return files
