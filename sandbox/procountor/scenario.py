"""The ``procountor:`` section of a sandbox scenario file.

Example (YAML)::

    procountor:
      tokenLifetimeSeconds: 3600           # shorten to test token renewal
      refusalStyle: errors                 # errors | oauth: how a refused token request is answered
      refusalEchoesRequest: false          # true: a refusal quotes the request body (secret-leak tests)
      rateLimitPerSecond: 20               # optional, per client application; excess gets 429
      apps:                                # partner applications (M2M client credentials)
        - {clientId: fabricai-sandbox-app, clientSecret: app-secret-FAKE}
      companies:
        - id: 101
          name: Acme Oy
          businessId: 2925630-9
          billableInterfaces: true         # false: API calls answer nginx's HTML 500
          purchaseInvoiceCount: 3          # generated purchase invoices
          dimensions:
            - name: Kustannuspaikka
              items: [Hallinto, {codeName: Myynti, description: Sales, status: ACTIVE}]
          users:
            - userName: API Tilitoimisto
              rights: guide                # guide | all | none: every right at that level
              rightsOverrides:             # "group.field": level (or true/false for flags)
                purchases.productRegister: VIEWING_RIGHTS
          apiKeys:
            - {key: acme-key-FAKE, clientId: fabricai-sandbox-app, userName: API Tilitoimisto}
            - {key: old-key-FAKE, clientId: fabricai-sandbox-app, userName: API Tilitoimisto,
               revoked: true}

``guide`` gives exactly the rights the FabricAI guide's API user gets (see sandbox.procountor.rights);
rights outside the guide are NO_ACCESS. An API key is bound to one company, one user of it and one client
application, as in Procountor.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from sandbox.business_id import valid_business_id
from sandbox.procountor.rights import (
    RightLevel,
    Rights,
    RightsPreset,
    RightValue,
    is_known_right,
    preset_rights,
    right_kind,
)


class _Strict(BaseModel):
    """camelCase keys in YAML, snake_case in Python; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


class ProcountorApp(_Strict):
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)


class DimensionItem(_Strict):
    code_name: str = Field(min_length=1)
    description: str = ""
    status: Literal["ACTIVE", "INACTIVE"] = "ACTIVE"


class ProcountorDimension(_Strict):
    id: int | None = None
    name: str = Field(min_length=1)
    items: list[DimensionItem] = Field(default_factory=list)

    @field_validator("items", mode="before")
    @classmethod
    def _items_as_names(cls, items: Any) -> Any:
        """Allow a bare string for an item with just a code name."""
        if isinstance(items, list):
            return [{"codeName": item} if isinstance(item, str) else item for item in items]
        return items


class ProcountorUser(_Strict):
    user_name: str = Field(min_length=1)
    role: str = "USER"
    rights: RightsPreset = "guide"
    rights_overrides: dict[str, RightLevel | bool] = Field(default_factory=dict)

    @field_validator("rights_overrides")
    @classmethod
    def _known_rights(cls, overrides: dict[str, RightValue]) -> dict[str, RightValue]:
        for dotted, value in overrides.items():
            if not is_known_right(dotted):
                raise ValueError(
                    f"unknown right {dotted!r} (use group.field, e.g. purchases.productRegister)"
                )
            if (right_kind(dotted) == "flag") != isinstance(value, bool):
                raise ValueError(
                    f"right {dotted!r} takes {'true/false' if right_kind(dotted) == 'flag' else 'a level'}"
                )
        return overrides

    def effective_rights(self) -> Rights:
        return {**preset_rights(self.rights), **self.rights_overrides}


class CompanyChange(_Strict):
    """A change of one company at run time (``PATCH /admin/procountor/companies/{businessId}``)."""

    billable_interfaces: bool | None = None
    revoke_api_keys: bool | None = None  # every key of the company revoked (true) or valid again (false)
    rights_overrides: dict[str, RightLevel | bool] = Field(default_factory=dict)  # for every user

    @field_validator("rights_overrides")
    @classmethod
    def _known_rights(cls, overrides: dict[str, RightValue]) -> dict[str, RightValue]:
        return ProcountorUser._known_rights(overrides)


class ProcountorApiKey(_Strict):
    key: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    user_name: str = Field(min_length=1)
    revoked: bool = False


class ProcountorCompany(_Strict):
    id: int = Field(gt=0)
    name: str = Field(min_length=1)
    business_id: str
    billable_interfaces: bool = True
    purchase_invoice_count: int = Field(default=3, ge=0)
    dimensions: list[ProcountorDimension] = Field(default_factory=list)
    users: list[ProcountorUser] = Field(default_factory=list)
    api_keys: list[ProcountorApiKey] = Field(default_factory=list)

    _check_business_id = field_validator("business_id")(valid_business_id)

    @model_validator(mode="after")
    def _keys_name_users(self) -> Self:
        users = {user.user_name for user in self.users}
        for key in self.api_keys:
            if key.user_name not in users:
                raise ValueError(f"API key of user {key.user_name!r}: no such user in company {self.name!r}")
        return self

    def find_user(self, user_name: str) -> ProcountorUser | None:
        return next((user for user in self.users if user.user_name == user_name), None)


class ProcountorScenario(_Strict):
    token_lifetime_seconds: float = Field(default=3600, gt=0)
    # How a refused token request is answered (no public source shows Procountor's own answer):
    # "errors" = Procountor's data-endpoint error body, 401, the same for every cause;
    # "oauth" = RFC 6749 {error, error_description}: invalid_client 401, invalid_grant 400.
    refusal_style: Literal["errors", "oauth"] = "errors"
    # A careless service echoes the request into its refusal; for secret-leak tests.
    refusal_echoes_request: bool = False
    rate_limit_per_second: int | None = Field(default=None, gt=0)
    apps: list[ProcountorApp] = Field(default_factory=list)
    companies: list[ProcountorCompany] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        for what, values in (
            ("company id", [c.id for c in self.companies]),
            ("API key", [k.key for c in self.companies for k in c.api_keys]),
            ("client id", [a.client_id for a in self.apps]),
        ):
            if len(values) != len(set(values)):
                raise ValueError(f"duplicate {what} in procountor section")
        return self
