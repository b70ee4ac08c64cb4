"""The console script of the package is the command the tests drive."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_pyproject_declares_fabricai_roster_as_a_console_script() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    module, _, function = scripts["fabricai-roster"].partition(":")
    assert callable(getattr(importlib.import_module(module), function))


def test_help_from_a_fresh_process_exits_0_and_a_usage_error_2() -> None:
    command = [sys.executable, "-m", "provider.cli.main"]
    done = subprocess.run(
        [*command, "status", "--help"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0
    assert "--sort COLUMN" in done.stdout and "Exit status" in done.stdout
    done = subprocess.run(
        [*command, "status", "--erp", "fennoa"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 2
    assert "invalid choice: 'fennoa'" in done.stderr and "Traceback" not in done.stderr
