"""FabricAI's Netvisor checks: three signed reads that prove the guide's resource rights for one company.

Written from Netvisor's documentation and the FabricAI guide ("Connecting FabricAI to a Netvisor
company"), without importing ``provider`` or the sandbox's Netvisor (the two sides stay independent):
- every request is signed: the ``X-Netvisor-*`` headers and HMAC-SHA256 over the URL as sent, the signed
  header values and both keys (key = customer key & partner key), ISO-8859-1, lowercase hex; a fresh
  transaction id and timestamp per attempt; ``UseHTTPResponseStatusCodes: 1``;
- one request at a time per customer id (the caller's lock), in this order: ``purchaseinvoicelist.nv``
  (purchase invoices), ``accountlist.nv`` (accounting material), ``dimensionlist.nv?showhidden=1``
  (calculation targets, and the dimensions' names);
- the answer's envelope decides: AUTHENTICATION_FAILED naming the organisation is ``company_access``
  (ASSUMPTION: the wording is not public; the sandbox's says "rights to organisation"), any other
  AUTHENTICATION_FAILED refuses the keys (``credentials`` ``CUSTOMER_KEYS``: Netvisor does not say
  whether the customer's or the partner's key was wrong, and FabricAI's is known good in operation);
  SERVICE_ACCESS_ERROR is the resource right not allowed; TECHNICAL_ERROR, REQUEST_NOT_UNIQUE, 429 and
  5xx are retried, then ``erp_reachable``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from xml.etree.ElementTree import Element

import httpx
from defusedxml import ElementTree as SafeXml
from defusedxml.common import DefusedXmlException

from sandbox.portal.scenario import NetvisorPartner
from sandbox.portal.verifier import Answer, Company, CustomerLocks, ErpCalls, Outcome, Unreachable

ResourceRight = Literal["PURCHASE_INVOICES", "ACCOUNTING_MATERIAL", "CALCULATION_TARGETS"]
# (resource, the right that guards it), probed in this order.
PROBES: tuple[tuple[str, ResourceRight], ...] = (
    ("purchaseinvoicelist.nv", "PURCHASE_INVOICES"),
    ("accountlist.nv", "ACCOUNTING_MATERIAL"),
    ("dimensionlist.nv?showhidden=1", "CALCULATION_TARGETS"),
)
_RETRIED_CODES = frozenset({"TECHNICAL_ERROR", "REQUEST_NOT_UNIQUE", "SYSTEM_MAINTENANCE"})
_MAX_NAME = 200


@dataclass(frozen=True)
class NetvisorRequest:
    """What FabricAI is asked to verify."""

    customer_id: str
    customer_key: str
    business_id: str  # NNNNNNN-C: the organisation (X-Netvisor-Organisation-ID) and the company's id
    dimensions: Sequence[str] | None


@dataclass(frozen=True)
class Envelope:
    """``Root/ResponseStatus``: OK, or FAILED with the error code; the payload's root for OK."""

    ok: bool
    code: str
    text: str
    root: Element


def sign(
    url: str, partner: NetvisorPartner, request: NetvisorRequest, now: dt.datetime, transaction_id: str
) -> dict[str, str]:
    """The headers of one signed request (the MAC covers the URL exactly as it is sent)."""
    timestamp = now.strftime("%Y-%m-%d %H:%M:%S.") + f"{now.microsecond // 1000:03d}"
    unix = str(int(now.timestamp()))
    signed = (
        url,
        partner.sender,
        request.customer_id,
        timestamp,
        partner.language,
        request.business_id,
        transaction_id,
        unix,
        request.customer_key,
        partner.partner_key,
    )
    key = f"{request.customer_key}&{partner.partner_key}".encode("latin-1")
    mac = hmac.new(key, "&".join(signed).encode("latin-1"), hashlib.sha256).hexdigest()
    return {
        "X-Netvisor-Authentication-Sender": partner.sender,
        "X-Netvisor-Authentication-CustomerId": request.customer_id,
        "X-Netvisor-Authentication-PartnerId": partner.partner_id,
        "X-Netvisor-Authentication-Timestamp": timestamp,
        "X-Netvisor-Authentication-TimestampUnix": unix,
        "X-Netvisor-Authentication-TransactionId": transaction_id,
        "X-Netvisor-Interface-Language": partner.language,
        "X-Netvisor-Organisation-ID": request.business_id,
        "X-Netvisor-Authentication-MAC": mac,
        "X-Netvisor-Authentication-MACHashCalculationAlgorithm": "HMACSHA256",
        "X-Netvisor-Authentication-UseHTTPResponseStatusCodes": "1",
    }


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _child(element: Element, name: str) -> Element | None:
    return next((c for c in element if _local(c.tag) == name), None)


