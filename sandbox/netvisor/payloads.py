"""The bodies of the Netvisor stand-in's answers: the XML envelope (``<Root><ResponseStatus>...``) every
answer comes in, and the payloads of the four resources the roster reads, built from one company's seed.

Shapes follow Netvisor's resource documentation and captured answers: element names, ``format="ansi"``
invoice dates, Finnish ``d.m.yyyy`` voucher dates, decimal commas, account groups with an empty
``<Number/>``, and ``Netvisorkey`` spelled as the dimension list spells it. Query parameter names arrive
lower-cased (Netvisor reads them in any case; the service lower-cases them).
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from starlette.responses import Response

from sandbox.netvisor.scenario import NetvisorCompany, NetvisorPurchaseInvoice
from sandbox.netvisor.state import ErrorCode, NetvisorFailure

HELSINKI = ZoneInfo("Europe/Helsinki")
MEDIA_TYPE = "text/xml; charset=utf-8"


# ---- the envelope ----


def netvisor_timestamp(now: dt.datetime) -> str:
    """Netvisor stamps responses in Finnish local time, not zero-padded: ``1.10.2009 16:03:24``.

    Captures show day and month unpadded; whether the hour is padded is not visible (16, 12): unpadded
    here, an assumption."""
    local = now.astimezone(HELSINKI)
    return f"{local.day}.{local.month}.{local.year} {local.hour}:{local:%M:%S}"


def decimal_comma(amount: Decimal) -> str:
    return f"{amount:.2f}".replace(".", ",")


def sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    """Append a child element (with optional text) and return it."""
    child = ET.SubElement(parent, tag, attributes)
    if text is not None:
        child.text = text
    return child


def _status_root(now: dt.datetime, statuses: list[str]) -> ET.Element:
    root = ET.Element("Root")
    status = sub(root, "ResponseStatus")
    for value in statuses:
        sub(status, "Status", value)
    sub(status, "TimeStamp", netvisor_timestamp(now))
    return root


def _xml_response(root: ET.Element, status_code: int) -> Response:
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(body, status_code=status_code, media_type=MEDIA_TYPE)


def ok_response(payload: list[ET.Element], now: dt.datetime) -> Response:
    root = _status_root(now, ["OK"])
    root.extend(payload)
    return _xml_response(root, 200)


def failed_response(failure: NetvisorFailure, now: dt.datetime, *, use_http_status: bool) -> Response:
    root = _status_root(now, ["FAILED", str(failure)])
    return _xml_response(root, failure.http_status if use_http_status else 200)


# ---- the resources ----

# A short Finnish chart of accounts: groups (no number) and accounts, as (number, name, parent group).
# Every company of the sandbox uses it. Netvisor's AccountType is ``accountgroup`` or ``account``.
ACCOUNT_GROUPS: tuple[str, ...] = (
    "Vastaavaa",
    "Vastattavaa",
    "Liikevaihto",
    "Materiaalit ja palvelut",
    "Liiketoiminnan muut kulut",
)
CHART_OF_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("1700", "Myyntisaamiset", "Vastaavaa"),
    ("1910", "Pankkitili", "Vastaavaa"),
    ("2871", "Ostovelat", "Vastattavaa"),
    ("2939", "Arvonlisäverovelka", "Vastattavaa"),
    ("3000", "Myynti", "Liikevaihto"),
    ("4000", "Ostot", "Materiaalit ja palvelut"),
    ("6800", "Toimitilakulut", "Liiketoiminnan muut kulut"),
    ("7680", "ICT-kulut", "Liiketoiminnan muut kulut"),
    ("8380", "Muut kulut", "Liiketoiminnan muut kulut"),
)
PAYABLES_ACCOUNT = "2871"
DEFAULT_ACCOUNTS = (
    ("TradePayables", PAYABLES_ACCOUNT),
    ("SalesReceivables", "1700"),
    ("SalesVATDebt", "2939"),
    ("PurchaseDomesticDefault", "4000"),
    ("SalesDomesticDefault", "3000"),
)


@dataclass(frozen=True)
class ResourceQuery:
    """What a payload may depend on besides the company: query parameters and the service's base URL."""

    params: Mapping[str, str]
    base_url: str


def _ansi_date(parent: ET.Element, tag: str, value: dt.date) -> ET.Element:
    return sub(parent, tag, value.isoformat(), format="ansi")


