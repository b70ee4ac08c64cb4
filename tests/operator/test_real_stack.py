"""The operator's command on a real stack made with the real Pulumi CLI, and ``generate`` round-tripping:
the generated roster adopts every existing client with 0 new registrations and 0 changes on the next
``pulumi preview --expect-no-changes``."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import SandboxFactory
from tests.operator.conftest import (
    ALL_SECRETS,
    KAHVILA,
    KIRJA_KETTU,
    NETVISOR_KEY,
    SECRETS,
    RosterProject,
    run_command,
    sandbox_config,
)

pytestmark = pytest.mark.cli


def split_config(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Plain stack settings, and the secrets as ``config set --secret --path`` paths."""
    plain = {k: v for k, v in config.items() if k not in SECRETS and k != "roster:procountorApiKeys"}
    plain["roster:netvisorCredentials"] = {"firm": {"customerId": "TT_tase_api_1"}}
    secrets = dict(SECRETS)
    for business_id, key in config["roster:procountorApiKeys"].items():
        secrets[f'roster:procountorApiKeys["{business_id}"]'] = key
    secrets["roster:netvisorCredentials.firm.customerKey"] = NETVISOR_KEY
    return plain, secrets


def test_validate_status_doctor_and_generate_round_trip_on_a_real_stack(
    roster_project: RosterProject, sandbox: SandboxFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    running = sandbox()
    project = str(roster_project.directory)
    config = sandbox_config(running.url, [KAHVILA, KIRJA_KETTU])
    plain, secrets = split_config(config)
    plain["roster:rotateAfterDays"] = 365
    roster_project.init_stack("firm", plain, secrets)
    roster_project.pulumi("up", "--yes", stack="firm")

    ran = run_command(capsys, "--stack", "nosuch", "--cwd", project, "status")
    assert ran.code == 2
    assert "`pulumi config --json --stack nosuch` failed" in ran.err and "pulumi stack ls" in ran.err

    ran = run_command(capsys, "--stack", "firm", "--cwd", project, "validate")
    assert ran.code == 0, ran.err
    assert "The roster is valid: 2 clients" in ran.out

    ran = run_command(capsys, "--stack", "firm", "--cwd", project, "status", "--json")
    assert ran.code == 0, ran.err
    rows = json.loads(ran.out)
    assert [(r["business_id"], r["name"], r["connection"], r["rotate_after_days"]) for r in rows] == [
        ("1618033-3", "Kirja-Kettu Oy", "ACTIVE", 365),
        ("2077474-0", "Kahvila Kuppi Oy", "ACTIVE", 365),
    ]
    assert all(r["verified"] and r["age_days"] == 0 for r in rows)

    ran = run_command(capsys, "--stack", "firm", "--cwd", project, "doctor")
    assert ran.code == 0, ran.out + ran.err
    assert "all 2 clients passed every check" in ran.out

    # A regression between up and refresh (the sandbox's admin endpoint): Kahvila's training failed.
    kahvila = next(r["portal_id"] for r in rows if r["business_id"] == "2077474-0")
    httpx.put(
        f"{running.url}/admin/portal/clients/{kahvila}/training", json={"status": "FAILED"}
    ).raise_for_status()
    roster_project.pulumi("refresh", "--yes", stack="firm")
    ran = run_command(capsys, "--stack", "firm", "--cwd", project, "status", "--problems", "--json")
    assert ran.code == 1
    assert [(r["business_id"], r["problems"]) for r in json.loads(ran.out)] == [
        ("2077474-0", ["stage FAILED"])
    ]

    # For `firm` itself, its records are its own: no adopt needed, and the roster says so.
    ran = run_command(capsys, "--stack", "firm", "--cwd", project, "generate", "--portal")
    assert ran.code == 0, ran.err
    generated = yaml.safe_load(ran.out)["config"]["roster:clients"]
    assert not any("adopt" in entry for entry in generated)
    assert ran.out.count("this stack's own record") == 2
    for secret in ALL_SECRETS:
        assert secret not in ran.out + ran.err

    # A new stack takes over the clients `firm` registered: for it, they are another stack's records,
    # adopted, each with a comment that says so.
    registered = running.admin.stats()["services"]["portal"]["clients"]
    adopted_plain = {**plain, "roster:clients": []}
    adopted_plain.pop("roster:rotateAfterDays")
    roster_project.init_stack("adopted", adopted_plain, secrets)
    ran = run_command(capsys, "--stack", "adopted", "--cwd", project, "generate", "--portal")
    assert ran.code == 0, ran.err
    generated = yaml.safe_load(ran.out)["config"]["roster:clients"]
    assert all(entry["adopt"] is True for entry in generated)
    assert ran.out.count("ANOTHER STACK's record") == 2
    settings = roster_project.directory / "stacks" / "Pulumi.adopted.yaml"
    written = yaml.safe_load(settings.read_text(encoding="utf-8"))
    written["config"]["roster:clients"] = generated
    settings.write_text(yaml.safe_dump(written, allow_unicode=True), encoding="utf-8")
    roster_project.pulumi("up", "--yes", stack="adopted")
    assert running.admin.stats()["services"]["portal"]["clients"] == registered == 2
    roster_project.pulumi("preview", "--expect-no-changes", stack="adopted")
    for secret in ALL_SECRETS:
        assert secret not in "\n".join(roster_project.transcript)


def test_missing_settings_stop_preview_and_up_before_any_portal_write(
    roster_project: RosterProject, sandbox: SandboxFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 19, through the real CLI: no portal key, and local verification without the Netvisor partner
    key. `validate`, `preview` and `up` all name both settings with their commands; `up` registers nothing."""
    running = sandbox()
    plain, secrets = split_config(sandbox_config(running.url, [KAHVILA, KIRJA_KETTU]))
    del secrets["fabricai:apiKey"], secrets["netvisor:partnerKey"]
    plain["fabricai:verification"] = "local"
    roster_project.init_stack("firstday", plain, secrets)
    commands = (
        "pulumi config set --secret fabricai:apiKey <key>",
        "pulumi config set --secret netvisor:partnerKey <partner key>",
    )

    ran = run_command(capsys, "--stack", "firstday", "--cwd", str(roster_project.directory), "validate")
    assert ran.code == 1 and "The roster has 2 problems:" in ran.out
    assert all(command in " ".join(ran.out.split()) for command in commands), ran.out
    for command_line in (("preview",), ("up", "--yes")):
        result = roster_project.pulumi(*command_line, stack="firstday", ok=False)
        said = " ".join((result.stdout + result.stderr).split())
        assert result.returncode != 0 and all(command in said for command in commands), said
        assert "Traceback" not in said
    assert running.admin.stats()["services"]["portal"]["clients"] == 0
    for secret in ALL_SECRETS:
        assert secret not in "\n".join(roster_project.transcript) + ran.out + ran.err
