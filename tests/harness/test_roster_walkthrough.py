"""The walk-through on examples/ without the CLI: real program and providers, the engine driver, a sandbox.

One stack goes through the life a firm's roster has: connect everything (the broken clients fail with the
guides' fixes), drop the broken ones, rotate keys, change a client, move a client to another ERP (its
portal record is replaced, the old one removed first), remove clients (a protected one refuses), and find
changes made in the portal behind Pulumi's back.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.driver import RosterDriver, RunReport
from harness.engine import Secret
from sandbox.server import RunningSandbox
from scripts import portal_drift
from scripts.example_config import PROGRAM, stack_config
from tests.conftest import SandboxFactory
from tests.support.example_roster import BROKEN, HEALTHY, NETVISOR, portal_http, secrets_used

ROTATED_KEY = "FAKE-pc-key-oljy-aijat-2"
ROTATED_NETVISOR = {"customerId": "TT_tase_api_2", "customerKey": "FAKE-nv-customer-key-tase-2"}


def broken_erps(broken: dict[str, Any]) -> list[tuple[str, str]]:
    return [(client["businessId"], client["erp"]) for client in broken["roster:clients"]]


def names(business_ids: list[str], *suffixes: str) -> set[str]:
    return {f"{business_id}{suffix}" for business_id in business_ids for suffix in suffixes}


class Portal:
    """What the sandbox portal holds, read through its API and admin endpoints."""

    def __init__(self, running: RunningSandbox) -> None:
        self.running = running
        self.http = portal_http(running)

    def clients(self, business_id: str) -> list[dict[str, Any]]:
        """Every record of this business ID: the public API has no filter, so the list is read by pages."""
        wanted, found, page = "FI" + business_id.replace("-", ""), [], 1
        while True:
            response = self.http.get("/clients", params={"page": page, "limit": 50})
            response.raise_for_status()
            items: list[dict[str, Any]] = response.json()["data"]
            found += [item for item in items if item["businessId"] == wanted]
            if len(items) < 50:
                return found
            page += 1

    def client(self, business_id: str) -> dict[str, Any] | None:
        found = self.clients(business_id)
        assert len(found) <= 1, f"two records of {business_id}"
        return found[0] if found else None

    def connection(self, business_id: str) -> dict[str, Any] | None:
        client = self.client(business_id)
        return None if client is None else self.running.admin.portal_connection(int(client["id"]))


SECOND_SAUNA_KEY = "FAKE-pc-key-sauna-saarinen-2"


def example_scenario_with_a_netvisor_twin(scenario: dict[str, Any]) -> dict[str, Any]:
    """examples/sandbox.yaml plus Kahvila Kuppi Oy in Netvisor too, so it can move there (step 4)."""
    netvisor = scenario["netvisor"]
    netvisor["companies"].append(
        {
            "businessId": "2077474-0",
            "name": "Kahvila Kuppi Oy",
            "resourceRights": {
                "FAI_fabricai": ["purchaseInvoices", "accountingMaterial", "calculationTargets"]
            },
            "dimensions": [{"name": "Kustannuspaikka", "items": ["Kahvila", "Leipomo"]}],
        }
    )
    for customer in netvisor["customers"]:
        customer["companies"].append("2077474-0")
    # One roster holds both stacks' clients here, and one API key under two business IDs is a roster problem:
    # Harhautettu Oy gets a second key of Sauna-Saarinen Oy's company (still "the key of another company").
    sauna = next(c for c in scenario["procountor"]["companies"] if c["businessId"] == "2358253-3")
    sauna["apiKeys"].append({**sauna["apiKeys"][0], "key": SECOND_SAUNA_KEY})
    return scenario


def assert_no_secret_in(report: RunReport, driver: RosterDriver) -> None:
    text = report.summary() + "\n".join(operation.message for operation in report.operations)
    text += repr([entry.outputs for entry in driver.state.values()]) + repr(driver.outputs)
    for secret in secrets_used(ROTATED_KEY, ROTATED_NETVISOR["customerKey"]):
        assert secret not in text


def test_the_walkthrough_on_the_example_roster(
    sandbox: SandboxFactory, example_scenario: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    running = sandbox(example_scenario_with_a_netvisor_twin(example_scenario))
    portal = Portal(running)
    config = stack_config("sandbox", running.url, Secret)
    broken = stack_config("sandbox-broken", running.url, Secret)
    healthy_clients = list(config["roster:clients"])
    healthy_keys = dict(config["roster:procountorApiKeys"].value)
    driver = RosterDriver(
        {
            **config,
            "roster:clients": healthy_clients + broken["roster:clients"],
            "roster:procountorApiKeys": Secret(
                {**healthy_keys, **broken["roster:procountorApiKeys"].value, "1632707-5": SECOND_SAUNA_KEY}
            ),
        },
        program=PROGRAM,
    )

    # 1. up: every healthy client connects; every broken one fails with its fix, the rest still connect.
    report = driver.up()
    assert not report.program_errors
    assert report.names("create") >= names(HEALTHY, "", "-company") | {"netvisor-credentials-firm"}
    assert report.names("create") >= {f"{b}-procountor" for b in HEALTHY if b not in NETVISOR}
    assert report.names("create") >= names(NETVISOR, "-netvisor")
    assert report.names("failed") == {f"{business_id}-{erp}" for business_id, erp in broken_erps(broken)}
    for business_id, words in BROKEN.items():
        message = next(op.error for op in report.of_kind("failed") if op.name.startswith(business_id))
        for word in [*words, "Fix:"]:
            assert word in message, (business_id, word, message)
    assert all(portal.connection(business_id) for business_id in HEALTHY)
    assert not any(portal.connection(business_id) for business_id in BROKEN)
    assert driver.outputs["clientsByErp"] == {"netvisor": 7, "procountor": 13}
    assert driver.outputs["clients"]["2925630-9"]["connection"] == "ACTIVE"
    assert_no_secret_in(report, driver)

    # 1b. the broken clients leave the roster: their portal records are deregistered, nothing else moves.
    # 13 at once: the deregistration guard wants each confirmed (roster:confirmDeregistration).
    config = {
        **config,
        "roster:clients": healthy_clients,
        "roster:procountorApiKeys": Secret(healthy_keys),
        "roster:confirmDeregistration": list(BROKEN),
    }
    report = driver.up(config)
    assert report.names("delete") == names(list(BROKEN), "", "-company")
    assert not report.of_kind("create", "update", "replace", "failed")
    assert not any(portal.client(business_id) for business_id in BROKEN)

    # 2. rotation of one Procountor key and of the shared Netvisor credentials: only those integrations.
    prints_before = {business_id: portal.connection(business_id) for business_id in HEALTHY}
    config = {
        **config,
        "roster:procountorApiKeys": Secret({**healthy_keys, "2925630-9": ROTATED_KEY}),
        "roster:netvisorCredentials": Secret({"firm": ROTATED_NETVISOR}),
    }
    report = driver.up(config)
    rotated = {"2925630-9-procountor", "netvisor-credentials-firm"} | names(NETVISOR, "-netvisor")
    assert report.names("update") == rotated
    assert not report.of_kind("create", "delete", "replace", "failed")
    for business_id in HEALTHY:
        connection, before = portal.connection(business_id), prints_before[business_id]
        assert connection is not None and before is not None
        changed = connection["credentialsFingerprint"] != before["credentialsFingerprint"]
        assert changed == (business_id in ["2925630-9", *NETVISOR]), business_id
        assert connection["id"] == before["id"]  # rotated in place, not reconnected
    assert_no_secret_in(report, driver)

    # 3. one client's process and VAT change: only its ClientCompany updates.
    clients = [dict(client) for client in healthy_clients]
    clients[1] = {**clients[1], "process": "alternative", "vat": {"mode": "partial", "deductionPercent": 24}}
    config = {**config, "roster:clients": clients}
    report = driver.up(config)
    assert report.names("update") == {"2077474-0-company"}
    assert not report.of_kind("create", "delete", "replace", "failed")
    kahvila = portal.client("2077474-0")
    assert kahvila is not None and kahvila["tags"]["process"] == "alternative"

    # 4. the client moves from Procountor to Netvisor: the portal cannot change a record's system, so the
    # ClientCompany is replaced (the old record removed first: never two of one business ID) and connected
    # to Netvisor; the old Procountor connection went with the old record.
    portal_id = kahvila["id"]
    clients[1] = {**clients[1], "erp": "netvisor", "netvisorCredentials": "firm"}
    keys = {
        key: value for key, value in config["roster:procountorApiKeys"].value.items() if key != "2077474-0"
    }
    config = {**config, "roster:clients": clients, "roster:procountorApiKeys": Secret(keys)}
    report = driver.up(config)
    assert report.names("replace") == {"2077474-0-company"}
    assert report.names("create") == {"2077474-0-netvisor"}
    assert report.names("delete") == {"2077474-0-procountor"}
    assert not report.of_kind("update", "failed")
    moved = portal.client("2077474-0")
    assert moved is not None and moved["id"] != portal_id and moved["system"] == "netvisor"
    connection = portal.connection("2077474-0")
    assert connection is not None and connection["system"] == "netvisor"
    assert running.admin.stats()["services"]["portal"].get("duplicateRegistrations", 0) == 0

    # 5. two clients leave: the unprotected one is deregistered, the protected one refuses loudly.
    gone, protected = "0174592-8", "2358253-3"
    config = {
        **config,
        "roster:clients": [c for c in clients if c["businessId"] not in (gone, protected)],
        "roster:procountorApiKeys": Secret({k: v for k, v in keys.items() if k not in (gone, protected)}),
    }
    report = driver.up(config)
    assert report.names("delete") == names([gone], "", "-company", "-procountor")
    assert report.names("failed") == names([protected], "", "-company", "-procountor")
    assert all("marked for protection" in op.error for op in report.of_kind("failed"))
    assert portal.client(gone) is None
    assert portal.connection(protected) is not None

    # 6. changes made in the portal behind Pulumi's back show at refresh; up puts the roster back.
    portal_drift.main([running.service_url("portal"), "--change", "1414213-0", "--delete", "1572860-0"])
    report = driver.refresh()
    drifted = {op.name: op.changed for op in report.of_kind("drift")}
    assert "process" in drifted["1414213-0-company"]
    assert "1572860-0-company" in report.names("gone")
    report = driver.up()
    assert "1414213-0-company" in report.names("update")
    assert report.names("create") >= {"1572860-0-company", "1572860-0-netvisor"}
    beta = portal.client("1572860-0")
    assert beta is not None and portal.connection("1572860-0") is not None
    tiira = portal.client("1414213-0")
    assert tiira is not None and tiira["tags"]["process"] == "background"  # the roster's value again
    assert_no_secret_in(report, driver)
    capsys.readouterr()


def test_the_driver_walkthrough_prints_each_heading_above_its_log_lines() -> None:
    """docs/WALKTHROUGH.md quotes this script: a step's log lines (stderr) must follow its heading."""
    result = subprocess.run(
        [sys.executable, "-m", "scripts.driver_walkthrough"],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )
    text = result.stdout
    assert result.returncode == 0, text[-4000:]
    rotation = text.index("==> 5. pulumi up\n")
    assert rotation < text.index("credentials rotated on connection") < text.index("==> 6.")
    destroy = text.index("==> 8. pulumi destroy\n")
    assert destroy < text.index("disconnected from the FabricAI portal")
    assert text.index("==> 6. pulumi refresh") < text.index("changed in the portal by hand")
    for secret in secrets_used(ROTATED_KEY, ROTATED_NETVISOR["customerKey"]):
        assert secret not in text