def parse_date(params: Mapping[str, str], name: str) -> dt.date | None:
    """An optional ANSI date parameter; a malformed one is ``INVALID_DATA`` naming the parameter."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise NetvisorFailure(ErrorCode.INVALID_DATA, f"{name} must be a date as YYYY-MM-DD") from None


def finnish_date(value: dt.date) -> str:
    """Netvisor's ``d.m.yyyy`` (``3.3.2025``), as ``VoucherDate`` is given in real answers."""
    return f"{value.day}.{value.month}.{value.year}"


def _within(value: dt.date, start: dt.date | None, end: dt.date | None) -> bool:
    return (start is None or value >= start) and (end is None or value <= end)


def purchase_invoice_list(company: NetvisorCompany, query: ResourceQuery) -> ET.Element:
    """``purchaseinvoicelist.nv``: optional ``begininvoicedate``, ``endinvoicedate``, ``invoicestatus`` and
    ``invoicenumber`` (the invoice's own number, matched exactly)."""
    begin = parse_date(query.params, "begininvoicedate")
    end = parse_date(query.params, "endinvoicedate")
    status = query.params.get("invoicestatus")
    number = query.params.get("invoicenumber")
    listing = ET.Element("PurchaseInvoiceList")
    for key, invoice in enumerate(company.purchase_invoices, start=1):
        if not _within(invoice.date, begin, end) or (status and invoice.status != status):
            continue
        if number and invoice.number != number.strip():
            continue
        item = sub(listing, "PurchaseInvoice")
        sub(item, "NetvisorKey", str(key))
        sub(item, "InvoiceNumber", invoice.number)
        _ansi_date(item, "InvoiceDate", invoice.date)
        sub(item, "Vendor", invoice.vendor)
        sub(item, "VendorOrganizationIdentifier", invoice.vendor_business_id)
        sub(item, "Sum", decimal_comma(invoice.sum))
        sub(item, "Payments", decimal_comma(Decimal(0)))
        sub(item, "OpenSum", decimal_comma(invoice.sum))
        sub(item, "Uri", f"{query.base_url}/getpurchaseinvoice.nv?netvisorkey={key}")
    return listing


def _voucher(vouchers: ET.Element, key: int, invoice: NetvisorPurchaseInvoice, base_url: str) -> None:
    """A purchase invoice as booked: the expense on its account against trade payables."""
    voucher = sub(vouchers, "Voucher", Status="valid")
    sub(voucher, "NetvisorKey", str(key))
    sub(voucher, "VoucherDate", finnish_date(invoice.date))
    sub(voucher, "VoucherNumber", str(key))
    sub(voucher, "VoucherDescription", f"{invoice.vendor} {invoice.number}")
    sub(voucher, "VoucherClass", "OL Ostolasku")
    sub(voucher, "LinkedSourceNetvisorKey", str(key), type="purchaseinvoice")
    sub(voucher, "VoucherNetvisorURI", f"{base_url}/voucher.nv?netvisorkey={key}")
    for line_key, (account, amount) in enumerate(
        ((invoice.account, invoice.sum), (PAYABLES_ACCOUNT, -invoice.sum)), start=1
    ):
        line = sub(voucher, "VoucherLine")
        sub(line, "NetvisorKey", str(key * 10 + line_key))
        sub(line, "LineSum", decimal_comma(amount))
        sub(line, "Description", invoice.vendor)
        sub(line, "AccountNumber", account)
        sub(line, "VatPercent", "0")
        sub(line, "VatCode", "-")


def _keys(params: Mapping[str, str]) -> set[int] | None:
    """``netvisorkey`` or ``netvisorkeylist`` (comma-separated) as voucher keys, or None if neither."""
    raw = ",".join(value for value in (params.get("netvisorkey"), params.get("netvisorkeylist")) if value)
    if not raw:
        return None
    try:
        return {int(part) for part in raw.split(",") if part.strip()}
    except ValueError:
        raise NetvisorFailure(ErrorCode.INVALID_DATA, "netvisorkey(list) must be numbers") from None


