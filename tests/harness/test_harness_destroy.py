"""The engine stand-in deletes as the engine does: never what a resource that failed to go depends on."""

from __future__ import annotations

from harness.driver import RosterDriver
from harness.engine import Secret
from scripts.example_config import PROGRAM, stack_config
from tests.conftest import SandboxFactory


def test_a_company_stays_while_its_integration_could_not_be_deleted(sandbox: SandboxFactory) -> None:
    running = sandbox()
    config = stack_config("sandbox", running.url, Secret)
    driver = RosterDriver(config, program=PROGRAM)
    assert driver.up().succeeded

    # The portal refuses every call now: each integration's delete fails, so nothing it depends on goes.
    driver.deployed_config = {**config, "fabricai:apiKey": Secret("FAKE-portal-org-key-refused")}
    report = driver.destroy()
    failed = report.names("failed")
    integrations = {name for name in failed if name.endswith(("-procountor", "-netvisor"))}
    assert len(integrations) == 7
    companies = {entry.name for entry in driver.state.values() if entry.name.endswith("-company")}
    assert len(companies) == 7
    assert "netvisor-credentials-firm" in {entry.name for entry in driver.state.values()}
    assert not report.names("delete") & {f"{name.rsplit('-', 1)[0]}-company" for name in integrations}
