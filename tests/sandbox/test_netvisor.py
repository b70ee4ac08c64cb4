"""Conformance of the sandbox's Netvisor service, driven over HTTP the way Netvisor's docs describe.

Requests are signed by a helper written here from Netvisor's documentation (not the provider's
code), sent with plain httpx to the whole sandbox app on 127.0.0.1, and answers are read as XML.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import httpx
import pytest
from defusedxml import ElementTree
from pydantic import ValidationError

from sandbox.netvisor import NetvisorScenario, NetvisorService
from sandbox.netvisor.auth import SignedFields, compute_mac
from sandbox.netvisor.payloads import netvisor_timestamp
from sandbox.server import RunningSandbox, run_in_thread

PARTNER_ID = "FabricAI_test"
PARTNER_KEY = "partner-key-5b1c0e"
OTHER_PARTNER_ID = "Other_partner"
OTHER_PARTNER_KEY = "other-partner-key-77ad"
FIRM_ID = "firm-api-user"
FIRM_KEY = "firm-customer-key-a81f"
SECOND_ID = "second-api-user"
SECOND_KEY = "second-customer-key-03be"
SECRETS = (PARTNER_KEY, OTHER_PARTNER_KEY, FIRM_KEY, SECOND_KEY)

HEALTHY = "1572860-0"
NO_PURCHASE_INVOICES = "2077474-0"
NO_ACCOUNTING_MATERIAL = "0174592-8"
NO_CALCULATION_TARGETS = "1234567-1"
UNREACHED = "7654321-9"
ALL_RIGHTS = ["purchaseInvoices", "accountingMaterial", "calculationTargets"]


def scenario_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "partners": [
            {"id": PARTNER_ID, "key": PARTNER_KEY, "accessKey": "E2DCB2FF20700782F1EA878EDC19DC27"},
            {"id": OTHER_PARTNER_ID, "key": OTHER_PARTNER_KEY},
        ],
        "customers": [
            {
                "id": FIRM_ID,
                "key": FIRM_KEY,
                "userName": "Generic API user",
                "companies": [HEALTHY, NO_PURCHASE_INVOICES, NO_ACCOUNTING_MATERIAL, NO_CALCULATION_TARGETS],
            },
            {"id": SECOND_ID, "key": SECOND_KEY, "userName": "Second API user", "companies": [HEALTHY]},
        ],
        "companies": [
            {
                "businessId": HEALTHY,
                "name": "Beta Oy",
                "resourceRights": {PARTNER_ID: ALL_RIGHTS},
                "dimensions": [
                    {"name": "Kustannuspaikka", "items": ["Hallinto", "Myynti"]},
                    {"name": "Projekti", "hidden": True, "items": ["P-100"]},
                ],
                "purchaseInvoices": [
                    {"number": "1001", "date": "2025-01-15", "vendor": "Toimittaja Oy", "sum": "124.00"},
                    {
                        "number": "1002",
                        "date": "2025-03-02",
                        "vendor": "Vuokra Oy",
                        "sum": "990.50",
                        "account": "6800",
                    },
                ],
            },
            {
                "businessId": NO_PURCHASE_INVOICES,
                "name": "Gamma Oy",
                "resourceRights": {
                    PARTNER_ID: {
                        "purchaseInvoices": "denied",
                        "accountingMaterial": "allowed",
                        "calculationTargets": "allowed",
                    }
                },
            },
            {
                "businessId": NO_ACCOUNTING_MATERIAL,
                "name": "Delta Oy",
                "resourceRights": {PARTNER_ID: ["purchaseInvoices", "calculationTargets"]},
            },
            {
                "businessId": NO_CALCULATION_TARGETS,
                "name": "Epsilon Oy",
                "resourceRights": {
                    PARTNER_ID: ["purchaseInvoices", "accountingMaterial"],
                    OTHER_PARTNER_ID: ALL_RIGHTS,
                },
            },
            {"businessId": UNREACHED, "name": "Zeta Oy", "resourceRights": {PARTNER_ID: ALL_RIGHTS}},
        ],
    }
    data.update(overrides)
    return data


# --- a client written from Netvisor's documentation -------------------------------------------------


def documented_mac(values: list[str], customer_key: str, partner_key: str) -> str:
    """HMAC-SHA256 keyed with ``customer_key&partner_key`` over the values and both keys, ISO-8859-1."""
    key = f"{customer_key}&{partner_key}".encode("latin-1")
    message = "&".join([*values, customer_key, partner_key]).encode("latin-1")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass
class Signer:
    customer_id: str = FIRM_ID
    customer_key: str = FIRM_KEY
    partner_id: str = PARTNER_ID
    partner_key: str = PARTNER_KEY
    organisation_id: str = HEALTHY
    sender: str = "FabricAI roster tests"
    language: str = "FI"

    def headers(
        self, url: str, *, now: dt.datetime | None = None, transaction_id: str | None = None
    ) -> dict[str, str]:
        now = now or dt.datetime.now(dt.UTC)
        timestamp = now.strftime("%Y-%m-%d %H:%M:%S.") + f"{now.microsecond // 1000:03d}"
        unix = str(int(now.timestamp()))
        transaction_id = transaction_id or uuid.uuid4().hex
        values = [
            url,
            self.sender,
            self.customer_id,
            timestamp,
            self.language,
            self.organisation_id,
            transaction_id,
            unix,
        ]
        return {
            "X-Netvisor-Authentication-Sender": self.sender,
            "X-Netvisor-Authentication-CustomerId": self.customer_id,
            "X-Netvisor-Authentication-PartnerId": self.partner_id,
            "X-Netvisor-Authentication-Timestamp": timestamp,
            "X-Netvisor-Authentication-TimestampUnix": unix,
            "X-Netvisor-Authentication-TransactionId": transaction_id,
            "X-Netvisor-Interface-Language": self.language,
            "X-Netvisor-Organisation-ID": self.organisation_id,
            "X-Netvisor-Authentication-MAC": documented_mac(values, self.customer_key, self.partner_key),
            "X-Netvisor-Authentication-MACHashCalculationAlgorithm": "HMACSHA256",
            "X-Netvisor-Authentication-UseHTTPResponseStatusCodes": "1",
        }


@dataclass
class Answer:
    status_code: int
    root: Element
    text: str

    @property
    def statuses(self) -> list[str]:
        return [status.text or "" for status in self.root.findall("ResponseStatus/Status")]

    @property
    def ok(self) -> bool:
        return self.statuses == ["OK"]

    @property
    def error(self) -> str:
        assert self.statuses[0] == "FAILED", self.text
        return self.statuses[1]


@dataclass
class NetvisorEndpoint:
    """The Netvisor service of one running sandbox, reached at ``/netvisor`` like the real host."""

    running: RunningSandbox

    @property
    def service(self) -> NetvisorService:
        service = self.running.sandbox.services["netvisor"]
        assert isinstance(service, NetvisorService)
        return service

    def url(self, resource: str) -> str:
        return f"{self.running.service_url('netvisor')}/{resource}"

    def send(self, url: str, headers: dict[str, str]) -> Answer:
        response = httpx.get(url, headers=headers, timeout=10)
        everything = response.text + repr(dict(response.headers))
        for secret in SECRETS:
            assert secret not in everything, "a key leaked into a response"
        root = ElementTree.fromstring(response.content)
        return Answer(response.status_code, root, response.text)

    def get(self, resource: str, signer: Signer | None = None, **kwargs: Any) -> Answer:
        url = self.url(resource)
        return self.send(url, (signer or Signer()).headers(url, **kwargs))


@contextmanager
def serve(state_path: Path, **overrides: Any) -> Iterator[NetvisorEndpoint]:
    """The whole sandbox app (mounts, fault middleware) with this module's Netvisor scenario."""
    with run_in_thread({"netvisor": scenario_data(**overrides)}, state_path) as running:
        yield NetvisorEndpoint(running)


