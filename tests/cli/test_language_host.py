"""Our Python language host and exec helper (tools/pulumi) through the real CLI, on tiny programs (issue 16).

- the program is found through RunRequest.info (Pulumi.yaml's `main` folder), not the deprecated field;
- a program's plain ``sys.exit()`` is success, as in Python; ``sys.exit(3)`` fails with its code;
- an exception is shown once, with its traceback, and the host adds no second "exited with code" message.
The language host's cancellation and its watch of the engine are tested in tools/pulumi/languagehost (Go)
and tests/cli/test_killed_run.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.pulumi_cli import ROOT, PulumiProject, new_project

pytestmark = pytest.mark.cli


def program_project(pulumi_bin: Path, tmp_path: Path, program: str) -> PulumiProject:
    """A project whose program (in the folder app/, named by Pulumi.yaml's `main`) is ``program``."""
    project = new_project(pulumi_bin, tmp_path)
    (project.directory / "Pulumi.yaml").write_text(
        "name: language-host-check\n"
        "runtime:\n"
        "  name: python\n"
        "  options:\n"
        f"    virtualenv: {ROOT / '.venv'}\n"
        "main: app/\n",
        encoding="utf-8",
    )
    (project.directory / "app").mkdir()
    (project.directory / "app" / "__main__.py").write_text(program, encoding="utf-8")
    project.run("stack", "init", "check", "--secrets-provider", "passphrase")
    return project


def test_the_program_of_pulumi_yaml_main_runs_and_a_plain_exit_is_success(
    pulumi_bin: Path, tmp_path: Path
) -> None:
    # The program leaves a mark beside itself naming the file that ran.
    project = program_project(
        pulumi_bin,
        tmp_path,
        "import pathlib, sys\npathlib.Path(__file__).with_name('ran.txt').write_text(__file__)\nsys.exit()\n",
    )
    project.run("up", "--yes", stack="check")
    assert (project.directory / "app" / "ran.txt").read_text(encoding="utf-8").endswith("app/__main__.py")


def test_an_exit_code_is_reported(pulumi_bin: Path, tmp_path: Path) -> None:
    project = program_project(pulumi_bin, tmp_path, "import sys\nsys.exit(3)\n")
    failed = project.run("preview", stack="check", expect_failure=True)
    assert "exited with code 3" in failed.stdout + failed.stderr


def test_an_exception_is_shown_once_with_its_traceback(pulumi_bin: Path, tmp_path: Path) -> None:
    project = program_project(pulumi_bin, tmp_path, "raise RuntimeError('the-roster-broke')\n")
    failed = project.run("preview", stack="check", expect_failure=True)
    text = failed.stdout + failed.stderr
    assert "Traceback" in text and "the-roster-broke" in text, text
    assert "exited with code" not in text, text
