"""Generated secrets for the stacks: `python3 -m devtools.secrets [--env-file .env]`.

`.env` (git-ignored, mode 0600) is where every secret of the stacks is kept. This creates it on
the first run with every secret it lacks drawn at random; values already set are never changed.
Docker Compose reads `.env` itself. Processes that read a secret from a file (the native stack's
Alertmanager, the API's `*_FILE` settings, the clients) get `secrets/<name>` (a 0700 folder,
0600 files, git-ignored) written from `.env` on every run, so `.env` stays the one truth.
Standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GENERATED", "SECRET_FILES", "Secret", "ensure_env_file", "main", "write_secret_files"]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ENV_FILE = ROOT / ".env"
DEFAULT_SECRETS_DIR = ROOT / "secrets"


@dataclass(frozen=True)
class Secret:
    what: str
    # Printed once when created: only what a person types (a password), never a token.
    shown: bool = False


GENERATED = {
    "GRAFANA_ADMIN_PASSWORD": Secret(
        "Grafana's admin password (user admin, http://127.0.0.1:3000); Grafana keeps the one "
        "it first started with (see .env.example to reset it)",
        shown=True,
    ),
    "GRAFANA_SECRET_KEY": Secret(
        "Grafana's key for the secrets it stores (GF_SECURITY_SECRET_KEY); keep it with "
        "grafana-data, which cannot be read without it"
    ),
    "ALERT_WEBHOOK_TOKEN": Secret(
        "the bearer token Alertmanager sends to bike-api's POST /alerts (a retraining trigger)"
    ),
    "EVALUATE_API_KEY": Secret(
        "the X-API-Key that bike-api's POST /evaluate and POST /model/reload require"
    ),
    "MLFLOW_ADMIN_PASSWORD": Secret(
        "MLflow's admin password (user admin, http://127.0.0.1:5000): the API and `make train` "
        "use it; MLflow keeps the one it first started with",
        shown=True,
    ),
    "MLFLOW_FLASK_SERVER_SECRET_KEY": Secret(
        "the key MLflow's server signs its CSRF tokens with (basic-auth app)"
    ),
    "POSTGRES_PASSWORD": Secret(
        "the password of MLflow's PostgreSQL (compose); kept by the postgres-data volume"
    ),
    "PREFECT_ADMIN_PASSWORD": Secret(
        "Prefect's admin password (compose, http://127.0.0.1:4200: the UI asks for "
        "admin:<password>): bike-api and the retrain worker use it; read at every start",
        shown=True,
    ),
}
# Secrets some processes read from a file: .env key -> file name in the secrets folder.
SECRET_FILES = {
    "ALERT_WEBHOOK_TOKEN": "alert-webhook-token",
    "EVALUATE_API_KEY": "evaluate-api-key",
}
_LINE = re.compile(r"^\s*(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>.*)$")
HEADER = (
    "# Written by `make all` (python -m devtools.secrets): git-ignored, readable by you only.\n"
    "# Every other setting is documented in .env.example; add it here to change it.\n"
)


def read_values(path: Path) -> dict[str, str]:
    """KEY=value lines of an env file (comments skipped, quotes stripped)."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _LINE.match(line)
        if match and not line.lstrip().startswith("#"):
            found[match["key"]] = match["value"].strip().strip("'\"")
    return found


def _private_write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    path.chmod(0o600)


def ensure_env_file(path: Path) -> list[str]:
    """Give `path` every secret of GENERATED it lacks (creating it 0600 if need be); the names
    of the secrets written."""
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    present = read_values(path) if path.exists() else {}
    missing = [key for key in GENERATED if not present.get(key)]
    if not missing and path.exists():
        return []
    lines = text.splitlines()
    new = {key: secrets.token_urlsafe(24) for key in missing}
    # A key copied empty from .env.example is filled in place; others are appended.
    for i, line in enumerate(lines):
        match = _LINE.match(line)
        if match and match["key"] in new and not match["value"].strip():
            lines[i] = f"{match['key']}={new.pop(match['key'])}"
    lines += [f"{key}={value}" for key, value in new.items()]
    _private_write(path, "\n".join(lines) + "\n")
    return missing


def write_secret_files(env_file: Path, folder: Path) -> dict[str, Path]:
    """Write each secret of SECRET_FILES that `env_file` holds to `folder` (0700; files 0600,
    rewritten each time so they follow `.env`); .env key -> file."""
    values = read_values(env_file)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    written = {}
    for key, name in SECRET_FILES.items():
        if values.get(key):
            _private_write(folder / name, values[key] + "\n")
            written[key] = folder / name
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.secrets", description=__doc__)
    parser.add_argument("--env-file", type=Path, default=DEFAULT_ENV_FILE)
    parser.add_argument("--secrets-dir", type=Path, default=DEFAULT_SECRETS_DIR)
    args = parser.parse_args(argv)
    written = ensure_env_file(args.env_file)
    write_secret_files(args.env_file, args.secrets_dir)
    values = read_values(args.env_file)
    for key in written:
        secret = GENERATED[key]
        shown = f"{key}={values[key]}" if secret.shown else f"{key} (not shown)"
        print(f"{shown}  <- {secret.what}; kept in {args.env_file} (mode 0600)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
