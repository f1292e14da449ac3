"""The generated .env: created 0600 on the first run, secrets filled in, nothing overwritten."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from devtools.secrets import GENERATED, SECRET_FILES, ensure_env_file, write_secret_files

ROOT = Path(__file__).resolve().parents[2]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_first_run_creates_the_file_readable_by_its_owner_only(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    assert ensure_env_file(env) == list(GENERATED)
    assert _mode(env) == 0o600
    values = dict(line.split("=", 1) for line in env.read_text().splitlines() if "=" in line)
    assert all(len(values[key]) >= 20 for key in GENERATED)
    # The second run finds everything and changes nothing.
    before = env.read_text()
    assert ensure_env_file(env) == []
    assert env.read_text() == before


def test_an_empty_value_copied_from_the_example_is_filled_and_the_rest_kept(
    tmp_path: Path,
) -> None:
    env = tmp_path / ".env"
    env.write_text("# mine\nGRAFANA_ADMIN_PASSWORD=\nBIND_ADDRESS=127.0.0.1\n")
    assert ensure_env_file(env) == list(GENERATED)
    text = env.read_text()
    assert text.startswith("# mine\nGRAFANA_ADMIN_PASSWORD=") and "BIND_ADDRESS=127.0.0.1" in text
    assert "GRAFANA_ADMIN_PASSWORD=\n" not in text


def test_a_value_the_user_chose_is_never_replaced(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    chosen = "".join(f"{key}=my-own-{i}\n" for i, key in enumerate(GENERATED))
    env.write_text(chosen)
    assert ensure_env_file(env) == []
    assert env.read_text() == chosen


def test_the_command_prints_each_new_secret_once_with_where_it_is_kept(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    run = [sys.executable, "-m", "devtools.secrets", "--env-file", str(env)]
    run += ["--secrets-dir", str(tmp_path / "secrets")]
    first = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, check=True)
    assert "GRAFANA_ADMIN_PASSWORD=" in first.stdout and str(env) in first.stdout
    # Tokens are written, named, and never printed.
    values = dict(line.split("=", 1) for line in env.read_text().splitlines() if "=" in line)
    assert "ALERT_WEBHOOK_TOKEN (not shown)" in first.stdout
    assert values["ALERT_WEBHOOK_TOKEN"] not in first.stdout
    assert values["EVALUATE_API_KEY"] not in first.stdout
    second = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, check=True)
    assert second.stdout == ""


def test_the_secret_files_follow_the_env_file_and_only_their_owner_reads_them(
    tmp_path: Path,
) -> None:
    env, folder = tmp_path / ".env", tmp_path / "secrets"
    ensure_env_file(env)
    written = write_secret_files(env, folder)
    assert set(written) == set(SECRET_FILES)
    assert _mode(folder) == 0o700 and all(_mode(path) == 0o600 for path in written.values())
    token = written["ALERT_WEBHOOK_TOKEN"].read_text().strip()
    assert f"ALERT_WEBHOOK_TOKEN={token}" in env.read_text()
    # A token changed in .env reaches its file on the next run: .env is the one truth.
    env.write_text(env.read_text().replace(token, "rotated-by-hand"))
    write_secret_files(env, folder)
    assert written["ALERT_WEBHOOK_TOKEN"].read_text() == "rotated-by-hand\n"


def test_the_env_file_and_the_secret_files_are_git_ignored() -> None:
    for path in (".env", "secrets/alert-webhook-token"):
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
        assert ignored.returncode == 0, path
