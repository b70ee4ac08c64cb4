"""A firm's first day, through the real Pulumi CLI against the sandbox, command by command as docs/OPERATOR.md
("Your own firm", "A first day, end to end") gives them:

The docs' commands are checked against what the test ran.

1. ``fabricai-roster init`` with the firm's client list (5 clients: 3 Procountor, 2 Netvisor on one credential
   set) and ``--keys-later``;
2. ``fabricai-roster validate`` reports every missing key in one go, each with its ``pulumi config set``
   command; the keys are set with exactly those commands (value on stdin), and validate passes;
3. ``pulumi up`` connects all 5 (each integration ACTIVE, ``erp_health`` OK in the state);
4. the drift check (``fabricai-roster --stack firm refresh --preview-only -- --expect-no-changes``) exits 0;
5. a client is renamed in the portal by hand (the public PATCH, sending the whole record);
6. the drift check exits 1, naming the client;
7. ``pulumi refresh --yes`` records it, and ``fabricai-roster status --html FILE`` shows it;
8. ``pulumi up`` puts the roster's name back: the drift check and status are quiet again.

Everything runs in a temporary project (tests/support/project_copy.py) whose home folder is the test's own, so
init's default backend (``~/.fabricai-roster/state``) is the test's too: no stack of anyone else is touched.
No secret may appear in anything printed or written in plain text.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from scripts.example_config import demo_secrets
from tests.cli.test_cli_lifecycle import Portal
from tests.conftest import SandboxFactory
from tests.support.project_copy import roster_program
from tests.support.pulumi_cli import firm_shell

pytestmark = pytest.mark.cli

PASSPHRASE = "first-day-passphrase-2026"
SECRETS = demo_secrets("sandbox")
PORTAL_KEY = str(SECRETS["fabricai:apiKey"])
PROCOUNTOR_KEYS: dict[str, str] = {
    business_id: SECRETS["roster:procountorApiKeys"][business_id]
    for business_id in ("2925630-9", "2077474-0", "0174592-8")
}
# The firm's Netvisor credentials (examples/sandbox.yaml: customer TT_tase_api_1; the id is no secret).
NETVISOR_ID = "TT_tase_api_1"
NETVISOR_KEY = str(SECRETS["roster:netvisorCredentials"]["firm"]["customerKey"])
ALL_SECRETS = (PASSPHRASE, PORTAL_KEY, NETVISOR_KEY, *PROCOUNTOR_KEYS.values())
# The firm's client list as Excel exports it in Finland (";", Finnish headers), no keys in it.
CLIENT_LIST = (
    "Y-tunnus;Nimi;Järjestelmä\n"
    "2925630-9;Öljy-Äijät Oy;Procountor\n"
    "2077474-0;Kahvila Kuppi Oy;Procountor\n"
    "0174592-8;Metsä-Mökit Ky;Procountor\n"
    "1572860-0;Beta Oy;Netvisor\n"
    "1618033-3;Kirja-Kettu Oy;Netvisor\n"
)
CLIENTS = ["0174592-8", "1572860-0", "1618033-3", "2077474-0", "2925630-9"]
RENAMED = "1618033-3"
HAND_NAME = "Kirja-Kettu Renamed By Hand Oy"
COMMAND_SECONDS = 600
ROOT = Path(__file__).resolve().parents[2]
# The sandbox's portal as docs/OPERATOR.md's first day names it.
DOCUMENTED_PORTAL = "http://127.0.0.1:8765/portal"


class Firm:
    """The firm's shell: its project folder, its environment, and every command's output kept."""

    def __init__(self, project: Path, env: dict[str, str]) -> None:
        self.project = project
        self.env = env
        self.said: list[str] = []
        self.commands: list[list[str]] = []

    def run(self, *command: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            list(command),
            cwd=self.project,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=COMMAND_SECONDS,
            check=False,
        )
        self.said.append(f"$ {shlex.join(command)}\n{done.stdout}{done.stderr}")
        self.commands.append(list(command))
        return done

    def ok(self, *command: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        done = self.run(*command, stdin=stdin)
        assert done.returncode == 0, f"{command}:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
        return done

    def drift_check(self) -> subprocess.CompletedProcess[str]:
        """The docs' scheduled drift check, as the cron line runs it."""
        return self.run(
            "fabricai-roster", "--stack", "firm", "refresh", "--preview-only", "--", "--expect-no-changes"
        )

    def state(self) -> list[dict[str, Any]]:
        exported = json.loads(self.ok("pulumi", "stack", "export", "--stack", "firm").stdout)
        resources: list[dict[str, Any]] = exported["deployment"]["resources"]
        return resources


def exports(printed: str) -> dict[str, str]:
    """The ``export NAME='value'`` lines init printed."""
    return dict(re.findall(r"^\s*export (PULUMI_BACKEND_URL)='([^']+)'", printed, flags=re.MULTILINE))


