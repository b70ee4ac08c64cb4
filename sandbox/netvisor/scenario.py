"""The ``netvisor:`` section of a sandbox scenario file.

Example (YAML)::

    netvisor:
      timestampWindowSeconds: 300        # optional; how old/new a request timestamp may be
      processingDelayMs: 0               # optional; time each request stays "in flight"
      partners:
        - id: FabricAI_partner           # X-Netvisor-Authentication-PartnerId
          key: partner-secret            # partner key (never echoed)
          accessKey: E2DCB2FF20700782F1EA878EDC19DC27   # shown in "API resource rights"
          name: FabricAI
      customers:                         # software interface credentials
        - id: firm-api-user              # X-Netvisor-Authentication-CustomerId
          key: customer-secret           # customer key (never echoed)
          userName: Generic API user
          companies: [1572860-0]         # business IDs the credential's user reaches
      companies:
        - businessId: 1572860-0
          name: Beta Oy
          apiService: open               # optional: open | closed | notInServicePackage
          generalResourceRights:         # optional; the general access rights (for every integration)
            purchaseInvoices: allowed
          resourceRights:                # integration-specific rights, per partner id; they override
            FabricAI_partner:            # the general ones. Mapping form ...
              purchaseInvoices: allowed
              accountingMaterial: allowed
              calculationTargets: denied
            # OtherPartner: [purchaseInvoices]   # ... or the compact list of allowed rights
          dimensions:
            - name: Kustannuspaikka
              items: [Hallinto, Myynti]
            - {name: Projekti, hidden: true, items: [P1]}
          purchaseInvoices:
            - {number: "1001", date: 2025-01-15, vendor: Toimittaja Oy, vendorBusinessId: 0174592-8,
               sum: "124.00", account: "4000", status: open}

A right is allowed when the partner's integration-specific status says ``allowed``, or, when the partner
has no status of its own for it, the general status says ``allowed``; else it is not allowed (Netvisor's
default). The compact list sets the listed rights ``allowed`` and leaves the others to the general ones.
``apiService`` other than ``open`` refuses every resource with SERVICE_ACCESS_ERROR.

Resource rights guard the resources as in Netvisor's "API resource rights" page:
``purchaseInvoices`` -> ``purchaseinvoicelist.nv``; ``accountingMaterial`` -> ``accountingledger.nv`` and
``accountlist.nv``; ``calculationTargets`` -> ``dimensionlist.nv``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel


class _Strict(BaseModel):
    """camelCase keys in YAML, snake_case in Python; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


class ResourceRight(StrEnum):
    """The three resource groups of the FabricAI guide, by their scenario names."""

    PURCHASE_INVOICES = "purchaseInvoices"
    ACCOUNTING_MATERIAL = "accountingMaterial"
    CALCULATION_TARGETS = "calculationTargets"


class RightStatus(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"


class ApiService(StrEnum):
    """The company's API service: open, closed, or not part of its service package."""

    OPEN = "open"
    CLOSED = "closed"
    NOT_IN_SERVICE_PACKAGE = "notInServicePackage"


Secret = Annotated[str, Field(min_length=1, repr=False)]


class NetvisorPartner(_Strict):
    """An integration partner: its id and key sign every request."""

    id: str = Field(min_length=1)
    key: Secret
    access_key: str | None = None
    name: str | None = None


class NetvisorCustomer(_Strict):
    """Software interface credentials: tied to one Netvisor user, reaching that user's companies."""

    id: str = Field(min_length=1)
    key: Secret
    user_name: str = Field(min_length=1)
    companies: list[str] = Field(default_factory=list)


class NetvisorDimension(_Strict):
    """A calculation target (dimension name) and its items."""

    name: str = Field(min_length=1)
    hidden: bool = False
    items: list[str] = Field(default_factory=list)


class NetvisorPurchaseInvoice(_Strict):
    """A purchase invoice; it also appears in the accounting ledger as a voucher."""

    number: str = Field(min_length=1)
    date: dt.date
    vendor: str = Field(min_length=1)
    vendor_business_id: str = ""
    sum: Decimal
    account: str = "4000"
    status: str = "open"


class NetvisorCompany(_Strict):
    """A Netvisor company (organisation), chosen per request by its business ID."""

    business_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    api_service: ApiService = ApiService.OPEN
    general_resource_rights: dict[ResourceRight, RightStatus] = Field(default_factory=dict)
    resource_rights: dict[str, dict[ResourceRight, RightStatus]] = Field(default_factory=dict)
    dimensions: list[NetvisorDimension] = Field(default_factory=list)
    purchase_invoices: list[NetvisorPurchaseInvoice] = Field(default_factory=list)

    @field_validator("resource_rights", mode="before")
    @classmethod
    def _expand_compact_rights(cls, value: Any) -> Any:
        """``{partner: [right, ...]}`` is shorthand for those rights allowed, the others left unset."""
        if not isinstance(value, dict):
            return value
        return {
            partner: {right: RightStatus.ALLOWED.value for right in rights}
            if isinstance(rights, list)
            else rights
            for partner, rights in value.items()
        }

    def allows(self, partner_id: str, right: ResourceRight) -> bool:
        """Integration-specific status first, else the general one; Netvisor's default is "not allowed"."""
        specific = self.resource_rights.get(partner_id, {}).get(right)
        status = specific if specific is not None else self.general_resource_rights.get(right)
        return status is RightStatus.ALLOWED


class NetvisorScenario(_Strict):
    """Seed of the sandbox's Netvisor service (see the module docstring for the YAML form)."""

    partners: list[NetvisorPartner] = Field(default_factory=list)
    customers: list[NetvisorCustomer] = Field(default_factory=list)
    companies: list[NetvisorCompany] = Field(default_factory=list)
    timestamp_window_seconds: int = Field(default=300, gt=0)
    processing_delay_ms: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
        """Every id is unique and every reference names something declared, so typos fail loudly."""
        for kind, ids in (
            ("partner id", [p.id for p in self.partners]),
            ("customer id", [c.id for c in self.customers]),
            ("company businessId", [c.business_id for c in self.companies]),
        ):
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if duplicates:
                raise ValueError(f"duplicate {kind}: {', '.join(duplicates)}")
        business_ids = {c.business_id for c in self.companies}
        partner_ids = {p.id for p in self.partners}
        for customer in self.customers:
            unknown = sorted(set(customer.companies) - business_ids)
            if unknown:
                raise ValueError(f"customer {customer.id} reaches undeclared companies: {', '.join(unknown)}")
        for company in self.companies:
            unknown = sorted(set(company.resource_rights) - partner_ids)
            if unknown:
                names = ", ".join(unknown)
                raise ValueError(
                    f"company {company.business_id} grants rights to undeclared partners: {names}"
                )
        return self

    def partner(self, partner_id: str) -> NetvisorPartner | None:
        return next((p for p in self.partners if p.id == partner_id), None)

    def customer(self, customer_id: str) -> NetvisorCustomer | None:
        return next((c for c in self.customers if c.id == customer_id), None)

    def company(self, business_id: str) -> NetvisorCompany | None:
        return next((c for c in self.companies if c.business_id == business_id), None)
