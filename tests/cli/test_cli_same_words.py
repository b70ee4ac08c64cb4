"""The broken example stack through the real CLI, the firm's way and in partner mode: the same words.

A firm's stack holds no partner secret and FabricAI (the sandbox's portal, with its verifier) runs the
guide's checks; FabricAI's own staff, holding the partner secrets, run them in the provider against a
portal that stores unverified. Every broken client must fail with the same message either way, naming
the client, the cause and the fix, and nothing may be connected.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from scripts.example_config import demo_secrets, plain_config, sandbox_urls
from tests.cli.conftest import PulumiProject
from tests.conftest import SandboxFactory
from tests.support.example_roster import BROKEN, partner_settings, secrets_used
from tests.support.secret_scan import leaks

pytestmark = pytest.mark.cli


def messages(output: str) -> dict[str, str]:
    """Each broken client's error as the CLI printed it under Diagnostics, white space folded."""
    found: dict[str, str] = {}
    # The progress lines show a message's first line only: read the whole ones under Diagnostics.
    diagnostics = output.split("Diagnostics:", 1)[-1]
    for business_id, words in BROKEN.items():
        label = re.escape(words[0])
        match = re.search(rf"error: ({label}: (?:[^\n]*\n)*?\s*Fix: [^\n]*)", diagnostics)
        assert match, (business_id, output[-3000:])
        found[business_id] = " ".join(match.group(1).split())
    return found


def broken_up(project: PulumiProject, stack: str, config: dict[str, Any], secrets: dict[str, Any]) -> str:
    project.init_stack(stack, config, secrets)
    failed = project.run(
        "up", "--yes", "--skip-preview", "--continue-on-error", stack=stack, expect_failure=True
    )
    return failed.stdout + failed.stderr


def test_the_broken_stack_says_the_same_words_the_firms_way_and_in_partner_mode(
    pulumi_project: PulumiProject, sandbox: SandboxFactory, example_scenario: dict[str, Any]
) -> None:
    firm_sandbox = sandbox(example_scenario)
    partner_scenario = {
        **example_scenario,
        "portal": {**example_scenario["portal"], "verifyConnections": False},
    }
    partner_sandbox = sandbox(partner_scenario)
    plain = plain_config("sandbox-broken")
    secrets = demo_secrets("sandbox-broken")
    firm = broken_up(pulumi_project, "firm", {**plain, **sandbox_urls(firm_sandbox.url)}, secrets)
    partner = partner_settings()
    partner_out = broken_up(
        pulumi_project,
        "partner",
        {**plain, **sandbox_urls(partner_sandbox.url), **partner["plain"]},
        {**secrets, **partner["secret"]},
    )
    said_firm, said_partner = messages(firm), messages(partner_out)
    assert said_firm == said_partner
    assert len(said_firm) == len(BROKEN) == 13
    for running in (firm_sandbox, partner_sandbox):
        assert running.admin.stats()["services"]["portal"].get("connections", 0) == 0
    assert "Traceback" not in firm + partner_out
    assert not leaks("\n".join(pulumi_project.transcript), secrets_used())
