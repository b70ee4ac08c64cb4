"""Netvisor's request signature: the X-Netvisor-* headers and their HMAC-SHA256 MAC.

key = customer key & partner key; message = URL, sender, customer id, timestamp, language, organisation id,
transaction id, Unix timestamp, customer key, partner key, joined by ``&``. Both are encoded ISO-8859-1
(latin-1) as Netvisor does, and the MAC is the lowercase hex digest. The keys themselves are never sent.

Every call of ``sign`` is a new request: a fresh transaction id and the current UTC time. A value latin-1
cannot encode is refused here, before anything is sent, naming the field (never a secret's value).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr

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

HMAC_SHA256 = "HMACSHA256"
LANGUAGES = ("FI", "EN", "SE")


class NotLatin1(ValueError):
    """A value Netvisor signs contains a character ISO-8859-1 cannot encode; ``field`` names it."""

    def __init__(self, field: str, *, secret: bool) -> None:
        where = "" if secret else " (the offending character is not in ISO-8859-1)"
        super().__init__(
            f"the {field} contains a character that ISO-8859-1 (latin-1) cannot encode{where}; "
            "Netvisor signs every request in ISO-8859-1"
        )
        self.field = field


def latin1(value: str, field: str, *, secret: bool = False) -> bytes:
    """``value`` encoded ISO-8859-1, or NotLatin1 naming ``field`` (a secret's value is never shown)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        raise NotLatin1(field, secret=secret) from None


@dataclass(frozen=True, repr=False)
class Credentials:
    """One pair of software interface credentials: a customer environment of Netvisor."""

    customer_id: str
    customer_key: SecretStr

    def __repr__(self) -> str:
        return f"Credentials(customer_id={self.customer_id!r}, customer_key=***)"


@dataclass(frozen=True, repr=False)
class Partner:
    """The integration partner (FabricAI): its id and key sign every request next to the customer's."""

    partner_id: str
    partner_key: SecretStr
    sender: str
    language: str

    def __repr__(self) -> str:
        return f"Partner(partner_id={self.partner_id!r}, partner_key=***)"


@dataclass(frozen=True)
class RequestStamp:
    """What makes a request unique: its transaction id and when it was signed (UTC)."""

    transaction_id: str
    at: dt.datetime

    @property
    def timestamp(self) -> str:
        """``YYYY-MM-DD HH:MM:SS.mmm`` in UTC."""
        return (
            self.at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.") + f"{self.at.microsecond // 1000:03d}"
        )

    @property
    def timestamp_unix(self) -> str:
        return str(int(self.at.timestamp()))


def new_stamp() -> RequestStamp:
    """A fresh transaction id (random, 32 hex digits) and the current UTC time."""
    return RequestStamp(transaction_id=uuid.uuid4().hex, at=dt.datetime.now(dt.UTC))


def compute_mac(
    *,
    url: str,
    sender: str,
    customer_id: str,
    timestamp: str,
    language: str,
    organisation_id: str,
    transaction_id: str,
    timestamp_unix: str,
    customer_key: str,
    partner_key: str,
) -> str:
    """The HMAC-SHA256 MAC of one request, lowercase hex; NotLatin1 names a field latin-1 cannot encode."""
    fields = (
        (url, "request URL", False),
        (sender, "sender (netvisor:sender)", False),
        (customer_id, "customer id", False),
        (timestamp, "timestamp", False),
        (language, "interface language (netvisor:language)", False),
        (organisation_id, "organisation id (business ID)", False),
        (transaction_id, "transaction id", False),
        (timestamp_unix, "Unix timestamp", False),
        (customer_key, "customer key", True),
        (partner_key, "partner key (netvisor:partnerKey)", True),
    )
    message = b"&".join(latin1(value, field, secret=secret) for value, field, secret in fields)
    key = (
        latin1(customer_key, "customer key", secret=True)
        + b"&"
        + latin1(partner_key, "partner key (netvisor:partnerKey)", secret=True)
    )
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign(
    url: str,
    *,
    partner: Partner,
    credentials: Credentials,
    organisation_id: str,
    stamp: RequestStamp,
) -> dict[bytes, bytes]:
    """Every X-Netvisor-* header of one request to ``url`` (the full URL with its query, as sent).

    Values are latin-1 bytes: that is what was signed, and httpx would otherwise insist on ASCII.
    Names are ASCII bytes, as httpx wants both as bytes when either is.
    """
    mac = compute_mac(
        url=url,
        sender=partner.sender,
        customer_id=credentials.customer_id,
        timestamp=stamp.timestamp,
        language=partner.language,
        organisation_id=organisation_id,
        transaction_id=stamp.transaction_id,
        timestamp_unix=stamp.timestamp_unix,
        customer_key=credentials.customer_key.get_secret_value(),
        partner_key=partner.partner_key.get_secret_value(),
    )
    headers = {
        SENDER: partner.sender,
        CUSTOMER_ID: credentials.customer_id,
        PARTNER_ID: partner.partner_id,
        TIMESTAMP: stamp.timestamp,
        TIMESTAMP_UNIX: stamp.timestamp_unix,
        TRANSACTION_ID: stamp.transaction_id,
        LANGUAGE: partner.language,
        ORGANISATION_ID: organisation_id,
        MAC: mac,
        MAC_ALGORITHM: HMAC_SHA256,
        USE_HTTP_STATUS: "1",
    }
    return {name.encode("ascii"): latin1(value, name) for name, value in headers.items()}


StampSource = Callable[[], RequestStamp]
