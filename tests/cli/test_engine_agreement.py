"""The engine stand-in (harness/) and the real Pulumi engine agree on one scenario, step by step.

The same roster goes through both, each against a sandbox of its own: an `up` whose ClientCompanies all
fail (the portal refuses the organisation key), the `up` that mends it, a `preview` that would deregister
two clients, and a `destroy` after the organisation key in stack config changed. After each step both
engines must hold the same resources in state, and both previews must show the same deletions.

Where they differed, the stand-in was fixed (the real engine is right): a preview shows deletions; a
destroy never deletes what a resource that failed to go still depends on; and commands that run no
program (refresh, destroy) configure the provider with the settings of the last update.
"""

from __future__ import annotations

import json
from typing import Any

from harness.driver import RosterDriver
from harness.engine import Secret
from scripts.example_config import PROGRAM, demo_secrets, plain_config, sandbox_urls, stack_config
from tests.cli.conftest import PulumiProject
from tests.conftest import SandboxFactory

WRONG_ORGANISATION_KEY = "FAKE-portal-org-key-wrong"
LEAVING = ["0174592-8", "1618033-3"]  # a Procountor and a Netvisor client
PROTECTED = "2358253-3"  # `protect: true` in examples/Pulumi.sandbox.yaml


def cli_state(project: PulumiProject) -> set[tuple[str, str]]:
    exported = json.loads(project.run("stack", "export", stack="sandbox").stdout)
    return {
        (resource["type"], resource["urn"].rsplit("::", 1)[1])
        for resource in exported["deployment"].get("resources", [])
        if resource["type"] not in ("pulumi:pulumi:Stack", "pulumi:providers:pulumi-python")
    }


def stand_in_state(driver: RosterDriver) -> set[tuple[str, str]]:
    return {(entry.type, entry.name) for entry in driver.state.values()}


def cli_preview_deletes(project: PulumiProject) -> set[str]:
    shown: dict[str, Any] = json.loads(project.run("preview", "--json", stack="sandbox").stdout)
    return {step["urn"].rsplit("::", 1)[1] for step in shown.get("steps", []) if step["op"] == "delete"}


def test_the_stand_in_and_the_real_engine_agree(
    pulumi_project: PulumiProject, sandbox: SandboxFactory
) -> None:
    cli_sandbox, stand_in_sandbox = sandbox(), sandbox()
    project = pulumi_project
    secrets = demo_secrets("sandbox")
    project.init_stack(
        "sandbox",
        {**plain_config("sandbox"), **sandbox_urls(cli_sandbox.url)},
        {**secrets, "fabricai:apiKey": WRONG_ORGANISATION_KEY},
    )
    config = stack_config("sandbox", stand_in_sandbox.url, Secret)
    driver = RosterDriver({**config, "fabricai:apiKey": Secret(WRONG_ORGANISATION_KEY)}, program=PROGRAM)

    # 1. every ClientCompany fails: neither engine creates an integration that depends on one.
    project.run("up", "--yes", "--skip-preview", "--continue-on-error", stack="sandbox", expect_failure=True)
    report = driver.up()
    assert not report.succeeded
    after_failures = cli_state(project)
    assert stand_in_state(driver) == after_failures
    assert not any(kind.endswith("Integration") for kind, _ in after_failures)

    # 2. the right key: both engines create the rest.
    project.set_secret("sandbox", "fabricai:apiKey", secrets["fabricai:apiKey"])
    project.run("up", "--yes", "--skip-preview", stack="sandbox")
    driver.up(config)
    assert stand_in_state(driver) == cli_state(project)

    # 3. two clients leave the roster: both previews show the same deletions (and change nothing).
    clients = [c for c in config["roster:clients"] if c["businessId"] not in LEAVING]
    keys = {k: v for k, v in config["roster:procountorApiKeys"].value.items() if k not in LEAVING}
    stack_file = project.directory / "stacks" / "Pulumi.sandbox.yaml"
    kept = stack_file.read_text(encoding="utf-8")
    listed = [c["businessId"] for c in plain_config("sandbox")["roster:clients"]]
    for index in sorted((listed.index(business_id) for business_id in LEAVING), reverse=True):
        project.run("config", "rm", "--path", f"roster:clients[{index}]", stack="sandbox")
    for business_id in LEAVING:
        if business_id in config["roster:procountorApiKeys"].value:
            path = f'roster:procountorApiKeys["{business_id}"]'
            project.run("config", "rm", "--path", path, stack="sandbox")
    # Two at once: the deregistration guard wants both confirmed (README: What a firm can and cannot lose).
    for index, business_id in enumerate(LEAVING):
        path = f"roster:confirmDeregistration[{index}]"
        project.run("config", "set", "--path", path, business_id, stack="sandbox")
    cli_deletes = cli_preview_deletes(project)
    stand_in = driver.preview(
        {
            **config,
            "roster:clients": clients,
            "roster:procountorApiKeys": Secret(keys),
            "roster:confirmDeregistration": LEAVING,
        }
    )
    assert stand_in.names("delete") == cli_deletes
    assert {f"{b}-company" for b in LEAVING} <= cli_deletes
    stack_file.write_text(kept, encoding="utf-8")

    # 4. destroy after the stack config changed: both engines configure the provider as the last `up` did
    # (the key now in config would be refused), and both keep the protected client and all it holds.
    project.set_secret("sandbox", "fabricai:apiKey", WRONG_ORGANISATION_KEY)
    project.run(
        "destroy", "--yes", "--skip-preview", "--continue-on-error", stack="sandbox", expect_failure=True
    )
    driver.config = {**config, "fabricai:apiKey": Secret(WRONG_ORGANISATION_KEY)}
    report = driver.destroy()
    left = cli_state(project)
    assert stand_in_state(driver) == left
    # The stack's identity stays too: the protected ClientCompany depends on it (and carries it).
    assert {name for _, name in left} == {
        PROTECTED,
        f"{PROTECTED}-company",
        f"{PROTECTED}-procountor",
        "stack-identity",
    }
    assert report.names("failed") >= {f"{PROTECTED}-procountor"}
