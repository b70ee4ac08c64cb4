"""``fabricai-roster up`` / ``preview`` / ``refresh`` through the real Pulumi CLI: the way README tells a
firm to run a roster (no checkpoints, no live display, the plan shown before anything changes), and README's
nightly drift check (``fabricai-roster refresh --preview-only -- --expect-no-changes``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scripts.example_config import demo_secrets, plain_config, sandbox_urls
from tests.cli.conftest import PulumiProject
from tests.cli.test_cli_lifecycle import Portal
from tests.conftest import SandboxFactory
from tests.support.example_roster import HEALTHY

pytestmark = pytest.mark.cli

FABRICAI_ROSTER = str(Path(sys.executable).with_name("fabricai-roster"))


DRIFT_CHECK = ("refresh", "--preview-only", "--", "--expect-no-changes")
RENAMED = "2077474-0"


def roster_command(project: PulumiProject, *args: str) -> subprocess.CompletedProcess[str]:
    # The project's environment sets PULUMI_SKIP_CONFIRMATIONS, as a CI job's often does: pulumi takes it for
    # --yes, which its refresh --preview-only refuses, so `refresh` must run without it.
    assert project.env.get("PULUMI_SKIP_CONFIRMATIONS") == "true"
    return project.execute([FABRICAI_ROSTER, "--cwd", str(project.directory), "--stack", "sandbox", *args])


def test_up_shows_the_plan_then_applies_it_and_refresh_finds_then_records_drift(
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

    # README's drift check: quiet right after `up`.
    quiet = roster_command(pulumi_project, *DRIFT_CHECK)
    assert quiet.returncode == 0, quiet.stdout[-3000:] + quiet.stderr

    # A client renamed in the portal by hand (the public PATCH takes the whole record): drift, exit 1, the
    # resource and field named, nothing recorded (the check still sees it the next time).
    portal = Portal(running)
    listed = portal.client(RENAMED)
    assert listed is not None
    record = portal.http.get(f"/clients/{listed['id']}").raise_for_status().json()["data"]
    portal.http.patch(
        f"/clients/{listed['id']}", json={**record, "name": "Renamed By Hand Oy"}
    ).raise_for_status()
    for _ in range(2):
        drifted = roster_command(pulumi_project, *DRIFT_CHECK)
        listing = drifted.stdout[-3000:]
        assert drifted.returncode == 1, listing + drifted.stderr
        assert f"ClientCompany {RENAMED}-company update [diff: ~name]" in drifted.stdout, listing
        assert "Drift:" in drifted.stderr and "nothing was recorded" in " ".join(drifted.stderr.split())

    # `refresh --yes` shows it, then records it: the state holds the portal's name and the check is quiet.
    recorded = roster_command(pulumi_project, "refresh", "--yes")
    assert recorded.returncode == 0, recorded.stdout[-3000:] + recorded.stderr
    exported = json.loads(pulumi_project.run("stack", "export", stack="sandbox").stdout)
    (company,) = [r for r in exported["deployment"]["resources"] if r["urn"].endswith(f"::{RENAMED}-company")]
    assert company["outputs"]["name"] == "Renamed By Hand Oy"
    settled = roster_command(pulumi_project, *DRIFT_CHECK)
    assert settled.returncode == 0, settled.stdout[-3000:] + settled.stderr
