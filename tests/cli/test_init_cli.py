"""``fabricai-roster init`` end to end, as a firm runs it: answering its questions in a real terminal (a pty
driven by pexpect), and with flags as a script does; then the real Pulumi CLI previews the stack it made,
against the sandbox, and shows the roster. Each test works in a temporary copy of the project
(tests/support/project_copy.py) with its home folder in the test's own folder, so the default backend
(``~/.fabricai-roster/state``) is the test's too: no stack file or backend of anyone else is touched."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
import yaml
from pydantic import SecretStr

from provider.portal import ClientBody, PortalClient
from provider.settings import PortalSettings
from tests.conftest import SandboxFactory
from tests.support.project_copy import roster_program
from tests.support.pulumi_cli import firm_shell

pytestmark = pytest.mark.cli

PORTAL_KEY = "FAKE-portal-org-key-0001"
KAHVILA_KEY = "FAKE-pc-key-kahvila-kuppi"
NETVISOR_KEY = "FAKE-nv-customer-key-tase-1"
PASSPHRASE = "kahvi-ja-pulla-2026"
PARTNER_SECRETS = ("clientSecret", "partnerKey", "client secret", "partner key")
ANSWER_SECONDS = 60


def _pulumi(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["pulumi", *args, "--non-interactive", "--color", "never"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _preview_shows_the_roster(project: Path, env: dict[str, str], stack: str, business_ids: list[str]) -> str:
    """``fabricai-roster validate`` passes and ``pulumi preview`` plans every client; returns the preview."""
    validate = subprocess.run(
        [sys.executable, "-m", "provider.cli.main", "--stack", stack, "validate"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert f"The roster is valid: {len(business_ids)} clients" in validate.stdout
    preview = _pulumi(project, env, "preview", "--stack", stack)
    assert preview.returncode == 0, preview.stdout[-4000:] + preview.stderr[-2000:]
    for business_id in business_ids:
        assert f"fabricai:roster:Client {business_id}" in preview.stdout
        assert f"ClientCompany {business_id}-company" in preview.stdout
    return preview.stdout


def _config(project: Path, env: dict[str, str], stack: str) -> dict[str, dict[str, object]]:
    shown = _pulumi(project, env, "config", "--json", "--stack", stack)
    assert shown.returncode == 0, shown.stderr
    config: dict[str, dict[str, object]] = json.loads(shown.stdout)
    return config


def test_init_in_a_terminal_then_pulumi_preview_shows_the_roster(
    pulumi_bin: Path, sandbox: SandboxFactory, tmp_path: Path
) -> None:
    running = sandbox()
    project = roster_program(tmp_path / "project")
    home = tmp_path / "home"
    home.mkdir()
    clients = tmp_path / "asiakkaat.csv"
    clients.write_text(
        "Y-tunnus;Nimi;Järjestelmä\n2077474-0;Kahvila Kuppi Oy;Procountor\n"
        "1618033-3;Kirja-Kettu Oy;Netvisor\n",
        encoding="utf-8",
    )
    env = firm_shell(pulumi_bin, home)
    transcript = tmp_path / "terminal.txt"
    with transcript.open("w", encoding="utf-8") as screen:
        terminal = pexpect.spawn(
            sys.executable,
            ["-m", "provider.cli.main", "init"],
            cwd=str(project),
            env=env,
            encoding="utf-8",
            timeout=ANSWER_SECONDS,
            dimensions=(50, 200),
        )
        terminal.logfile_read = screen  # what the terminal showed: typed secrets must not be there

        def answer(question: str, text: str) -> None:
            terminal.expect_exact(question)
            terminal.sendline(text)

        terminal.expect_exact("A team sharing one stack")
        answer("State backend [file://~/.fabricai-roster/state]: ", "")
        answer("Stack name (e.g. production): ", "our firm")
        terminal.expect_exact("use letters, digits")  # a refused answer is asked again
        answer("Stack name (e.g. production): ", "firm")
        answer("Secrets provider [passphrase]: ", "")
        terminal.expect_exact("The passphrase encrypts this stack's secrets")
        answer("New passphrase (not shown): ", PASSPHRASE)
        answer("The same passphrase again (not shown): ", "not the same")
        terminal.expect_exact("the two did not match; again")
        answer("New passphrase (not shown): ", PASSPHRASE)
        answer("The same passphrase again (not shown): ", PASSPHRASE)
        answer("FabricAI portal API [https://ai.fabricai.io]: ", f"{running.url}/portal")
        answer("FabricAI API key (fabricai:apiKey) (not shown): ", PORTAL_KEY)
        answer("Client list CSV file (empty: none): ", str(tmp_path / "asiakkaat.xlsx"))
        terminal.expect_exact("no such file")
        answer("Client list CSV file (empty: none): ", str(clients))
        answer("Also take the clients already in the portal? (y/n) [n]: ", "n")
        answer("(y/n) [y]: ", "")
        answer("Procountor API key of Kahvila Kuppi Oy (2077474-0) (not shown): ", KAHVILA_KEY)
        answer("Netvisor customer id of credential set 'firm': ", "TT_tase_api_1")
        answer("Netvisor customer key of credential set 'firm' (not shown): ", NETVISOR_KEY)
        terminal.expect_exact("Stack firm is made: 2 clients (1 Procountor, 1 Netvisor)", timeout=300)
        terminal.expect(pexpect.EOF, timeout=60)
        terminal.close()
    shown = transcript.read_text(encoding="utf-8")
    assert terminal.exitstatus == 0, shown[-3000:]
    for secret in (PASSPHRASE, PORTAL_KEY, KAHVILA_KEY, NETVISOR_KEY):
        assert secret not in shown  # read without echo, never printed
    assert "TT_tase_api_1" in shown  # a customer id is no secret: it is echoed as typed
    for partner in PARTNER_SECRETS:
        assert partner not in shown
    backend = home / ".fabricai-roster" / "state"
    flat = " ".join(shown.split())
    assert f"export PULUMI_BACKEND_URL='file://{backend}'" in flat
    assert "fabricai-roster --stack firm validate" in flat and "fabricai-roster --stack firm preview" in flat

    # What init said every run needs, then the next commands it printed.
    env |= {"PULUMI_BACKEND_URL": f"file://{backend}", "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE}
    _preview_shows_the_roster(project, env, "firm", ["2077474-0", "1618033-3"])
    config = _config(project, env, "firm")
    assert config["fabricai:apiKey"]["secret"] is True
    assert config["roster:procountorApiKeys"]["secret"] is True
    assert config["roster:netvisorCredentials"]["secret"] is True
    assert config["fabricai:portalUrl"]["value"] == f"{running.url}/portal"
    assert not any(key.startswith(("procountor:", "netvisor:")) for key in config)
    settings = (project / "stacks" / "Pulumi.firm.yaml").read_text(encoding="utf-8")
    for secret in (PASSPHRASE, PORTAL_KEY, KAHVILA_KEY, NETVISOR_KEY):
        assert secret not in settings


def test_init_with_flags_from_the_portal_then_preview_and_it_never_overwrites(
    pulumi_bin: Path, sandbox: SandboxFactory, tmp_path: Path
) -> None:
    running = sandbox()
    portal = PortalClient(PortalSettings(url=f"{running.url}/portal", api_key=SecretStr(PORTAL_KEY)))
    onboarded_by_hand = [
        ("2077474-0", "Kahvila Kuppi Oy", "procountor"),
        ("1618033-3", "Kirja-Kettu Oy", "netvisor"),
    ]
    for business_id, name, system in onboarded_by_hand:
        portal.register(business_id, ClientBody(name=name, system=system))
    project = roster_program(tmp_path / "project")
    home = tmp_path / "home"
    home.mkdir()
    env = firm_shell(pulumi_bin, home)
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(PASSPHRASE, encoding="utf-8")
    keys = tmp_path / "keys.yaml"
    keys.write_text(
        yaml.safe_dump(
            {
                "roster:procountorApiKeys": {"2077474-0": KAHVILA_KEY},
                "roster:netvisorCredentials": {
                    "firm": {"customerId": "TT_tase_api_1", "customerKey": NETVISOR_KEY}
                },
            }
        ),
        encoding="utf-8",
    )
    backend = tmp_path / "team-state"
    command = [
        sys.executable,
        "-m",
        "provider.cli.main",
        "init",
        "--yes",
        "--stack",
        "team",
        "--backend",
        f"file://{backend}",
        "--passphrase-file",
        str(passphrase),
        "--portal-url",
        f"{running.url}/portal",
        "--api-key-file",
        "-",
        "--portal",
        "--keys-file",
        str(keys),
    ]

    def init() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            cwd=project,
            env=env,
            input=PORTAL_KEY,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    made = init()
    assert made.returncode == 0, made.stdout + made.stderr
    for secret in (PASSPHRASE, PORTAL_KEY, KAHVILA_KEY, NETVISOR_KEY):
        assert secret not in made.stdout + made.stderr
    settings = project / "stacks" / "Pulumi.team.yaml"
    written = settings.read_text(encoding="utf-8")
    clients = yaml.safe_load(written)["config"]["roster:clients"]
    assert [(c["businessId"], c["adopt"]) for c in clients] == [("1618033-3", True), ("2077474-0", True)]

    env |= {"PULUMI_BACKEND_URL": f"file://{backend}", "PULUMI_CONFIG_PASSPHRASE_FILE": str(passphrase)}
    _preview_shows_the_roster(project, env, "team", ["1618033-3", "2077474-0"])
    # Each client is taken over from the portal, not registered again.
    preview = _pulumi(project, env, "preview", "--diff", "--stack", "team")
    assert len(re.findall(r"adopt\s*: true", preview.stdout)) == 2, preview.stdout[-4000:]

    # Again: the settings file is refused, and kept as it was.
    again = init()
    assert again.returncode == 2
    assert "stacks/Pulumi.team.yaml exists already" in " ".join(again.stderr.split())
    assert settings.read_text(encoding="utf-8") == written
    # Without the file (a fresh clone), the stack in the backend is refused: nothing is made over it.
    settings.rename(tmp_path / "kept.yaml")
    again = init()
    assert again.returncode == 2
    assert "stack 'team' exists already" in " ".join(again.stderr.split())
    assert not settings.exists()
    assert _pulumi(project, env, "stack", "ls", "--json").stdout.count('"name"') == 1
