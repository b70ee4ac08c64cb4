"""The main job through the real Pulumi engine: the example roster's life, driven by the Pulumi CLI.

The CLI is the one a firm runs (built from Pulumi's Go modules here, see tests/support/pulumi_cli.py); the
program, the providers and the sandbox are the project's. Every step asserts on what the CLI prints and
on what the sandbox portal holds afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sandbox.server import RunningSandbox
from scripts import portal_drift
from scripts.example_config import demo_secrets, plain_config, sandbox_urls
from tests.cli.conftest import PulumiProject
from tests.conftest import SandboxFactory
from tests.support.example_roster import BROKEN, HEALTHY, NETVISOR, portal_http, secrets_used
from tests.support.secret_scan import leaks, pickled_providers

pytestmark = pytest.mark.cli

PROTECTED = "2358253-3"
# The rotated keys differ in every form a secret may be echoed or stored in (tests/support/secret_scan.py).
ROTATED_KEY = "FAKE-pc-key/Öljy+Äijät=2"
ROTATED_NETVISOR_KEY = "FAKE-nv-key/Tase+2=ä"


SECRETS = secrets_used(ROTATED_KEY, ROTATED_NETVISOR_KEY)


class Portal:
    """What the sandbox portal holds, read through its API and admin endpoints."""

    def __init__(self, running: RunningSandbox) -> None:
        self.running = running
        self.http = portal_http(running)

    def clients(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        page = 1
        while True:
            response = self.http.get("/clients", params={"page": page, "limit": 50})
            response.raise_for_status()
            items: list[dict[str, Any]] = response.json()["data"]
            # The portal speaks the VAT form (FI29256309); the roster the Y-tunnus (2925630-9).
            found.update({_y_tunnus(str(item["businessId"])): item for item in items})
            if len(items) < 50:
                return found
            page += 1

    def client(self, business_id: str) -> dict[str, Any] | None:
        return self.clients().get(business_id)

    def fingerprint(self, business_id: str) -> str | None:
        client = self.client(business_id)
        return None if client is None else self.running.admin.credentials_fingerprint(int(client["id"]))


def _y_tunnus(vat_form: str) -> str:
    return f"{vat_form[2:9]}-{vat_form[9]}" if vat_form.startswith("FI") else vat_form


def stack_settings(stack: str, running: RunningSandbox) -> dict[str, Any]:
    return {**plain_config(stack), **sandbox_urls(running.url)}


def outputs(project: PulumiProject, stack: str) -> dict[str, Any]:
    shown = project.run("stack", "output", "--json", stack=stack).stdout
    loaded: dict[str, Any] = json.loads(shown)
    return loaded


def with_rotated_keys(scenario: dict[str, Any]) -> dict[str, Any]:
    """The example sandbox, where the second Procountor key of Öljy-Äijät and the second Netvisor
    customer's key are the rotated keys above."""
    company = next(c for c in scenario["procountor"]["companies"] if c["businessId"] == "2925630-9")
    company["apiKeys"][1]["key"] = ROTATED_KEY
    customer = next(c for c in scenario["netvisor"]["customers"] if c["id"] == "TT_tase_api_2")
    customer["key"] = ROTATED_NETVISOR_KEY
    return scenario


