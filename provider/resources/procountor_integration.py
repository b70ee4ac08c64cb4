"""ProcountorIntegration: one client's Procountor connection; the lifecycle is ``integration``'s.

What is Procountor's:
- verification: the guide's prerequisites with the client's API key (token, company, rights, dimensions);
  the portal gets ``credentials: {apiKey}``;
- rotation and deregistration tell the operator to revoke the unused key in Procountor: no API can;
- ERP health failures, in the checks' order: KEY_REFUSED, BILLABLE_INTERFACES_OFF, OTHER_COMPANY,
  RIGHTS_MISSING, DIMENSIONS_MISSING. In partner mode the key is the one of ``roster:procountorApiKeys``
  whose fingerprint the state holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field

from provider.procountor.checks import check_api_key
from provider.resources.base import RosterResource, fingerprint
from provider.resources.integration import IntegrationInputs, IntegrationOutputs, IntegrationProvider
from provider.resources.schema import Secret
from provider.verification.findings import Verification


class ProcountorIntegrationInputs(IntegrationInputs):
    # Plain str so that check hands the engine the key itself; repr=False keeps it out of reprs.
    api_key: Annotated[str, Field(min_length=1, repr=False), Secret(fingerprint="api_key_fingerprint")]


class ProcountorIntegrationOutputs(IntegrationOutputs):
    api_key_fingerprint: str
    erp_company_name: str | None = Field(description="as Procountor names the company")


class ProcountorIntegrationProvider(IntegrationProvider[ProcountorIntegrationInputs]):
    inputs_model = ProcountorIntegrationInputs
    outputs_model = ProcountorIntegrationOutputs
    system = "procountor"
    erp_name = "Procountor"
    credential_inputs = frozenset({"api_key"})

    def erp_outputs(self, verification: Verification) -> dict[str, Any]:
        company = verification.company
        return {"erp_company_name": company.name if company else None}

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


class ProcountorIntegration(
    RosterResource, module="fabricai", name="ProcountorIntegration", provider=ProcountorIntegrationProvider
):
    """A client's Procountor connection (``pulumi-python:dynamic/fabricai:ProcountorIntegration``)."""