def set_commands(printed: str) -> list[str]:
    return [line.strip() for line in printed.splitlines() if line.strip().startswith("pulumi config set")]


def value_for(command: str) -> str:
    """What the firm types at the prompt of one printed ``pulumi config set`` command."""
    for business_id, key in PROCOUNTOR_KEYS.items():
        if f'["{business_id}"]' in command:
            return key
    if ".customerId" in command:
        return NETVISOR_ID
    assert ".customerKey" in command, command
    return NETVISOR_KEY


class Rows(HTMLParser):
    """The report's table rows: (whether the row is marked as a problem, its cells' text)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[bool, list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append((("class", "problem") in attrs, []))
        elif tag == "td":
            self._cell = []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1][1].append("".join(self._cell))
            self._cell = None


def report_rows(path: Path) -> dict[str, tuple[bool, list[str]]]:
    parser = Rows()
    parser.feed(path.read_text(encoding="utf-8"))
    return {cells[0]: (problem, cells) for problem, cells in parser.rows if cells}


def documented_commands() -> list[list[str]]:
    """The commands of docs/OPERATOR.md's "A first day, end to end" block, as argument lists (comments, the
    ``export`` lines and the stdin redirection left out)."""
    text = (ROOT / "docs" / "OPERATOR.md").read_text(encoding="utf-8")
    section = text.split("### 6. A first day, end to end", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0].replace("\\\n", " ")
    commands = []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if not words or words[0] == "export":
            continue
        commands.append(words[: words.index("<")] if "<" in words else words)
    return commands


def documented_validate() -> str:
    """What the docs' first day shows ``validate`` printing on the new stack."""
    text = (ROOT / "docs" / "OPERATOR.md").read_text(encoding="utf-8")
    section = text.split("### 6. A first day, end to end", 1)[1]
    return section.split("`validate` on the new stack (exit 1):\n\n```\n", 1)[1].split("```", 1)[0]


def test_a_firms_first_day(pulumi_bin: Path, sandbox: SandboxFactory, tmp_path: Path) -> None:
    running = sandbox()
    portal_url = f"{running.url}/portal"
    home = tmp_path / "home"
    home.mkdir()
    firm = Firm(roster_program(tmp_path / "project"), firm_shell(pulumi_bin, home))
    (tmp_path / "asiakkaat.csv").write_text(CLIENT_LIST, encoding="utf-8")
    passphrase = home / ".config" / "fabricai" / "passphrase"
    passphrase.parent.mkdir(parents=True)
    passphrase.write_text(PASSPHRASE, encoding="utf-8")
    passphrase.chmod(0o600)
    try:
        _first_day(firm, running, portal_url, passphrase, tmp_path)
    finally:
        (tmp_path / "transcript.txt").write_text("\n".join(firm.said), encoding="utf-8")
    printed = "\n".join(firm.said)
    for secret in ALL_SECRETS:
        assert secret not in printed
    settings = (firm.project / "stacks" / "Pulumi.firm.yaml").read_text(encoding="utf-8")
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    for secret in ALL_SECRETS:
        assert secret not in settings and secret not in report
    for partner in ("clientSecret", "partnerKey"):
        assert partner not in settings

    # The docs show what this test ran, in this order (the test's paths in the docs' words).
    shown = {
        str(passphrase): "~/.config/fabricai/passphrase",
        portal_url: DOCUMENTED_PORTAL,
        str(tmp_path / "asiakkaat.csv"): "asiakkaat.csv",
        str(tmp_path / "report.html"): "report.html",
    }
    ran = iter([[shown.get(word, word) for word in command] for command in firm.commands])
    for command in documented_commands():
        assert any(command == done for done in ran), (
            f"docs/OPERATOR.md shows {command}, not run in this order"
        )


