"""The portal section of a sandbox scenario::

    portal:
      apiKeys: [FAKE-portal-org-key-0001]  # bearer organisation keys
      organization: {id: 214, name: Tilitoimisto Tase Oy}
      teams: [Team North, Team South]      # the organisation's teams (ids 1, 2, ... in this order)
      trainingSeconds: 30                  # a model: PENDING the first third, RUNNING, then DEPLOYED
      dimensionsReadSeconds: 0             # after connecting, FabricAI has read the ERP's dimensions
      connectionExtension: true            # false: a portal without the extension (its routes are 404)
      verifyConnections: true              # false: the extension stores credentials unverified (PUT needs
                                           # erpCompanyId; the verify routes are 404): partner mode's portal
      verifier:                            # FabricAI's partner credentials: the extension verifies with them
        procountor: {clientId: fabricai-roster-sandbox, clientSecret: FAKE-secret, requestsPerSecond: 20}
        netvisor: {partnerId: FAI_fabricai, partnerKey: FAKE-key, sender: FabricAI, language: FI}
        timeoutSeconds: 10                 # one ERP request; attempts: 3 per request; deadlineSeconds: 30
      clients:                             # records that exist already (registered by hand, say)
        - {name: Vanha Asiakas Oy, businessId: 2358253-3, teams: [Team South], system: ai-inside}

The client's dimensions appear in ``GET /clients/{id}/dimensions`` ``dimensionsReadSeconds`` after its
connection was made, read from the ERP company of the same business ID in the scenario's procountor or
netvisor section (as FabricAI reads them from the ERP). ``/admin`` can force both (docs/SANDBOX.md).

``verifier`` is what FabricAI holds and a firm never does (docs/PORTAL_API.md, "Who verifies"): the
extension's checks call the sandbox's own Procountor and Netvisor over HTTP with these credentials, at
``baseUrl`` when given, else at the address the sandbox itself listens on. An ERP without an entry here
cannot be verified: its verifications are INCONCLUSIVE with ``partner_app`` not holding.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from sandbox.business_id import normalise_business_id


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


def vat_number(business_id: str) -> str:
    """``FI29256309`` for ``2925630-9`` (the public API's businessId form)."""
    return "FI" + business_id.replace("-", "")


class PortalOrganization(_Strict):
    id: int = Field(default=214, gt=0)
    name: str = Field(default="Tilitoimisto Sandbox Oy", min_length=1)


class PortalSeedClient(_Strict):
    name: str = Field(min_length=1)
    business_id: str
    status: Literal["ACTIVE", "INACTIVE"] = "ACTIVE"
    system: str = "ai-inside"
    teams: list[str] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("business_id")
    @classmethod
    def _valid(cls, value: str) -> str:
        normalised = normalise_business_id(value)
        if normalised is None:
            raise ValueError(f"{value!r} is not a valid Finnish business ID (NNNNNNN-C or FI + 8 digits)")
        return normalised


Secret = Annotated[str, Field(min_length=1, repr=False)]


class ProcountorPartner(_Strict):
    """FabricAI's Procountor client application (M2M)."""

    client_id: str = Field(min_length=1)
    client_secret: Secret
    # Procountor's published pace: 20 requests per second for one client application, across all clients.
    requests_per_second: int = Field(default=20, gt=0)
    # Default: the sandbox's own /procountor/api.
    base_url: str | None = Field(default=None, pattern=r"^https?://")


class NetvisorPartner(_Strict):
    """FabricAI's Netvisor integration partner."""

    partner_id: str = Field(min_length=1, pattern=r"^[\x21-\x7e]+$")
    partner_key: Secret
    sender: str = Field(default="FabricAI", min_length=1, pattern=r"^[\x20-\x7e]+$")
    language: Literal["FI", "EN", "SE"] = "FI"
    # Default: the sandbox's own /netvisor.
    base_url: str | None = Field(default=None, pattern=r"^https?://")

    @field_validator("partner_key")
    @classmethod
    def _latin1(cls, value: str) -> str:
        value.encode("latin-1")  # the MAC is computed over ISO-8859-1 (a UnicodeEncodeError is a ValueError)
        return value


class VerifierSettings(_Strict):
    procountor: ProcountorPartner | None = None
    netvisor: NetvisorPartner | None = None
    timeout_seconds: float = Field(default=10, gt=0)  # one ERP request
    attempts: int = Field(default=3, ge=1, le=10)  # per ERP request, over 429, 5xx and transport faults
    deadline_seconds: float = Field(default=30, gt=0)  # one whole verification
    max_retry_after_seconds: float = Field(default=5, ge=0)  # a longer Retry-After ends the attempts


class PortalScenario(_Strict):
    api_keys: list[str] = Field(default_factory=list)
    organization: PortalOrganization = Field(default_factory=PortalOrganization)
    teams: list[str] = Field(default_factory=list)
    training_seconds: float = Field(default=60, ge=0)
    dimensions_read_seconds: float = Field(default=0, ge=0)
    connection_extension: bool = True
    verify_connections: bool = True
    verifier: VerifierSettings = Field(default_factory=VerifierSettings)
    clients: list[PortalSeedClient] = Field(default_factory=list)

    @model_validator(mode="after")
    def _teams_known(self) -> PortalScenario:
        if len(set(self.teams)) != len(self.teams):
            raise ValueError("duplicate team name in portal.teams")
        for client in self.clients:
            unknown = sorted(set(client.teams) - set(self.teams))
            if unknown:
                raise ValueError(f"client {client.name!r}: unknown team(s) {', '.join(unknown)}")
        return self
