"""ProcountorIntegration: the live connection of one client to its Procountor company, held by the portal.

- create proves the guide's prerequisites with the client's API key (token, then company, rights and
  dimensions at once) and only then puts the connection to the portal. The resource id is the portal's
  connection id, so this resource later touches that connection only.
- update with a new ``api_key`` is a rotation: the new key is verified in full first; only then does the
  portal get it (PATCH of this connection's credentials). A failed verification changes nothing. If the
  connection was removed or replaced outside Pulumi, the update fails and says so: an update cannot change
  the resource id, and silently connecting again would hide that someone else changed the portal.
  ``pulumi refresh`` then drops the resource and ``pulumi up`` connects again.
- delete disconnects this connection only (already gone or replaced by a newer one = success; the newer
  one survives) and tells the operator to revoke the API key in Procountor, which no API can do.
- read reports a missing or replaced connection (dropped) and the portal-side status, from the refresh
  snapshot (one page of 50 clients serves 50 integrations).
The key is an input only: outputs carry its fingerprint (marked secret), never the key.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Final

import pulumi
import pulumi.dynamic
from pulumi.dynamic import CreateResult, ReadResult, UpdateResult
from pydantic import BaseModel, ConfigDict, Field

from provider.business_id import BusinessId
from provider.errors import PortalError
from provider.portal import ConnectionInfo
from provider.procountor_checks import VerifiedCompany, verify_api_key
from provider.resources.base import RosterResourceProvider, fingerprint
from provider.resources.client_company import about_client, client_label

log = logging.getLogger(__name__)

SYSTEM: Final = "procountor"
REVOKE_HINT = (
    "revoke its API key in Procountor yourself (Basics -> API client keys): no API can revoke an API key"
)


class ProcountorIntegrationInputs(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    client_id: int
    business_id: BusinessId
    client_name: str = Field(min_length=1)
    # Plain str so that check hands the engine the key itself; repr=False keeps it out of reprs.
    api_key: str = Field(min_length=1, repr=False)
    dimensions: list[str] = []

    @property
    def label(self) -> str:
        return client_label(self.client_name, self.business_id)

    def public(self) -> dict[str, Any]:
        """The inputs that may appear in outputs (everything but the key) and the key's fingerprint."""
        return {
            **self.model_dump(mode="json", exclude={"api_key"}),
            "api_key_fingerprint": fingerprint(self.api_key),
        }

    def credentials(self) -> dict[str, str]:
        return {"apiKey": self.api_key}


def _connection_outputs(connection: ConnectionInfo) -> dict[str, Any]:
    return {
        "connection_id": connection.id,
        "erp_company_id": connection.erp_company_id,
        "connected_at": connection.connected_at,
        "credentials_rotated_at": connection.credentials_rotated_at,
        "status": connection.status,
    }


def _outputs(
    inputs: ProcountorIntegrationInputs, verified: VerifiedCompany, connection: ConnectionInfo
) -> dict[str, Any]:
    return {
        **inputs.public(),
        "erp_company_name": verified.erp_company_name,
        "verified_rights": verified.verified_rights,
        **_connection_outputs(connection),
    }


def _gone(label: str, connection_id: str) -> PortalError:
    return PortalError(
        f"{label}: the portal connection {connection_id} that this stack made no longer exists (it was "
        "removed, or replaced by another connection, outside Pulumi); nothing was changed. Fix: run "
        "`pulumi refresh` (it drops the integration from state), then `pulumi up` to connect again."
    )


def _label_of(props: Mapping[str, Any]) -> str:
    return client_label(str(props.get("client_name", "?")), str(props.get("business_id", "?")))


