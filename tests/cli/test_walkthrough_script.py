"""README's main command, examples/walkthrough.sh: through the real CLI, and on the stand-in without one.

Both run the script from a temporary copy of the repository (tests/support/project_copy.py), never from the
working tree: the script must leave a firm's own stacks alone, and the copy's stacks/ shows that it does.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.cli.test_cli_lifecycle import SECRETS
from tests.support.project_copy import folder_digest, repository_copy

STAND_IN_LABEL = "THE SAME STEPS NOW RUN ON THE PROJECT'S ENGINE STAND-IN"
# A firm's own stack settings, under the very name the walk-through uses for its stack.
FIRMS_OWN_STACK = (
    "# the firm's own stack, never to be touched by the walk-through\nconfig:\n  roster:clients: []\n"
)


def test_the_walkthrough_runs_through_the_real_cli(pulumi_bin: Path, tmp_path: Path) -> None:
    clone = repository_copy(tmp_path / "clone")
    (clone / "stacks" / "Pulumi.sandbox.yaml").write_text(FIRMS_OWN_STACK, encoding="utf-8")
    stacks_before = folder_digest(clone / "stacks")
    work = tmp_path / "work"
    env = {
        **os.environ,
        "FABRICAI_ROSTER_PULUMI": str(pulumi_bin / "pulumi"),
        "FABRICAI_ROSTER_WORK": str(work),
    }
    for variable in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        env.pop(variable, None)
    result = subprocess.run(
        ["bash", str(clone / "examples" / "walkthrough.sh")],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out[-6000:] + result.stderr[-3000:]
    assert STAND_IN_LABEL not in out
    assert "Allow the use of billable interfaces" in out
    assert "As expected: every client of sandbox-broken failed" in out
    assert "As expected: the protected client refused" in out
    assert "Traceback" not in out + result.stderr
    for secret in SECRETS:
        assert secret not in out and secret not in result.stderr
    # The firm's stacks/ is as it was: its own `sandbox` settings kept, nothing added.
    assert folder_digest(clone / "stacks") == stacks_before

    # The final stack stays, for the operator's command, in the walk-through's own project and backend; the
    # last lines say how to remove it.
    assert f"rm -rf {work / 'walkthrough'}" in out
    assert "fabricai-roster-walkthrough-demo-only" not in out  # the passphrase is given as a file
    project = work / "walkthrough" / "project"
    assert (project / "stacks" / "Pulumi.sandbox.yaml").is_file()
    assert not (project / "stacks" / "Pulumi.sandbox-broken.yaml").exists()
    assert "==> 9. The stack sandbox stays" in out and "fabricai-roster status: exit status" in out
    looking = {
        **env,
        "PATH": f"{pulumi_bin}{os.pathsep}{env.get('PATH', '')}",
        "PULUMI_BACKEND_URL": f"file://{work / 'walkthrough' / 'state'}",
        "PULUMI_HOME": str(work / "walkthrough" / "pulumi-home"),
        "PULUMI_CONFIG_PASSPHRASE_FILE": str(work / "walkthrough" / "passphrase"),
    }
    after = subprocess.run(
        [str(clone / ".venv" / "bin" / "fabricai-roster"), "--stack", "sandbox", "status", "--json"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env=looking,
        check=False,
    )
    assert after.returncode in (0, 1), after.stderr  # 2 would be: no stack to look at
    rows = json.loads(after.stdout)
    assert len(rows) == 7
    assert all(row["connection"] == "ACTIVE" for row in rows), rows


def test_without_any_cli_the_same_steps_run_on_the_stand_in_labelled(tmp_path: Path) -> None:
    """No pulumi on PATH, no internet for the installer, no Go to build it: the job is still shown."""
    tools = tmp_path / "bin"
    tools.mkdir()
    # curl that cannot reach anything: as without internet.
    (tools / "curl").write_text("#!/bin/sh\nexit 6\n")
    (tools / "curl").chmod(0o755)
    env = {**os.environ, "PATH": f"{tools}:/usr/bin:/bin", "FABRICAI_ROSTER_WORK": str(tmp_path / "work")}
    env.pop("FABRICAI_ROSTER_PULUMI", None)
    clone = repository_copy(tmp_path / "clone")
    stacks_before = folder_digest(clone / "stacks")
    result = subprocess.run(
        ["bash", str(clone / "examples" / "walkthrough.sh")],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert folder_digest(clone / "stacks") == stacks_before
    out = result.stdout
    assert result.returncode == 0, out[-4000:] + result.stderr[-4000:]
    assert STAND_IN_LABEL in out
    assert out.index(STAND_IN_LABEL) < out.index("==> 4. pulumi up")
    assert "==> 8. pulumi destroy" in out
    for secret in SECRETS:
        assert secret not in out and secret not in result.stderr
