"""ProcountorIntegration: the live connection of one client to its Procountor company, held by the portal.

The lifecycle is the one of every integration (``provider.resources.integration``). What is Procountor's:
- verification proves the guide's prerequisites with the client's API key (token, then company, rights and
  dimensions); the portal gets ``system: procountor`` and ``credentials: {apiKey}``;
- rotation and deregistration tell the operator to revoke the key no longer used in Procountor, which no
  API can do;
- ERP health at refresh: the same checks (FabricAI re-verifies the stored key; in partner mode, the key
  of ``roster:procountorApiKeys`` whose fingerprint the state holds); a failed check is KEY_REFUSED,
  BILLABLE_INTERFACES_OFF, OTHER_COMPANY, RIGHTS_MISSING or DIMENSIONS_MISSING, in the checks' order.
The key is an input only: outputs carry its fingerprint (marked secret), never the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import pulumi
import pulumi.dynamic
from pydantic import Field

from provider.procountor.checks import check_api_key
from provider.resources.base import RosterResource, fingerprint, keep_secret, resource_props
from provider.resources.integration import INTEGRATION_OUTPUTS, IntegrationInputs, IntegrationProvider
from provider.verification.findings import Verification


class ProcountorIntegrationInputs(IntegrationInputs):
    # Plain str so that check hands the engine the key itself; repr=False keeps it out of reprs.
    api_key: str = Field(min_length=1, repr=False)


class ProcountorIntegrationProvider(IntegrationProvider[ProcountorIntegrationInputs]):
    inputs_model = ProcountorIntegrationInputs
    system = "procountor"
    erp_name = "Procountor"
    credential_inputs = frozenset({"api_key"})
    secret_fingerprints: ClassVar[Mapping[str, str]] = MappingProxyType({"api_key": "api_key_fingerprint"})

    def local_verification(self, inputs: ProcountorIntegrationInputs) -> Verification:
        return check_api_key(
            self.context.procountor,
            api_key=inputs.api_key,
            business_id=inputs.business_id,
            dimensions=inputs.dimensions,
        )

    def stored_inputs(self, props: Mapping[str, Any]) -> ProcountorIntegrationInputs | None:
        wanted = props.get("api_key_fingerprint")
        for key in self._settings.stored_procountor_keys:
            if fingerprint(key.get_secret_value()) == wanted:
                return self._inputs({**props, "api_key": key.get_secret_value()})
        return None

    def portal_credentials(self, inputs: ProcountorIntegrationInputs) -> dict[str, str]:
        return {"apiKey": inputs.api_key}

    def credentials_hint(self, props: Mapping[str, Any]) -> str:
        return (
            "revoke the API key in Procountor yourself (Basics -> API client keys): no API can revoke an "
            "API key"
        )


class ProcountorIntegration(RosterResource, module="fabricai", name="ProcountorIntegration"):
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
    client_status: pulumi.Output[str | None]
    dimension_predictions: pulumi.Output[dict[str, str]]
    erp_health: pulumi.Output[str | None]
    erp_health_detail: pulumi.Output[str | None]
    erp_checked_at: pulumi.Output[str | None]

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
        inputs = {
            "client_id": client_id,
            "business_id": business_id,
            "client_name": client_name,
            "api_key": pulumi.Output.secret(api_key),
            "dimensions": dimensions if dimensions is not None else [],
        }
        outputs = ("api_key_fingerprint", "erp_company_name", *INTEGRATION_OUTPUTS)
        super().__init__(
            ProcountorIntegrationProvider(),
            resource_name,
            resource_props(inputs, outputs),
            keep_secret(opts, "api_key_fingerprint"),
        )
