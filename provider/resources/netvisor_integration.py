"""NetvisorIntegration: the live connection of one client company to its Netvisor company.

The lifecycle is the one of every integration (``provider.resources.integration``). What is Netvisor's:
- verification proves, for the client's company, the three API resource rights of the guide (purchase
  invoices, accounting material, calculation targets; one request at a time per customer environment, all
  missing ones reported together) and the requested dimensions; the portal gets ``system: netvisor`` and
  ``credentials: {customerId, customerKey}`` (the ERP company id is the business ID: Netvisor names none);
- a new customer id or key is a rotation;
- the credentials are shared by the firm's clients, so rotation and deregistration say to remove them in
  Netvisor only when no client uses them;
- ERP health at refresh: the same checks (FabricAI re-verifies the stored pair; in partner mode, the pair
  of ``roster:netvisorCredentials`` with the state's customer id and key fingerprint, one request at a
  time); a failed check is KEY_REFUSED (the pair rejected), COMPANY_UNREACHABLE (its user cannot reach this
  company), RESOURCE_RIGHTS_MISSING or DIMENSIONS_MISSING.

The id is the portal connection id. The customer key is never an output: ``customer_key_fingerprint``
stands for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from provider.netvisor.checks import check_company, describe_credentials
from provider.netvisor.client import Company
from provider.netvisor.rights import CREDENTIALS_PAGE
from provider.resources.base import RosterResource, fingerprint
from provider.resources.integration import IntegrationInputs, IntegrationOutputs, IntegrationProvider
from provider.resources.netvisor_inputs import CustomerId, CustomerKey, credentials
from provider.verification.findings import Verification


class NetvisorIntegrationInputs(IntegrationInputs):
    customer_id: CustomerId
    customer_key: CustomerKey
    # The NetvisorCredentials output: makes the engine verify a rotated pair there first.
    credentials_fingerprint: str | None = Field(default=None, description="`NetvisorCredentials`' output")


class NetvisorIntegrationOutputs(IntegrationOutputs):
    customer_key_fingerprint: str


class NetvisorIntegrationProvider(IntegrationProvider[NetvisorIntegrationInputs]):
    inputs_model = NetvisorIntegrationInputs
    outputs_model = NetvisorIntegrationOutputs
    system = "netvisor"
    erp_name = "Netvisor"
    credential_inputs = frozenset({"customer_id", "customer_key"})

    def local_verification(self, inputs: NetvisorIntegrationInputs) -> Verification:
        return check_company(
            self.context.netvisor,
            credentials(inputs.customer_id, inputs.customer_key),
            Company(business_id=inputs.business_id, label=inputs.label),
            dimensions=inputs.dimensions,
        )

    def subject_words(self, values: Mapping[str, Any]) -> dict[str, str]:
        return {
            "credentials_name": describe_credentials(str(values.get("customer_id", "?"))),
            "access_key": self._settings.netvisor_access_key,
        }

    def stored_inputs(self, props: Mapping[str, Any]) -> NetvisorIntegrationInputs | None:
        customer_id, wanted = str(props.get("customer_id")), props.get("customer_key_fingerprint")
        for stored_id, key in self._settings.stored_netvisor_credentials:
            if stored_id == customer_id and fingerprint(key.get_secret_value()) == wanted:
                return self._inputs({**props, "customer_key": key.get_secret_value()})
        return None

    def portal_credentials(self, inputs: NetvisorIntegrationInputs) -> dict[str, str]:
        return {"customerId": inputs.customer_id, "customerKey": inputs.customer_key}

    def credentials_hint(self, props: Mapping[str, Any]) -> str:
        customer_id = props.get("customer_id", "?")
        return (
            f"the Netvisor credentials (customer id {customer_id}) are shared by the firm's clients: remove "
            f"them in Netvisor ({CREDENTIALS_PAGE}) only when no client uses them"
        )


class NetvisorIntegration(
    RosterResource, module="fabricai", name="NetvisorIntegration", provider=NetvisorIntegrationProvider
):
    """One client's live Netvisor connection (``pulumi-python:dynamic/fabricai:NetvisorIntegration``)."""
