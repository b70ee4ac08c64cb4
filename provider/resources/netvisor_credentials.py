"""NetvisorCredentials: a firm's shared Netvisor software interface credentials (customer id + key).

- create verifies the pair with one signed request against ``verify_business_id`` (the first Netvisor
  client of the set). Netvisor authenticates the keys before it checks the organisation and then the
  resource right, so only a rejection of the keys fails here: a company the user cannot reach (or one
  that left the firm) or a missing resource right still proves the pair, and that company's own
  integration reports its problem.
- update (a new customer id or key, or another company to verify against) verifies again. Every Netvisor
  integration takes this resource's ``customer_key_fingerprint`` as its ``credentials_fingerprint`` input,
  so the engine runs them after it: a wrong new key fails here, once, before any integration is touched.
- read has nothing remote to read (Netvisor lists no credentials through its API), so refresh keeps the
  state as it is; a key revoked in Netvisor shows at the next verification of an integration.
- delete touches nothing remote: the credentials live in Netvisor, and only the firm can remove them
  there, once no client uses them. It says so in the log.

The id is the credential set's name (its key in ``roster:netvisorCredentials``). Outputs repeat the inputs
except the key, which appears only as ``customer_key_fingerprint``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import pulumi
import pulumi.dynamic
from pulumi.dynamic import CreateResult, ReadResult, UpdateResult
from pydantic import BaseModel, ConfigDict, Field

from provider.business_id import BusinessId
from provider.netvisor.checks import CREDENTIALS_PAGE, describe_credentials, verify_credentials
from provider.netvisor.client import Company
from provider.resources.base import (
    RosterResource,
    RosterResourceProvider,
    fingerprint,
    keep_secret,
    resource_props,
)
from provider.resources.client_company import client_label
from provider.resources.netvisor_inputs import CustomerId, CustomerKey, credentials

log = logging.getLogger(__name__)


class NetvisorCredentialsInputs(BaseModel):
    # Output seeds (None) may arrive with the inputs: ignore what is not an input.
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(min_length=1)
    customer_id: CustomerId
    customer_key: CustomerKey
    verify_business_id: BusinessId
    # Only for messages ("Beta Oy (1572860-0)"); Netvisor has no resource that names a company.
    verify_client_name: str | None = None

    @property
    def company(self) -> Company:
        label = (
            client_label(self.verify_client_name, self.verify_business_id)
            if self.verify_client_name
            else f"Netvisor credentials '{self.name}' checked with company {self.verify_business_id}"
        )
        return Company(business_id=self.verify_business_id, label=label)

    def outputs(self) -> dict[str, Any]:
        """Inputs without the key, its fingerprint, and when the pair was verified."""
        return {
            **self.model_dump(mode="json", exclude={"customer_key"}),
            "customer_key_fingerprint": fingerprint(self.customer_key),
            "verified_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }


class NetvisorCredentialsProvider(RosterResourceProvider):
    inputs_model = NetvisorCredentialsInputs
    replace_on = frozenset({"name"})
    secret_fingerprints: ClassVar[Mapping[str, str]] = {"customer_key": "customer_key_fingerprint"}

    def _verify(self, inputs: NetvisorCredentialsInputs) -> dict[str, Any]:
        pair = credentials(inputs.customer_id, inputs.customer_key)
        described = describe_credentials(inputs.customer_id, inputs.name)
        verify_credentials(self.context.netvisor, pair, inputs.company, described)
        log.info("Netvisor credentials '%s' (customer id %s) verified", inputs.name, inputs.customer_id)
        return inputs.outputs()

    def _create(self, props: dict[str, Any]) -> CreateResult:
        inputs = NetvisorCredentialsInputs.model_validate(props)
        return CreateResult(inputs.name, self._verify(inputs))

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._verify(NetvisorCredentialsInputs.model_validate(news)))

    def _read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # Nothing remote to read: Netvisor's API does not list credentials. State stays as it is.
        return ReadResult(id_, props)

    def _delete(self, id_: str, props: dict[str, Any]) -> None:
        log.warning(
            "Netvisor credentials '%s' (customer id %s) removed from the stack; nothing was changed in "
            "Netvisor. They may still be used by other clients or systems: remove them in Netvisor "
            "(%s) only when no client uses them.",
            id_,
            props.get("customer_id", "?"),
            CREDENTIALS_PAGE,
        )


class NetvisorCredentials(RosterResource, module="fabricai", name="NetvisorCredentials"):
    """Shared Netvisor API credentials, verified once.

    Type token ``pulumi-python:dynamic/fabricai:NetvisorCredentials``.

    Outputs besides the inputs (the key excepted): ``customer_key_fingerprint`` (feed it to every
    NetvisorIntegration's ``credentials_fingerprint``; marked secret) and ``verified_at`` (ISO 8601, UTC).
    """

    name: pulumi.Output[str]
    customer_id: pulumi.Output[str]
    verify_business_id: pulumi.Output[str]
    verify_client_name: pulumi.Output[str | None]
    customer_key_fingerprint: pulumi.Output[str]
    verified_at: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        name: pulumi.Input[str],
        customer_id: pulumi.Input[str],
        customer_key: pulumi.Input[str],
        verify_business_id: pulumi.Input[str],
        verify_client_name: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        inputs = {
            "name": name,
            "customer_id": customer_id,
            "customer_key": pulumi.Output.secret(customer_key),
            "verify_business_id": verify_business_id,
            "verify_client_name": verify_client_name,
        }
        super().__init__(
            NetvisorCredentialsProvider(),
            resource_name,
            resource_props(inputs, ("customer_key_fingerprint", "verified_at")),
            keep_secret(opts, "customer_key_fingerprint"),
        )
