"""NetvisorIntegration: one client's Netvisor connection; the lifecycle is ``integration``'s.

What is Netvisor's:
- verification: the three API resource rights (purchase invoices, accounting material, calculation
  targets; all missing ones at once) and the dimensions, one request at a time per customer environment;
  the portal gets ``credentials: {customerId, customerKey}``; the ERP company id is the business ID;
- a new customer id or key is a rotation; the pair is shared by the firm's clients, so the operator is told
  to remove old credentials in Netvisor only when no client uses them;
- ERP health failures: KEY_REFUSED, COMPANY_UNREACHABLE, RESOURCE_RIGHTS_MISSING, DIMENSIONS_MISSING.
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