def _first_day(firm: Firm, running: Any, portal_url: str, passphrase: Path, tmp_path: Path) -> None:
    # 1. init, the keys left for later (the portal key on stdin).
    made = firm.ok(
        "fabricai-roster", "init", "--yes", "--stack", "firm", "--passphrase-file", str(passphrase),
        "--portal-url", portal_url, "--api-key-file", "-", "--csv", str(tmp_path / "asiakkaat.csv"),
        "--keys-later",
        stdin=PORTAL_KEY,
    )  # fmt: skip
    assert "Stack firm is made: 5 clients (3 Procountor, 2 Netvisor)" in made.stdout
    later = set_commands(made.stdout)
    assert len(later) == 5, made.stdout
    # What init said every run needs: its backend, and the passphrase file.
    firm.env |= {**exports(made.stdout), "PULUMI_CONFIG_PASSPHRASE_FILE": str(passphrase)}
    assert firm.env["PULUMI_BACKEND_URL"] == f"file://{firm.env['HOME']}/.fabricai-roster/state"

    # 2. validate: every missing key at once, each with its command; set with exactly those commands.
    missing = firm.run("fabricai-roster", "--stack", "firm", "validate")
    assert missing.returncode == 1, missing.stdout + missing.stderr
    assert "The roster has 5 problems" in missing.stdout
    assert missing.stdout.strip() == documented_validate().strip()  # the docs show it as it is
    for business_id in CLIENTS:
        assert business_id in missing.stdout
    commands = set_commands(missing.stdout.split("To set the clients' keys still missing", 1)[1])
    assert commands == [
        "pulumi config set --secret --path 'roster:procountorApiKeys[\"0174592-8\"]' --stack firm",
        "pulumi config set --secret --path 'roster:procountorApiKeys[\"2077474-0\"]' --stack firm",
        "pulumi config set --secret --path 'roster:procountorApiKeys[\"2925630-9\"]' --stack firm",
        "pulumi config set --path roster:netvisorCredentials.firm.customerId --stack firm",
        "pulumi config set --secret --path roster:netvisorCredentials.firm.customerKey --stack firm",
    ]
    assert sorted(commands) == sorted(later)  # init's list and validate's are one list
    for command in commands:
        firm.ok(*shlex.split(command), stdin=value_for(command))
    valid = firm.ok("fabricai-roster", "--stack", "firm", "validate")
    assert (
        "The roster is valid: 5 clients (3 Procountor, 2 Netvisor), 1 Netvisor credential set" in valid.stdout
    )
    config = json.loads(firm.ok("pulumi", "config", "--json", "--stack", "firm").stdout)
    assert config["roster:procountorApiKeys"]["secret"] is True
    assert config["roster:netvisorCredentials"]["secret"] is True

    # 3. up: every client connected, its ERP side healthy, in the state.
    firm.ok("fabricai-roster", "--stack", "firm", "preview")
    up = firm.ok("fabricai-roster", "--stack", "firm", "up", "--yes")
    assert "error" not in up.stdout.lower()
    integrations = {
        r["urn"].rsplit("::", 1)[1]: r["outputs"] for r in firm.state() if r["type"].endswith("Integration")
    }
    assert sorted(integrations) == [
        "0174592-8-procountor",
        "1572860-0-netvisor",
        "1618033-3-netvisor",
        "2077474-0-procountor",
        "2925630-9-procountor",
    ]
    for name, outputs in integrations.items():
        assert outputs["status"] == "ACTIVE" and outputs["erp_health"] == "OK", (name, outputs)
    healthy = firm.ok("fabricai-roster", "--stack", "firm", "status")
    assert "5 clients, 0 with problems" in healthy.stdout

    # 4. The drift check: quiet right after up.
    quiet = firm.drift_check()
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr

    # 5. A hand edit in the portal: a client renamed (the public PATCH takes a whole record).
    portal = Portal(running)
    listed = portal.client(RENAMED)
    assert listed is not None
    record = portal.http.get(f"/clients/{listed['id']}").raise_for_status().json()["data"]
    portal.http.patch(f"/clients/{listed['id']}", json={**record, "name": HAND_NAME}).raise_for_status()

    # 6. The drift check finds it, naming the client and the field.
    drifted = firm.drift_check()
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    assert f"ClientCompany {RENAMED}-company update [diff: ~name]" in drifted.stdout
    assert "no changes were expected" in drifted.stderr and "Drift:" in drifted.stderr

    # 7. Recorded by a refresh, it shows in status and its HTML report.
    firm.ok("fabricai-roster", "--stack", "firm", "refresh", "--yes")
    report = tmp_path / "report.html"
    shown = firm.run("fabricai-roster", "--stack", "firm", "status", "--html", str(report))
    assert shown.returncode == 1, shown.stdout + shown.stderr
    rows = report_rows(report)
    assert sorted(rows) == CLIENTS
    problem, cells = rows[RENAMED]
    assert problem and cells[1] == HAND_NAME
    assert f"named '{HAND_NAME}' in the portal, 'Kirja-Kettu Oy' in the roster" in cells[-1]
    assert [b for b, (marked, _) in rows.items() if marked] == [RENAMED]
    assert "5 clients, 1 with problems" in report.read_text(encoding="utf-8")

    # 8. up puts the roster's name back: the drift check and status are quiet again.
    firm.ok("fabricai-roster", "--stack", "firm", "up", "--yes")
    back = portal.client(RENAMED)
    assert back is not None and back["name"] == "Kirja-Kettu Oy"
    again = firm.drift_check()
    assert again.returncode == 0, again.stdout + again.stderr
    assert "5 clients, 0 with problems" in firm.ok("fabricai-roster", "--stack", "firm", "status").stdout
