"""Fixtures of the operator's command tests: running ``fabricai-roster`` in-process, a stack whose Pulumi
reads are answered from JSON captured from a real run (tests/operator/fixtures/), and the real Pulumi CLI
in a temporary project for the tests that need a real stack (``roster_project``, from
tests/support/pulumi_cli.py as tests/cli uses it: how the CLI is found or built, and when its absence skips).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provider.cli.main import main
from provider.cli.stack import Stack
from tests.support.pulumi_cli import PulumiProject
from tests.support.pulumi_cli import pulumi_bin as pulumi_bin
from tests.support.pulumi_cli import pulumi_project as pulumi_project
from tests.support.pulumi_cli import roster_project as roster_project

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# A project of the roster program driven through the real CLI (``roster_project``).
RosterProject = PulumiProject


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


NETVISOR_SET = {"firm": {"customerId": "TT_tase_api_1", "customerKey": NETVISOR_KEY}}


def sandbox_config(url: str, clients: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack config (as ``pulumi config --json --show-secrets`` gives it) of a roster on this sandbox."""
    procountor = [c for c in clients if c["erp"] == "procountor"]
    netvisor = any(c["erp"] == "netvisor" for c in clients)
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
        # The shared credential set only when a client uses it: an unused one is a roster problem.
        **({"roster:netvisorCredentials": NETVISOR_SET} if netvisor else {}),
    }


ALL_SECRETS = (*SECRETS.values(), *PROCOUNTOR_KEYS.values(), NETVISOR_KEY)