def envelope(answer: Answer) -> Envelope | None:
    """The response envelope, names read without regard to case; None when the body is no envelope."""
    try:
        root = SafeXml.fromstring(answer.body)
    except (SafeXml.ParseError, DefusedXmlException, ValueError):
        return None
    status = _child(root, "responsestatus") if _local(root.tag) == "root" else None
    if status is None:
        return None
    values = [(c.text or "").strip() for c in status if _local(c.tag) == "status"]
    if not values:
        return None
    if values[0].upper() == "OK":
        return Envelope(True, "", "", root)
    code, _, text = (values[1] if len(values) > 1 else "").partition("::")
    return Envelope(False, code.strip().upper(), text.strip(), root)


def _passing_fault(answer: Answer) -> bool:
    found = envelope(answer)
    return found is not None and not found.ok and found.code in _RETRIED_CODES


class NetvisorChecks:
    def __init__(self, partner: NetvisorPartner, base_url: str, locks: CustomerLocks) -> None:
        self.partner = partner
        self.base_url = base_url.rstrip("/")
        self.locks = locks

    async def __call__(self, calls: ErpCalls, request: NetvisorRequest) -> Outcome:
        outcome = Outcome()
        allowed: list[ResourceRight] = []
        not_allowed: list[ResourceRight] = []
        dimensions: Element | None = None
        for index, (resource, right) in enumerate(PROBES):
            answer = await self._get(calls, request, resource)
            found = envelope(answer) if isinstance(answer, Answer) else None
            if isinstance(answer, Unreachable) or found is None:
                problem = (
                    answer if isinstance(answer, Unreachable) else Unreachable("bad_answer", answer.status)
                )
                if index == 0:
                    outcome.add("erp_reachable", False, **problem.facts())
                    return outcome
                outcome.add("erp_reachable", False, **problem.facts())
                self._rights(outcome, allowed, not_allowed)
                return outcome
            if index == 0 and not self._authenticated(found, request, outcome):
                return outcome
            if found.ok:
                allowed.append(right)
                if right == "CALCULATION_TARGETS":
                    dimensions = _child(found.root, "dimensionnamelist")
            elif found.code == "SERVICE_ACCESS_ERROR":
                not_allowed.append(right)
            else:  # AUTHENTICATION_FAILED after the first answer, INVALID_DATA, ...: not an answer to judge
                outcome.add("erp_reachable", False, reason="bad_answer", status=answer.status)
                self._rights(outcome, allowed, not_allowed)
                return outcome
        outcome.add("erp_reachable", True)
        self._rights(outcome, allowed, not_allowed)
        if request.dimensions and "CALCULATION_TARGETS" in allowed:
            self._dimensions(dimensions, request.dimensions, outcome)
        return outcome

    def _authenticated(self, found: Envelope, request: NetvisorRequest, outcome: Outcome) -> bool:
        """The first answer says whether the keys and the organisation were accepted."""
        outcome.add("partner_app", True)
        if not found.ok and found.code == "AUTHENTICATION_FAILED":
            organisation = "organisation" in found.text.lower() or "organization" in found.text.lower()
            outcome.add("erp_reachable", True)
            if organisation:
                outcome.add("credentials", True)
                outcome.add("company_access", False)
            else:
                outcome.add("credentials", False, refused="CUSTOMER_KEYS")
            return False
        outcome.add("credentials", True)
        outcome.add("company_access", True)
        # Netvisor's API names no company: the organisation is the client's business ID.
        outcome.company = Company(
            erp_company_id=request.business_id, name=None, business_id=request.business_id
        )
        return True

    @staticmethod
    def _rights(outcome: Outcome, allowed: list[ResourceRight], not_allowed: list[ResourceRight]) -> None:
        if allowed or not_allowed:
            outcome.add("resource_rights", not not_allowed, notAllowed=not_allowed, allowed=allowed)

    @staticmethod
    def _dimensions(listing: Element | None, asked: Sequence[str], outcome: Outcome) -> None:
        existing: list[dict[str, Any]] = []
        for item in listing if listing is not None else []:
            if _local(item.tag) != "dimensionname":
                continue
            name = _child(item, "name")
            hidden = _child(item, "ishidden")
            if name is not None and name.text:
                existing.append(
                    {
                        "name": name.text.strip()[:_MAX_NAME],
                        "hidden": hidden is not None and (hidden.text or "").strip().lower() in ("true", "1"),
                    }
                )
        usable = {d["name"].casefold() for d in existing if not d["hidden"]}
        # A hidden dimension is listed but cannot be predicted: it counts as missing.
        missing = [name for name in asked if name.strip().casefold() not in usable]
        outcome.add("dimensions", not missing, missing=missing, existing=existing)

    async def _get(self, calls: ErpCalls, request: NetvisorRequest, resource: str) -> Answer | Unreachable:
        url = f"{self.base_url}/{resource}"

        def build() -> httpx.Request:
            headers = sign(url, self.partner, request, dt.datetime.now(dt.UTC), secrets.token_hex(16))
            return calls.http.build_request("GET", url, headers=headers)

        return await calls.call(
            build,
            paced=lambda: self.locks.of(request.customer_id),
            retryable_status=lambda status: status >= 500,
            retry_answer=_passing_fault,
        )
