"""Temporary copies of the project, so that no test reads or writes the working tree's stacks/.

A firm keeps its own stack settings in stacks/Pulumi.<stack>.yaml of its clone, under any name (also
``sandbox``); a test that wrote or removed a file there could destroy them. So a test that runs the program
through the CLI gets a project of its own (``roster_program``: Pulumi.yaml, the program, the .venv linked),
and a test that runs a script of the repository (examples/walkthrough.sh) runs it from a copy of the
repository (``repository_copy``), whose stacks/ holds the program and nothing else.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What a script of the repository needs beside itself (the package is the .venv's editable install).
REPOSITORY_PARTS = ("provider", "sandbox", "harness", "scripts", "examples", "tools")
REPOSITORY_FILES = ("Pulumi.yaml", "pyproject.toml")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".work")


def roster_program(directory: Path) -> Path:
    """A Pulumi project of the roster program in ``directory``: the repository's Pulumi.yaml and
    stacks/__main__.py, and its layout of .venv at the root with stacks/.venv pointing at it."""
    (directory / "stacks").mkdir(parents=True)
    shutil.copy(ROOT / "stacks" / "__main__.py", directory / "stacks" / "__main__.py")
    shutil.copy(ROOT / "Pulumi.yaml", directory / "Pulumi.yaml")
    (directory / ".venv").symlink_to(ROOT / ".venv")
    (directory / "stacks" / ".venv").symlink_to(Path("..") / ".venv")
    return directory


def repository_copy(directory: Path) -> Path:
    """The repository's code, examples and tools copied into ``directory`` (a roster program's project, as
    ``roster_program`` makes it): its scripts run there as they would in a clone."""
    roster_program(directory)
    for part in REPOSITORY_PARTS:
        shutil.copytree(ROOT / part, directory / part, ignore=_IGNORED, symlinks=True)
    for name in REPOSITORY_FILES:
        shutil.copy(ROOT / name, directory / name)
    return directory


def folder_digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (links as their target) with a digest of its bytes: equal before and
    after means nothing in it was written, added or removed."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.is_symlink():
            found[name] = "-> " + str(path.readlink())
        elif path.is_file():
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found
