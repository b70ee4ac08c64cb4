"""The Netvisor client: signed GETs of ``.nv`` resources, one at a time per customer environment.

Netvisor's rule is one request at a time per customer environment (= one customer id, one credential
pair): wait for the answer before sending the next. The engine runs four provider calls at once and every
integration of a firm shares one credential pair, so each request holds a process-wide lock for its
environment while it is on the wire (not while a retry waits). Different environments run side by side.

Every attempt, retries included, is signed anew: a new transaction id and timestamp. ``REQUEST_NOT_UNIQUE``
(a reused transaction id), 429, 5xx and transport faults are retried by the shared retry policy.
Timeouts are generous, as Netvisor advises (at least 120 s).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar
from xml.etree.ElementTree import Element

import httpx

from provider import defaults
from provider.context import process_context
from provider.errors import (
    CompanyNotReachable,
    ConfigurationError,
    CredentialsRejected,
    HostileAnswer,
    NetvisorError,
    ResourceNotAllowed,
)
from provider.http import TRANSPORT_ERRORS, build_client, transport_failure
from provider.netvisor import xml
from provider.netvisor.errors import AUTHENTICATION_FAILED, REQUEST_NOT_UNIQUE, SERVICE_ACCESS_ERROR
from provider.netvisor.signing import Credentials, NotLatin1, Partner, StampSource, new_stamp, sign
from provider.retry import RetryableStatus, RetryPolicy
from provider.settings import NetvisorSettings

REQUEST_TIMEOUT_SECONDS = defaults.NETVISOR_TIMEOUT_SECONDS
CONNECT_TIMEOUT_SECONDS = defaults.NETVISOR_CONNECT_TIMEOUT_SECONDS
# How far back the purchase-invoice probe looks: enough to prove the right, small enough to stay cheap.
PURCHASE_INVOICE_WINDOW = dt.timedelta(days=31)
_MAX_QUOTED = 300


@dataclass(frozen=True)
class Company:
    """The company a request is for (``X-Netvisor-Organisation-ID``) and how messages name it."""

    business_id: str
    label: str  # "Beta Oy (1572860-0)"


class TransactionIdReused(RetryableStatus):
    """REQUEST_NOT_UNIQUE: retried like a transient fault, and the retry signs with a new transaction id."""

    def __str__(self) -> str:
        return REQUEST_NOT_UNIQUE


class NetvisorClient:
    """Reads the resources that prove a company's Netvisor prerequisites. Thread-safe; share one."""

    # Tests shrink the waits by replacing this before the provider builds its clients.
    default_retry: ClassVar[RetryPolicy] = RetryPolicy()

    def __init__(
        self,
        settings: NetvisorSettings,
        *,
        retry: RetryPolicy | None = None,
        stamps: StampSource = new_stamp,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._base_url = settings.base_url.rstrip("/")
        self._partner = Partner(
            partner_id=settings.partner_id,
            partner_key=settings.partner_key,
            sender=settings.sender,
            language=settings.language,
        )
        self._retry = retry or self.default_retry
        # Not used in requests: the key by which Netvisor's "API resource rights" page finds FabricAI.
        self.access_key = settings.access_key
        self._stamps = stamps
        # ``transport`` stands in for the network in tests (httpx.MockTransport).
        self._http = (
            build_client(
                self._base_url, timeout=REQUEST_TIMEOUT_SECONDS, connect_timeout=CONNECT_TIMEOUT_SECONDS
            )
            if transport is None
            else httpx.Client(transport=transport, timeout=REQUEST_TIMEOUT_SECONDS, follow_redirects=False)
        )

    def close(self) -> None:
        self._http.close()

    # -- the resources -----------------------------------------------------------------------------------
    def purchase_invoices(
        self, credentials: Credentials, company: Company, *, today: dt.date | None = None
    ) -> list[xml.PurchaseInvoice]:
        """Recent purchase invoices (``purchaseinvoicelist.nv``): needs the "purchase invoices" right."""
        end = today or dt.datetime.now(dt.UTC).date()
        params = {
            "begininvoicedate": (end - PURCHASE_INVOICE_WINDOW).isoformat(),
            "endinvoicedate": end.isoformat(),
        }
        return xml.purchase_invoices(self._get("purchaseinvoicelist.nv", params, credentials, company))

    def accounts(self, credentials: Credentials, company: Company) -> list[xml.Account]:
        """The chart of accounts (``accountlist.nv``): needs the "accounting material" right."""
        return xml.accounts(self._get("accountlist.nv", {}, credentials, company))

    def dimensions(self, credentials: Credentials, company: Company) -> list[xml.Dimension]:
        """Every dimension, hidden ones too (``dimensionlist.nv``): needs the "calculation targets" right."""
        return xml.dimensions(self._get("dimensionlist.nv", {"showhidden": "1"}, credentials, company))

    # -- one signed GET ----------------------------------------------------------------------------------
    def _get(
        self, resource: str, params: Mapping[str, str], credentials: Credentials, company: Company
    ) -> Element:
        url = str(httpx.URL(f"{self._base_url}/{resource}", params=dict(params)))
        # One lock per customer environment (host + customer id), shared process-wide (provider.context).
        lock = process_context().netvisor_locks.get((self._base_url, credentials.customer_id), threading.Lock)

        def attempt() -> xml.Envelope:
            headers = sign(
                url,
                partner=self._partner,
                credentials=credentials,
                organisation_id=company.business_id,
                stamp=self._stamps(),
            )
            with lock:
                response = self._http.get(url, headers=headers)
            return self._envelope(response, resource, credentials, company)

        try:
            envelope = self._retry.call(attempt, idempotent=True, describe=f"Netvisor GET {resource}")
        except NotLatin1 as error:
            raise ConfigurationError(f"{company.label}: {error}.") from None
        except RetryableStatus as error:
            raise self._gave_up(error, resource, credentials, company) from None
        except TRANSPORT_ERRORS as error:
            raise transport_failure(
                error,
                NetvisorError,
                f"{company.label}: Netvisor",
                f" ({resource}); run `pulumi up` again later.",
            ) from None
        return envelope.root

    def _envelope(
        self, response: httpx.Response, resource: str, credentials: Credentials, company: Company
    ) -> xml.Envelope:
        """The answer's envelope; raises RetryableStatus to retry, or the typed error of a FAILED one."""
        if self._retry.should_retry_status(response.status_code):
            raise RetryableStatus(response)
        try:
            envelope = xml.parse_envelope(response.content)
        except xml.HostileXml:
            raise HostileAnswer(
                f"{company.label}: Netvisor's answer to {resource} declared a DTD or entities; it was "
                "refused unparsed (nothing was expanded or fetched).",
                status_code=response.status_code,
            ) from None
        except xml.MalformedXml as error:
            raise NetvisorError(
                f"{company.label}: Netvisor answered {resource} with HTTP {response.status_code} and no "
                f"readable envelope ({error}); check netvisor:baseUrl.",
                status_code=response.status_code,
            ) from None
        failure = envelope.failure
        if failure is None:
            return envelope
        if failure.code == REQUEST_NOT_UNIQUE:
            raise TransactionIdReused(response)
        raise self._failed(failure, response.status_code, resource, credentials, company)

    def _failed(
        self,
        failure: xml.Failure,
        status_code: int,
        resource: str,
        credentials: Credentials,
        company: Company,
    ) -> NetvisorError:
        quoted = self._redact(failure.text, credentials)
        message = f"{company.label}: Netvisor answered {failure.code or 'FAILED'} to {resource}: {quoted}"
        if failure.code == AUTHENTICATION_FAILED:
            kind = CompanyNotReachable if _about_organisation(failure.text) else CredentialsRejected
            return kind(message, code=failure.code, status_code=status_code)
        if failure.code == SERVICE_ACCESS_ERROR:
            return ResourceNotAllowed(message, code=failure.code, status_code=status_code)
        return NetvisorError(message, code=failure.code, status_code=status_code)

    def _gave_up(
        self, error: RetryableStatus, resource: str, credentials: Credentials, company: Company
    ) -> NetvisorError:
        """The error once retries are spent: Netvisor's own envelope if it sent one, else the status."""
        status = error.response.status_code
        try:
            failure = xml.parse_envelope(error.response.content).failure
        except xml.MalformedXml:
            failure = None
        detail = f"{failure.code}: {self._redact(failure.text, credentials)}" if failure else f"HTTP {status}"
        return NetvisorError(
            f"{company.label}: Netvisor kept failing {resource} after retries ({detail}); "
            "run `pulumi up` again later.",
            code=failure.code if failure else None,
            status_code=status,
            retryable=True,
        )

    def _redact(self, text: str, credentials: Credentials) -> str:
        """Netvisor's text with every key removed (its MAC errors may echo the signed string), shortened."""
        for secret in (credentials.customer_key, self._partner.partner_key):
            value = secret.get_secret_value()
            if value:
                text = text.replace(value, "***")
        return text if len(text) <= _MAX_QUOTED else text[:_MAX_QUOTED] + "..."


def _about_organisation(text: str) -> bool:
    """An AUTHENTICATION_FAILED about the company (not the keys): the user cannot reach it.

    A heuristic on Netvisor's free text, because nothing else separates the two: both are
    AUTHENTICATION_FAILED with no sub-code, and the HTTP status (when asked for) is the same. Key and MAC
    failures say "keys" or "MAC" (Netvisor's MAC echo contains the organisation id, never the word);
    the unreachable-company answer names the organisation. Risk: a wording Netvisor changes or that
    we have not seen falls on the "bad keys" side unless it names an organisation without mentioning
    keys or a MAC. docs/SANDBOX_NETVISOR.md has the details; tests/test_netvisor_client.py the wordings.
    """
    lowered = text.lower()
    about_keys = "keys" in lowered or re.search(r"\bmac\b", lowered) is not None
    return not about_keys and any(
        word in lowered for word in ("organisation", "organization", "organisaatio")
    )
