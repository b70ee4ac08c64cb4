"""A roster's order must not decide whether a shared Netvisor credential set works.

The program verifies a credential set against its first Netvisor client. With the client whose company
the credentials' user cannot reach first, that client must fail with its own fix, and every healthy
Netvisor client on the same credentials must still connect.
"""

from __future__ import annotations

from typing import Any

from harness.driver import RosterDriver
from harness.engine import Secret
from scripts.example_config import PROGRAM, stack_config
from tests.conftest import SandboxFactory

UNREACHABLE = "2449489-3"
HEALTHY_NETVISOR = ["1572860-0", "1618033-3", "1414213-0"]


def test_an_unreachable_client_first_in_the_roster_fails_alone(
    sandbox: SandboxFactory, example_scenario: dict[str, Any]
) -> None:
    running = sandbox(example_scenario)
    config = stack_config("sandbox", running.url, Secret)
    broken = stack_config("sandbox-broken", running.url, Secret)
    unreachable = next(c for c in broken["roster:clients"] if c["businessId"] == UNREACHABLE)
    driver = RosterDriver(
        {**config, "roster:clients": [unreachable, *config["roster:clients"]]}, program=PROGRAM
    )

    report = driver.up()

    assert not report.program_errors
    assert report.names("failed") == {f"{UNREACHABLE}-netvisor"}
    message = report.failures()[f"{UNREACHABLE}-netvisor"]
    assert "Ulkopuolinen Oy (2449489-3)" in message and "cannot reach this company" in message
    assert "netvisor-credentials-firm" in report.names("create")
    assert not report.of_kind("skipped")
    assert report.names("create") >= {f"{business_id}-netvisor" for business_id in HEALTHY_NETVISOR}
    credentials = next(e for e in driver.state.values() if e.name == "netvisor-credentials-firm")
    assert credentials.outputs["verify_business_id"] == UNREACHABLE  # verified against the first client