@pytest.fixture(scope="module")
def shared_netvisor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetvisorEndpoint]:
    with serve(tmp_path_factory.mktemp("netvisor") / "state.db") as endpoint:
        yield endpoint


@pytest.fixture
def netvisor(shared_netvisor: NetvisorEndpoint) -> NetvisorEndpoint:
    shared_netvisor.service.reset()
    return shared_netvisor


# --- the MAC ----------------------------------------------------------------------------------------

DOCUMENTED_FIELDS = SignedFields(
    url="https://isvapi.netvisor.fi/accounting.nv",
    sender="ClientName",
    customer_id="Integration user identifier",
    timestamp="2023-05-04 12:00:00.000",
    language="FI",
    organisation_id="1967543-8",
    transaction_id="123456",
    timestamp_unix="1683147600",
)
DOCUMENTED_MAC = "86b8f6510744913deab32da404d7668eba2a75775b3ac78c9c48bca65e0fbd27"


def test_documented_mac_example_verifies() -> None:
    customer_key, partner_key = "7cd680e89e880553358bc07cd28b0ee2", "7f94228d149a96b2f25e3edad55096e"
    assert compute_mac(DOCUMENTED_FIELDS, customer_key, partner_key) == DOCUMENTED_MAC
    values = DOCUMENTED_FIELDS.joined().split("&")
    assert documented_mac(values, customer_key, partner_key) == DOCUMENTED_MAC


