"""Input fields the two Netvisor resources share: the credential pair, validated offline in ``check``."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, SecretStr

from provider.netvisor.signing import Credentials, NotLatin1, latin1
from provider.resources.schema import Secret


def _signable(field: str, *, secret: bool) -> AfterValidator:
    """Netvisor signs in ISO-8859-1: refuse in ``check`` (before any request) what it cannot encode."""

    def validate(value: str) -> str:
        try:
            latin1(value, field, secret=secret)
        except NotLatin1 as error:
            raise ValueError(str(error)) from None
        return value

    return AfterValidator(validate)


CustomerId = Annotated[str, Field(min_length=1), _signable("customer id", secret=False)]
# The key itself: plain inside the provider (the engine unwraps secrets), never an output or a message.
CustomerKey = Annotated[
    str,
    Field(min_length=1, repr=False),
    _signable("customer key", secret=True),
    Secret(fingerprint="customer_key_fingerprint"),
]


def credentials(customer_id: str, customer_key: str) -> Credentials:
    """The pair as the Netvisor client takes it (the key wrapped so no repr shows it)."""
    return Credentials(customer_id=customer_id, customer_key=SecretStr(customer_key))
