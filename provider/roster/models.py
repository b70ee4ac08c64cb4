"""The roster's pydantic models: one client entry, one Netvisor credential set, the whole roster.

Each model checks what it can see alone; checks across entries are in ``provider.roster.checks``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Final, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from provider.business_id import BusinessId
from provider.errors import RosterInvalid
from provider.roster.text import (
    MAX_NAME_LENGTH,
    has_control,
    identifier_problem,
    latin1_problem,
    name_problem,
    quote,
    same_name_key,
    secret_problem,
    set_name_problem,
)

CLIENTS: Final = "roster:clients"
PROCOUNTOR_API_KEYS: Final = "roster:procountorApiKeys"
NETVISOR_CREDENTIALS: Final = "roster:netvisorCredentials"
ALLOW_EMPTY: Final = "roster:allowEmpty"
# A YAML file holding what roster:clients would (a large roster does not fit in the engine's PULUMI_CONFIG).
CLIENTS_FILE: Final = "roster:clientsFile"
# How many clients one run may deregister without their business IDs in CONFIRM_DEREGISTRATION.
MAX_DEREGISTRATIONS: Final = "roster:maxDeregistrations"
CONFIRM_DEREGISTRATION: Final = "roster:confirmDeregistration"
# One client at a time is how a firm lets a client go; more at once is a roster mistake until confirmed.
DEFAULT_MAX_DEREGISTRATIONS: Final = 1
# Read by the operator command only (`fabricai-roster status`): the age past which keys should be rotated.
ROTATE_AFTER_DAYS: Final = "roster:rotateAfterDays"
# This stack's identity, pinned (provider/resources/stack_identity.py): the tag of its portal records.
STACK_ID: Final = "roster:stackId"
ROSTER_KEYS: Final = (
    CLIENTS,
    CLIENTS_FILE,
    PROCOUNTOR_API_KEYS,
    NETVISOR_CREDENTIALS,
    ALLOW_EMPTY,
    MAX_DEREGISTRATIONS,
    CONFIRM_DEREGISTRATION,
    ROTATE_AFTER_DAYS,
    STACK_ID,
)


class Erp(StrEnum):
    PROCOUNTOR = "procountor"
    NETVISOR = "netvisor"

    @property
    def display_name(self) -> str:
        return self.value.capitalize()


# How an ERP may be written (compared case-insensitively, spaces collapsed): the roster, the CSV import and
# the operator command's options all read ERP names through ``erp_of``.
_ERP_SPELLINGS: Final = {
    "procountor": "procountor",
    "netvisor": "netvisor",
    "visma netvisor": "netvisor",
}


def erp_of(written: object) -> Erp | None:
    """The ERP ``written`` names (``Procountor``, ``NETVISOR``, ``Visma Netvisor``...), or None."""
    if not isinstance(written, str):
        return None
    value = _ERP_SPELLINGS.get(" ".join(written.casefold().split()))
    return Erp(value) if value is not None else None


class Process(StrEnum):
    STANDARD = "standard"
    ALTERNATIVE = "alternative"
    ALTERNATIVE_WITH_CIRCULATION = "alternative-with-circulation"
    BACKGROUND = "background"


# FabricAI: Standard and Background work with every ERP; Alternative and Alternative with
# circulation only with Procountor and Netvisor. A new ERP gets its own row here.
PROCESSES_BY_ERP: Mapping[Erp, frozenset[Process]] = MappingProxyType(
    {
        Erp.PROCOUNTOR: frozenset(Process),
        Erp.NETVISOR: frozenset(Process),
    }
)
# The validation context's key for another table than this one (``parse_roster(processes_by_erp=...)``).
PROCESSES_CONTEXT = "processes_by_erp"


class VatMode(StrEnum):
    STANDARD = "standard"
    EXEMPT = "exempt"
    PARTIAL = "partial"


# Fields that were once in the roster, and what to do instead (the problem an entry that has one gets).
RETIRED_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "favorite": (
            "favourites are per portal user and not in the portal's API, so the roster cannot set them: "
            "remove this line, then set the client as a favourite on the FabricAI portal's home page "
            "(a manual step, listed with the others in README.md: What no API can check)"
        ),
    }
)
# The placeholder business ID: its check digit is right, but no company is ever issued it.
PLACEHOLDER_BUSINESS_ID: Final = "0000000-0"


def _name(value: str) -> str:
    problem = name_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _identifier(value: str) -> str:
    problem = identifier_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _set_name(value: str) -> str:
    problem = set_name_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _text(value: str) -> str:
    """Free text (a tag's value): may be empty, but stays on one line and bounded."""
    if value and has_control(value):
        raise ValueError("contains a control character (a line break, tab or another invisible code)")
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"is {len(value)} characters long; at most {MAX_NAME_LENGTH} are allowed")
    return value


