"""The real Pulumi CLI for tests: found on PATH or built from Pulumi's Go modules (tools/pulumi/build.sh).

    def test_x(pulumi_project: PulumiProject) -> None:
        pulumi_project.init_stack("sandbox", config={...}, secrets={"fabricai:apiKey": "k"})
        result = pulumi_project.run("up", "--yes")

Each test gets a project of its own in a temporary folder (Pulumi.yaml naming the repository's .venv, and
the repository's stacks/__main__.py), a local file backend, a passphrase secrets provider and its own
PULUMI_HOME, so nothing touches the repository's stacks/ or the user's Pulumi login.

Where no CLI can be had the tests are skipped with the reason, except when FABRICAI_ROSTER_REQUIRE_CLI=1
(CI sets it): then they fail, so a CI run can never pass without the real engine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

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
    """The folder holding `pulumi` and the Python plugins it needs."""
    on_path = shutil.which("pulumi")
    if on_path:
        return Path(on_path).resolve().parent
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
        _unavailable(f"building the Pulumi CLI failed: {built.stderr.strip()}")
    return Path(built.stdout.strip().splitlines()[-1])


@dataclass
class PulumiProject:
    """A Pulumi project of the roster program in its own folder, driven through the real CLI."""

    directory: Path
    env: dict[str, str]
    transcript: list[str] = field(default_factory=list)

    def run(
        self, *args: str, stdin: str | None = None, expect_failure: bool = False, stack: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        command = ["pulumi", *args, "--non-interactive", "--color", "never"]
        if stack is not None:
            command += ["--stack", stack]
        result = subprocess.run(
            command,
            cwd=self.directory,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
        self.transcript.append(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}")
        if expect_failure:
            assert result.returncode != 0, f"expected {args} to fail:\n{result.stdout}\n{result.stderr}"
        else:
            assert result.returncode == 0, f"{args} failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
        return result

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
    """The leaves of a secret config mapping as ``pulumi config set --path`` paths."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            child = key if not path else f'{path}["{key}"]'
            yield from secret_paths(item, child)
    else:
        yield path, str(value)


@pytest.fixture
def pulumi_project(pulumi_bin: Path, tmp_path: Path) -> Iterator[PulumiProject]:
    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    shutil.copy(ROOT / "stacks" / "__main__.py", project / "stacks" / "__main__.py")
    shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    # The repository's layout: .venv at the root, and stacks/.venv pointing at it (see Pulumi.yaml).
    (project / ".venv").symlink_to(ROOT / ".venv")
    (project / "stacks" / ".venv").symlink_to((ROOT / "stacks" / ".venv").readlink())
    (project / ".state").mkdir()
    env = {
        **os.environ,
        "PATH": f"{pulumi_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "PULUMI_HOME": str(tmp_path / "pulumi-home"),
        "PULUMI_BACKEND_URL": f"file://{project / '.state'}",
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_SKIP_CONFIRMATIONS": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
    }
    running = PulumiProject(project, env)
    yield running
    # What the CLI printed, kept beside the test's files for reading after a failure.
    (tmp_path / "transcript.txt").write_text("\n".join(running.transcript), encoding="utf-8")
