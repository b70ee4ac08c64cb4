"""README's main command, examples/walkthrough.sh: through the real CLI, and on the stand-in without one."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.cli.test_cli_lifecycle import SECRETS

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "walkthrough.sh"
STAND_IN_LABEL = "THE SAME STEPS NOW RUN ON THE PROJECT'S ENGINE STAND-IN"


def test_the_walkthrough_runs_through_the_real_cli(pulumi_bin: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "FABRICAI_ROSTER_PULUMI": str(pulumi_bin / "pulumi"),
        "FABRICAI_ROSTER_WORK": str(tmp_path / "work"),
    }
    result = subprocess.run(
        ["bash", str(SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=900, env=env, check=False
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


def test_without_any_cli_the_same_steps_run_on_the_stand_in_labelled(tmp_path: Path) -> None:
    """No pulumi on PATH, no internet for the installer, no Go to build it: the job is still shown."""
    tools = tmp_path / "bin"
    tools.mkdir()
    # curl that cannot reach anything: as without internet.
    (tools / "curl").write_text("#!/bin/sh\nexit 6\n")
    (tools / "curl").chmod(0o755)
    env = {**os.environ, "PATH": f"{tools}:/usr/bin:/bin", "FABRICAI_ROSTER_WORK": str(tmp_path / "work")}
    env.pop("FABRICAI_ROSTER_PULUMI", None)
    result = subprocess.run(
        ["bash", str(SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env, check=False
    )
    out = result.stdout
    assert result.returncode == 0, out[-4000:] + result.stderr[-4000:]
    assert STAND_IN_LABEL in out
    assert out.index(STAND_IN_LABEL) < out.index("==> 4. pulumi up")
    assert "==> 8. pulumi destroy" in out
    for secret in SECRETS:
        assert secret not in out and secret not in result.stderr
