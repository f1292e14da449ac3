"""Generated secrets for the stacks: `python3 -m devtools.secrets [--env-file .env]`.

`make all` needs a `.env` for Docker Compose: this creates it on the first run (mode 0600,
git-ignored) with every secret it lacks drawn at random, and prints each new one once with where
it is kept. Values already set are never changed. Standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
from pathlib import Path

__all__ = ["GENERATED", "ensure_env_file", "main"]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ENV_FILE = ROOT / ".env"
# Secret -> what it is, printed when it is created.
GENERATED = {
    "GRAFANA_ADMIN_PASSWORD": (
        "Grafana's admin password (user admin, http://127.0.0.1:3000); Grafana keeps the one "
        "it first started with (see .env.example to reset it)"
    ),
}
_LINE = re.compile(r"^\s*(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>.*)$")
HEADER = (
    "# Written by `make all` (python -m devtools.secrets): git-ignored, readable by you only.\n"
    "# Every other setting is documented in .env.example; add it here to change it.\n"
)


def _values(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match and not line.lstrip().startswith("#"):
            found[match["key"]] = match["value"].strip().strip("'\"")
    return found


def ensure_env_file(path: Path) -> list[str]:
    """Give `path` every secret of GENERATED it lacks (creating it 0600 if need be); the names
    of the secrets written."""
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    present = _values(text)
    missing = [key for key in GENERATED if not present.get(key)]
    if not missing and path.exists():
        return []
    lines = text.splitlines()
    new = {key: secrets.token_urlsafe(18) for key in missing}
    # A key copied empty from .env.example is filled in place; others are appended.
    for i, line in enumerate(lines):
        match = _LINE.match(line)
        if match and match["key"] in new and not match["value"].strip():
            lines[i] = f"{match['key']}={new.pop(match['key'])}"
    lines += [f"{key}={value}" for key, value in new.items()]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    path.chmod(0o600)
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.secrets", description=__doc__)
    parser.add_argument("--env-file", type=Path, default=DEFAULT_ENV_FILE)
    args = parser.parse_args(argv)
    written = ensure_env_file(args.env_file)
    values = _values(args.env_file.read_text(encoding="utf-8"))
    for key in written:
        print(f"{key}={values[key]}  <- {GENERATED[key]}; kept in {args.env_file} (mode 0600)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
