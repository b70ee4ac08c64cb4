"""examples/walkthrough.sh through the real Pulumi CLI, when there is one; skipped otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "walkthrough.sh"


@pytest.mark.cli
@pytest.mark.skipif(shutil.which("pulumi") is None, reason="the Pulumi CLI is not on PATH")
def test_the_walkthrough_runs_through_the_cli() -> None:
    result = subprocess.run(
        ["bash", str(SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=900, env=dict(os.environ)
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    assert "Billable interfaces" in out or "billable interfaces" in out
    assert "As expected: every client of sandbox-broken failed" in out
    for secret in ("FAKE-pc-key-oljy-aijat-1", "FAKE-nv-customer-key-tase-1", "FAKE-portal-org-key-0001"):
        assert secret not in out and secret not in result.stderr


def test_without_the_cli_and_internet_the_script_fails_in_one_clear_line(tmp_path: Path) -> None:
    """With no pulumi on PATH and no way to download it, the script says so in one line and exits 1."""
    if shutil.which("pulumi") is not None:
        pytest.skip("a Pulumi CLI is on PATH")
    tools = tmp_path / "bin"
    tools.mkdir()
    # curl that cannot reach anything: as without internet.
    (tools / "curl").write_text("#!/bin/sh\nexit 6\n")
    (tools / "curl").chmod(0o755)
    work = tmp_path / "work"  # the script's work folder: nothing is written into the repository
    env = {**os.environ, "PATH": f"{tools}:/usr/bin:/bin", "FABRICAI_ROSTER_WORK": str(work)}
    result = subprocess.run(
        ["bash", str(SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1
    assert errors[0].startswith("walkthrough: the Pulumi CLI is not installed and could not be installed")
    assert work.is_dir()  # the installer's download went here, not to the repository's .work/
