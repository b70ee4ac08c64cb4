"""Netvisor request signing: the documented MAC example, every header, fresh stamps, latin-1 rules."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import SecretStr

from provider.netvisor import signing
from provider.netvisor.signing import Credentials, NotLatin1, Partner, RequestStamp, compute_mac, sign

CUSTOMER_KEY = "7cd680e89e880553358bc07cd28b0ee2"
PARTNER_KEY = "7f94228d149a96b2f25e3edad55096e"
# Netvisor's documented example (reproduced by independent clients), but for the Unix timestamp.
DOCUMENTED = {
    "url": "https://isvapi.netvisor.fi/accounting.nv",
    "sender": "ClientName",
    "customer_id": "Integration user identifier",
    "timestamp": "2023-05-04 12:00:00.000",
    "language": "FI",
    "organisation_id": "1967543-8",
    "transaction_id": "123456",
    "customer_key": CUSTOMER_KEY,
    "partner_key": PARTNER_KEY,
}


def test_the_documented_example_mac() -> None:
    assert (
        compute_mac(**DOCUMENTED, timestamp_unix="1683147600")
        == "86b8f6510744913deab32da404d7668eba2a75775b3ac78c9c48bca65e0fbd27"
    )


def partner(sender: str = "ClientName") -> Partner:
    return Partner(partner_id="PARTNER", partner_key=SecretStr(PARTNER_KEY), sender=sender, language="FI")


def credentials(customer_id: str = "Integration user identifier", key: str = CUSTOMER_KEY) -> Credentials:
    return Credentials(customer_id=customer_id, customer_key=SecretStr(key))


def test_sign_sends_every_header_and_never_a_key() -> None:
    stamp = RequestStamp("123456", dt.datetime(2023, 5, 4, 12, 0, 0, tzinfo=dt.UTC))
    headers = {
        name.decode(): value.decode("latin-1")
        for name, value in sign(
            "https://isvapi.netvisor.fi/accounting.nv",
            partner=partner(),
            credentials=credentials(),
            organisation_id="1967543-8",
            stamp=stamp,
        ).items()
    }
    assert headers == {
        signing.SENDER: "ClientName",
        signing.CUSTOMER_ID: "Integration user identifier",
        signing.PARTNER_ID: "PARTNER",
        signing.TIMESTAMP: "2023-05-04 12:00:00.000",
        signing.TIMESTAMP_UNIX: "1683201600",
        signing.TRANSACTION_ID: "123456",
        signing.LANGUAGE: "FI",
        signing.ORGANISATION_ID: "1967543-8",
        # The stamp's own Unix time (the documented example's differs).
        signing.MAC: compute_mac(**DOCUMENTED, timestamp_unix="1683201600"),
        signing.MAC_ALGORITHM: "HMACSHA256",
        signing.USE_HTTP_STATUS: "1",
    }
    assert not any(key in value for value in headers.values() for key in (CUSTOMER_KEY, PARTNER_KEY))


def test_every_stamp_is_new_and_utc() -> None:
    first, second = signing.new_stamp(), signing.new_stamp()
    assert first.transaction_id != second.transaction_id
    assert first.at.tzinfo is dt.UTC
    assert len(first.timestamp) == len("2023-05-04 12:00:00.000")
    assert abs(int(first.timestamp_unix) - dt.datetime.now(dt.UTC).timestamp()) < 5


def test_a_latin1_sender_is_signed_as_latin1() -> None:
    stamp = RequestStamp("1", dt.datetime(2023, 5, 4, tzinfo=dt.UTC))
    headers = sign(
        "https://x/a.nv",
        partner=partner("Tilitoimisto Äkäs"),
        credentials=credentials(),
        organisation_id="1967543-8",
        stamp=stamp,
    )
    assert headers[signing.SENDER.encode()] == "Tilitoimisto Äkäs".encode("latin-1")


@pytest.mark.parametrize(
    ("field", "the_partner", "the_credentials"),
    [
        ("sender", partner("Firma €"), credentials()),
        ("customer id", partner(), credentials(customer_id="käyttäjä-€")),
        ("customer key", partner(), credentials(key="key-with-€-sign")),
    ],
)
def test_values_latin1_cannot_encode_are_refused_naming_the_field(
    field: str, the_partner: Partner, the_credentials: Credentials
) -> None:
    stamp = RequestStamp("1", dt.datetime(2023, 5, 4, tzinfo=dt.UTC))
    with pytest.raises(NotLatin1) as refused:
        sign(
            "https://x/a.nv",
            partner=the_partner,
            credentials=the_credentials,
            organisation_id="1967543-8",
            stamp=stamp,
        )
    assert field in str(refused.value)
    assert "key-with" not in str(refused.value)


def test_reprs_hide_the_keys() -> None:
    assert CUSTOMER_KEY not in repr(credentials())
    assert PARTNER_KEY not in repr(partner())