def issued(business_id: BusinessId) -> BusinessId:
    """``business_id`` unless it is the placeholder no company is issued."""
    if business_id == PLACEHOLDER_BUSINESS_ID:
        raise ValueError(
            f"{PLACEHOLDER_BUSINESS_ID} is a placeholder, not a company's business ID; write the client's own"
        )
    return business_id


def _unique(names: list[str]) -> list[str]:
    """No name twice, where names equal but for case or Unicode form count as one (NFKC + casefold)."""
    seen: dict[str, str] = {}
    for name in names:
        key = same_name_key(name)
        if key not in seen:
            seen[key] = name
            continue
        first = seen[key]
        if first == name:
            raise ValueError(f"{quote(name)} is listed twice")
        raise ValueError(
            f"{quote(first)} and {quote(name)} are the same name but for case or Unicode form; keep one"
        )
    return names


NonBlankStr = Annotated[StrictStr, AfterValidator(_name)]
Identifier = Annotated[StrictStr, AfterValidator(_identifier)]
SetName = Annotated[StrictStr, AfterValidator(_set_name)]
TagValue = Annotated[StrictStr, AfterValidator(_text)]
UniqueNames = Annotated[list[NonBlankStr], AfterValidator(_unique)]
IssuedBusinessId = Annotated[BusinessId, AfterValidator(issued)]

_MODEL_CONFIG: Final = ConfigDict(frozen=True, extra="forbid")


class Vat(BaseModel):
    """VAT treatment: standard, exempt, or a default partial deduction percent (1-99)."""

    model_config = _MODEL_CONFIG

    mode: VatMode = VatMode.STANDARD
    deduction_percent: StrictInt | None = Field(default=None, alias="deductionPercent", validate_default=True)

    @field_validator("deduction_percent")
    @classmethod
    def _percent_fits_mode(cls, percent: int | None, info: ValidationInfo) -> int | None:
        mode = info.data.get("mode")
        if mode is VatMode.PARTIAL:
            if percent is None:
                raise ValueError("mode: partial needs deductionPercent, a whole number from 1 to 99")
            if not 1 <= percent <= 99:
                raise ValueError(
                    f"must be from 1 to 99, got {percent} "
                    "(for full deduction use mode: standard, for none use mode: exempt)"
                )
        elif mode is not None and percent is not None:
            raise ValueError("only mode: partial takes a deduction percent; remove it or set mode: partial")
        return percent


