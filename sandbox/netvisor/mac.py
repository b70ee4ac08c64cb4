"""Netvisor's HMAC-SHA256 request MAC, computed the way the server checks it.

key = customer key & partner key; message = the nine signed header values and the full URL,
then both keys, joined by ``&``; both encoded ISO-8859-1; lowercase hex digest.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

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
