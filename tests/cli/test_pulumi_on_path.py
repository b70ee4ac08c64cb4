"""The line README and docs/OPERATOR.md give a firm without Pulumi's installer, to put the CLI the
walk-through built on its PATH, run as written: afterwards ``pulumi`` is the CLI of tools/pulumi/build.sh."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.pulumi_cli import BUILD_SCRIPT, ROOT, _unavailable

PATH_LINE = 'export PATH="$(bash tools/pulumi/build.sh):$PATH"'


def documented_line(document: Path) -> str:
    """The documented line, without its comment."""
    lines = document.read_text(encoding="utf-8").splitlines()
    (line,) = [line for line in lines if line.startswith(PATH_LINE)]
    return line.split("#", 1)[0].strip()


@pytest.mark.parametrize("document", ["README.md", "docs/OPERATOR.md"])
def test_the_documented_line_puts_the_built_cli_on_path(document: str, pulumi_bin: Path) -> None:
    if shutil.which("go") is None:
        _unavailable("no Go to build the CLI from its modules")
    line = documented_line(ROOT / document)
    assert line == PATH_LINE
    # This process's PATH without any folder that already holds a `pulumi` (go stays, for a cold build).
    folders = os.environ.get("PATH", "").split(os.pathsep)
    without_pulumi = [folder for folder in folders if folder and not (Path(folder) / "pulumi").exists()]
    shown = subprocess.run(
        ["bash", "-c", f"{line} && command -v pulumi && pulumi version"],
        cwd=ROOT,
        env={**os.environ, "PATH": os.pathsep.join(without_pulumi)},
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    found, version = shown.stdout.split()[-2:]
    built = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, check=True)
    assert Path(found).parent == Path(built.stdout.strip().splitlines()[-1])
    assert version == "v3.274.0"
