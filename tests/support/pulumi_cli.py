"""The real Pulumi CLI for tests, and a temporary Pulumi project of the roster program driven through it.

    def test_x(pulumi_project: PulumiProject) -> None:
        pulumi_project.init_stack("sandbox", config={...}, secrets={"fabricai:apiKey": "k"})
        result = pulumi_project.run("up", "--yes", stack="sandbox")

The CLI (``pulumi_bin``): the folder named by FABRICAI_ROSTER_PULUMI_BIN, else ``pulumi`` on PATH, else the
one ``tools/pulumi/build.sh`` builds from Pulumi's Go modules (cached: a second). Where none can be had the
tests are skipped with the reason, except when FABRICAI_ROSTER_REQUIRE_CLI=1 (CI sets it): then they fail,
so a CI run can never pass without the real engine.

Each test gets a project of its own in a temporary folder (Pulumi.yaml naming the repository's .venv, and
the repository's stacks/__main__.py), a local file backend, a passphrase secrets provider and its own
PULUMI_HOME, so nothing touches the repository's stacks/ or the user's Pulumi login. ``roster_project`` is
the same project with the test process's environment pointing at it too, so ``fabricai-roster`` run
in-process reads the same stacks. What the CLI printed is kept in ``transcript.txt`` beside the test's files.

A conftest makes the fixtures visible by importing them (``from tests.support.pulumi_cli import ...``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.project_copy import roster_program

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "tools" / "pulumi" / "build.sh"
PASSPHRASE = "fabricai-roster-tests-only"
# A cold build downloads and compiles the CLI (minutes); a warm one returns at once.
BUILD_TIMEOUT_SECONDS = 3600
COMMAND_TIMEOUT_SECONDS = 900


def _unavailable(reason: str) -> None:
    if os.environ.get("FABRICAI_ROSTER_REQUIRE_CLI") == "1":
        pytest.fail(f"the real Pulumi CLI is required here (FABRICAI_ROSTER_REQUIRE_CLI=1): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pulumi_bin() -> Path:
    """The folder holding ``pulumi`` and the Python plugins it needs."""
    named = os.environ.get("FABRICAI_ROSTER_PULUMI_BIN")
    if named:
        return Path(named)
    on_path = shutil.which("pulumi")
    if on_path:
        return Path(on_path).resolve().parent
    if not BUILD_SCRIPT.is_file():
        _unavailable("no Pulumi CLI on PATH and no tools/pulumi/build.sh to build it")
    if shutil.which("go") is None:
        _unavailable("no Pulumi CLI on PATH and no Go to build it from its modules")
    built = subprocess.run(
        ["bash", str(BUILD_SCRIPT)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECONDS,
        check=False,
    )
    if built.returncode != 0:
        _unavailable(f"building the Pulumi CLI failed: {built.stderr.strip()[-500:]}")
    return Path(built.stdout.strip().splitlines()[-1])


@dataclass
class PulumiProject:
    """A Pulumi project of the roster program in its own folder, driven through the real CLI."""

    directory: Path
    env: dict[str, str]
    # The variables the project sets over the process's environment (all of them are in ``env`` too).
    settings: dict[str, str] = field(default_factory=dict)
    transcript: list[str] = field(default_factory=list)

    def run(
        self,
        *args: str,
        stdin: str | None = None,
        expect_failure: bool = False,
        stack: str | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """``pulumi ARGS``: asserts it succeeded (or, with ``expect_failure``, that it failed); with
        ``check=False`` the result is returned whatever it is."""
        command = ["pulumi", *args, "--non-interactive", "--color", "never"]
        if stack is not None:
            command += ["--stack", stack]
        result = self.execute(command, stdin=stdin)
        if expect_failure:
            assert result.returncode != 0, f"expected {args} to fail:\n{result.stdout}\n{result.stderr}"
        elif check:
            assert result.returncode == 0, f"{args} failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
        return result

    def execute(self, command: Sequence[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Any command (``pulumi``, ``fabricai-roster``) in the project folder with its environment, kept in
        the transcript; the result whatever it is."""
        result = subprocess.run(
            list(command),
            cwd=self.directory,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
        self.transcript.append(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}")
        return result

    def pulumi(
        self, *args: str, stack: str, stdin: str | None = None, ok: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """``run`` on a named stack; ``ok=False`` returns a failure instead of asserting."""
        return self.run(*args, stdin=stdin, stack=stack, check=ok)

    def init_stack(self, stack: str, config: Mapping[str, Any], secrets: Mapping[str, Any]) -> None:
        """Stack settings as a firm writes them: plain values in the file, secrets through --secret --path."""
        settings = self.directory / "stacks" / f"Pulumi.{stack}.yaml"
        settings.write_text(yaml.safe_dump({"config": dict(config)}, allow_unicode=True), encoding="utf-8")
        self.run("stack", "init", stack, "--secrets-provider", "passphrase")
        for path, value in secret_paths(secrets):
            self.set_secret(stack, path, value)

    def set_secret(self, stack: str, path: str, value: str) -> None:
        # The value goes in on stdin, as a careful operator does: never in the process list.
        self.run("config", "set", "--secret", "--path", path, stdin=value, stack=stack)

    def state_text(self) -> str:
        """Everything the local backend stores (checkpoints, history, backups), for secret scans."""
        return "\n".join(
            path.read_text(encoding="utf-8", errors="replace")
            for path in (self.directory / ".state").rglob("*")
            if path.is_file()
        )


def secret_paths(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """The leaves of a secret config mapping as ``pulumi config set --path`` paths (a top-level key that
    already is a path, such as ``roster:procountorApiKeys["2077474-0"]``, stays as it is)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            child = key if not path else f'{path}["{key}"]'
            yield from secret_paths(item, child)
    else:
        yield path, str(value)


def new_project(pulumi_bin: Path, folder: Path, login: str | None = None) -> PulumiProject:
    """A project of the roster program in ``folder``/project with its own PULUMI_HOME: a local file backend in
    the project, or, with ``login``, the backend at that URL (``pulumi login URL``, as an operator does)."""
    # The repository's layout: .venv at the root, and stacks/.venv pointing at it (see Pulumi.yaml).
    project = roster_program(folder / "project")
    settings = {
        "PATH": f"{pulumi_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "PULUMI_HOME": str(folder / "pulumi-home"),
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_SKIP_CONFIRMATIONS": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
    }
    if login is None:
        (project / ".state").mkdir()
        settings["PULUMI_BACKEND_URL"] = f"file://{project / '.state'}"
    environment = {key: value for key, value in os.environ.items() if key != "PULUMI_BACKEND_URL"}
    running = PulumiProject(project, {**environment, **settings}, settings)
    if login is not None:
        running.run("login", login)
    return running


@pytest.fixture
def pulumi_project(pulumi_bin: Path, tmp_path: Path) -> Iterator[PulumiProject]:
    """A project of its own: local file backend, passphrase secrets, its own PULUMI_HOME."""
    running = new_project(pulumi_bin, tmp_path)
    yield running
    # What the CLI printed, kept beside the test's files for reading after a failure.
    (tmp_path / "transcript.txt").write_text("\n".join(running.transcript), encoding="utf-8")


@pytest.fixture
def roster_project(pulumi_project: PulumiProject, monkeypatch: pytest.MonkeyPatch) -> PulumiProject:
    """``pulumi_project`` with the test process's environment pointing at it too, so ``fabricai-roster``
    run in-process reads the same stacks."""
    for key, value in pulumi_project.settings.items():
        monkeypatch.setenv(key, value)
    return pulumi_project


def firm_shell(pulumi_bin: Path, home: Path) -> dict[str, str]:
    """A firm's shell: the CLI and ``fabricai-roster`` on PATH, ``home`` as the home folder, and no backend or
    passphrase set (``init`` asks for them, or prints them)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PULUMI_")}
    env.update(
        {
            "PATH": f"{pulumi_bin}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "HOME": str(home),
            "PULUMI_HOME": str(home / ".pulumi"),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "NO_COLOR": "1",
        }
    )
    return env
