"""The sandbox scenario file (YAML): what the three services hold on first start and after a reset.

Keys are camelCase; unknown keys are errors, so a typo never silently changes a test. Every section is
optional (an empty file is an empty sandbox)::

    portal: {...}                          # see sandbox.portal.scenario

    procountor:
      tokenLifetimeSeconds: 3600           # shorten to test token renewal
      rateLimitPerSecond: 60               # optional, per client application; excess gets 429
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

    netvisor: {...}                        # see sandbox.netvisor.scenario
    faults:                                # per service, see sandbox.faults
      procountor: {latencyMs: 20, errorRate: 0.1, seed: 7}

``guide`` gives exactly the rights the FabricAI guide's API user gets (see sandbox.procountor_rights);
rights outside the guide are NO_ACCESS. An API key is bound to one company, one user of it and one client
application, as in Procountor.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from sandbox.faults import FaultSettings
from sandbox.netvisor.scenario import NetvisorScenario
from sandbox.portal.scenario import PortalScenario
from sandbox.procountor_rights import (
    RightLevel,
    Rights,
    RightsPreset,
    RightValue,
    is_known_right,
    preset_rights,
    right_kind,
)

EXAMPLE_SCENARIO_PATH = Path(__file__).resolve().parents[1] / "examples" / "sandbox.yaml"

Process = Literal["standard", "alternative", "alternative-with-circulation", "background"]
VatMode = Literal["standard", "exempt", "partial"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


def business_id_check_digit(digits: str) -> int | None:
    """The Y-tunnus check digit of seven digits, or None when no valid ID has them."""
    remainder = sum(int(d) * w for d, w in zip(digits, (7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    if remainder == 1:
        return None
    return 0 if remainder == 0 else 11 - remainder


def normalise_business_id(value: str) -> str | None:
    """``NNNNNNN-C`` for a valid business ID given as ``NNNNNNN-C`` or ``FINNNNNNNC``; else None."""
    text = value.strip().upper()
    if text.startswith("FI") and len(text) == 10 and text[2:].isdigit():
        text = f"{text[2:9]}-{text[9]}"
    digits, dash, check = text.partition("-")
    if not (dash and len(digits) == 7 and digits.isdigit() and len(check) == 1 and check.isdigit()):
        return None
    return text if business_id_check_digit(digits) == int(check) else None


def _valid_business_id(value: str) -> str:
    normalised = normalise_business_id(value)
    if normalised is None:
        raise ValueError(f"{value!r} is not a valid Finnish business ID (NNNNNNN-C with a valid check digit)")
    return normalised


# ---- portal: sandbox/portal/scenario.py ----


# ---- procountor ----


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

    _check_business_id = field_validator("business_id")(_valid_business_id)

    @model_validator(mode="after")
    def _keys_name_users(self) -> Self:
        users = {user.user_name for user in self.users}
        for key in self.api_keys:
            if key.user_name not in users:
                raise ValueError(f"API key of user {key.user_name!r}: no such user in company {self.name!r}")
        return self

    def user(self, user_name: str) -> ProcountorUser:
        return next(user for user in self.users if user.user_name == user_name)


class ProcountorScenario(_Strict):
    token_lifetime_seconds: float = Field(default=3600, gt=0)
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


# ---- the file ----


class ScenarioFaults(_Strict):
    portal: FaultSettings = Field(default_factory=FaultSettings)
    procountor: FaultSettings = Field(default_factory=FaultSettings)
    netvisor: FaultSettings = Field(default_factory=FaultSettings)

    def for_service(self, name: str) -> FaultSettings:
        settings: FaultSettings = getattr(self, name)
        return settings


class Scenario(_Strict):
    portal: PortalScenario = Field(default_factory=PortalScenario)
    procountor: ProcountorScenario = Field(default_factory=ProcountorScenario)
    netvisor: NetvisorScenario = Field(default_factory=NetvisorScenario)
    faults: ScenarioFaults = Field(default_factory=ScenarioFaults)


class ScenarioError(Exception):
    """A scenario file that cannot be used; the message lists every problem with its location."""


def _readable(error: ValidationError, source: str) -> ScenarioError:
    lines = [f"invalid sandbox scenario {source}:"]
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        lines.append(f"  {where}: {problem['msg']}")
    return ScenarioError("\n".join(lines))


def parse_scenario(data: Mapping[str, Any] | None, source: str = "(inline)") -> Scenario:
    try:
        return Scenario.model_validate(dict(data or {}))
    except ValidationError as error:
        raise _readable(error, source) from None


def load_scenario(path: Path | str) -> Scenario:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ScenarioError(f"cannot read sandbox scenario {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ScenarioError(f"cannot read sandbox scenario {path}: {error}") from None
    if data is not None and not isinstance(data, dict):
        raise ScenarioError(f"invalid sandbox scenario {path}: the top level must be a mapping")
    return parse_scenario(data, str(path))


def as_scenario(source: Scenario | Mapping[str, Any] | Path | str | None) -> Scenario:
    """A scenario from a model, a dict, a file path, or None (the example scenario)."""
    if isinstance(source, Scenario):
        return source
    if source is None:
        return load_scenario(EXAMPLE_SCENARIO_PATH)
    if isinstance(source, Mapping):
        return parse_scenario(source)
    return load_scenario(source)
