"""NetvisorCredentials: a firm's shared Netvisor credentials (customer id + key), verified once.

Decisions:
- create and update verify the pair against ``verify_business_id`` (its first client; on a firm's stack,
  where the portal verifies through a client's record, the first of ``verify_alternatives`` that has one if
  the first client has none); only a rejection of the keys fails: an unreachable company or a missing right
  is that company's integration's problem;
- every NetvisorIntegration takes ``customer_key_fingerprint`` as its ``credentials_fingerprint``, so a
  rotated pair is verified here once, before any integration is touched;
- read keeps the state (Netvisor's API lists no credentials); delete changes nothing in Netvisor and says
  so: only the firm can remove the pair, once no client uses it.
The id is the set's name (its key in ``roster:netvisorCredentials``).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

from pulumi.dynamic import CreateResult, ReadResult, UpdateResult
from pydantic import BaseModel, ConfigDict, Field

from provider.business_id import BusinessId
from provider.netvisor.checks import check_credentials, describe_credentials
from provider.netvisor.client import Company
from provider.netvisor.rights import CREDENTIALS_PAGE
from provider.resources.base import RosterResource, RosterResourceProvider, fingerprint
from provider.resources.client_company import client_label
from provider.resources.netvisor_inputs import CustomerId, CustomerKey, credentials
from provider.resources.schema import READ, REPLACES, OutputsModel
from provider.verification.findings import Check, Verification
from provider.verification.messages import Subject, explain

log = logging.getLogger(__name__)

ALTERNATIVES = "verify_alternatives"


class NetvisorCredentialsInputs(BaseModel):
    # Output seeds (None) may arrive with the inputs: ignore what is not an input.
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: Annotated[str, Field(min_length=1), REPLACES]
    customer_id: CustomerId
    customer_key: CustomerKey
    verify_business_id: BusinessId = Field(description="the company the pair is verified with")
    # Only for messages ("Beta Oy (1572860-0)"); Netvisor has no resource that names a company.
    verify_client_name: str | None = None
    # The set's other clients, in roster order (set by the program, never a change by itself): the portal
    # verifies a pair through a client's record, and the first client may have left since.
    verify_alternatives: list[BusinessId] = Field(
        default=[], description="the set's other clients: the portal verifies through the first with a record"
    )

    @property
    def company(self) -> Company:
        label = (
            client_label(self.verify_client_name, self.verify_business_id)
            if self.verify_client_name
            else f"Netvisor credentials '{self.name}' checked with company {self.verify_business_id}"
        )
        return Company(business_id=self.verify_business_id, label=label)


class NetvisorCredentialsOutputs(OutputsModel):
    customer_key_fingerprint: Annotated[str, READ] = Field(
        description="feeds `NetvisorIntegration.credentials_fingerprint`"
    )
    # None: not verified yet (the portal verifies the pair with each client's connection).
    verified_at: str | None = Field(description="ISO 8601, UTC")


class NetvisorCredentialsProvider(RosterResourceProvider):
    inputs_model = NetvisorCredentialsInputs
    outputs_model = NetvisorCredentialsOutputs
    id_is = "the credential set's name"
    # Who else uses the set is no change of the set: recorded with the next step, verified on rotation.
    not_a_change = frozenset({ALTERNATIVES})

    def _outputs(self, inputs: NetvisorCredentialsInputs, *, verified: bool) -> dict[str, Any]:
        added = NetvisorCredentialsOutputs(
            customer_key_fingerprint=fingerprint(inputs.customer_key),
            verified_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds") if verified else None,
        )
        return self.outputs_of(inputs, added)

    def _verify(self, inputs: NetvisorCredentialsInputs) -> dict[str, Any]:
        """The pair, verified once against its first client's company (here in partner mode, else by the
        portal through that client's record, or another client's of the set); a rejection fails here, before
        any integration is touched."""
        pair = credentials(inputs.customer_id, inputs.customer_key)
        verified_by = self._settings.verification_for("netvisor")
        verification: Verification | None
        company = inputs.company
        if verified_by == "local":
            verification = check_credentials(self.context.netvisor, pair, company)
        else:
            verification, company = self._verify_through_portal(inputs)
            if verification is None:
                log.info(
                    "Netvisor credentials '%s' (customer id %s): none of its clients is registered in the "
                    "portal yet, so the portal verifies the pair with each client's connection.",
                    inputs.name,
                    inputs.customer_id,
                )
                return self._outputs(inputs, verified=False)
        subject = Subject(
            label=company.label,
            business_id=str(company.business_id),
            system="netvisor",
            verified_by=verified_by,
            credentials_name=describe_credentials(inputs.customer_id, inputs.name),
            access_key=self._settings.netvisor_access_key,
            hide=(inputs.customer_key,),
        )
        keys = verification.finding(Check.CREDENTIALS)
        if keys is None or not keys.holds:  # refused, or not decided (Netvisor or FabricAI unreachable)
            raise explain(verification, subject)
        access = verification.finding(Check.COMPANY_ACCESS)
        if access is not None and not access.holds:
            # Said aloud: the company's own integration reports what to fix; the keys are proven.
            log.warning(
                "Netvisor credentials '%s': keys accepted; %s is not reachable by their user (its own "
                "integration reports what to fix).",
                inputs.name,
                company.label,
            )
        log.info("Netvisor credentials '%s' (customer id %s) verified", inputs.name, inputs.customer_id)
        return self._outputs(inputs, verified=True)

    def _verify_through_portal(
        self, inputs: NetvisorCredentialsInputs
    ) -> tuple[Verification | None, Company]:
        """FabricAI's verdict on the pair, asked through the record of the client it is verified with, else
        of the first of the set's other clients that has one (the first may have left the roster); None when
        none has a record yet (a new stack: each connection's PUT verifies the pair). With the company."""
        portal = self.context.portal
        pair = {"customerId": inputs.customer_id, "customerKey": inputs.customer_key}
        candidates = [inputs.company]
        candidates += [
            Company(business_id=other, label=f"the company {other}")
            for other in inputs.verify_alternatives
            if other != inputs.verify_business_id
        ]
        for company in candidates:
            record = portal.find(str(company.business_id))
            if record is not None:
                label = client_label(record.name, company.business_id) if record.name else company.label
                verified = portal.connections.verify(record.id, "netvisor", pair, [])
                return verified, Company(business_id=company.business_id, label=label)
        return None, inputs.company

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


class NetvisorCredentials(
    RosterResource, module="fabricai", name="NetvisorCredentials", provider=NetvisorCredentialsProvider
):
    """Shared Netvisor API credentials, verified once (``dynamic/fabricai:NetvisorCredentials``)."""
