"""``doctor`` against the sandbox: the integrations' own checks, read-only, each problem with its fix."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from provider.cli.doctor import _finding
from provider.errors import PortalError
from sandbox.server import RunningSandbox
from tests.operator.conftest import ALL_SECRETS, KAHVILA, KIRJA_KETTU, run_command, sandbox_config

LASKU_LAISKA = {"businessId": "1202527-2", "name": "Lasku-Laiska Oy", "erp": "procountor"}


def test_each_problem_comes_with_its_fix_and_nothing_is_written(
    fake_stack: dict[str, Any], example_sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_stack["config"] = sandbox_config(example_sandbox.url, [KAHVILA, LASKU_LAISKA, KIRJA_KETTU])
    before = example_sandbox.admin.stats()["services"]["portal"]
    ran = run_command(capsys, "doctor")
    assert ran.code == 1, ran.out + ran.err
    out = " ".join(ran.out.split())
    # Nobody has run `pulumi up`: no client is in the portal yet.
    for label in (
        "Kahvila Kuppi Oy (2077474-0)",
        "Lasku-Laiska Oy (1202527-2)",
        "Kirja-Kettu Oy (1618033-3)",
    ):
        assert f"{label}: is not registered in the portal fix: run `pulumi up`" in out
    # Lasku-Laiska's Procountor does not allow billable interfaces: the guide's fix, in Procountor's words.
    assert "Allow the use of billable interfaces" in out
    assert out.count("✗") == 4
    assert "3 of 3 clients have problems (nothing was changed)." in out
    assert example_sandbox.admin.stats()["services"]["portal"] == before
    for secret in ALL_SECRETS:
        assert secret not in ran.out + ran.err


def test_only_the_clients_named(
    fake_stack: dict[str, Any], example_sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_stack["config"] = sandbox_config(example_sandbox.url, [KAHVILA, LASKU_LAISKA, KIRJA_KETTU])
    ran = run_command(capsys, "doctor", "FI12025272")
    assert ran.code == 1
    assert "Lasku-Laiska Oy" in ran.out and "Kahvila" not in ran.out
    assert "1 of 1 clients have problems" in ran.out
    ran = run_command(capsys, "doctor", "2925630-9")
    assert ran.code == 2 and "2925630-9 is not a client of the roster" in ran.err


def test_an_unreachable_portal_is_a_problem_named_not_a_traceback(
    fake_stack: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Port 9 (discard) on 127.0.0.1: nothing listens there.
    fake_stack["config"] = sandbox_config("http://127.0.0.1:9", [KAHVILA])
    ran = run_command(capsys, "doctor")
    assert ran.code in (1, 2)
    assert "Traceback" not in ran.out + ran.err
    assert "Kahvila Kuppi Oy (2077474-0)" in ran.out + ran.err


def test_a_netvisor_right_not_allowed_for_fabricai_is_named_with_netvisors_fix(
    fake_stack: dict[str, Any], example_sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    osto_ovi = {
        "businessId": "2236067-2",
        "name": "Osto-Ovi Kiinni Oy",
        "erp": "netvisor",
        "netvisorCredentials": "firm",
    }
    fake_stack["config"] = sandbox_config(example_sandbox.url, [osto_ovi])
    netvisor_before = example_sandbox.admin.stats()["services"]["netvisor"]
    ran = run_command(capsys, "doctor")
    assert ran.code == 1, ran.out + ran.err
    out = " ".join(ran.out.split())
    assert "Osto-Ovi Kiinni Oy (2236067-2):" in out
    assert out.count("fix:") == 2  # the portal (not registered) and Netvisor's rights
    assert "Netvisor" in out.split("fix:")[2]
    # One request at a time per customer environment, as the integration itself keeps it.
    assert example_sandbox.admin.stats()["services"]["netvisor"]["concurrencyViolations"] == 0
    assert netvisor_before["concurrencyViolations"] == 0
    for secret in ALL_SECRETS:
        assert secret not in ran.out + ran.err


def test_a_firms_stack_is_checked_by_the_portal_with_the_same_words(
    fake_stack: dict[str, Any], example_sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """No partner secret in the stack: FabricAI verifies the keys of stack config through each client's
    record (read-only), and doctor words its findings as `pulumi up` would."""
    config = sandbox_config(example_sandbox.url, [KAHVILA, LASKU_LAISKA, KIRJA_KETTU])
    for partner in (
        "procountor:clientId",
        "procountor:clientSecret",
        "netvisor:partnerId",
        "netvisor:partnerKey",
    ):
        config.pop(partner, None)
    fake_stack["config"] = config
    key = str(config["fabricai:apiKey"])
    with httpx.Client(
        base_url=f"{example_sandbox.url}/portal", headers={"Authorization": f"Bearer {key}"}
    ) as portal:
        for client in (KAHVILA, LASKU_LAISKA):  # registered, as a first `pulumi up` would have
            vat = f"FI{client['businessId'].replace('-', '')}"
            made = portal.post("/clients", json={"name": client["name"], "country": "FI", "businessId": vat})
            assert made.status_code == 201, made.text
    before = example_sandbox.admin.stats()["services"]["portal"]
    ran = run_command(capsys, "doctor")
    assert ran.code == 1, ran.out + ran.err
    out = " ".join(ran.out.split())
    assert "Allow the use of billable interfaces" in out  # Lasku-Laiska, from FabricAI's findings
    assert "Kirja-Kettu Oy (1618033-3): its ERP credentials were not checked" in out  # no record yet
    assert "Kahvila Kuppi Oy (2077474-0): has no ERP connection in the portal" in out
    assert "3 of 3 clients have problems" in out
    after = example_sandbox.admin.stats()["services"]["portal"]
    assert after.get("connections", 0) == before.get("connections", 0) == 0
    for secret in ALL_SECRETS:
        assert secret not in ran.out + ran.err


def test_a_finding_never_quotes_a_key_the_stack_holds() -> None:
    """The portal may quote a key it holds in an error; doctor's finding leaves it out, in any form."""
    key = "FAKE-pc-key-doctor-9x8y7z"
    error = PortalError(
        f"Acme Oy (2925630-9): the portal refused it (HTTP 400): stored {{'apiKey': '{key}'}}"
    )
    finding = _finding("Acme Oy (2925630-9)", error, (key,))
    assert key not in finding.message and "[redacted]" in finding.message
    assert finding.message.startswith("the portal refused it")
