"""Authentication of one Netvisor request: headers, partner and customer, timestamp window, MAC.

Every failure here is ``AUTHENTICATION_FAILED``, as Netvisor answers for bad keys, headers or MAC.
Messages name headers and ids, never a key; a wrong MAC echoes the signed string with the keys
replaced by a placeholder. The MAC as the server checks it: key = customer key & partner key; message =
the URL and the signed header values, then both keys, joined by ``&``; both ISO-8859-1; lowercase hex.
A job of its own beside ``service`` (who may ask) and ``state`` (what was asked before).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from sandbox.netvisor.scenario import NetvisorCustomer, NetvisorPartner, NetvisorScenario
from sandbox.netvisor.state import ErrorCode, NetvisorFailure

SENDER = "X-Netvisor-Authentication-Sender"
CUSTOMER_ID = "X-Netvisor-Authentication-CustomerId"
PARTNER_ID = "X-Netvisor-Authentication-PartnerId"
TIMESTAMP = "X-Netvisor-Authentication-Timestamp"
TIMESTAMP_UNIX = "X-Netvisor-Authentication-TimestampUnix"
TRANSACTION_ID = "X-Netvisor-Authentication-TransactionId"
LANGUAGE = "X-Netvisor-Interface-Language"
ORGANISATION_ID = "X-Netvisor-Organisation-ID"
MAC = "X-Netvisor-Authentication-MAC"
MAC_ALGORITHM = "X-Netvisor-Authentication-MACHashCalculationAlgorithm"
USE_HTTP_STATUS = "X-Netvisor-Authentication-UseHTTPResponseStatusCodes"

REQUIRED_HEADERS = (
    SENDER,
    CUSTOMER_ID,
    PARTNER_ID,
    TIMESTAMP,
    TIMESTAMP_UNIX,
    TRANSACTION_ID,
    LANGUAGE,
    ORGANISATION_ID,
    MAC,
    MAC_ALGORITHM,
)
LANGUAGES = ("FI", "EN", "SE")
HMAC_ALGORITHM = "HMACSHA256"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


# ---- the MAC ----

KEY_PLACEHOLDER = "<customer key>&<partner key>"


@dataclass(frozen=True)
class SignedFields:
    """The non-secret values a request's MAC covers, in signing order."""

    url: str
    sender: str
    customer_id: str
    timestamp: str
    language: str
    organisation_id: str
    transaction_id: str
    timestamp_unix: str

    def joined(self) -> str:
        return "&".join(
            (
                self.url,
                self.sender,
                self.customer_id,
                self.timestamp,
                self.language,
                self.organisation_id,
                self.transaction_id,
                self.timestamp_unix,
            )
        )


def compute_mac(fields: SignedFields, customer_key: str, partner_key: str) -> str:
    key = f"{customer_key}&{partner_key}".encode("latin-1")
    message = f"{fields.joined()}&{customer_key}&{partner_key}".encode("latin-1")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def mac_matches(fields: SignedFields, customer_key: str, partner_key: str, received: str) -> bool:
    """Constant-time comparison; hex case is not significant. A header outside ASCII (HTTP delivers header
    values as ISO-8859-1, so ``é`` arrives as text) is no hex digest: no match, never an error."""
    received = received.strip().lower()
    if not received.isascii():
        return False
    try:
        expected = compute_mac(fields, customer_key, partner_key)
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected, received)


def redacted_signing_string(fields: SignedFields) -> str:
    """The string the server signed, with the keys replaced: safe to echo in an error."""
    return f"{fields.joined()}&{KEY_PLACEHOLDER}"


# ---- one request ----


@dataclass(frozen=True)
class Authenticated:
    """A request whose signature verified: who sent it and for which company."""

    partner: NetvisorPartner
    customer: NetvisorCustomer
    organisation_id: str
    transaction_id: str


def _fail(text: str) -> NetvisorFailure:
    return NetvisorFailure(ErrorCode.AUTHENTICATION_FAILED, text)


def _check_time(headers: Mapping[str, str], now: dt.datetime, window_seconds: int) -> None:
    try:
        stamped = dt.datetime.strptime(headers[TIMESTAMP], TIMESTAMP_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        raise _fail(f"{TIMESTAMP} must be UTC time as YYYY-MM-DD HH:MM:SS.mmm") from None
    try:
        unix = dt.datetime.fromtimestamp(int(headers[TIMESTAMP_UNIX]), dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise _fail(f"{TIMESTAMP_UNIX} must be Unix time in whole seconds") from None
    window = dt.timedelta(seconds=window_seconds)
    for header, value in ((TIMESTAMP, stamped), (TIMESTAMP_UNIX, unix)):
        if abs(now - value) > window:
            raise _fail(
                f"{header} is not within {window_seconds} seconds of the server time; check the clock"
            )


def authenticate(
    headers: Mapping[str, str], url: str, scenario: NetvisorScenario, now: dt.datetime
) -> Authenticated:
    """Verify everything Netvisor checks before it looks at the company; raise on the first fault."""
    missing = [name for name in REQUIRED_HEADERS if not headers.get(name, "").strip()]
    if missing:
        raise _fail(f"missing header(s): {', '.join(missing)}")
    if headers[MAC_ALGORITHM] != HMAC_ALGORITHM:
        raise _fail(f"{MAC_ALGORITHM} must be {HMAC_ALGORITHM}; older MAC algorithms are no longer accepted")
    if headers[LANGUAGE].upper() not in LANGUAGES:  # clients in production send "fi" too
        raise _fail(f"{LANGUAGE} must be one of {', '.join(LANGUAGES)}")
    partner = scenario.partner(headers[PARTNER_ID])
    customer = scenario.customer(headers[CUSTOMER_ID])
    if partner is None or customer is None:
        raise _fail("Integration keys are not valid. Please check the keys specific to the user and partner.")
    _check_time(headers, now, scenario.timestamp_window_seconds)
    # The URL as sent; and, as a tolerated alternative, percent-decoded: some clients sign the query
    # unencoded ("NetvisorKeyList=1,2") while their HTTP library sends it encoded ("1%2C2").
    urls = dict.fromkeys((url, unquote(url)))
    candidates = [
        SignedFields(
            url=signed_url,
            sender=headers[SENDER],
            customer_id=headers[CUSTOMER_ID],
            timestamp=headers[TIMESTAMP],
            language=headers[LANGUAGE],
            organisation_id=headers[ORGANISATION_ID],
            transaction_id=headers[TRANSACTION_ID],
            timestamp_unix=headers[TIMESTAMP_UNIX],
        )
        for signed_url in urls
    ]
    if not any(mac_matches(fields, customer.key, partner.key, headers[MAC]) for fields in candidates):
        raise _fail(
            "Integration keys are not valid or the MAC is miscalculated. "
            f"Expected MAC of string: {redacted_signing_string(candidates[0])}"
        )
    return Authenticated(
        partner=partner,
        customer=customer,
        organisation_id=headers[ORGANISATION_ID],
        transaction_id=headers[TRANSACTION_ID],
    )
