"""`python -m sandbox` says where it listens only once it listens: a client may connect at once."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_url_is_printed_after_the_socket_listens(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "sandbox", "--port", "0", "--state", str(tmp_path / "s.db")]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline().strip()
        host, port = first_line.rsplit("//", 1)[1].split(":")
        # No retry: before the fix the port was bound but not listening, and this was refused.
        with socket.create_connection((host, int(port)), timeout=5):
            pass
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_without_its_dependencies_it_says_how_to_run_it_instead_of_a_traceback() -> None:
    # As a Python outside the virtualenv: uvicorn cannot be imported (None in sys.modules halts the import).
    program = (
        "import runpy, sys; sys.modules['uvicorn'] = None; runpy.run_module('sandbox', run_name='__main__')"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "'uvicorn' is missing" in done.stderr and ".venv/bin/python -m sandbox" in done.stderr
