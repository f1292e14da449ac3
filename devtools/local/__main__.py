"""`python -m devtools.local start|stop|status [--run-dir run]`: the stack without Docker.

Starts the compose topology with local binaries, from configs compiled by the generator: the API
under uvicorn, Debian's `prometheus`, `prometheus-node-exporter` and `prometheus-alertmanager`,
and Grafana when a `grafana` binary is on the PATH. Everything listens on 127.0.0.1; pid files
and logs go to the run folder, and `stop` stops exactly the processes that `start` wrote there.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from devtools.local.plan import DEFAULT_MODEL_DIR, DEFAULT_RUN_DIR, start_local
from devtools.local.processes import StackError, is_running, stop_run_dir

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.local", description=__doc__)
    parser.add_argument("command", choices=("start", "stop", "status"))
    parser.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR, help="pids and logs")
    parser.add_argument(
        "--model-dir", type=Path, default=DEFAULT_MODEL_DIR, help="model artifact (start)"
    )
    args = parser.parse_args(argv)
    run_dir: Path = args.run_dir.resolve()
    try:
        if args.command == "stop":
            lines = stop_run_dir(run_dir)
            print("\n".join(lines) if lines else f"nothing recorded in {run_dir}/pids")
            return 0
        if args.command == "status":
            return _status(run_dir)
        stack = start_local(run_dir, args.model_dir.resolve())
    except StackError as exc:
        print(f"local: error: {exc}", file=sys.stderr)
        return 1
    for name, service in stack.services.items():
        print(f"{name:14} http://{service.address}")
    print(f"logs and pids: {run_dir}; stop with `make local-stop`")
    return 0


def _status(run_dir: Path) -> int:
    files = sorted((run_dir / "pids").glob("*.pid"))
    if not files:
        print(f"nothing recorded in {run_dir}/pids")
        return 1
    code = 0
    for path in files:
        record = json.loads(path.read_text())
        alive = is_running(path)
        code |= 0 if alive else 1
        print(f"{path.stem:14} {'running' if alive else 'NOT running'}  http://{record['address']}")
    return code


if __name__ == "__main__":
    sys.exit(main())
