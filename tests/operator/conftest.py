"""Fixtures of the operator's command tests: running ``fabricai-roster`` in-process, a stack whose Pulumi
reads are answered from JSON captured from a real run (tests/operator/fixtures/), and the real Pulumi CLI
in a temporary project for the tests that need a real stack (the approach of tests/cli/conftest.py).

The real CLI: ``pulumi`` on PATH, or the one ``tools/pulumi/build.sh`` builds (cached: a second), or the
folder named by FABRICAI_ROSTER_PULUMI_BIN. Without any, those tests are skipped with the reason (they fail
instead when FABRICAI_ROSTER_REQUIRE_CLI=1, as in CI).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from provider.cli.main import main
from provider.cli.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BUILD_SCRIPT = ROOT / "tools" / "pulumi" / "build.sh"
PASSPHRASE = "fabricai-roster-operator-tests-only"


@dataclass
class Ran:
    code: int
    out: str
    err: str


def run_command(capsys: pytest.CaptureFixture[str], *argv: str) -> Ran:
    """``fabricai-roster ARGV`` in this process: exit status, stdout, stderr."""
    capsys.readouterr()
    try:
        code = main(list(argv))
    except SystemExit as leaving:  # argparse's --help and usage errors
        code = int(leaving.code or 0)
    captured = capsys.readouterr()
    return Ran(code, captured.out, captured.err)


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def fake_stack(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A stack answered from captured JSON instead of the CLI: tests edit the returned mapping
    (``config``: key -> value; ``outputs``; ``resources``)."""
    answers: dict[str, Any] = {
        "config": {},
        "outputs": load_fixture("stack-output.json"),
        "resources": load_fixture("stack-export.json")["deployment"]["resources"],
    }

    def config(self: Stack, *, secrets: bool) -> dict[str, Any]:
        values = dict(answers["config"])
        if not secrets:  # as the CLI shows them without --show-secrets
            values = {key: value for key, value in values.items() if key not in answers.get("secret", ())}
        return values

    monkeypatch.setattr(Stack, "config", config)
    monkeypatch.setattr(Stack, "outputs", lambda self: answers["outputs"])
    monkeypatch.setattr(Stack, "resources", lambda self: answers["resources"])
    return answers


def _unavailable(reason: str) -> None:
    if os.environ.get("FABRICAI_ROSTER_REQUIRE_CLI") == "1":
        pytest.fail(f"the real Pulumi CLI is required here (FABRICAI_ROSTER_REQUIRE_CLI=1): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pulumi_folder() -> Path:
    """The folder holding ``pulumi`` and the Python plugins it needs."""
    named = os.environ.get("FABRICAI_ROSTER_PULUMI_BIN")
    if named:
        return Path(named)
    on_path = shutil.which("pulumi")
    if on_path:
        return Path(on_path).resolve().parent
    if not BUILD_SCRIPT.is_file():
        _unavailable("no Pulumi CLI on PATH and no tools/pulumi/build.sh to build it")
    built = subprocess.run(
        ["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=3600, check=False
    )
    if built.returncode != 0:
        _unavailable(f"building the Pulumi CLI failed: {built.stderr.strip()[-500:]}")
    return Path(built.stdout.strip().splitlines()[-1])


@dataclass
class RosterProject:
    """A Pulumi project of the roster program in a temporary folder, driven through the real CLI."""

    directory: Path
    env: dict[str, str]
    transcript: list[str] = field(default_factory=list)

    def pulumi(
        self, *args: str, stack: str, stdin: str | None = None, ok: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = ["pulumi", *args, "--non-interactive", "--color", "never", "--stack", stack]
        done = subprocess.run(
            command,
            cwd=self.directory,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        self.transcript.append(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}")
        if ok:
            assert done.returncode == 0, f"{args} failed:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
        return done

    def init_stack(self, stack: str, config: Mapping[str, Any], secrets: Mapping[str, str]) -> None:
        """Plain values in the stack file; each secret through ``config set --secret --path`` (stdin)."""
        settings = self.directory / "stacks" / f"Pulumi.{stack}.yaml"
        settings.write_text(yaml.safe_dump({"config": dict(config)}, allow_unicode=True), encoding="utf-8")
        self.pulumi("stack", "init", "--secrets-provider", "passphrase", stack=stack)
        for path, value in secrets.items():
            self.pulumi("config", "set", "--secret", "--path", path, stack=stack, stdin=value)

    def state_text(self) -> str:
        return "\n".join(
            p.read_text(encoding="utf-8", errors="replace")
            for p in (self.directory / ".state").rglob("*")
            if p.is_file()
        )


@pytest.fixture
def roster_project(
    pulumi_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RosterProject]:
    """A project of its own: local file backend, passphrase secrets, its own PULUMI_HOME; the process's
    environment points at it too, so ``fabricai-roster`` run in-process reads the same stacks."""
    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    shutil.copy(ROOT / "stacks" / "__main__.py", project / "stacks" / "__main__.py")
    shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    (project / ".venv").symlink_to(ROOT / ".venv")
    (project / "stacks" / ".venv").symlink_to(Path("..") / ".venv")
    (project / ".state").mkdir()
    settings = {
        "PATH": f"{pulumi_folder}{os.pathsep}{os.environ.get('PATH', '')}",
        "PULUMI_HOME": str(tmp_path / "pulumi-home"),
        "PULUMI_BACKEND_URL": f"file://{project / '.state'}",
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_SKIP_CONFIRMATIONS": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    }
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    running = RosterProject(project, {**os.environ, **settings})
    yield running
    (tmp_path / "transcript.txt").write_text("\n".join(running.transcript), encoding="utf-8")


PORTAL_KEY = "FAKE-portal-org-key-0001"
SECRETS = {
    "fabricai:apiKey": PORTAL_KEY,
    "procountor:clientSecret": "FAKE-procountor-client-secret",
    "netvisor:partnerKey": "FAKE-nv-partner-key-fabricai",
}
PROCOUNTOR_KEYS = {
    "2077474-0": "FAKE-pc-key-kahvila-kuppi",
    "2925630-9": "FAKE-pc-key-oljy-aijat-1",
    "1202527-2": "FAKE-pc-key-lasku-laiska",
}
NETVISOR_KEY = "FAKE-nv-customer-key-tase-1"
KAHVILA = {"businessId": "2077474-0", "name": "Kahvila Kuppi Oy", "erp": "procountor"}
KIRJA_KETTU = {
    "businessId": "1618033-3",
    "name": "Kirja-Kettu Oy",
    "erp": "netvisor",
    "netvisorCredentials": "firm",
}


def sandbox_config(url: str, clients: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack config (as ``pulumi config --json --show-secrets`` gives it) of a roster on this sandbox."""
    procountor = [c for c in clients if c["erp"] == "procountor"]
    return {
        "fabricai:portalUrl": f"{url}/portal",
        "procountor:baseUrl": f"{url}/procountor/api",
        "netvisor:baseUrl": f"{url}/netvisor",
        "procountor:clientId": "fabricai-roster-sandbox",
        "netvisor:partnerId": "FAI_fabricai",
        "netvisor:sender": "fabricai-roster tests",
        **SECRETS,
        "roster:clients": clients,
        "roster:procountorApiKeys": {c["businessId"]: PROCOUNTOR_KEYS[c["businessId"]] for c in procountor},
        "roster:netvisorCredentials": {"firm": {"customerId": "TT_tase_api_1", "customerKey": NETVISOR_KEY}},
    }


ALL_SECRETS = (*SECRETS.values(), *PROCOUNTOR_KEYS.values(), NETVISOR_KEY)