class ClientEntry(BaseModel):
    """One client company of the firm, as listed in ``roster:clients``."""

    model_config = _MODEL_CONFIG

    business_id: IssuedBusinessId = Field(alias="businessId")
    name: NonBlankStr
    erp: Erp
    # Declared after erp: its validator reads the (already validated) erp.
    process: Process = Field(default=Process.STANDARD, validate_default=True)
    vat: Vat = Field(default_factory=Vat)
    dimensions: UniqueNames = Field(default_factory=list)
    teams: UniqueNames = Field(default_factory=list)
    tags: dict[NonBlankStr, TagValue] = Field(default_factory=dict)
    adopt: StrictBool = False
    protect: StrictBool = False
    # Forgotten, not deregistered, when it leaves the roster: its portal record and connection stay.
    retain: StrictBool = False
    netvisor_credentials: SetName | None = Field(
        default=None, alias="netvisorCredentials", validate_default=True
    )

    @field_validator("erp", mode="before")
    @classmethod
    def _erp_in_any_case(cls, written: object) -> object:
        """``Procountor`` as the CSV import and people write it: normalised, never refused for its case."""
        erp = erp_of(written)
        return erp.value if erp is not None else written

    @field_validator("process")
    @classmethod
    def _erp_runs_process(cls, process: Process, info: ValidationInfo) -> Process:
        erp = info.data.get("erp")
        table = (info.context or {}).get(PROCESSES_CONTEXT, PROCESSES_BY_ERP)
        if erp is not None and process not in table[erp]:
            supported = ", ".join(sorted(table[erp]))
            raise ValueError(
                f"{erp.display_name} does not support process {process.value!r}; it supports: {supported}"
            )
        return process

    @field_validator("netvisor_credentials")
    @classmethod
    def _credentials_fit_erp(cls, name: str | None, info: ValidationInfo) -> str | None:
        erp = info.data.get("erp")
        if erp is Erp.NETVISOR and name is None:
            raise ValueError(
                "a Netvisor client needs netvisorCredentials: "
                f"the name of a credential set in {NETVISOR_CREDENTIALS}"
            )
        if erp is Erp.PROCOUNTOR and name is not None:
            raise ValueError(
                f"only Netvisor clients take netvisorCredentials; a Procountor client's API key goes in "
                f"{PROCOUNTOR_API_KEYS}"
            )
        return name

    @property
    def label(self) -> str:
        """How messages name this client: ``Acme Oy (2925630-9)``."""
        return f"{self.name} ({self.business_id})"


class NetvisorCredentialSet(BaseModel):
    """A firm's Netvisor software-interface credentials, shared by the clients that name them."""

    model_config = _MODEL_CONFIG

    customer_id: Identifier = Field(alias="customerId")
    customer_key: SecretStr = Field(alias="customerKey")

    @field_validator("customer_id")
    @classmethod
    def _id_is_latin1(cls, customer_id: str) -> str:
        # Netvisor signs the id in its MAC as ISO-8859-1: found here, naming the field, not at the first call.
        problem = latin1_problem(customer_id)
        if problem is not None:
            raise ValueError(problem)
        return customer_id

    @field_validator("customer_key")
    @classmethod
    def _key_is_one_clean_line(cls, key: SecretStr) -> SecretStr:
        problem = secret_problem(key.get_secret_value()) or latin1_problem(key.get_secret_value())
        if problem is not None:
            raise ValueError("must not be empty" if problem == "is empty" else problem)
        return key


class Roster(BaseModel):
    """A validated roster: every client with the credentials it needs, and nothing contradictory."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    clients: list[ClientEntry]
    procountor_api_keys: dict[BusinessId, SecretStr]
    netvisor_credentials: dict[str, NetvisorCredentialSet]
    # The deregistration guard (provider.deregistration): the limit, and the business IDs confirmed to go.
    max_deregistrations: int = DEFAULT_MAX_DEREGISTRATIONS
    confirm_deregistration: frozenset[BusinessId] = frozenset()

    @model_validator(mode="after")
    def _entries_agree(self) -> Self:
        # Only a roster built directly comes here: parse_roster checked its entries already and builds the
        # Roster without validating it again. RosterInvalid is no ValueError, so pydantic lets it through.
        from provider.roster.checks import Identity, cross_entry_problems  # checks imports these models

        problems = cross_entry_problems(
            [Identity.of_entry(index, client) for index, client in enumerate(self.clients)],
            {business_id: str(business_id) for business_id in self.procountor_api_keys},
            set(self.netvisor_credentials),
        )
        if problems:
            raise RosterInvalid(problems)
        return self

    def api_key_for(self, client: ClientEntry) -> SecretStr:
        """The Procountor API key of a Procountor client of this roster."""
        if client.erp is not Erp.PROCOUNTOR or client.business_id not in self.procountor_api_keys:
            raise LookupError(f"{client.label} has no API key in {PROCOUNTOR_API_KEYS}")
        return self.procountor_api_keys[client.business_id]

    def credentials_for(self, client: ClientEntry) -> NetvisorCredentialSet:
        """The Netvisor credential set a Netvisor client of this roster names."""
        if (
            client.netvisor_credentials is None
            or client.netvisor_credentials not in self.netvisor_credentials
        ):
            raise LookupError(f"{client.label} names no credential set of {NETVISOR_CREDENTIALS}")
        return self.netvisor_credentials[client.netvisor_credentials]
