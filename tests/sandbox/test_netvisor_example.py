"""The example scenario's Netvisor section, served by the whole sandbox (``sandbox.server``).

Every guide issue the example lists for Netvisor is reproduced by its company, both credential pairs
reach the healthy companies, and the full app (mount, request counter, fault middleware) keeps the MAC
check over the URL as the client sent it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid

import httpx
import pytest
from defusedxml import ElementTree

from sandbox.scenario import EXAMPLE_SCENARIO_PATH, load_scenario
from sandbox.server import RunningSandbox

SCENARIO = load_scenario(EXAMPLE_SCENARIO_PATH).netvisor
PARTNER = SCENARIO.partners[0]
FIRM, ROTATED = SCENARIO.customers[0], SCENARIO.customers[1]
SECRETS = [PARTNER.key, *(customer.key for customer in SCENARIO.customers)]
HEALTHY = ["1572860-0", "1618033-3", "1414213-0"]
RESOURCES = [
    "purchaseinvoicelist.nv",
    "accountingledger.nv?startdate=2025-01-01&enddate=2025-12-31",
    "accountlist.nv",
    "dimensionlist.nv?showhidden=1",
]


def signed_headers(url: str, customer_id: str, customer_key: str, organisation: str) -> dict[str, str]:
    """Headers per Netvisor's documentation (HMAC-SHA256 over the values and both keys, ISO-8859-1)."""
    now = dt.datetime.now(dt.UTC)
    timestamp = now.strftime("%Y-%m-%d %H:%M:%S.") + f"{now.microsecond // 1000:03d}"
    unix, transaction_id, sender = str(int(now.timestamp())), uuid.uuid4().hex, "roster example test"
    values = [url, sender, customer_id, timestamp, "FI", organisation, transaction_id, unix]
    key = f"{customer_key}&{PARTNER.key}"
    mac = hmac.new(key.encode("latin-1"), f"{'&'.join(values)}&{key}".encode("latin-1"), hashlib.sha256)
    return {
        "X-Netvisor-Authentication-Sender": sender,
        "X-Netvisor-Authentication-CustomerId": customer_id,
        "X-Netvisor-Authentication-PartnerId": PARTNER.id,
        "X-Netvisor-Authentication-Timestamp": timestamp,
        "X-Netvisor-Authentication-TimestampUnix": unix,
        "X-Netvisor-Authentication-TransactionId": transaction_id,
        "X-Netvisor-Interface-Language": "FI",
        "X-Netvisor-Organisation-ID": organisation,
        "X-Netvisor-Authentication-MAC": mac.hexdigest(),
        "X-Netvisor-Authentication-MACHashCalculationAlgorithm": "HMACSHA256",
        "X-Netvisor-Authentication-UseHTTPResponseStatusCodes": "1",
    }


def fetch(running: RunningSandbox, resource: str, organisation: str, *, rotated: bool = False) -> list[str]:
    """The ``ResponseStatus/Status`` texts of one signed request; checks no key came back."""
    customer = ROTATED if rotated else FIRM
    url = f"{running.service_url('netvisor')}/{resource}"
    response = httpx.get(
        url, headers=signed_headers(url, customer.id, customer.key, organisation), timeout=10
    )
    assert not any(secret in response.text for secret in SECRETS)
    root = ElementTree.fromstring(response.content)
    return [status.text or "" for status in root.findall("ResponseStatus/Status")]


@pytest.fixture
def running(example_sandbox: RunningSandbox) -> RunningSandbox:
    return example_sandbox


@pytest.mark.parametrize("organisation", HEALTHY)
@pytest.mark.parametrize("rotated", [False, True], ids=["firm pair", "second pair"])
def test_healthy_companies_answer_every_resource(
    running: RunningSandbox, organisation: str, rotated: bool
) -> None:
    for resource in RESOURCES:
        assert fetch(running, resource, organisation, rotated=rotated) == ["OK"], resource


def test_healthy_companies_have_a_kustannuspaikka_dimension(running: RunningSandbox) -> None:
    for organisation in HEALTHY:
        url = f"{running.service_url('netvisor')}/dimensionlist.nv"
        response = httpx.get(url, headers=signed_headers(url, FIRM.id, FIRM.key, organisation), timeout=10)
        names = [name.text for name in ElementTree.fromstring(response.content).iter("Name")]
        assert "Kustannuspaikka" in names


@pytest.mark.parametrize(
    ("organisation", "resource", "right"),
    [
        ("2236067-2", RESOURCES[0], "purchase invoices"),
        ("2645751-9", RESOURCES[1], "accounting material"),
        ("2645751-9", RESOURCES[2], "accounting material"),
        ("3316624-2", RESOURCES[3], "calculation targets"),
    ],
)
def test_each_missing_resource_right_has_its_company(
    running: RunningSandbox, organisation: str, resource: str, right: str
) -> None:
    status = fetch(running, resource, organisation)
    assert status[0] == "FAILED"
    assert status[1].startswith("SERVICE_ACCESS_ERROR :: ") and right in status[1]


def test_company_outside_the_credential_users_reach(running: RunningSandbox) -> None:
    status = fetch(running, "accountlist.nv", "2449489-3")
    assert status[0] == "FAILED"
    assert status[1].startswith("AUTHENTICATION_FAILED :: ") and "2449489-3" in status[1]


def test_netvisor_stats_are_part_of_the_sandbox_stats(running: RunningSandbox) -> None:
    fetch(running, "accountlist.nv", HEALTHY[0])
    netvisor = running.admin.stats()["services"]["netvisor"]
    assert netvisor["requests"]["accountlist.nv"] >= 1
    assert netvisor["customers"][FIRM.id]["requests"] >= 1
    assert {"concurrencyViolations", "maxInFlightPerCustomer"} <= set(netvisor)