def test_the_example_roster_through_the_pulumi_cli(
    pulumi_project: PulumiProject, sandbox: SandboxFactory, example_scenario: dict[str, Any], tmp_path: Path
) -> None:
    running = sandbox(with_rotated_keys(example_scenario))
    portal = Portal(running)
    project = pulumi_project
    project.init_stack("sandbox", stack_settings("sandbox", running), demo_secrets("sandbox"))

    # 1. up: every client of the roster is registered and connected.
    up = project.run("up", "--yes", stack="sandbox").stdout
    assert "24 created" in up, up  # 22 resources, the stack identity and the stack
    for business_id in HEALTHY:
        assert f"{business_id}-company" in up
        assert portal.fingerprint(business_id) is not None, business_id
    shown = outputs(project, "sandbox")
    assert shown["clientsByErp"] == {"netvisor": 3, "procountor": 4}
    assert set(shown["clients"]) == set(HEALTHY)
    # The stack holds only what a firm holds (no partner id or secret): FabricAI verified every client.
    config = project.run("config", "--json", stack="sandbox").stdout
    assert "partnerKey" not in config and "clientSecret" not in config and "clientId" not in config
    integrations = [
        resource["outputs"]
        for resource in json.loads(project.run("stack", "export", stack="sandbox").stdout)["deployment"][
            "resources"
        ]
        if resource["type"].endswith(("ProcountorIntegration", "NetvisorIntegration"))
    ]
    assert len(integrations) == 7
    assert {outputs["erp_health"] for outputs in integrations} == {"OK"}
    assert all(outputs["verified_rights"] for outputs in integrations)

    # 2. rotation with `config set --secret --path`: the preview names only what rotates, keys hidden.
    before = {business_id: portal.fingerprint(business_id) for business_id in HEALTHY}
    project.set_secret("sandbox", 'roster:procountorApiKeys["2925630-9"]', ROTATED_KEY)
    project.set_secret("sandbox", 'roster:netvisorCredentials["firm"]["customerKey"]', ROTATED_NETVISOR_KEY)
    project.run(
        "config",
        "set",
        "--path",
        'roster:netvisorCredentials["firm"]["customerId"]',
        "TT_tase_api_2",
        stack="sandbox",
    )
    preview = project.run("preview", "--diff", stack="sandbox").stdout
    assert "fabricai:ProcountorIntegration::2925630-9-procountor]" in preview
    assert "fabricai:ProcountorIntegration::2077474-0-procountor]" not in preview
    assert "[secret]" in preview
    assert "5 to update" in preview, preview  # the credential set, 3 Netvisor + 1 Procountor integrations
    project.run("up", "--yes", "--skip-preview", stack="sandbox")
    for business_id in HEALTHY:
        changed = portal.fingerprint(business_id) != before[business_id]
        assert changed == (business_id in ["2925630-9", *NETVISOR]), business_id

    # 3. drift: a client changed and another deleted in the portal by hand; refresh sees both, up mends.
    portal_drift.main([running.service_url("portal"), "--change", "2077474-0", "--delete", "0174592-8"])
    refresh = project.run("refresh", "--yes", stack="sandbox").stdout
    assert "2077474-0-company" in refresh and "0174592-8-company" in refresh
    assert "deleted" in refresh
    project.run("up", "--yes", "--skip-preview", stack="sandbox")
    assert portal.client("0174592-8") is not None and portal.fingerprint("0174592-8") is not None
    no_changes = project.run("preview", "--expect-no-changes", stack="sandbox").stdout
    assert "unchanged" in no_changes

    # 4. the broken clients: each fails with its fix; the engine skips what depends on a failure.
    project.init_stack("broken", stack_settings("sandbox-broken", running), demo_secrets("sandbox-broken"))
    failed = project.run(
        "up", "--yes", "--skip-preview", "--continue-on-error", stack="broken", expect_failure=True
    )
    text = failed.stdout + failed.stderr
    for business_id, words in BROKEN.items():
        for word in [*words, "Fix:"]:
            assert word in text, (business_id, word)
        assert portal.fingerprint(business_id) is None
    assert "Traceback" not in text

    # 5. protect: the protected client cannot be deregistered by dropping it from the roster.
    stack_file = project.directory / "stacks" / "Pulumi.sandbox.yaml"
    kept = stack_file.read_text(encoding="utf-8")
    protected_index = [c["businessId"] for c in plain_config("sandbox")["roster:clients"]].index(PROTECTED)
    project.run("config", "rm", "--path", f"roster:clients[{protected_index}]", stack="sandbox")
    project.run("config", "rm", "--path", f'roster:procountorApiKeys["{PROTECTED}"]', stack="sandbox")
    refused = project.run("up", "--yes", "--skip-preview", stack="sandbox", expect_failure=True)
    assert "protect" in refused.stdout + refused.stderr
    assert portal.fingerprint(PROTECTED) is not None
    stack_file.write_text(kept, encoding="utf-8")  # the firm takes its edit back

    # 6. destroy (protect lifted first, as a firm would): every record and connection is gone.
    project.run(
        "config", "set", "--path", f"roster:clients[{protected_index}].protect", "false", stack="sandbox"
    )
    project.run("up", "--yes", "--skip-preview", stack="sandbox")
    project.run("destroy", "--yes", "--skip-preview", stack="sandbox")
    project.run("destroy", "--yes", "--skip-preview", stack="broken")
    left = portal.clients()
    assert not set(left) & (set(HEALTHY) | set(BROKEN)), left

    # No secret anywhere, in any form: what the CLI printed (outputs, errors, the provider's log lines),
    # the state files and their backups, and the pickled providers inside them.
    state = project.state_text()
    assert pickled_providers(state), "the state holds serialized providers: the scan must decode them"
    assert not leaks("\n".join([*project.transcript, state, pickled_providers(state)]), SECRETS)
