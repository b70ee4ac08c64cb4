"""The payloads of the four resources the roster reads, built from one company's seed.

Shapes follow Netvisor's resource documentation: element names, ``format="ansi"`` dates, decimal
commas, and ``Netvisorkey`` spelled as the dimension list spells it.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from sandbox.netvisor.responses import ErrorCode, NetvisorFailure, decimal_comma, sub
from sandbox.netvisor.scenario import NetvisorCompany, NetvisorPurchaseInvoice

# A short Finnish chart of accounts: (number, name, type). Every company of the sandbox uses it.
CHART_OF_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("1700", "Myyntisaamiset", "balancesheet"),
    ("1910", "Pankkitili", "balancesheet"),
    ("2871", "Ostovelat", "balancesheet"),
    ("2939", "Arvonlisäverovelka", "balancesheet"),
    ("3000", "Myynti", "profitandloss"),
    ("4000", "Ostot", "profitandloss"),
    ("6800", "Toimitilakulut", "profitandloss"),
    ("7680", "ICT-kulut", "profitandloss"),
    ("8380", "Muut kulut", "profitandloss"),
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
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise NetvisorFailure(ErrorCode.INVALID_DATA, f"{name} must be a date as YYYY-MM-DD") from None


def _within(value: dt.date, start: dt.date | None, end: dt.date | None) -> bool:
    return (start is None or value >= start) and (end is None or value <= end)


def purchase_invoice_list(company: NetvisorCompany, query: ResourceQuery) -> ET.Element:
    """``purchaseinvoicelist.nv``: optional ``begininvoicedate``, ``endinvoicedate``, ``invoicestatus``."""
    begin = parse_date(query.params, "begininvoicedate")
    end = parse_date(query.params, "endinvoicedate")
    status = query.params.get("invoicestatus")
    listing = ET.Element("PurchaseInvoiceList")
    for key, invoice in enumerate(company.purchase_invoices, start=1):
        if not _within(invoice.date, begin, end) or (status and invoice.status != status):
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
    _ansi_date(voucher, "VoucherDate", invoice.date)
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


def accounting_ledger(company: NetvisorCompany, query: ResourceQuery) -> ET.Element:
    """``accountingledger.nv``: ``startdate`` and ``enddate`` are required."""
    start = parse_date(query.params, "startdate")
    end = parse_date(query.params, "enddate")
    if start is None or end is None:
        raise NetvisorFailure(ErrorCode.INVALID_DATA, "startdate and enddate are required")
    if start > end:
        raise NetvisorFailure(ErrorCode.INVALID_DATA, "startdate must not be after enddate")
    vouchers = ET.Element("Vouchers")
    for key, invoice in enumerate(company.purchase_invoices, start=1):
        if _within(invoice.date, start, end):
            _voucher(vouchers, key, invoice, query.base_url)
    return vouchers


def account_list(company: NetvisorCompany, query: ResourceQuery) -> ET.Element:
    """``accountlist.nv``: the company's default accounts and its chart of accounts."""
    del company, query  # every sandbox company shares one chart and the resource takes no parameters
    listing = ET.Element("AccountList")
    defaults = sub(listing, "CompanyDefaultAccounts")
    for tag, number in DEFAULT_ACCOUNTS:
        sub(defaults, tag, number)
    accounts = sub(listing, "Accounts")
    for key, (number, name, account_type) in enumerate(CHART_OF_ACCOUNTS, start=1):
        account = sub(accounts, "Account")
        sub(account, "NetvisorKey", str(key))
        sub(account, "Number", number)
        sub(account, "Name", name)
        sub(account, "AccountType", account_type)
        sub(account, "FatherNetvisorKey", "0")
        sub(account, "IsActive", "1")
        sub(account, "IsCumulative", "0")
        sub(account, "Sort", str(key))
        sub(account, "EndSort", str(key))
        sub(account, "IsNaturalNegative", "1" if number.startswith(("2", "3")) else "0")
    return listing


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
