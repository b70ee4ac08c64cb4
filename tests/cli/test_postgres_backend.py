"""A team on one stack (issue 20.4): two operators, each with an own clone and an own Pulumi login, share the
stack through Pulumi's PostgreSQL state backend (``pulumi login postgres://...``), through the real CLI and a
real PostgreSQL server (tests/support/postgres.py).

What the lock promises, and what it does not, is in docs/TEAM.md; this test holds the promises:
- while one operator's `pulumi up` runs, the other's is refused, naming `pulumi cancel`;
- each operator sees the other's changes in the shared state;
- a run killed outright leaves its lock behind, and `pulumi cancel` clears it, after which the stack works.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from scripts.example_config import demo_secrets
from tests.cli.test_cli_lifecycle import Portal, stack_settings
from tests.conftest import SandboxFactory
from tests.support.postgres import postgres_backend as postgres_backend
from tests.support.pulumi_cli import PulumiProject, new_project

pytestmark = pytest.mark.cli

STACK = "team"
RENAMED = ("2077474-0", "Kahvila Kuppi Oyj")
UP = ("up", "--yes", "--skip-preview", "--non-interactive", "--color", "never", "--stack", STACK)


def locks(backend_url: str) -> list[str]:
    """The lock records of the stack in the backend's table (Pulumi's default table name)."""
    with psycopg.connect(backend_url.replace("postgres://", "postgresql://", 1)) as connection:
        rows = connection.execute("SELECT key FROM pulumi_state WHERE key LIKE %s", ("%/locks/%",)).fetchall()
    return [str(row[0]) for row in rows]


def start_up(project: PulumiProject, output: Path) -> subprocess.Popen[bytes]:
    with output.open("wb") as sink:
        return subprocess.Popen(
            ["pulumi", *UP],
            cwd=project.directory,
            env=project.env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for_lock(backend_url: str, running: subprocess.Popen[bytes], output: Path) -> None:
    deadline = time.monotonic() + 120
    while not locks(backend_url):
        assert running.poll() is None, output.read_text(encoding="utf-8", errors="replace")
        assert time.monotonic() < deadline, "the running `pulumi up` took no lock within 120 s"
        time.sleep(0.2)


def share_settings(source: PulumiProject, target: PulumiProject) -> None:
    """The stack's settings file travels between operators as a firm's does: through its repository."""
    name = f"Pulumi.{STACK}.yaml"
    shutil.copy(source.directory / "stacks" / name, target.directory / "stacks" / name)


def clients(project: PulumiProject) -> set[str]:
    """The business IDs in the stack's outputs, as this operator reads them from the shared state."""
    shown: dict[str, Any] = json.loads(project.run("stack", "output", "--json", stack=STACK).stdout)
    return set(shown.get("clients", {}))


def recorded_name(project: PulumiProject, business_id: str) -> str:
    """The client's name in the stack's state (its ClientCompany's outputs), as this operator reads it."""
    state: dict[str, Any] = json.loads(project.run("stack", "export", stack=STACK).stdout)
    for resource in state["deployment"]["resources"]:
        if resource["urn"].endswith(f"::{business_id}-company"):
            return str(resource["outputs"]["name"])
    raise AssertionError(f"no ClientCompany of {business_id} in the state")


def test_two_operators_share_one_stack_on_postgresql(
    pulumi_bin: Path, postgres_backend: str, sandbox: SandboxFactory, tmp_path: Path
) -> None:
    running = sandbox()
    portal = Portal(running)
    anna = new_project(pulumi_bin, tmp_path / "anna", login=postgres_backend)
    ben = new_project(pulumi_bin, tmp_path / "ben", login=postgres_backend)
    assert "postgres://" in anna.run("whoami", "--verbose").stdout
    anna.init_stack(STACK, stack_settings("sandbox", running), demo_secrets("sandbox"))
    share_settings(anna, ben)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        # 1. Anna's first `up` runs (slowed by the portal); Ben's, started meanwhile, is refused by the lock.
        running.admin.set_faults("portal", latencyMs=400)
        first = start_up(anna, tmp_path / "anna-up.txt")
        processes.append(first)
        wait_for_lock(postgres_backend, first, tmp_path / "anna-up.txt")
        refused = ben.run(*UP[:3], stack=STACK, expect_failure=True)
        text = refused.stdout + refused.stderr
        assert "the stack is currently locked" in text, text
        assert "pulumi cancel" in text and "created by" in text  # who holds it, and how to clear it
        assert first.wait(timeout=600) == 0, (tmp_path / "anna-up.txt").read_text(encoding="utf-8")
        running.admin.clear_faults("portal")
        assert not locks(postgres_backend), "a finished run left its lock"

        # 2. Ben sees Anna's clients; Ben renames one (settings come from the repository), Anna sees it.
        assert len(clients(ben)) == 7
        ben.run("config", "set", "--path", "roster:clients[1].name", RENAMED[1], stack=STACK)
        ben.run("up", "--yes", "--skip-preview", stack=STACK)
        assert recorded_name(anna, RENAMED[0]) == RENAMED[1]
        renamed = portal.client(RENAMED[0])
        assert renamed is not None and renamed["name"] == RENAMED[1]
        # Until Anna pulls the settings, her preview would take the name back: the settings file is shared
        # through the repository, the state through the backend (docs/TEAM.md).
        assert "1 to update" in anna.run("preview", stack=STACK).stdout
        share_settings(ben, anna)
        anna.run("preview", "--expect-no-changes", stack=STACK)

        # 3. Ben's run is killed outright: its lock stays, and Anna is refused until she clears it.
        running.admin.set_faults("portal", latencyMs=400)
        ben.run("config", "set", "--path", "roster:clients[1].tags.segment", "cafes", stack=STACK)
        calls = running.admin.stats()["requests"]["portal"]["total"]
        crashed = start_up(ben, tmp_path / "ben-up.txt")
        processes.append(crashed)
        wait_for_lock(postgres_backend, crashed, tmp_path / "ben-up.txt")
        # Killed with its change on the way to the portal.
        deadline = time.monotonic() + 120
        while running.admin.stats()["requests"]["portal"]["total"] == calls:
            assert crashed.poll() is None and time.monotonic() < deadline, "Ben's run never called the portal"
            time.sleep(0.05)
        os.kill(crashed.pid, signal.SIGKILL)
        crashed.wait(timeout=30)
        running.admin.clear_faults("portal")
        assert len(locks(postgres_backend)) == 1
        blocked = anna.run("up", "--yes", "--skip-preview", stack=STACK, expect_failure=True)
        assert "the stack is currently locked" in blocked.stdout + blocked.stderr
        anna.run("cancel", "--yes", stack=STACK)
        assert not locks(postgres_backend)
        share_settings(ben, anna)
        anna.run("up", "--yes", "--skip-preview", stack=STACK)
        anna.run("preview", "--expect-no-changes", stack=STACK)
        assert len(clients(ben)) == 7
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        (tmp_path / "transcript.txt").write_text(
            "\n".join([*anna.transcript, "--- ben ---", *ben.transcript]), encoding="utf-8"
        )