def test_mac_covers_every_signed_value() -> None:
    keys = ("7cd680e89e880553358bc07cd28b0ee2", "7f94228d149a96b2f25e3edad55096e")
    for name in DOCUMENTED_FIELDS.__dataclass_fields__:
        changed = SignedFields(**{**DOCUMENTED_FIELDS.__dict__, name: "x"})
        assert compute_mac(changed, *keys) != DOCUMENTED_MAC, name


# --- payloads ---------------------------------------------------------------------------------------


def test_purchase_invoice_list(netvisor: NetvisorEndpoint) -> None:
    answer = netvisor.get("purchaseinvoicelist.nv")
    assert answer.status_code == 200 and answer.ok, answer.text
    stamp = answer.root.findtext("ResponseStatus/TimeStamp") or ""
    dt.datetime.strptime(stamp, "%d.%m.%Y %H:%M:%S")  # Netvisor's dd.mm.yyyy HH:MM:SS
    invoices = answer.root.findall("PurchaseInvoiceList/PurchaseInvoice")
    assert [i.findtext("InvoiceNumber") for i in invoices] == ["1001", "1002"]
    first = invoices[0]
    assert first.findtext("NetvisorKey") == "1"
    invoice_date = first.find("InvoiceDate")
    assert invoice_date is not None and invoice_date.get("format") == "ansi"
    assert first.findtext("InvoiceDate") == "2025-01-15"
    assert first.findtext("Vendor") == "Toimittaja Oy"
    assert first.findtext("Sum") == "124,00"
    assert first.findtext("OpenSum") == "124,00"
    assert (first.findtext("Uri") or "").startswith(netvisor.url("getpurchaseinvoice.nv"))


def test_purchase_invoice_list_filters_by_invoice_date(netvisor: NetvisorEndpoint) -> None:
    answer = netvisor.get("purchaseinvoicelist.nv?begininvoicedate=2025-02-01&endinvoicedate=2025-12-31")
    assert [i.findtext("InvoiceNumber") for i in answer.root.iter("PurchaseInvoice")] == ["1002"]


def test_purchase_invoice_list_filters_by_invoice_number(netvisor: NetvisorEndpoint) -> None:
    for query in (
        "invoicenumber=1002",
        "InvoiceNumber=1002",
        "invoicenumber=1002&begininvoicedate=2025-01-01",
    ):
        answer = netvisor.get(f"purchaseinvoicelist.nv?{query}")
        assert [i.findtext("InvoiceNumber") for i in answer.root.iter("PurchaseInvoice")] == ["1002"], query
    none = netvisor.get("purchaseinvoicelist.nv?invoicenumber=100")  # exact, not a prefix
    assert none.ok and list(none.root.iter("PurchaseInvoice")) == []


def test_accounting_ledger_lists_vouchers_in_the_period(netvisor: NetvisorEndpoint) -> None:
    answer = netvisor.get("accountingledger.nv?startdate=2025-01-01&enddate=2025-01-31")
    assert answer.ok, answer.text
    vouchers = answer.root.findall("Vouchers/Voucher")
    assert len(vouchers) == 1
    lines = vouchers[0].findall("VoucherLine")
    assert [line.findtext("AccountNumber") for line in lines] == ["4000", "2871"]
    assert [line.findtext("LineSum") for line in lines] == ["124,00", "-124,00"]


@pytest.mark.parametrize(
    "query", ["", "?startdate=2025-01-01", "?enddate=2025-01-01", "?startdate=1.1.2025&enddate=2025-02-01"]
)
def test_accounting_ledger_without_valid_dates_is_invalid_data(
    netvisor: NetvisorEndpoint, query: str
) -> None:
    answer = netvisor.get(f"accountingledger.nv{query}")
    assert answer.status_code == 400
    assert answer.error.startswith("INVALID_DATA :: ")


def test_account_list_is_the_chart_of_accounts(netvisor: NetvisorEndpoint) -> None:
    answer = netvisor.get("accountlist.nv")
    assert answer.ok
    assert answer.root.findtext("AccountList/CompanyDefaultAccounts/TradePayables") == "2871"
    numbers = [a.findtext("Number") for a in answer.root.findall("AccountList/Accounts/Account")]
    assert "4000" in numbers and "2871" in numbers


