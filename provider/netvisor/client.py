"""The Netvisor client: signed GETs of ``.nv`` resources, one at a time per customer environment.

Netvisor's rule is one request at a time per customer environment (= one customer id, one credential
pair): wait for the answer before sending the next. The engine runs four provider calls at once and every
integration of a firm shares one credential pair, so each request holds the environment's gate while it is
on the wire (not while a retry waits): a lock per customer id inside the process and a file lock across the
processes of this user on this machine (``provider.netvisor.pace``). Different environments run side by
side. An answer of Netvisor's saying another request was in flight (someone else, e.g. on another machine,
uses the same credentials) is waited out and retried, never read as a rejection of the keys.

A request that outlives our timeout may still be processed by Netvisor: its connection is closed and the
gate is held a while longer (``NETVISOR_ABANDONED_HOLD_SECONDS``) so the retry does not overlap with it.

Every attempt, retries included, is signed anew: a new transaction id and timestamp. ``REQUEST_NOT_UNIQUE``
(a reused transaction id), 429, 5xx and transport faults are retried by the shared retry policy.
Answers are read within bounds (``provider.http_body``); anything the client cannot read becomes a
``NetvisorError`` subclass naming the company, never a raw exception.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar
from xml.etree.ElementTree import Element

import httpx

from provider import defaults
from provider.errors import (
    AnswerTooLarge,
    CompanyNotReachable,
    ConfigurationError,
    CredentialsRejected,
    EnvironmentBusy,
    HostileAnswer,
    NetvisorError,
    ResourceNotAllowed,
    UnreadableAnswer,
)
from provider.http import TRANSPORT_ERRORS, build_client, transport_failure
from provider.http_body import ACCEPT_ENCODING, Limits, TooLarge, Undecodable, read_bounded
from provider.netvisor import models as xml
from provider.netvisor.models import AUTHENTICATION_FAILED, REQUEST_NOT_UNIQUE, SERVICE_ACCESS_ERROR
from provider.netvisor.pace import EnvironmentGate, LockTimeout, LockUnavailable
from provider.netvisor.signing import Credentials, NotLatin1, Partner, StampSource, new_stamp, sign
from provider.redaction import redacted_quote
from provider.retry import RetryableStatus, RetryPolicy
from provider.settings import NetvisorSettings

REQUEST_TIMEOUT_SECONDS = defaults.NETVISOR_REQUEST_TIMEOUT_SECONDS
CONNECT_TIMEOUT_SECONDS = defaults.NETVISOR_CONNECT_TIMEOUT_SECONDS
# How far back the purchase-invoice probe looks: enough to prove the right, small enough to stay cheap.
PURCHASE_INVOICE_WINDOW = dt.timedelta(days=31)
_MAX_QUOTED = 300
T = TypeVar("T")


@dataclass(frozen=True)
class Company:
    """The company a request is for (``X-Netvisor-Organisation-ID``) and how messages name it."""

    business_id: str
    label: str  # "Beta Oy (1572860-0)"


class TransactionIdReused(RetryableStatus):
    """REQUEST_NOT_UNIQUE: retried like a transient fault, and the retry signs with a new transaction id."""

    def __str__(self) -> str:
        return REQUEST_NOT_UNIQUE


class EnvironmentInUse(RetryableStatus):
    """Netvisor answered that another request of this customer environment was in flight: wait, retry."""

    def __str__(self) -> str:
        return "another request of the customer environment in flight"


# How Netvisor's text may say that another request of the environment was in flight. Netvisor publishes
# the rule ("overlapping messages to the same customer environment cause different errors") but not the
# wording: these are the plausible English and Finnish phrasings (an assumption, docs/SANDBOX_NETVISOR.md).
_OVERLAP = re.compile(
    r"another request|simultaneous|concurrent|overlap|one request at a time|"
    r"(already|still) being processed|in progress|samanaikai|toinen pyyntö|käsittelyssä",
    re.IGNORECASE,
)


def is_overlap(failure: xml.Failure) -> bool:
    """A FAILED answer that says another request of the customer environment was in flight."""
    return _OVERLAP.search(failure.text) is not None


class NetvisorClient:
    """Reads the resources that prove a company's Netvisor prerequisites. Thread-safe; share one."""

    def __init__(
        self,
        settings: NetvisorSettings,
        *,
        retry: RetryPolicy | None = None,
        stamps: StampSource = new_stamp,
        transport: httpx.BaseTransport | None = None,
        request_timeout: float = REQUEST_TIMEOUT_SECONDS,
        abandoned_hold: float = defaults.NETVISOR_ABANDONED_HOLD_SECONDS,
        max_compressed_bytes: int = defaults.NETVISOR_MAX_COMPRESSED_BYTES,
        max_answer_bytes: int = defaults.NETVISOR_MAX_ANSWER_BYTES,
    ) -> None:
        self._base_url = settings.base_url.rstrip("/")
        self._partner = Partner(
            partner_id=settings.partner_id,
            partner_key=settings.partner_key,
            sender=settings.sender,
            language=settings.language,
        )
        self._retry = retry or RetryPolicy()
        # Not used in requests: the key by which Netvisor's "API resource rights" page finds FabricAI.
        self.access_key = settings.access_key
        self._stamps = stamps
        self._abandoned_hold = abandoned_hold
        self._limits = Limits(
            max_compressed=max_compressed_bytes,
            max_decompressed=max_answer_bytes,
            deadline_seconds=request_timeout,
        )
        connect = min(CONNECT_TIMEOUT_SECONDS, request_timeout)
        # ``transport`` stands in for the network in tests; the client is production's either way.
        self._http = build_client(
            self._base_url, timeout=request_timeout, connect_timeout=connect, transport=transport
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
        return self._get("purchaseinvoicelist.nv", params, credentials, company, xml.purchase_invoices)

    def accounts(self, credentials: Credentials, company: Company) -> list[xml.Account]:
        """The chart of accounts, groups included (``accountlist.nv``): needs "accounting material"."""
        return self._get("accountlist.nv", {}, credentials, company, xml.accounts)

    def dimensions(self, credentials: Credentials, company: Company) -> list[xml.Dimension]:
        """Every dimension, hidden ones too (``dimensionlist.nv``): needs the "calculation targets" right."""
        return self._get("dimensionlist.nv", {"showhidden": "1"}, credentials, company, xml.dimensions)

    # -- one signed GET ----------------------------------------------------------------------------------
    def _get(
        self,
        resource: str,
        params: Mapping[str, str],
        credentials: Credentials,
        company: Company,
        read: Callable[[Element], T],
    ) -> T:
        url = str(httpx.URL(f"{self._base_url}/{resource}", params=dict(params)))
        gate = EnvironmentGate.of(self._base_url, credentials.customer_id)

        def attempt() -> T:
            headers = sign(
                url,
                partner=self._partner,
                credentials=credentials,
                organisation_id=company.business_id,
                stamp=self._stamps(),
            )
            headers[b"Accept-Encoding"] = ACCEPT_ENCODING.encode("ascii")
            with gate.held(defaults.NETVISOR_LOCK_WAIT_SECONDS):
                response = self._exchange(url, headers, resource, credentials, company)
            envelope = self._envelope(response, resource, credentials, company)
            try:
                return read(envelope.root)
            except xml.MalformedXml as error:
                raise UnreadableAnswer(
                    f"{company.label}: Netvisor's answer to {resource} could not be read "
                    f"({self._redact(str(error), credentials)}); "
                    "if this persists, report it to FabricAI with the resource's name.",
                    status_code=response.status_code,
                ) from None

        try:
            return self._retry.call(attempt, idempotent=True, describe=f"Netvisor GET {resource}")
        except NotLatin1 as error:
            raise ConfigurationError(f"{company.label}: {error}.") from None
        except RetryableStatus as error:
            raise self._gave_up(error, resource, credentials, company) from None
        except LockUnavailable as error:
            raise ConfigurationError(
                f"{company.label}: the lock that keeps Netvisor's one-request-at-a-time rule between "
                f"processes on this machine cannot be used ({error}). Set XDG_RUNTIME_DIR (or TMPDIR) to a "
                "folder only this user can write to."
            ) from None
        except LockTimeout as error:
            raise EnvironmentBusy(
                f"{company.label}: waited in vain for the Netvisor customer environment of "
                f"{_customer(credentials)} ({error}): another `pulumi` run on this machine uses the same "
                "credentials. Let it finish, then run `pulumi up` again.",
                retryable=True,
            ) from None
        except TRANSPORT_ERRORS as error:
            raise transport_failure(
                error,
                NetvisorError,
                f"{company.label}: Netvisor",
                f" ({resource}); run `pulumi up` again later.",
            ) from None

    def _exchange(
        self,
        url: str,
        headers: dict[bytes, bytes],
        resource: str,
        credentials: Credentials,
        company: Company,
    ) -> httpx.Response:
        """One request on the wire, its body read within bounds; called with the environment's gate held.

        On a timeout the connection is closed (leaving the ``with``) and the gate stays held for
        ``abandoned_hold`` seconds, as Netvisor may still be processing the abandoned request.
        """
        started = time.monotonic()
        try:
            with self._http.stream("GET", url, headers=headers) as response:
                content = read_bounded(response, self._limits, started)
        except (httpx.ConnectTimeout, httpx.PoolTimeout):
            raise  # never sent: nothing is left running at Netvisor
        except httpx.TimeoutException:
            if self._abandoned_hold > 0:
                time.sleep(self._abandoned_hold)
            raise
        except TooLarge as error:
            raise AnswerTooLarge(
                f"{company.label}: Netvisor's answer to {resource} was refused unread: it was {error}. "
                "Check netvisor:baseUrl; if it is Netvisor's, report it to FabricAI.",
                status_code=response.status_code,
            ) from None
        except Undecodable as error:
            raise UnreadableAnswer(
                f"{company.label}: Netvisor's answer to {resource} could not be read "
                f"({self._redact(str(error), credentials)}); "
                "check netvisor:baseUrl and any proxy between this machine and Netvisor.",
                status_code=response.status_code,
            ) from None
        kept = [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(response.status_code, headers=kept, content=content, request=response.request)

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
            raise UnreadableAnswer(
                f"{company.label}: Netvisor answered {resource} with HTTP {response.status_code} and no "
                f"readable envelope ({self._redact(str(error), credentials)}); check netvisor:baseUrl.",
                status_code=response.status_code,
            ) from None
        failure = envelope.failure
        if failure is None:
            return envelope
        if failure.code == REQUEST_NOT_UNIQUE:
            raise TransactionIdReused(response)
        if is_overlap(failure):
            raise EnvironmentInUse(response)
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
        code = self._redact(failure.code, credentials)[:60]
        message = f"{company.label}: Netvisor answered {code or 'FAILED'} to {resource}: {quoted}"
        if code == AUTHENTICATION_FAILED:
            kind = CompanyNotReachable if _about_organisation(failure.text) else CredentialsRejected
            return kind(message, code=code, status_code=status_code)
        if code == SERVICE_ACCESS_ERROR:
            return ResourceNotAllowed(message, code=code, status_code=status_code)
        return NetvisorError(message, code=code, status_code=status_code)

    def _gave_up(
        self, error: RetryableStatus, resource: str, credentials: Credentials, company: Company
    ) -> NetvisorError:
        """The error once retries are spent: Netvisor's own envelope if it sent one, else the status."""
        status = error.response.status_code
        try:
            failure = xml.parse_envelope(error.response.content).failure
        except xml.MalformedXml:
            failure = None
        code = self._redact(failure.code, credentials)[:60] if failure else None
        detail = f"{code}: {self._redact(failure.text, credentials)}" if failure else f"HTTP {status}"
        if isinstance(error, EnvironmentInUse) or status == 429:
            return EnvironmentBusy(
                f"{company.label}: Netvisor kept answering that another request of the customer environment "
                f"of {_customer(credentials)} was in flight ({detail}). Netvisor takes one request at a "
                "time per customer id: another program (on another machine, or another integration) uses "
                "the same credentials. Run `pulumi up` again when it is done, or give FabricAI its own "
                "credentials (Software interface > Software interface credentials).",
                code=code,
                status_code=status,
                retryable=True,
            )
        return NetvisorError(
            f"{company.label}: Netvisor kept failing {resource} after retries ({detail}); "
            "run `pulumi up` again later.",
            code=code,
            status_code=status,
            retryable=True,
        )

    def _redact(self, text: str, credentials: Credentials) -> str:
        """Text from an answer with every key removed, in every form a service may echo it in, shortened.

        Netvisor's MAC errors echo the signed string; a proxy or a hostile host may echo a request back:
        the keys are removed as sent, percent-encoded, XML/HTML-escaped or base64, in any letter case.
        """
        secrets = (credentials.customer_key.get_secret_value(), self._partner.partner_key.get_secret_value())
        return redacted_quote(text, secrets, _MAX_QUOTED)


def _customer(credentials: Credentials) -> str:
    return f"customer id {credentials.customer_id}"


def _about_organisation(text: str) -> bool:
    """An AUTHENTICATION_FAILED about the company (not the keys): the user cannot reach it.

    A heuristic on Netvisor's free text, because nothing else separates the two: both are
    AUTHENTICATION_FAILED with no sub-code, and the HTTP status (when asked for) is the same. Key and MAC
    failures say "keys" or "MAC" (Netvisor's MAC echo contains the organisation id, never the word);
    the unreachable-company answer names the organisation. Risk: a wording Netvisor changes or that
    we have not seen falls on the "bad keys" side unless it names an organisation without mentioning
    keys or a MAC. docs/SANDBOX_NETVISOR.md has the details; tests/provider/netvisor/test_netvisor_client.py
    the wordings.
    """
    lowered = text.lower()
    about_keys = "keys" in lowered or re.search(r"\bmac\b", lowered) is not None
    return not about_keys and any(
        word in lowered for word in ("organisation", "organization", "organisaatio")
    )
