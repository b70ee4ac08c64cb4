"""Deregistration is deliberate, through the real Pulumi engine: the program's read of its own stack's
state, the refusal before anything is declared, the confirmation, one client at a time, and ``retain``.

Each step edits the stack's settings file as a firm would, runs the CLI and looks at what the sandbox portal
holds afterwards.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from scripts.example_config import demo_secrets
from tests.cli.conftest import PulumiProject
from tests.cli.test_cli_lifecycle import Portal, stack_settings
from tests.conftest import SandboxFactory

pytestmark = pytest.mark.cli

THREE = ["1572860-0", "2077474-0", "2925630-9"]  # in business-ID order: a Netvisor, two Procountor
ONE = "1618033-3"  # a Netvisor client
RETAINED = "0174592-8"  # a Procountor client
NETVISOR = "1414213-0"  # the last Netvisor client (its credential set must stay in use)
PROTECTED = "2358253-3"


class StackFile:
    """stacks/Pulumi.sandbox.yaml, edited as a firm edits it (encrypted values stay as they are)."""

    def __init__(self, project: PulumiProject) -> None:
        self.path = project.directory / "stacks" / "Pulumi.sandbox.yaml"

    def read(self) -> dict[str, Any]:
        loaded: dict[str, Any] = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        return loaded

    def write(self, settings: dict[str, Any]) -> None:
        self.path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")

    def remove(self, *business_ids: str) -> None:
        settings = self.read()
        config = settings["config"]
        config["roster:clients"] = [
            c for c in config["roster:clients"] if c["businessId"] not in business_ids
        ]
        keys = config["roster:procountorApiKeys"]
        config["roster:procountorApiKeys"] = {k: v for k, v in keys.items() if k not in business_ids}
        self.write(settings)

    def set(self, key: str, value: Any) -> None:
        settings = self.read()
        settings["config"][key] = value
        self.write(settings)

    def set_on_client(self, business_id: str, field: str, value: Any) -> None:
        settings = self.read()
        for client in settings["config"]["roster:clients"]:
            if client["businessId"] == business_id:
                client[field] = value
        self.write(settings)


def client_outputs(project: PulumiProject) -> dict[str, Any]:
    shown: dict[str, Any] = json.loads(project.run("stack", "output", "--json", stack="sandbox").stdout)
    clients: dict[str, Any] = shown.get("clients", {})
    return clients


def test_deregistration_through_the_pulumi_cli(
    pulumi_project: PulumiProject, sandbox: SandboxFactory
) -> None:
    running = sandbox()
    portal = Portal(running)
    project = pulumi_project
    project.init_stack("sandbox", stack_settings("sandbox", running), demo_secrets("sandbox"))
    stack_file = StackFile(project)

    # A first run has no state: the read finds an empty stack and the guard passes. The read is an invoke:
    # nothing of it is kept in state (no StackReference); the stack's identity is.
    first_preview = project.run("preview", stack="sandbox").stdout
    assert "previous-run" not in first_preview and "stack-identity" in first_preview, first_preview
    up = project.run("up", "--yes", stack="sandbox").stdout
    assert "24 created" in up, up
    assert "pulumi config set roster:stackId sandbox-" in up, up
    assert len(client_outputs(project)) == 7
    deployed = stack_file.read()

    # 1. three clients leave at once: preview and up both refuse, with the list and how to confirm.
    stack_file.remove(*THREE)
    for command in (("preview",), ("up", "--yes", "--skip-preview")):
        refused = project.run(*command, stack="sandbox", expect_failure=True)
        text = refused.stdout + refused.stderr
        for name, business_id in [
            ("Kahvila Kuppi Oy", "2077474-0"),
            ("Beta Oy", "1572860-0"),
            ("Öljy-Äijät Oy", "2925630-9"),
        ]:
            assert f"{name} ({business_id})" in text, text
        assert f"roster:confirmDeregistration: [{', '.join(THREE)}]" in text
        assert "Traceback" not in text and "deleted" not in text
    for business_id in THREE:
        assert portal.fingerprint(business_id) is not None, business_id
    assert len(client_outputs(project)) == 7  # the stack's record survives the refused update

    # An invalid roster in between (a misspelt key) changes nothing either: the next run still refuses.
    stack_file.set("roster:client", [])
    project.run("up", "--yes", "--skip-preview", stack="sandbox", expect_failure=True)
    settings = stack_file.read()
    del settings["config"]["roster:client"]
    stack_file.write(settings)
    assert len(client_outputs(project)) == 7
    project.run("up", "--yes", "--skip-preview", stack="sandbox", expect_failure=True)

    # 2. confirmed by business ID: they are deregistered.
    stack_file.set("roster:confirmDeregistration", THREE)
    project.run("up", "--yes", "--skip-preview", stack="sandbox")
    for business_id in THREE:
        assert portal.client(business_id) is None, business_id
    assert set(client_outputs(project)) == {RETAINED, PROTECTED, ONE, NETVISOR}
    stack_file.set("roster:confirmDeregistration", [])

    # 3. one client at a time needs no confirmation.
    stack_file.remove(ONE)
    project.run("up", "--yes", "--skip-preview", stack="sandbox")
    assert portal.client(ONE) is None

    # 4. retain: deployed first, then the entry is removed: forgotten by the stack, kept by the portal.
    stack_file.set_on_client(RETAINED, "retain", True)
    retain_up = project.run("up", "--yes", "--skip-preview", stack="sandbox").stdout
    assert "deleted" not in retain_up
    record, fingerprint = portal.client(RETAINED), portal.fingerprint(RETAINED)
    assert record is not None and fingerprint is not None
    stack_file.remove(RETAINED)
    forgotten = project.run("up", "--yes", "--skip-preview", stack="sandbox").stdout
    assert RETAINED in forgotten
    assert portal.client(RETAINED) == record and portal.fingerprint(RETAINED) == fingerprint
    exported = json.loads(project.run("stack", "export", stack="sandbox").stdout)
    urns = [resource["urn"] for resource in exported["deployment"]["resources"]]
    assert not any(RETAINED in urn for urn in urns)
    assert set(client_outputs(project)) == {NETVISOR, PROTECTED}

    # 5. destroy runs no program: the stack's identity in state goes with the rest.
    stack_file.set_on_client(PROTECTED, "protect", False)
    project.run("up", "--yes", "--skip-preview", stack="sandbox")
    project.run("destroy", "--yes", "--skip-preview", stack="sandbox")
    assert portal.client(NETVISOR) is None and portal.client(PROTECTED) is None
    assert portal.client(RETAINED) is not None  # retained and forgotten: nothing of this stack touches it
    assert deployed["config"]["roster:clients"]  # the first settings were a full roster