def accounting_ledger(company: NetvisorCompany, query: ResourceQuery) -> ET.Element:
    """``accountingledger.nv``: ``startdate``+``enddate``, or ``changedsince`` alone, or ``netvisorkey`` /
    ``netvisorkeylist``, or ``lastmodifiedstart``+``lastmodifiedend``.

    The sandbox's vouchers never change after they are booked, so "changed" / "last modified" dates are
    the voucher dates (an approximation the docs state).
    """
    params = query.params
    start = parse_date(params, "startdate")
    end = parse_date(params, "enddate")
    changed_since = parse_date(params, "changedsince")
    modified_start = parse_date(params, "lastmodifiedstart")
    modified_end = parse_date(params, "lastmodifiedend")
    keys = _keys(params)
    if start is not None or end is not None:
        if start is None or end is None:
            raise NetvisorFailure(ErrorCode.INVALID_DATA, "startdate and enddate are given together")
    elif modified_start is not None or modified_end is not None:
        if modified_start is None or modified_end is None:
            raise NetvisorFailure(
                ErrorCode.INVALID_DATA, "lastmodifiedstart and lastmodifiedend are given together"
            )
        start, end = modified_start, modified_end
    elif changed_since is not None:
        start = changed_since
    elif keys is None:
        raise NetvisorFailure(
            ErrorCode.INVALID_DATA,
            "startdate and enddate, changedsince, netvisorkey(list) or lastmodifiedstart and "
            "lastmodifiedend are required",
        )
    if start is not None and end is not None and start > end:
        raise NetvisorFailure(ErrorCode.INVALID_DATA, "startdate must not be after enddate")
    vouchers = ET.Element("Vouchers")
    for key, invoice in enumerate(company.purchase_invoices, start=1):
        if _within(invoice.date, start, end) and (keys is None or key in keys):
            _voucher(vouchers, key, invoice, query.base_url)
    return vouchers


def account_list(company: NetvisorCompany, query: ResourceQuery) -> ET.Element:
    """``accountlist.nv``: the company's default accounts and its chart, groups first as Netvisor sorts."""
    del company, query  # every sandbox company shares one chart and the resource takes no parameters
    listing = ET.Element("AccountList")
    defaults = sub(listing, "CompanyDefaultAccounts")
    for tag, number in DEFAULT_ACCOUNTS:
        sub(defaults, tag, number)
    accounts = sub(listing, "Accounts")
    key = 0
    for group_name in ACCOUNT_GROUPS:
        key += 1
        group_key = key
        members = [row for row in CHART_OF_ACCOUNTS if row[2] == group_name]
        _account_row(accounts, group_key, "", group_name, "accountgroup", 0, group_key + len(members))
        for number, name, _group in members:
            key += 1
            _account_row(accounts, key, number, name, "account", group_key, key)
    return listing


def _account_row(
    accounts: ET.Element, key: int, number: str, name: str, account_type: str, father: int, end_sort: int
) -> None:
    account = sub(accounts, "Account")
    sub(account, "NetvisorKey", str(key))
    sub(account, "Number", number or None)  # a group's is empty: <Number />
    sub(account, "Name", name)
    sub(account, "AccountType", account_type)
    sub(account, "FatherNetvisorKey", str(father))
    sub(account, "IsActive", "1")
    sub(account, "IsCumulative", "1" if account_type == "accountgroup" else "0")
    sub(account, "Sort", str(key))
    sub(account, "EndSort", str(end_sort))
    sub(account, "IsNaturalNegative", "1" if number.startswith(("2", "3")) else "0")


def dimension_list(company: NetvisorCompany, query: ResourceQuery) -> ET.Element:
    """``dimensionlist.nv``: hidden dimension names only with ``showhidden=1``."""
    show_hidden = query.params.get("showhidden") == "1"
    listing = ET.Element("DimensionNameList")
    key = 0
    for dimension in company.dimensions:
        key += 1
        if dimension.hidden and not show_hidden:
            key += len(dimension.items)
            continue
        name = sub(listing, "DimensionName")
        sub(name, "Netvisorkey", str(key))
        sub(name, "Name", dimension.name)
        sub(name, "IsHidden", str(dimension.hidden))
        sub(name, "LinkType", "0")
        details = sub(name, "DimensionDetails")
        for sort, item in enumerate(dimension.items, start=1):
            key += 1
            detail = sub(details, "DimensionDetail")
            sub(detail, "Netvisorkey", str(key))
            sub(detail, "Name", item)
            sub(detail, "IsHidden", "False")
            sub(detail, "Level", "1")
            sub(detail, "Sort", str(sort))
            sub(detail, "EndSort", str(sort))
            sub(detail, "FatherID", "0")
    return listing