def test_dimension_list_shows_hidden_names_only_when_asked(netvisor: NetvisorEndpoint) -> None:
    shown = netvisor.get("dimensionlist.nv?showhidden=1")
    assert shown.ok
    names = shown.root.findall("DimensionNameList/DimensionName")
    assert [(n.findtext("Name"), n.findtext("IsHidden")) for n in names] == [
        ("Kustannuspaikka", "False"),
        ("Projekti", "True"),
    ]
    details = names[0].findall("DimensionDetails/DimensionDetail")
    assert [d.findtext("Name") for d in details] == ["Hallinto", "Myynti"]
    assert all(d.findtext("Netvisorkey") for d in details)
    visible = netvisor.get("dimensionlist.nv")
    assert [n.findtext("Name") for n in visible.root.iter("DimensionName")] == ["Kustannuspaikka"]


# --- authentication ---------------------------------------------------------------------------------

REQUIRED = [
    "X-Netvisor-Authentication-Sender",
    "X-Netvisor-Authentication-CustomerId",
    "X-Netvisor-Authentication-PartnerId",
    "X-Netvisor-Authentication-Timestamp",
    "X-Netvisor-Authentication-TimestampUnix",
    "X-Netvisor-Authentication-TransactionId",
    "X-Netvisor-Interface-Language",
    "X-Netvisor-Organisation-ID",
    "X-Netvisor-Authentication-MAC",
    "X-Netvisor-Authentication-MACHashCalculationAlgorithm",
]


@pytest.mark.parametrize("header", REQUIRED)
def test_each_missing_header_fails_authentication(netvisor: NetvisorEndpoint, header: str) -> None:
    url = netvisor.url("dimensionlist.nv")
    headers = Signer().headers(url)
    del headers[header]
    answer = netvisor.send(url, headers)
    assert answer.status_code == 401
    assert answer.error.startswith("AUTHENTICATION_FAILED :: ")
    assert header in answer.error


def test_old_mac_algorithms_are_refused(netvisor: NetvisorEndpoint) -> None:
    url = netvisor.url("dimensionlist.nv")
    headers = {**Signer().headers(url), "X-Netvisor-Authentication-MACHashCalculationAlgorithm": "SHA256"}
    assert netvisor.send(url, headers).error.startswith("AUTHENTICATION_FAILED :: ")


def test_wrong_mac_echoes_the_signed_string_without_keys(netvisor: NetvisorEndpoint) -> None:
    url = netvisor.url("dimensionlist.nv?showhidden=1")
    headers = Signer().headers(url)
    headers["X-Netvisor-Authentication-MAC"] = "0" * 64
    answer = netvisor.send(url, headers)
    assert answer.status_code == 401
    assert answer.error.startswith("AUTHENTICATION_FAILED :: ")
    # The echo shows exactly what was signed, so a client can diff it against its own string.
    assert f"{url}&FabricAI roster tests&{FIRM_ID}&" in answer.error
    assert "<customer key>&<partner key>" in answer.error


def test_mac_over_a_different_url_fails(netvisor: NetvisorEndpoint) -> None:
    url = netvisor.url("dimensionlist.nv")
    headers = Signer().headers(url.replace("/netvisor/", "/"))  # signed without the mount prefix
    assert netvisor.send(url, headers).error.startswith("AUTHENTICATION_FAILED :: ")


@pytest.mark.parametrize(
    "signer",
    [
        Signer(customer_key="not-the-customer-key"),
        Signer(partner_key="not-the-partner-key"),
        Signer(customer_id="unknown-user"),
        Signer(partner_id="Unknown_partner"),
        Signer(customer_id=SECOND_ID, customer_key=FIRM_KEY),  # a rotated pair mixed up
    ],
    ids=["wrong customer key", "wrong partner key", "unknown customer", "unknown partner", "mixed pair"],
)
def test_bad_credentials_fail_authentication(netvisor: NetvisorEndpoint, signer: Signer) -> None:
    answer = netvisor.get("accountlist.nv", signer)
    assert answer.status_code == 401
    assert answer.error.startswith("AUTHENTICATION_FAILED :: ")


def test_second_credential_pair_works_too(netvisor: NetvisorEndpoint) -> None:
    assert netvisor.get("accountlist.nv", Signer(customer_id=SECOND_ID, customer_key=SECOND_KEY)).ok


@pytest.mark.parametrize("skew_seconds", [-900, 900])
def test_timestamp_outside_the_window_fails(netvisor: NetvisorEndpoint, skew_seconds: int) -> None:
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=skew_seconds)
    answer = netvisor.get("accountlist.nv", now=now)
    assert answer.status_code == 401
    assert "Timestamp" in answer.error


