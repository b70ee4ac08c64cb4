"""The portal's payloads as the provider reads and writes them, by their public names.

Names and shapes follow FabricAI's public "AI Inside" API (tests/fixtures/real/portal/): the full client
record ``ModextClient``, the reduced list item ``ModextCollectionClient``, ``ModextTeam``,
``ModextPredictionModel`` and the client's dimensions. Every reader ignores fields it does not know and
accepts an absent field as well as ``null`` (the public document does not say which one the API sends).
The connection is the one extension (``provider.portal.connection``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from provider.business_id import InvalidBusinessId, normalise
from provider.verification.findings import Verification

ModelStatus = Literal["PENDING", "PRE_PROCESSING", "RUNNING", "COMPLETED", "DEPLOYED", "FAILED", "CANCELLED"]
FINISHED_BADLY = frozenset({"FAILED", "CANCELLED"})
# Ids FabricAI types as strings (dimension ids); a number is read as its text.
IdText = Annotated[str, BeforeValidator(lambda value: str(value) if isinstance(value, int) else value)]


class PortalModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


def vat_form(business_id: str) -> str:
    """``FI29256309`` for ``2925630-9``: the public API's ``businessId`` ("formatted as VAT number")."""
    return "FI" + normalise(business_id).replace("-", "")


def same_business(recorded: str | None, wanted: str) -> bool:
    """Whether a record's ``businessId`` (any form, or missing) is this business ID."""
    if not recorded:
        return False
    try:
        return normalise(recorded) == normalise(wanted)
    except InvalidBusinessId:
        return False


class Overrides(PortalModel):
    """``overrides`` (public since v2.28.1): the client's VAT defaults."""

    vat_deduction_percent: float | None = None
    vat_percent: float | None = None
    vat_status: str | None = None


class ListedClient(PortalModel):
    """A reduced list item (``ModextCollectionClient``): nothing else is read from a list page."""

    id: int
    name: str | None = None
    business_id: str | None = None
    status: str | None = None
    system: str | None = None
    tags: dict[str, str] | None = None
    organization_id: int | None = None
    created_at: str | None = None
    updated_at: str | None = None


class ClientRecord(PortalModel):
    """The full client record (``ModextClient``) of ``GET /clients/{id}`` and the write answers."""

    id: int
    name: str
    country: str | None = None
    business_id: str | None = None
    accounting_system_company_id: str | None = None
    service_template: str | None = None
    status: str | None = None
    system: str | None = None
    organization_id: int | None = None
    teams: list[int] | None = None
    tags: dict[str, str] | None = None
    overrides: Overrides | None = None
    created_at: str | None = None
    updated_at: str | None = None

    @property
    def tag_map(self) -> dict[str, str]:
        return dict(self.tags or {})

    @property
    def team_ids(self) -> list[int]:
        return list(self.teams or [])


class ClientBody(PortalModel):
    """A ``POST /clients`` body, or the changes of a ``PATCH /clients/{id}`` (``whole_body`` lays them over
    the record, since the public PATCH takes a whole ``ModextClient``, ``name`` and ``country`` required).

    ``overrides_cleared`` sends ``overrides: {}`` (back to the portal's defaults). The public schema does not
    allow ``overrides: null``; that an empty object clears them is an assumption (docs/PORTAL_API.md)."""

    name: str | None = None
    country: str | None = None
    business_id: str | None = None
    system: str | None = None
    status: Literal["ACTIVE", "INACTIVE"] | None = None
    teams: list[int] | None = None
    tags: dict[str, str] | None = None
    overrides: Overrides | None = None
    accounting_system_company_id: str | None = None
    overrides_cleared: bool = Field(default=False, exclude=True)

    def body(self) -> dict[str, Any]:
        payload = self.model_dump(by_alias=True, exclude_none=True, mode="json")
        if self.overrides_cleared:
            payload["overrides"] = {}
        return payload

    def whole_body(self, record: ClientRecord) -> dict[str, Any]:
        """The record's writable fields with these changes laid over them: a valid ``ModextClient``."""
        current = record.model_dump(by_alias=True, exclude_none=True, mode="json", include=_WRITABLE)
        current.setdefault("country", "FI")  # required; every roster client is Finnish
        return {**current, **self.body()}


# The fields of ``ModextClient`` a client may write back (the rest are the portal's: id, times, ...).
_WRITABLE = {
    "name",
    "country",
    "business_id",
    "system",
    "status",
    "teams",
    "tags",
    "overrides",
    "accounting_system_company_id",
    "service_template",
}


class Team(PortalModel):
    """``ModextTeam``: a team and the ids of its clients."""

    id: int
    name: str
    clients: list[int] | None = None


class PredictionModel(PortalModel):
    """``ModextPredictionModel``: one model of a client (ACCOUNT, or DIMENSION for one dimension)."""

    id: int
    label: str | None = None
    dimension_id: IdText | None = None
    status: str | None = None
    created_at: str | None = None


class DimensionItem(PortalModel):
    id: IdText
    name: str | None = None


class Dimension(PortalModel):
    """FabricAI's copy of one of the client's dimensions (``TypesRootDimension``)."""

    id: IdText
    name: str
    items: list[DimensionItem] | None = None


class Connection(PortalModel):
    """The extension's connection: a client's ERP hand-over, never with its credentials."""

    id: IdText
    system: str
    erp_company_id: str
    status: str | None = None
    connected_at: str | None = None
    credentials_rotated_at: str | None = None
    # The last verification of its credentials (a portal that verifies always has one).
    verification: Verification | None = None
