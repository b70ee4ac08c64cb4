"""Netvisor's XML answers, parsed with defusedxml into typed results.

Element names are compared without regard to case: Netvisor spells them differently on different pages
and answers (``NetvisorKey``/``Netvisorkey``).

The parser refuses any DTD, entity declaration or external reference (no "billion laughs", no XXE): a
hostile or broken answer becomes ``HostileXml``/``MalformedXml`` and nothing is expanded or fetched.

Envelope::

    <Root><ResponseStatus><Status>OK</Status><TimeStamp>..</TimeStamp></ResponseStatus> payload </Root>
    <Root><ResponseStatus><Status>FAILED</Status><Status>CODE :: text</Status>...</ResponseStatus></Root>
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
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


def children(element: Element, name: str) -> list[Element]:
    """The direct children called ``name``, compared without regard to case (Netvisor's case varies)."""
    wanted = name.lower()
    return [child for child in element if isinstance(child.tag, str) and child.tag.lower() == wanted]


def find_all(element: Element, path: str) -> list[Element]:
    """Every element at ``path`` (``A/B/C``, direct children each step), names compared without case."""
    found = [element]
    for name in path.split("/"):
        found = [child for parent in found for child in children(parent, name)]
    return found


def find(element: Element, path: str) -> Element | None:
    """The first element at ``path`` (names compared without case), or None."""
    matches = find_all(element, path)
    return matches[0] if matches else None


def parse_envelope(body: bytes) -> Envelope:
    """The ``Root``/``ResponseStatus`` envelope of one answer (names compared without case)."""
    root = parse_xml(body)
    statuses = [(status.text or "").strip() for status in find_all(root, "ResponseStatus/Status")]
    if not isinstance(root.tag, str) or root.tag.lower() != "root" or not statuses:
        raise MalformedXml("the answer has no Root/ResponseStatus/Status")
    if statuses[0].upper() == "OK":
        return Envelope(root, None)
    if statuses[0].upper() != "FAILED":
        raise MalformedXml(f"unknown response status {statuses[0][:40]!r}")
    detail = " ".join(statuses[1:])
    code, separator, text = detail.partition("::")
    if not separator:
        code, text = "", detail
    return Envelope(root, Failure(code=code.strip().upper(), text=text.strip()))


def _text(element: Element, path: str) -> str:
    found = find(element, path)
    return (found.text or "").strip() if found is not None else ""


def _required(element: Element, path: str) -> str:
    value = _text(element, path)
    if not value:
        raise MalformedXml(f"{element.tag} has no {path}")
    return value


_AMOUNT = re.compile(r"-?\d{1,15}(\.\d{1,6})?")


def _decimal_comma(value: str, what: str) -> Decimal:
    """A Netvisor amount (``1240,00``, ``-12.5``, thousands spaced): plain digits only, bounded."""
    normal = value.replace(",", ".").replace("\u00a0", "").replace(" ", "")
    if not _AMOUNT.fullmatch(normal):
        raise MalformedXml(f"{what} is not an amount: {value[:40]!r}")
    return Decimal(normal)


def _date(value: str, what: str) -> dt.date:
    """An ANSI date (``YYYY-MM-DD``, ``format="ansi"``) or a Finnish one (``d.m.yyyy``, as VoucherDate)."""
    try:
        if "." in value:
            day, month, year = value.split(".")
            return dt.date(int(year), int(month), int(day))
        return dt.date.fromisoformat(value)
    except ValueError:
        raise MalformedXml(f"{what} is not a date: {value[:40]!r}") from None


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


ACCOUNT = "account"
ACCOUNT_GROUP = "accountgroup"


@dataclass(frozen=True)
class Account:
    """One row of ``accountlist.nv``'s chart: an account, or an account group (``accountgroup``).

    A group may have an empty ``<Number/>`` (Netvisor's captures show it), so ``number`` is "" there.
    """

    netvisor_key: str
    number: str
    name: str
    active: bool
    account_type: str = ACCOUNT

    @property
    def is_group(self) -> bool:
        return self.account_type == ACCOUNT_GROUP


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
        for item in find_all(root, "PurchaseInvoiceList/PurchaseInvoice")
    ]


def _account(item: Element) -> Account:
    account_type = _text(item, "AccountType").lower() or ACCOUNT
    # A group row (or a type we do not know) may have no number; a plain account always has one.
    number = _required(item, "Number") if account_type == ACCOUNT else _text(item, "Number")
    return Account(
        netvisor_key=_required(item, "NetvisorKey"),
        number=number,
        name=_text(item, "Name"),
        active=_flag(_text(item, "IsActive") or "1"),
        account_type=account_type,
    )


def accounts(root: Element) -> list[Account]:
    """Every row of the chart, groups included (``Account.is_group``)."""
    return [_account(item) for item in find_all(root, "AccountList/Accounts/Account")]


def dimensions(root: Element) -> list[Dimension]:
    """``Netvisorkey`` or ``NetvisorKey``: Netvisor's pages spell it both ways."""
    return [
        Dimension(
            netvisor_key=_required(item, "NetvisorKey"),
            name=_required(item, "Name"),
            hidden=_flag(_text(item, "IsHidden")),
            items=tuple(
                _required(detail, "Name") for detail in find_all(item, "DimensionDetails/DimensionDetail")
            ),
        )
        for item in find_all(root, "DimensionNameList/DimensionName")
    ]


# Netvisor's error codes (ResponseStatus); the typed errors a request can end in are in provider.errors.
AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED"
SERVICE_ACCESS_ERROR = "SERVICE_ACCESS_ERROR"
REQUEST_NOT_UNIQUE = "REQUEST_NOT_UNIQUE"