def test_failures_are_http_200_without_the_status_code_header(netvisor: NetvisorEndpoint) -> None:
    url = netvisor.url("accountlist.nv")
    headers = Signer(customer_key="wrong").headers(url)
    del headers["X-Netvisor-Authentication-UseHTTPResponseStatusCodes"]
    answer = netvisor.send(url, headers)
    assert answer.status_code == 200
    assert answer.error.startswith("AUTHENTICATION_FAILED :: ")


# --- transaction ids --------------------------------------------------------------------------------


def test_reused_transaction_id_is_not_unique(netvisor: NetvisorEndpoint) -> None:
    assert netvisor.get("accountlist.nv", transaction_id="tx-1").ok
    again = netvisor.get("accountlist.nv", transaction_id="tx-1")
    assert again.status_code == 409
    assert again.error.startswith("REQUEST_NOT_UNIQUE :: ")
    assert netvisor.get("accountlist.nv", transaction_id="tx-2").ok


def test_reset_forgets_used_transaction_ids(netvisor: NetvisorEndpoint) -> None:
    assert netvisor.get("accountlist.nv", transaction_id="tx-reset").ok
    netvisor.service.reset()
    assert netvisor.get("accountlist.nv", transaction_id="tx-reset").ok


def test_used_transaction_ids_survive_a_restart(tmp_path: Path) -> None:
    with serve(tmp_path / "state.db") as first:
        assert first.get("accountlist.nv", transaction_id="tx-restart").ok
    with serve(tmp_path / "state.db") as second:
        assert second.get("accountlist.nv", transaction_id="tx-restart").error.startswith(
            "REQUEST_NOT_UNIQUE"
        )


# --- organisation and resource rights ---------------------------------------------------------------


@pytest.mark.parametrize("organisation", [UNREACHED, "9999999-9"])
def test_organisation_the_user_cannot_reach(netvisor: NetvisorEndpoint, organisation: str) -> None:
    answer = netvisor.get("accountlist.nv", Signer(organisation_id=organisation))
    assert answer.status_code == 401
    assert answer.error.startswith("AUTHENTICATION_FAILED :: ")
    assert organisation in answer.error


@pytest.mark.parametrize(
    ("organisation", "resource", "right"),
    [
        (NO_PURCHASE_INVOICES, "purchaseinvoicelist.nv", "purchase invoices"),
        (
            NO_ACCOUNTING_MATERIAL,
            "accountingledger.nv?startdate=2025-01-01&enddate=2025-12-31",
            "accounting material",
        ),
        (NO_ACCOUNTING_MATERIAL, "accountlist.nv", "accounting material"),
        (NO_CALCULATION_TARGETS, "dimensionlist.nv?showhidden=1", "calculation targets"),
    ],
)
def test_denied_resource_right_is_a_service_access_error(
    netvisor: NetvisorEndpoint, organisation: str, resource: str, right: str
) -> None:
    answer = netvisor.get(resource, Signer(organisation_id=organisation))
    assert answer.status_code == 403
    assert answer.error.startswith("SERVICE_ACCESS_ERROR :: ")
    assert resource.split("?")[0] in answer.error and right in answer.error


def test_rights_are_per_partner(netvisor: NetvisorEndpoint) -> None:
    other = Signer(
        partner_id=OTHER_PARTNER_ID, partner_key=OTHER_PARTNER_KEY, organisation_id=NO_CALCULATION_TARGETS
    )
    assert netvisor.get("dimensionlist.nv", other).ok
    assert netvisor.get("dimensionlist.nv", Signer(organisation_id=NO_CALCULATION_TARGETS)).status_code == 403


def test_other_rights_of_a_broken_company_still_work(netvisor: NetvisorEndpoint) -> None:
    assert netvisor.get("dimensionlist.nv", Signer(organisation_id=NO_PURCHASE_INVOICES)).ok


# --- stats and the in-flight rule -------------------------------------------------------------------


def test_stats_count_requests_per_resource_and_customer(netvisor: NetvisorEndpoint) -> None:
    netvisor.get("accountlist.nv")
    netvisor.get("accountlist.nv", Signer(customer_id=SECOND_ID, customer_key=SECOND_KEY))
    netvisor.get("dimensionlist.nv")
    stats = netvisor.service.stats()
    assert stats["requests"] == {"accountlist.nv": 2, "dimensionlist.nv": 1}
    assert stats["customers"][FIRM_ID]["requests"] == 2
    assert stats["customers"][SECOND_ID]["requests"] == 1
    assert stats["concurrencyViolations"] == 0
    assert stats["maxInFlightPerCustomer"] == 1


