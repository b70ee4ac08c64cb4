"""A keep the state does not hold is no keep, through the real Pulumi engine.

``pulumi up --target URN`` (README passes ``-- --target URN`` on) writes the stack's outputs, with this run's
``retain`` for every client, but leaves every resource it did not target as it was, the engine's
``retainOnDelete`` included. Removing those clients next would then delete their records while the stack
output said they were retained. The guard reads each ClientCompany's own ``kept_on_removal``, recorded by the
same step that records ``retainOnDelete``, so it counts them, and refuses.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from scripts.example_config import demo_secrets
from tests.cli.conftest import PulumiProject
from tests.cli.test_cli_deregistration import StackFile
from tests.cli.test_cli_lifecycle import Portal, stack_settings
from tests.conftest import SandboxFactory

pytestmark = pytest.mark.cli

TWO = ["2077474-0", "2925630-9"]  # two Procountor clients
NETVISOR = "1572860-0"  # stays, so that the roster is never empty


def state(project: PulumiProject) -> list[dict[str, Any]]:
    exported = json.loads(project.run("stack", "export", stack="sandbox").stdout)
    resources: list[dict[str, Any]] = exported["deployment"]["resources"]
    return resources


def test_retain_recorded_by_a_targeted_run_only_in_the_outputs_does_not_keep(
    pulumi_project: PulumiProject, sandbox: SandboxFactory
) -> None:
    running = sandbox()
    portal = Portal(running)
    project = pulumi_project
    settings = stack_settings("sandbox", running)
    settings["roster:clients"] = [
        c for c in settings["roster:clients"] if c["businessId"] in [*TWO, NETVISOR]
    ]
    secrets = dict(demo_secrets("sandbox"))
    keys = secrets["roster:procountorApiKeys"]
    secrets["roster:procountorApiKeys"] = {k: v for k, v in keys.items() if k in TWO}
    project.init_stack("sandbox", settings, secrets)
    stack_file = StackFile(project)
    project.run("up", "--yes", "--skip-preview", stack="sandbox")
    identity = next(r["urn"] for r in state(project) if r["type"].endswith(":StackIdentity"))

    # retain set, applied by a run that targets only the stack's identity: the clients are not stepped.
    for business_id in TWO:
        stack_file.set_on_client(business_id, "retain", True)
    project.run("up", "--yes", "--skip-preview", "--target", identity, stack="sandbox")
    outputs = json.loads(project.run("stack", "output", "--json", stack="sandbox").stdout)
    assert all(outputs["rosterClients"][business_id]["retain"] is True for business_id in TWO)
    companies = [r for r in state(project) if r["type"].endswith(":ClientCompany")]
    assert not any(r.get("retainOnDelete") for r in companies)  # the engine would delete them

    # Both removed in one edit: two deregistrations, above the default allowance of one: refused.
    stack_file.remove(*TWO)
    refused = project.run("up", "--yes", "--skip-preview", stack="sandbox", check=False)
    assert refused.returncode != 0
    said = refused.stdout + refused.stderr
    assert "would deregister 2 clients" in " ".join(said.split()), said[-3000:]
    assert all(portal.client(business_id) is not None for business_id in TWO)
