"""The sandbox serves clients written for the real Netvisor API, unchanged.

The two clients below are written here, independently of both ``provider`` and ``sandbox``, from what the
published clients for the real API do (read, not copied: Heltti's ``netvisor-api-client`` for Python and
rantalainen's ``netvisor-api-client`` for TypeScript) and from Netvisor's documentation:

- resources and query parameters in mixed case, as those clients spell them in production
  (``AccountingLedger.nv?StartDate=...&EndDate=...``, ``ChangedSince``, ``NetvisorKeyList``,
  ``PurchaseInvoiceList.nv?begininvoicedate=...``, ``DimensionList.nv?showhidden=1``, ``AccountList.nv``);
- the MAC over ``host/Resource?key=value&key=value`` joined by hand (unencoded), HMAC-SHA256;
- a ``Content-Type: text/xml`` header on GETs, lower-case header names (as Node's HTTP stack sends them),
  the language in lower case (one client notes only "fi" worked for it), the status-code header or not;
- the answers read as such clients read them: exact element names (``Root/ResponseStatus/Status``,
  ``Netvisorkey`` in the dimension list, ``VoucherDate`` as ``d.m.yyyy``, account groups).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element

import httpx
import pytest
from defusedxml import ElementTree

from sandbox.scenario import EXAMPLE_SCENARIO_PATH, load_scenario
from sandbox.server import RunningSandbox

EXAMPLE = load_scenario(EXAMPLE_SCENARIO_PATH).netvisor
PARTNER = EXAMPLE.partners[0]
FIRM = EXAMPLE.customers[0]
BETA = "1572860-0"  # every resource right allowed in examples/sandbox.yaml
NO_PURCHASE_INVOICES = "2236067-2"


@dataclass
class PythonStyleClient:
    """Like a ``requests``-based client: CamelCase header names, "FI", the status-code header."""

    host: str
    organisation: str = BETA
    language: str = "FI"
    status_codes: bool = True
    lowercase_headers: bool = False

    def get(
        self, resource: str, params: Mapping[str, str] | None = None, *, sent_query: str | None = None
    ) -> httpx.Response:
        url = f"{self.host}/{resource}"
        if params:
            url += "?" + "&".join(f"{key}={value}" for key, value in params.items())
        now = dt.datetime.now(dt.UTC)
        timestamp = now.strftime("%Y-%m-%d %H:%M:%S.") + f"{now.microsecond // 1000:03d}"
        unix = str(int(now.timestamp()))
        transaction = uuid.uuid4().hex
        sender = "Independent integration"
        signed = "&".join(
            [
                url,
                sender,
                FIRM.id,
                timestamp,
                self.language,
                self.organisation,
                transaction,
                unix,
                FIRM.key,
                PARTNER.key,
            ]
        )
        mac = hmac.new(
            f"{FIRM.key}&{PARTNER.key}".encode("latin-1"), signed.encode("latin-1"), hashlib.sha256
        )
        headers = {
            "X-Netvisor-Authentication-Sender": sender,
            "X-Netvisor-Authentication-CustomerId": FIRM.id,
            "X-Netvisor-Authentication-PartnerId": PARTNER.id,
            "X-Netvisor-Authentication-TimestampUnix": unix,
            "X-Netvisor-Authentication-Timestamp": timestamp,
            "X-Netvisor-Authentication-TransactionId": transaction,
            "X-Netvisor-Interface-Language": self.language,
            "X-Netvisor-Organisation-ID": self.organisation,
            "X-Netvisor-Authentication-MAC": mac.hexdigest(),
            "X-Netvisor-Authentication-MACHashCalculationAlgorithm": "HMACSHA256",
            "Content-Type": "text/xml; charset=utf-8",
        }
        if self.status_codes:
            headers["X-Netvisor-Authentication-UseHTTPResponseStatusCodes"] = "1"
        if self.lowercase_headers:
            headers = {name.lower(): value for name, value in headers.items()}
        if sent_query is not None:  # the HTTP library encodes the query the MAC was computed over
            url = f"{self.host}/{resource}?{sent_query}"
        return httpx.get(url, headers=headers, timeout=10)


def node_style(host: str) -> PythonStyleClient:
    """Like a Node client: lower-case header names, language "fi"."""
    return PythonStyleClient(host, language="fi", lowercase_headers=True)


def statuses(root: Element) -> list[str]:
    return [status.text or "" for status in root.findall("ResponseStatus/Status")]


def ok_root(response: httpx.Response) -> Element:
    assert response.status_code == 200, response.text
    root: Element = ElementTree.fromstring(response.content)
    assert statuses(root) == ["OK"], response.text
    stamp = root.findtext("ResponseStatus/TimeStamp") or ""
    assert re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4} \d{1,2}:\d\d:\d\d", stamp), stamp
    return root


@pytest.fixture(params=["python", "node"])
def client(request: pytest.FixtureRequest, example_sandbox: RunningSandbox) -> PythonStyleClient:
    host = example_sandbox.service_url("netvisor")
    return PythonStyleClient(host) if request.param == "python" else node_style(host)


def test_accounting_ledger_by_start_and_end_date(client: PythonStyleClient) -> None:
    root = ok_root(client.get("AccountingLedger.nv", {"StartDate": "2025-01-01", "EndDate": "2025-01-31"}))
    vouchers = root.findall("Vouchers/Voucher")
    assert [v.findtext("VoucherDate") for v in vouchers] == ["15.1.2025"]
    assert [line.findtext("AccountNumber") for line in vouchers[0].findall("VoucherLine")] == ["4000", "2871"]


def test_accounting_ledger_by_changed_since_alone(client: PythonStyleClient) -> None:
    root = ok_root(client.get("AccountingLedger.nv", {"ChangedSince": "2025-02-01"}))
    assert [v.findtext("VoucherDate") for v in root.findall("Vouchers/Voucher")] == ["1.2.2025"]


def test_accounting_ledger_by_key_list_signed_unencoded_and_sent_encoded(client: PythonStyleClient) -> None:
    response = client.get(
        "AccountingLedger.nv", {"NetvisorKeyList": "1,2"}, sent_query="NetvisorKeyList=1%2C2"
    )
    assert len(ok_root(response).findall("Vouchers/Voucher")) == 2


def test_purchase_invoice_list(client: PythonStyleClient) -> None:
    root = ok_root(
        client.get(
            "PurchaseInvoiceList.nv", {"begininvoicedate": "2025-01-01", "endinvoicedate": "2025-01-31"}
        )
    )
    invoices = root.findall("PurchaseInvoiceList/PurchaseInvoice")
    assert [i.findtext("InvoiceNumber") for i in invoices] == ["24017"]
    assert invoices[0].findtext("InvoiceDate") == "2025-01-15"
    assert re.fullmatch(r"-?\d+,\d\d", invoices[0].findtext("Sum") or "")


def test_dimension_list(client: PythonStyleClient) -> None:
    root = ok_root(client.get("DimensionList.nv", {"showhidden": "1"}))
    names = root.findall("DimensionNameList/DimensionName")
    assert names and all(name.findtext("Netvisorkey") for name in names)
    assert "Kustannuspaikka" in [name.findtext("Name") for name in names]


def test_account_list_with_groups(client: PythonStyleClient) -> None:
    root = ok_root(client.get("AccountList.nv"))
    rows = root.findall("AccountList/Accounts/Account")
    groups = [row for row in rows if row.findtext("AccountType") == "accountgroup"]
    accounts = [row for row in rows if row.findtext("AccountType") == "account"]
    assert len(groups) + len(accounts) == len(rows)
    assert groups and all(not row.findtext("Number") for row in groups)
    assert {"4000", "2871"} <= {row.findtext("Number") for row in accounts}


@pytest.mark.parametrize("status_codes", [True, False])
def test_a_refusal_reads_as_the_documented_envelope(
    example_sandbox: RunningSandbox, status_codes: bool
) -> None:
    client = PythonStyleClient(
        example_sandbox.service_url("netvisor"), organisation=NO_PURCHASE_INVOICES, status_codes=status_codes
    )
    response = client.get("PurchaseInvoiceList.nv")
    assert response.status_code == (403 if status_codes else 200)
    found = statuses(ElementTree.fromstring(response.content))
    assert found[0] == "FAILED" and found[1].startswith("SERVICE_ACCESS_ERROR :: ")


# --- the sandbox's payloads have the shapes of the fixtures written from Netvisor's public documents ----
REAL = Path(__file__).parent.parent / "fixtures" / "real" / "netvisor"


def element_paths(element: Element, prefix: str = "") -> set[str]:
    """Every element path of a document (exact names), a default account's name generalised to ``*``."""
    paths: set[str] = set()
    for child in element:
        tag = "*" if prefix.endswith("CompanyDefaultAccounts") else str(child.tag)
        path = f"{prefix}/{tag}" if prefix else tag
        paths |= {path} | element_paths(child, path)
    return paths


@pytest.mark.parametrize(
    ("fixture", "resource"),
    [
        ("purchaseinvoicelist.nv.xml", "PurchaseInvoiceList.nv"),
        ("accountingledger.nv.xml", "AccountingLedger.nv?ChangedSince=2024-01-01"),
        ("accountlist.nv.xml", "AccountList.nv"),
        ("dimensionlist_Netvisorkey.nv.xml", "DimensionList.nv?showhidden=1"),
    ],
)
def test_sandbox_payloads_have_the_real_shapes(
    client: PythonStyleClient, fixture: str, resource: str
) -> None:
    name, _, query = resource.partition("?")
    params = dict(pair.split("=") for pair in query.split("&")) if query else None
    sandbox_paths = element_paths(ok_root(client.get(name, params)))
    real_paths = element_paths(ElementTree.fromstring((REAL / fixture).read_bytes()))
    assert sandbox_paths <= real_paths, sorted(sandbox_paths - real_paths)
    optional = {path for path in real_paths if "/Dimension" in path and "Voucher" in path}
    assert real_paths - optional <= sandbox_paths, sorted(real_paths - optional - sandbox_paths)
