"""``fabricai-roster up`` / ``preview`` through the real Pulumi CLI: the way README tells a firm to run a
roster (no checkpoints, no live display, the plan shown before anything changes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scripts.example_config import demo_secrets, plain_config, sandbox_urls
from tests.cli.conftest import PulumiProject
from tests.conftest import SandboxFactory
from tests.support.example_roster import HEALTHY

pytestmark = pytest.mark.cli

FABRICAI_ROSTER = str(Path(sys.executable).with_name("fabricai-roster"))


def roster_command(project: PulumiProject, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FABRICAI_ROSTER, "--cwd", str(project.directory), "--stack", "sandbox", *args],
        env=project.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_up_shows_the_plan_then_applies_it_and_a_second_preview_is_quiet(
    pulumi_project: PulumiProject, sandbox: SandboxFactory, example_scenario: dict[str, Any]
) -> None:
    running = sandbox(example_scenario)
    config = {**plain_config("sandbox"), **sandbox_urls(running.url)}
    pulumi_project.init_stack("sandbox", config, demo_secrets("sandbox"))
    up = roster_command(pulumi_project, "up", "--yes")
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr
    plan, applied = up.stdout.split("Updating (sandbox)", 1)
    assert "+ 24 to create" in plan or "24 to create" in plan, plan[-2000:]
    assert "24 created" in applied, applied[-2000:]
    assert running.admin.stats()["services"]["portal"]["connections"] == len(HEALTHY)
    # The identity was pinned in the settings before the run (a killed first run keeps it) and is the one
    # the run carried.
    pinned = pulumi_project.run("config", "get", "roster:stackId", stack="sandbox").stdout.strip()
    shown = pulumi_project.run("stack", "output", "rosterStackId", stack="sandbox").stdout.strip()
    assert pinned and pinned == shown
    again = roster_command(pulumi_project, "preview")
    assert again.returncode == 0, again.stderr
    assert "to create" not in again.stdout and "to update" not in again.stdout and "unchanged" in again.stdout