@pytest.fixture(scope="module")
def slow_netvisor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetvisorEndpoint]:
    with serve(tmp_path_factory.mktemp("netvisor-slow") / "state.db", processingDelayMs=400) as endpoint:
        yield endpoint


def _overlapping(netvisor: NetvisorEndpoint, first: Signer, second: Signer) -> tuple[Answer, Answer]:
    """Send ``second`` while ``first`` is being processed (once the service has counted ``first``)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(netvisor.get, "accountlist.nv", first)
        while netvisor.service.stats()["customers"].get(first.customer_id, {}).get("requests", 0) < 1:
            time.sleep(0.002)
        second_answer = netvisor.get("accountlist.nv", second)
        return pending.result(), second_answer


def test_second_request_in_flight_for_the_same_customer_is_refused(slow_netvisor: NetvisorEndpoint) -> None:
    slow_netvisor.service.reset()
    first, second = _overlapping(slow_netvisor, Signer(), Signer(organisation_id=NO_PURCHASE_INVOICES))
    assert first.ok, first.text
    assert second.status_code == 429
    assert second.error.startswith("TECHNICAL_ERROR :: ")
    assert "one request at a time" in second.error
    stats = slow_netvisor.service.stats()
    assert stats["concurrencyViolations"] == 1
    assert stats["maxInFlightPerCustomer"] == 2
    assert stats["customers"][FIRM_ID]["concurrencyViolations"] == 1


def test_two_customers_in_parallel_are_both_served(slow_netvisor: NetvisorEndpoint) -> None:
    slow_netvisor.service.reset()
    first, second = _overlapping(
        slow_netvisor, Signer(), Signer(customer_id=SECOND_ID, customer_key=SECOND_KEY)
    )
    assert first.ok and second.ok
    stats = slow_netvisor.service.stats()
    assert stats["concurrencyViolations"] == 0
    assert stats["maxInFlightPerCustomer"] == 1


# --- the scenario model -----------------------------------------------------------------------------


def test_empty_scenario_is_valid() -> None:
    assert NetvisorScenario().companies == []


@pytest.mark.parametrize(
    "broken",
    [
        {"unknownField": 1},
        {"customers": [{"id": "c", "key": "k", "userName": "u", "companies": ["0000000-0"]}]},
        {"companies": [{"businessId": HEALTHY, "name": "x", "resourceRights": {"Nobody": ALL_RIGHTS}}]},
        {"companies": [{"businessId": HEALTHY, "name": "x", "resourceRights": {PARTNER_ID: ["everything"]}}]},
        {"partners": [{"id": "p", "key": "k"}, {"id": "p", "key": "k2"}]},
    ],
    ids=["unknown field", "unknown company", "unknown partner", "unknown right", "duplicate id"],
)
def test_scenario_mistakes_are_errors(broken: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        NetvisorScenario.model_validate(broken)


def test_scenario_repr_hides_keys() -> None:
    scenario = NetvisorScenario.model_validate(scenario_data())
    assert not any(secret in repr(scenario) for secret in SECRETS)


# --- Netvisor's real spellings and formats (tests/fixtures/real/FINDINGS.md 43-50) -----------------


@pytest.mark.parametrize(
    ("resource", "element"),
    [
        ("PurchaseInvoiceList.nv?BeginInvoiceDate=2025-02-01&EndInvoiceDate=2025-12-31", "PurchaseInvoice"),
        ("PURCHASEINVOICELIST.NV?begininvoicedate=2025-02-01&ENDINVOICEDATE=2025-12-31", "PurchaseInvoice"),
        ("AccountingLedger.nv?StartDate=2025-03-01&EndDate=2025-03-31", "Voucher"),
        ("AccountList.nv", "Account"),
        ("DimensionList.nv?ShowHidden=1", "DimensionName"),
    ],
)
def test_resource_and_parameter_names_in_any_case(
    netvisor: NetvisorEndpoint, resource: str, element: str
) -> None:
    answer = netvisor.get(resource)
    assert answer.status_code == 200 and answer.ok, answer.text
    found = list(answer.root.iter(element))
    if element == "PurchaseInvoice":
        assert [i.findtext("InvoiceNumber") for i in found] == ["1002"]  # the dates were read
    elif element == "Voucher":
        assert [v.findtext("VoucherNumber") for v in found] == ["2"]
    elif element == "DimensionName":
        assert [d.findtext("Name") for d in found] == ["Kustannuspaikka", "Projekti"]  # hidden shown
    else:
        assert found
    assert netvisor.service.stats()["requests"] == {resource.split("?")[0].lower(): 1}


@pytest.mark.parametrize(
    ("query", "numbers"),
    [
        ("changedsince=2025-02-01", ["2"]),
        ("ChangedSince=2024-01-01", ["1", "2"]),
        ("netvisorkey=2", ["2"]),
        ("NetvisorKeyList=1,2", ["1", "2"]),
        ("lastmodifiedstart=2025-01-01&lastmodifiedend=2025-01-31", ["1"]),
    ],
)
def test_accounting_ledger_without_start_and_end_dates(
    netvisor: NetvisorEndpoint, query: str, numbers: list[str]
) -> None:
    answer = netvisor.get(f"accountingledger.nv?{query}")
    assert answer.ok, answer.text
    assert [v.findtext("VoucherNumber") for v in answer.root.iter("Voucher")] == numbers


def test_voucher_dates_and_timestamps_in_netvisors_formats(netvisor: NetvisorEndpoint) -> None:
    answer = netvisor.get("accountingledger.nv?changedsince=2025-01-01")
    dates = [v.find("VoucherDate") for v in answer.root.iter("Voucher")]
    assert [(d.text, d.get("format")) for d in dates if d is not None] == [
        ("15.1.2025", None),
        ("2.3.2025", None),
    ]
    stamp = answer.root.findtext("ResponseStatus/TimeStamp") or ""
    assert re.fullmatch(r"[1-9]\d?\.[1-9]\d?\.\d{4} [1-9]?\d:\d\d:\d\d", stamp), stamp


def test_timestamps_are_not_zero_padded() -> None:
    assert netvisor_timestamp(dt.datetime(2009, 10, 1, 13, 3, 24, tzinfo=dt.UTC)) == "1.10.2009 16:03:24"
    assert netvisor_timestamp(dt.datetime(2025, 3, 4, 7, 8, 2, tzinfo=dt.UTC)) == "4.3.2025 9:08:02"


def test_the_chart_has_account_groups_with_an_empty_number(netvisor: NetvisorEndpoint) -> None:
    rows = netvisor.get("accountlist.nv").root.findall("AccountList/Accounts/Account")
    types = {row.findtext("AccountType") for row in rows}
    assert types == {"account", "accountgroup"}
    groups = [row for row in rows if row.findtext("AccountType") == "accountgroup"]
    assert groups and all(row.find("Number") is not None and not row.findtext("Number") for row in groups)
    group_keys = {row.findtext("NetvisorKey") for row in groups}
    accounts = [row for row in rows if row.findtext("AccountType") == "account"]
    assert all(row.findtext("Number") and row.findtext("FatherNetvisorKey") in group_keys for row in accounts)


def rights_scenario(general: dict[str, str], specific: Any, **company: Any) -> dict[str, Any]:
    data = scenario_data()
    healthy = data["companies"][0]
    healthy["generalResourceRights"] = general
    if specific is None:
        del healthy["resourceRights"]
    else:
        healthy["resourceRights"] = {PARTNER_ID: specific}
    healthy.update(company)
    return data


@pytest.mark.parametrize(
    ("general", "specific", "allowed"),
    [
        ({r: "allowed" for r in ALL_RIGHTS}, None, True),  # general rights alone
        ({r: "allowed" for r in ALL_RIGHTS}, {"accountingMaterial": "denied"}, False),  # specific overrides
        ({"accountingMaterial": "denied"}, {"accountingMaterial": "allowed"}, True),
        ({"accountingMaterial": "allowed"}, ["purchaseInvoices"], True),  # compact: the rest falls back
        ({}, ["purchaseInvoices"], False),
    ],
)
def test_general_and_integration_specific_rights(
    tmp_path: Path, general: dict[str, str], specific: Any, allowed: bool
) -> None:
    with run_in_thread({"netvisor": rights_scenario(general, specific)}, tmp_path / "s.db") as running:
        answer = NetvisorEndpoint(running).get("accountlist.nv")
    assert answer.ok is allowed, answer.text
    if not allowed:
        assert answer.status_code == 403 and "accounting material" in answer.error


@pytest.mark.parametrize("service", ["closed", "notInServicePackage"])
def test_a_closed_api_service_refuses_every_resource(tmp_path: Path, service: str) -> None:
    data = rights_scenario({}, ALL_RIGHTS, apiService=service)
    with run_in_thread({"netvisor": data}, tmp_path / "s.db") as running:
        endpoint = NetvisorEndpoint(running)
        for resource in ("purchaseinvoicelist.nv", "accountlist.nv", "dimensionlist.nv"):
            answer = endpoint.get(resource)
            assert answer.status_code == 403 and answer.error.startswith("SERVICE_ACCESS_ERROR :: ")


# --- every answer in Netvisor's envelope, never a 500 ---------------------------------------------


@pytest.mark.parametrize("use_status", [True, False])
@pytest.mark.parametrize(
    ("method", "resource", "status"),
    [
        ("GET", "nosuchresource.nv", 404),
        ("GET", "", 404),
        ("GET", "accountlist.nv/extra", 404),
        ("POST", "accountlist.nv", 405),
        ("DELETE", "DimensionList.nv", 405),
        ("PATCH", "nothing", 404),
        ("OPTIONS", "accountlist.nv", 405),
        ("PROPFIND", "accountlist.nv", 405),
    ],
)
def test_unknown_paths_and_methods_answer_in_netvisors_envelope(
    netvisor: NetvisorEndpoint, method: str, resource: str, status: int, use_status: bool
) -> None:
    url = netvisor.url(resource)
    headers = Signer().headers(url)
    if not use_status:
        del headers["X-Netvisor-Authentication-UseHTTPResponseStatusCodes"]
    response = httpx.request(method, url, headers=headers, timeout=10)
    assert response.status_code == (status if use_status else 200)
    root = ElementTree.fromstring(response.content)
    statuses = [s.text for s in root.findall("ResponseStatus/Status")]
    assert statuses[0] == "FAILED" and (statuses[1] or "").startswith("INVALID_DATA :: ")
    assert response.headers["content-type"].startswith("text/xml")


def test_a_head_request_uses_up_no_transaction_id(netvisor: NetvisorEndpoint) -> None:
    url = netvisor.url("accountlist.nv")
    headers = Signer().headers(url, transaction_id="tx-head")
    head = httpx.head(url, headers=headers, timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert netvisor.send(url, headers).ok  # the same id, still unused


@pytest.mark.parametrize(
    "spoil",
    [
        {"X-Netvisor-Authentication-TimestampUnix": "99999999999999999999999"},
        {"X-Netvisor-Authentication-TimestampUnix": "-5"},
        {"X-Netvisor-Authentication-Timestamp": "2025-13-45 99:99:99.999"},
        {"X-Netvisor-Authentication-MAC": "zz" * 40},
        {"X-Netvisor-Interface-Language": "fi\u00e4"},
        {"X-Netvisor-Authentication-TransactionId": "x" * 4000},
        {"X-Netvisor-Organisation-ID": "\u00e9" * 10},
    ],
)
def test_malformed_requests_are_refused_never_a_500(
    netvisor: NetvisorEndpoint, spoil: dict[str, str]
) -> None:
    url = netvisor.url("accountlist.nv")
    headers = {**Signer().headers(url), **spoil}
    response = httpx.get(
        url, headers={k.encode(): v.encode("latin-1") for k, v in headers.items()}, timeout=10
    )
    assert 400 <= response.status_code < 500
    assert ElementTree.fromstring(response.content).findtext("ResponseStatus/Status") == "FAILED"


@pytest.mark.parametrize(
    "query",
    [
        "accountingledger.nv?startdate=%ff%fe&enddate=2025-01-01",
        "accountingledger.nv?netvisorkey=abc",
        "accountingledger.nv?changedsince=2025-02-30",
        "purchaseinvoicelist.nv?begininvoicedate=9999999-01-01",
        "accountlist.nv?%zz=%",
        "dimensionlist.nv?showhidden=1&showhidden=0&ShowHidden=x",
    ],
)
def test_malformed_parameters_are_invalid_data_never_a_500(netvisor: NetvisorEndpoint, query: str) -> None:
    answer = netvisor.get(query)
    assert answer.status_code in (200, 400), answer.text
    if answer.status_code == 400:
        assert answer.error.startswith("INVALID_DATA :: ")


# --- never a 500 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mac", ["é" * 64, "ä" + "0" * 63, "\x85" * 64])
def test_a_mac_header_outside_ascii_is_an_authentication_failure_not_a_500(
    netvisor: NetvisorEndpoint, mac: str
) -> None:
    """HTTP carries header values as ISO-8859-1: a MAC with ``é`` reaches the service as non-ASCII text."""
    url = netvisor.url("purchaseinvoicelist.nv")
    headers: dict[str, Any] = Signer().headers(url)
    headers["X-Netvisor-Authentication-MAC"] = mac.encode("latin-1")
    answer = netvisor.send(url, headers)
    assert answer.status_code == 401, answer.text
    assert answer.error.startswith("AUTHENTICATION_FAILED")