class ProcountorIntegrationProvider(RosterResourceProvider):
    inputs_model = ProcountorIntegrationInputs
    replace_on = frozenset({"client_id", "business_id"})
    secret_fingerprints: ClassVar[Mapping[str, str]] = MappingProxyType({"api_key": "api_key_fingerprint"})

    def _verify(self, inputs: ProcountorIntegrationInputs) -> VerifiedCompany:
        return verify_api_key(
            self.context.procountor,
            api_key=inputs.api_key,
            business_id=inputs.business_id,
            client_label=inputs.label,
            dimensions=inputs.dimensions,
        )

    def _create(self, props: dict[str, Any]) -> CreateResult:
        inputs = ProcountorIntegrationInputs.model_validate(props)
        verified = self._verify(inputs)
        with about_client(inputs.label):
            connection = self.context.portal.put_connection(
                inputs.client_id, SYSTEM, verified.erp_company_id, inputs.credentials()
            )
        if connection is None:
            raise PortalError(
                f"{inputs.label}: the portal has no client {inputs.client_id} to connect; run "
                "`pulumi refresh` and `pulumi up` so that its ClientCompany is registered first."
            )
        return CreateResult(connection.id, _outputs(inputs, verified, connection))

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = ProcountorIntegrationInputs.model_validate(news)
        verified = self._verify(inputs)  # a new key is proven in full before the portal sees it
        portal = self.context.portal
        rotating = olds.get("api_key_fingerprint") != inputs.public()["api_key_fingerprint"]
        with about_client(inputs.label):
            if rotating:
                connection = portal.rotate_credentials(inputs.client_id, id_, inputs.credentials())
            else:
                connection = portal.get_connection(inputs.client_id)
        if connection is None or connection.id != id_:
            raise _gone(inputs.label, id_)
        if rotating:
            log.warning("%s: API key rotated; %s for the old key.", inputs.label, REVOKE_HINT)
        return UpdateResult(_outputs(inputs, verified, connection))

    def _read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        label = _label_of(props)
        client_id = int(props["client_id"])
        portal = self.context.portal
        with about_client(label):
            record = portal.client_from_snapshot(client_id)
            if record is None:
                connection = None
            elif record.embeds_connection:
                connection = record.connection
            else:
                connection = portal.get_connection(client_id)
        if connection is None or connection.id != id_:
            log.info("%s: portal connection %s is gone or was replaced; dropping it from state", label, id_)
            return ReadResult("", {})
        return ReadResult(id_, {**props, **_connection_outputs(connection)})

    def _delete(self, id_: str, props: dict[str, Any]) -> None:
        label = _label_of(props)
        with about_client(label):
            disconnected = self.context.portal.delete_connection(int(props["client_id"]), id_)
        if disconnected:
            log.warning("%s: disconnected from the FabricAI portal; %s.", label, REVOKE_HINT)
        else:
            log.info(
                "%s: portal connection %s was already gone or replaced; nothing to disconnect", label, id_
            )


class ProcountorIntegration(pulumi.dynamic.Resource, module="fabricai", name="ProcountorIntegration"):
    """A client's Procountor connection in the portal.

    Type token ``pulumi-python:dynamic/fabricai:ProcountorIntegration``.

    ``api_key`` should be a secret Output; it is never an output. ``api_key_fingerprint`` is marked secret.
    """

    client_id: pulumi.Output[int]
    business_id: pulumi.Output[str]
    client_name: pulumi.Output[str]
    dimensions: pulumi.Output[list[str]]
    api_key_fingerprint: pulumi.Output[str]
    connection_id: pulumi.Output[str]
    erp_company_id: pulumi.Output[str]
    erp_company_name: pulumi.Output[str]
    verified_rights: pulumi.Output[list[str]]
    connected_at: pulumi.Output[str]
    credentials_rotated_at: pulumi.Output[str | None]
    status: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        client_id: pulumi.Input[int],
        business_id: pulumi.Input[str],
        client_name: pulumi.Input[str],
        api_key: pulumi.Input[str],
        dimensions: pulumi.Input[list[str]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "client_id": client_id,
            "business_id": business_id,
            "client_name": client_name,
            "api_key": pulumi.Output.secret(api_key),
            "dimensions": dimensions if dimensions is not None else [],
            "api_key_fingerprint": None,
            "connection_id": None,
            "erp_company_id": None,
            "erp_company_name": None,
            "verified_rights": None,
            "connected_at": None,
            "credentials_rotated_at": None,
            "status": None,
        }
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=["api_key_fingerprint"])
        super().__init__(
            ProcountorIntegrationProvider(),
            resource_name,
            props,
            pulumi.ResourceOptions.merge(opts, secret_outputs),
        )
