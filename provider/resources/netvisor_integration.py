"""NetvisorIntegration: the live connection of one client company to its Netvisor company.

- create proves, for the client's company, the three API resource rights of the guide (purchase invoices,
  accounting material, calculation targets; one request at a time per customer environment, all missing
  ones reported together) and the requested dimensions; then the portal receives the connection
  (``system: netvisor``, ``erpCompanyId`` = the business ID, ``credentials: {customerId, customerKey}``).
- update with a new customer id or key is a **rotation**: everything is verified with the new pair first,
  then only this connection's credentials are replaced. If anything fails nothing changes. Other updates
  (dimensions, client name) re-verify and leave the portal alone.
- delete is deregistration: only this resource's connection is removed (already gone, or replaced by a
  successor, is success). The credentials are shared, so the log says to remove them in Netvisor only
  when no client uses them.
- read drops the resource when its connection is gone or was replaced, and otherwise reports the status.

The id is the portal connection id. The customer key is never an output: ``customer_key_fingerprint``
stands for it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar, Final

import pulumi
import pulumi.dynamic
from pulumi.dynamic import CreateResult, ReadResult, UpdateResult
from pydantic import BaseModel, ConfigDict, Field

from provider.business_id import BusinessId
from provider.netvisor.client import Company
from provider.netvisor.prerequisites import CREDENTIALS_PAGE, describe_credentials, verify_company
from provider.portal import ConnectionInfo
from provider.resources import portal_connection
from provider.resources.base import RosterResourceProvider, fingerprint
from provider.resources.client_company import client_label
from provider.resources.netvisor_inputs import CustomerId, CustomerKey, credentials

log = logging.getLogger(__name__)

SYSTEM: Final = "netvisor"


class NetvisorIntegrationInputs(BaseModel):
    # Output seeds (None) may arrive with the inputs: ignore what is not an input.
    model_config = ConfigDict(extra="ignore", frozen=True)

    client_id: int = Field(gt=0)
    business_id: BusinessId
    client_name: str = Field(min_length=1)
    customer_id: CustomerId
    customer_key: CustomerKey
    # The NetvisorCredentials output: makes the engine verify a rotated pair there first.
    credentials_fingerprint: str | None = None
    dimensions: list[str] = []

    @property
    def company(self) -> Company:
        return Company(business_id=self.business_id, label=client_label(self.client_name, self.business_id))

    @property
    def portal_credentials(self) -> dict[str, str]:
        return {"customerId": self.customer_id, "customerKey": self.customer_key}


class NetvisorIntegrationProvider(RosterResourceProvider):
    inputs_model = NetvisorIntegrationInputs
    replace_on = frozenset({"client_id", "business_id"})
    secret_fingerprints: ClassVar[Mapping[str, str]] = {"customer_key": "customer_key_fingerprint"}

    def _verify(self, inputs: NetvisorIntegrationInputs) -> tuple[str, ...]:
        verification = verify_company(
            self.context.netvisor,
            credentials(inputs.customer_id, inputs.customer_key),
            inputs.company,
            credentials_name=describe_credentials(inputs.customer_id),
            dimensions=inputs.dimensions,
        )
        return verification.verified_rights

    def _outputs(
        self,
        inputs: NetvisorIntegrationInputs,
        rights: tuple[str, ...],
        connection: ConnectionInfo,
    ) -> dict[str, Any]:
        return {
            **inputs.model_dump(mode="json", exclude={"customer_key"}),
            "customer_key_fingerprint": fingerprint(inputs.customer_key),
            "verified_rights": list(rights),
            **portal_connection.connection_outputs(connection),
        }

    def _create(self, props: dict[str, Any]) -> CreateResult:
        inputs = NetvisorIntegrationInputs.model_validate(props)
        rights = self._verify(inputs)
        connection = portal_connection.connect(
            self.context.portal,
            inputs.company.label,
            inputs.client_id,
            SYSTEM,
            str(inputs.business_id),
            inputs.portal_credentials,
        )
        log.info("%s: connected to Netvisor (connection %s)", inputs.company.label, connection.id)
        return CreateResult(connection.id, self._outputs(inputs, rights, connection))

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = NetvisorIntegrationInputs.model_validate(news)
        rights = self._verify(inputs)  # with the new pair, before the portal sees it
        label = inputs.company.label
        portal = self.context.portal
        rotated = {"customer_id", "customer_key"} & set(self.changed_keys(olds, news))
        if rotated:
            connection = portal_connection.rotate(
                portal, label, inputs.client_id, id_, inputs.portal_credentials
            )
            log.info("%s: Netvisor credentials rotated on connection %s", label, id_)
        else:
            found = portal_connection.current(portal, label, inputs.client_id, id_)
            if found is None:
                raise portal_connection.connection_gone(label, id_)
            connection = found  # dimensions or names changed: the portal's connection stays as it is
        return UpdateResult(self._outputs(inputs, rights, connection))

    def _read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        label = client_label(str(props.get("client_name", "?")), str(props.get("business_id", "?")))
        connection = portal_connection.current(self.context.portal, label, int(props["client_id"]), id_)
        if connection is None:
            log.info("%s: portal connection %s is gone or was replaced; dropping it from state", label, id_)
            return ReadResult("", {})
        return ReadResult(id_, {**props, **portal_connection.connection_outputs(connection)})

    def _delete(self, id_: str, props: dict[str, Any]) -> None:
        label = client_label(str(props.get("client_name", "?")), str(props.get("business_id", "?")))
        removed = portal_connection.disconnect(self.context.portal, label, int(props["client_id"]), id_)
        log.warning(
            "%s: %s. The Netvisor credentials (customer id %s) are shared by the firm's clients: remove them "
            "in Netvisor (%s) only when no client uses them.",
            label,
            f"Netvisor connection {id_} removed from the FabricAI portal"
            if removed
            else f"Netvisor connection {id_} was already gone from the portal (or replaced)",
            props.get("customer_id", "?"),
            CREDENTIALS_PAGE,
        )


class NetvisorIntegration(pulumi.dynamic.Resource, module="fabricai", name="NetvisorIntegration"):
    """One client's live Netvisor connection in the portal.

    Type token ``pulumi-python:dynamic/fabricai:NetvisorIntegration``. Outputs besides the inputs (the key
    excepted): ``customer_key_fingerprint``, ``connection_id``, ``erp_company_id`` (the business ID),
    ``verified_rights`` (the three resource rights), ``connected_at``, ``credentials_rotated_at``,
    ``status`` (the portal connection's). ``customer_key_fingerprint`` is marked secret.
    """

    client_id: pulumi.Output[int]
    business_id: pulumi.Output[str]
    client_name: pulumi.Output[str]
    customer_id: pulumi.Output[str]
    credentials_fingerprint: pulumi.Output[str | None]
    dimensions: pulumi.Output[list[str]]
    customer_key_fingerprint: pulumi.Output[str]
    connection_id: pulumi.Output[str]
    erp_company_id: pulumi.Output[str]
    verified_rights: pulumi.Output[list[str]]
    connected_at: pulumi.Output[str]
    credentials_rotated_at: pulumi.Output[str | None]
    status: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        client_id: pulumi.Input[int] | pulumi.Input[str],
        business_id: pulumi.Input[str],
        client_name: pulumi.Input[str],
        customer_id: pulumi.Input[str],
        customer_key: pulumi.Input[str],
        credentials_fingerprint: pulumi.Input[str] | None = None,
        dimensions: pulumi.Input[list[str]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "client_id": client_id,
            "business_id": business_id,
            "client_name": client_name,
            "customer_id": customer_id,
            "customer_key": pulumi.Output.secret(customer_key),
            "credentials_fingerprint": credentials_fingerprint,
            "dimensions": dimensions if dimensions is not None else [],
            "customer_key_fingerprint": None,
            "connection_id": None,
            "erp_company_id": None,
            "verified_rights": None,
            "connected_at": None,
            "credentials_rotated_at": None,
            "status": None,
        }
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=["customer_key_fingerprint"])
        super().__init__(
            NetvisorIntegrationProvider(),
            resource_name,
            props,
            pulumi.ResourceOptions.merge(opts, secret_outputs),
        )
