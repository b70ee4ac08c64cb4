"""`pulumi up` of a generated roster through the REAL CLI, with the non-interactive display and with Pulumi's
default one (the live tree, redrawn in a terminal), to tell a firm which to use for a large roster (20.5).

    python -m benchmarks.cli_display [--clients 300] [--skip-checkpoints] [--pulumi-bin DIR]

Each display gets a fresh sandbox and stack (benchmarks/cli_roster.py's project, roster and sandbox) and one
`pulumi up --yes --skip-preview`. The default display only appears on a terminal, so that run gets a
pseudo-terminal of 160x50 as its controlling terminal, whose output is read as fast as the CLI writes it (a
terminal that keeps up), with the variables that make Pulumi assume CI removed. Prints the wall time, the
CPU of the CLI, program and provider processes, and how much the display wrote. Figures only.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

from benchmarks._roster import Verification, generated_firm, machine, sandbox_process
from benchmarks.cli_roster import ProcessCpu, Project, pulumi_bin, set_up_stack

# Pulumi takes any of these as a CI system and then never shows the interactive display.
CI_VARIABLES = ("CI", "BUILD_NUMBER", "RUN_ID", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL")
ROWS, COLUMNS = 50, 160


def _controlling_terminal() -> None:
    # In the child before exec: a session of its own, with the pseudo-terminal (its stdin) controlling it.
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def up(project: Project, *, terminal: bool) -> tuple[float, ProcessCpu, int]:
    """Wall time, CPU and bytes written of one `pulumi up`, on a terminal or not."""
    command = ["pulumi", "up", "--yes", "--skip-preview", "--stack", "bench"]
    env = dict(project.env)
    if terminal:
        env = {key: value for key, value in env.items() if key not in CI_VARIABLES}
        env["TERM"] = "xterm-256color"
    else:
        command += ["--non-interactive", "--color", "never"]
    cpu = ProcessCpu()
    stop = threading.Event()
    poller = threading.Thread(target=cpu.poll_until, args=(stop,))
    written = 0
    started = time.perf_counter()
    poller.start()
    if terminal:
        leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        process = subprocess.Popen(
            command,
            cwd=project.directory,
            env=env,
            stdin=follower,
            stdout=follower,
            stderr=follower,
            preexec_fn=_controlling_terminal,
        )
        os.close(follower)
        cpu.root_pid = process.pid
        tail = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the CLI closed the terminal
                break
            if not chunk:
                break
            written += len(chunk)
            tail = (tail + chunk)[-4000:]
        os.close(leader)
        code = process.wait()
    else:
        with subprocess.Popen(
            command, cwd=project.directory, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        ) as piped:
            cpu.root_pid = piped.pid
            assert piped.stdout is not None
            tail = b""
            for line in piped.stdout:
                written += len(line)
                tail = (tail + line)[-4000:]
            code = piped.wait()
    wall = time.perf_counter() - started
    stop.set()
    poller.join()
    if code != 0:
        raise SystemExit(f"cli_display: pulumi up failed:\n{tail.decode(errors='replace')}")
    return wall, cpu, written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=300, help="Procountor clients, each with its own key")
    parser.add_argument("--pulumi-bin", type=Path, default=None, help="the folder holding pulumi")
    parser.add_argument(
        "--skip-checkpoints",
        action="store_true",
        help="PULUMI_SKIP_CHECKPOINTS=true: the backend saves the state once, at the end",
    )
    args = parser.parse_args(argv)
    firm = generated_firm(args.clients, 0)
    bin_dir = args.pulumi_bin or pulumi_bin()
    print(f"machine: {machine()}")
    print(
        f"{args.clients} Procountor clients; `pulumi up --yes --skip-preview`"
        + ("; PULUMI_SKIP_CHECKPOINTS=true" if args.skip_checkpoints else "")
    )
    verification = Verification()  # a firm's stack: the sandbox's portal verifies
    for terminal in (False, True):
        with (
            sandbox_process(firm.scenario(verification)) as (url, _),
            tempfile.TemporaryDirectory(prefix="fabricai-ui-") as tmp,
        ):
            project = Project(Path(tmp), bin_dir)
            if args.skip_checkpoints:
                project.env["PULUMI_SKIP_CHECKPOINTS"] = "true"
            set_up_stack(project, firm, url, verification, clients_file=False)
            wall, cpu, written = up(project, terminal=terminal)
            name = f"default display on a {COLUMNS}x{ROWS} terminal" if terminal else "--non-interactive"
            print(
                f"{name}: {wall:.1f} s; CPU: CLI {cpu.total('engine'):.1f} s, program "
                f"{cpu.total('program'):.1f} s, provider {cpu.total('provider'):.1f} s; "
                f"display wrote {written / 1024:.0f} KiB",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
