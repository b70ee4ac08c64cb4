"""``python -m sandbox --port 8765 --scenario examples/sandbox.yaml --state .work/sandbox.sqlite3``

Serves /procountor, /netvisor, /portal and /admin on 127.0.0.1 (or --host). The first stdout line is
``sandbox listening on http://HOST:PORT`` (useful with ``--port 0``). The state file keeps what the
services wrote across restarts; a new state file (and its folder) starts from the scenario's seed.
A startup problem (scenario, state file, port) is reported on stderr without a traceback, exit code 2
for a bad scenario and 1 otherwise; so is a Python without the sandbox's dependencies (run outside the
virtualenv), with the command that works.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path


def _missing_dependency(name: str) -> str:
    """What to do when the sandbox's dependencies are not importable (the Python outside the venv)."""
    return (
        f"python -m sandbox: the module {name!r} is missing, so this Python ({sys.executable}) does not have "
        "the sandbox's dependencies (starlette, uvicorn, PyYAML). Run it with the project's virtualenv: "
        "`.venv/bin/python -m sandbox ...` (or `source .venv/bin/activate` first); `bash scripts/test.sh` "
        "creates .venv, or install them with `pip install -e '.[sandbox]'`."
    )


try:
    from uvicorn.config import LOGGING_CONFIG

    from sandbox.app import Sandbox
    from sandbox.db import Database, StateFileError
    from sandbox.scenario import EXAMPLE_SCENARIO_PATH, ScenarioError, load_scenario
    from sandbox.server import bind_socket, socket_url, uvicorn_server
except ModuleNotFoundError as missing:
    # A third-party module only: a module of ours that is missing is a bug, and keeps its traceback.
    if missing.name is None or missing.name.partition(".")[0] in ("sandbox", "provider"):
        raise
    print(_missing_dependency(missing.name.partition(".")[0]), file=sys.stderr)
    raise SystemExit(1) from None

# Under .work/, which git ignores: a sandbox run leaves nothing to commit.
DEFAULT_STATE = Path(".work/sandbox.sqlite3")
LISTEN_BACKLOG = 128


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Local stand-ins for Procountor, Netvisor and the FabricAI portal, from a scenario file.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one (default 8765)")
    parser.add_argument("--scenario", type=Path, default=EXAMPLE_SCENARIO_PATH, help="scenario YAML file")
    parser.add_argument(
        "--state", type=Path, default=DEFAULT_STATE, help=f"SQLite state file (default {DEFAULT_STATE})"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as error:
        print(error, file=sys.stderr)
        return 2
    # The port first: a sandbox that cannot listen must not create or seed a state file.
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as error:
        print(f"cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
        return 1
    try:
        db = Database(args.state)
    except StateFileError as error:
        sock.close()
        print(error, file=sys.stderr)
        return 1
    try:
        sandbox = Sandbox(scenario, db)
    except sqlite3.Error as error:  # a file SQLite opens that is not a sandbox state (or is damaged)
        sock.close()
        db.close()
        print(f"cannot use sandbox state file {args.state}: {error}", file=sys.stderr)
        return 1
    # Listening before saying so: whoever reads the URL may connect at once (the kernel queues the
    # connection until uvicorn accepts it).
    sock.listen(LISTEN_BACKLOG)
    print(f"sandbox listening on {socket_url(sock)}", flush=True)
    try:
        uvicorn_server(sandbox, log_config=LOGGING_CONFIG).run(sockets=[sock])
    finally:
        sock.close()
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
