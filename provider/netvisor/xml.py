"""Netvisor's XML answers, parsed with defusedxml into typed results.

The parser refuses any DTD, entity declaration or external reference (no "billion laughs", no XXE): a
hostile or broken answer becomes ``HostileXml``/``MalformedXml`` and nothing is expanded or fetched.

Envelope::

    <Root><ResponseStatus><Status>OK</Status><TimeStamp>..</TimeStamp></ResponseStatus> payload </Root>
    <Root><ResponseStatus><Status>FAILED</Status><Status>CODE :: text</Status>...</ResponseStatus></Root>
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring


class MalformedXml(ValueError):
    """The answer is not the XML Netvisor sends (not XML at all, or not the expected shape)."""


class HostileXml(MalformedXml):
    """The answer declares a DTD, entities or external references; it was refused unparsed."""


@dataclass(frozen=True)
class Failure:
    """A ``FAILED`` envelope: Netvisor's error code (``AUTHENTICATION_FAILED``...) and its text."""

    code: str
    text: str


@dataclass(frozen=True)
class Envelope:
    """A parsed answer: ``failure`` is None for ``OK``; ``root`` holds the payload elements."""

    root: Element
    failure: Failure | None


def parse_xml(body: bytes) -> Element:
    """The document element of ``body``; HostileXml for DTDs/entities/external refs, MalformedXml else."""
    try:
        root: Element = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise HostileXml("the answer declares a DTD, entities or external references") from None
    except ParseError:
        raise MalformedXml("the answer is not well-formed XML") from None
    return root


def parse_envelope(body: bytes) -> Envelope:
    """The ``Root``/``ResponseStatus`` envelope of one answer."""
    root = parse_xml(body)
    statuses = [(status.text or "").strip() for status in root.findall("ResponseStatus/Status")]
    if root.tag != "Root" or not statuses:
        raise MalformedXml("the answer has no Root/ResponseStatus/Status")
    if statuses[0] == "OK":
        return Envelope(root, None)
    if statuses[0] != "FAILED":
        raise MalformedXml(f"unknown response status {statuses[0][:40]!r}")
    detail = " ".join(statuses[1:])
    code, separator, text = detail.partition("::")
    if not separator:
        code, text = "", detail
    return Envelope(root, Failure(code=code.strip(), text=text.strip()))


def _text(element: Element, path: str) -> str:
    found = element.find(path)
    return (found.text or "").strip() if found is not None else ""


def _required(element: Element, path: str) -> str:
    value = _text(element, path)
    if not value:
        raise MalformedXml(f"{element.tag} has no {path}")
    return value


def _decimal_comma(value: str, what: str) -> Decimal:
    try:
        return Decimal(value.replace(",", ".").replace("\u00a0", "").replace(" ", ""))
    except InvalidOperation:
        raise MalformedXml(f"{what} is not an amount: {value[:40]!r}") from None


def _date(value: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise MalformedXml(f"{what} is not an ANSI date: {value[:40]!r}") from None


def _flag(value: str) -> bool:
    return value.strip().lower() in ("true", "1")


@dataclass(frozen=True)
class PurchaseInvoice:
    """One row of ``purchaseinvoicelist.nv``."""

    netvisor_key: str
    number: str
    date: dt.date
    vendor: str
    total: Decimal


@dataclass(frozen=True)
class Account:
    """One account of ``accountlist.nv``'s chart of accounts."""

    netvisor_key: str
    number: str
    name: str
    active: bool


@dataclass(frozen=True)
class Dimension:
    """One dimension name (calculation target) of ``dimensionlist.nv`` and its items."""

    netvisor_key: str
    name: str
    hidden: bool
    items: tuple[str, ...]


def purchase_invoices(root: Element) -> list[PurchaseInvoice]:
    return [
        PurchaseInvoice(
            netvisor_key=_required(item, "NetvisorKey"),
            number=_text(item, "InvoiceNumber"),
            date=_date(_required(item, "InvoiceDate"), "InvoiceDate"),
            vendor=_text(item, "Vendor"),
            total=_decimal_comma(_required(item, "Sum"), "Sum"),
        )
        for item in root.findall("PurchaseInvoiceList/PurchaseInvoice")
    ]


def accounts(root: Element) -> list[Account]:
    return [
        Account(
            netvisor_key=_required(item, "NetvisorKey"),
            number=_required(item, "Number"),
            name=_text(item, "Name"),
            active=_flag(_text(item, "IsActive") or "1"),
        )
        for item in root.findall("AccountList/Accounts/Account")
    ]


def dimensions(root: Element) -> list[Dimension]:
    return [
        Dimension(
            netvisor_key=_required(item, "Netvisorkey"),
            name=_required(item, "Name"),
            hidden=_flag(_text(item, "IsHidden")),
            items=tuple(
                _required(detail, "Name") for detail in item.findall("DimensionDetails/DimensionDetail")
            ),
        )
        for item in root.findall("DimensionNameList/DimensionName")
    ]
