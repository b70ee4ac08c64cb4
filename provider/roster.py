"""The roster in stack config: pydantic models and whole-roster validation.

``parse_roster`` takes the three config values as plain Python (``config.get_object(...)``) and
returns a ``Roster`` or raises ``RosterInvalid`` listing *every* problem, each naming the entry and
the field as written in YAML: ``roster:clients[3] (Beta Oy, 1572860-0): vat.deductionPercent: ...``.

Decisions worth knowing:
- Positions are 0-based, as in ``pulumi config set --path 'roster:clients[3].name'``.
- Business IDs may be written in any form ``BusinessId`` accepts (``174592-8``, ``FI29256309``);
  clients and ``roster:procountorApiKeys`` are matched after normalisation.
- A missing section is empty: an empty roster is valid (it deregisters every client).
- A Netvisor credential set that no client names is accepted: a firm may stage credentials
  before it adds the clients that use them.
- Inputs are not coerced: ``favorite: "yes"`` or ``deductionPercent: "40"`` are reported, not guessed.
- No problem ever quotes a value from ``roster:procountorApiKeys`` or ``roster:netvisorCredentials``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, Final, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from provider.business_id import BusinessId, InvalidBusinessId
from provider.errors import RosterInvalid, RosterProblem

CLIENTS: Final = "roster:clients"
PROCOUNTOR_API_KEYS: Final = "roster:procountorApiKeys"
NETVISOR_CREDENTIALS: Final = "roster:netvisorCredentials"


class Erp(StrEnum):
    PROCOUNTOR = "procountor"
    NETVISOR = "netvisor"

    @property
    def display_name(self) -> str:
        return self.value.capitalize()


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


class VatMode(StrEnum):
    STANDARD = "standard"
    EXEMPT = "exempt"
    PARTIAL = "partial"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _unique(names: list[str]) -> list[str]:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{name!r} is listed twice")
        seen.add(name)
    return names


NonBlankStr = Annotated[StrictStr, AfterValidator(_not_blank)]
UniqueNames = Annotated[list[NonBlankStr], AfterValidator(_unique)]

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

    business_id: BusinessId = Field(alias="businessId")
    name: NonBlankStr
    erp: Erp
    # Declared after erp: its validator reads the (already validated) erp.
    process: Process = Field(default=Process.STANDARD, validate_default=True)
    vat: Vat = Field(default_factory=Vat)
    dimensions: UniqueNames = Field(default_factory=list)
    favorite: StrictBool = False
    teams: UniqueNames = Field(default_factory=list)
    tags: dict[NonBlankStr, StrictStr] = Field(default_factory=dict)
    adopt: StrictBool = False
    protect: StrictBool = False
    netvisor_credentials: NonBlankStr | None = Field(
        default=None, alias="netvisorCredentials", validate_default=True
    )

    @field_validator("process")
    @classmethod
    def _erp_runs_process(cls, process: Process, info: ValidationInfo) -> Process:
        erp = info.data.get("erp")
        if erp is not None and process not in PROCESSES_BY_ERP[erp]:
            supported = ", ".join(sorted(PROCESSES_BY_ERP[erp]))
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

    customer_id: NonBlankStr = Field(alias="customerId")
    customer_key: SecretStr = Field(alias="customerKey")

    @field_validator("customer_key")
    @classmethod
    def _key_not_blank(cls, key: SecretStr) -> SecretStr:
        if not key.get_secret_value().strip():
            raise ValueError("must not be empty")
        return key


class Roster(BaseModel):
    """A validated roster: every client with the credentials it needs, and nothing contradictory."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    clients: list[ClientEntry]
    procountor_api_keys: dict[BusinessId, SecretStr]
    netvisor_credentials: dict[str, NetvisorCredentialSet]

    @model_validator(mode="after")
    def _entries_agree(self) -> Self:
        # RosterInvalid is no ValueError, so pydantic lets it through unwrapped.
        problems = _cross_entry_problems(
            [_Identity.of_entry(index, client) for index, client in enumerate(self.clients)],
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


def parse_roster(clients: object, procountor_api_keys: object, netvisor_credentials: object) -> Roster:
    """Validate the three roster sections of stack config; RosterInvalid lists every problem found."""
    problems: list[RosterProblem] = []
    entries, identities = _parse_clients(clients, problems)
    keys, key_spellings = _parse_api_keys(procountor_api_keys, problems)
    credentials, credential_names = _parse_netvisor_credentials(netvisor_credentials, problems)
    problems += _cross_entry_problems(identities, key_spellings, credential_names)
    if problems:
        raise RosterInvalid(sorted(problems, key=_reading_order))
    return Roster(clients=entries, procountor_api_keys=keys, netvisor_credentials=credentials)


# --- sections -------------------------------------------------------------------------------------


def _parse_clients(
    raw: object, problems: list[RosterProblem]
) -> tuple[list[ClientEntry], list[_Identity] | None]:
    """The valid entries, and what could be read of every entry (None if the section is unreadable)."""
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        problems.append(
            RosterProblem(
                CLIENTS, "", f"expected a list of client entries, got {_describe(raw, reveal=True)}"
            )
        )
        return [], None
    entries: list[ClientEntry] = []
    identities: list[_Identity] = []
    for index, item in enumerate(raw):
        try:
            entry = ClientEntry.model_validate(item)
        except ValidationError as error:
            identity = _Identity.of_raw(index, item)
            problems += _problems_from(error, item, identity.entry, ClientEntry, reveal=True)
        else:
            identity = _Identity.of_entry(index, entry)
            entries.append(entry)
        identities.append(identity)
    return entries, identities


def _parse_api_keys(
    raw: object, problems: list[RosterProblem]
) -> tuple[dict[BusinessId, SecretStr], dict[BusinessId, str] | None]:
    """The valid keys, and how each business ID that has a key (valid or not) was written."""
    if raw is None:
        return {}, {}
    if not isinstance(raw, dict):
        problems.append(
            RosterProblem(
                PROCOUNTOR_API_KEYS,
                "",
                f"expected a mapping of business ID: API key, got {_describe(raw, reveal=False)}",
            )
        )
        return {}, None
    keys: dict[BusinessId, SecretStr] = {}
    spellings: dict[BusinessId, str] = {}
    for written, value in raw.items():
        try:
            business_id = BusinessId(written)
        except InvalidBusinessId as error:
            problems.append(RosterProblem(PROCOUNTOR_API_KEYS, str(written), f"not a business ID: {error}"))
            continue
        if business_id in spellings:
            problems.append(
                RosterProblem(
                    PROCOUNTOR_API_KEYS,
                    str(written),
                    f"the same business ID as {spellings[business_id]!r}; keep one of the two keys",
                )
            )
            continue
        spellings[business_id] = str(written)
        if not isinstance(value, str) or not value.strip():
            problems.append(
                RosterProblem(
                    PROCOUNTOR_API_KEYS,
                    str(written),
                    (
                        "the API key is empty"
                        if isinstance(value, str)
                        else f"expected the client's Procountor API key as a secret string, got "
                        f"{_describe(value, reveal=False)}"
                    )
                    + f"; set it with {_set_api_key_command(business_id)}",
                )
            )
            continue
        keys[business_id] = SecretStr(value)
    return keys, spellings


def _parse_netvisor_credentials(
    raw: object, problems: list[RosterProblem]
) -> tuple[dict[str, NetvisorCredentialSet], set[str] | None]:
    """The valid credential sets, and the names of all sets (valid or not) a client may refer to."""
    if raw is None:
        return {}, set()
    if not isinstance(raw, dict):
        problems.append(
            RosterProblem(
                NETVISOR_CREDENTIALS,
                "",
                "expected a mapping of name: {customerId, customerKey}, "
                f"got {_describe(raw, reveal=False)}",
            )
        )
        return {}, None
    credentials: dict[str, NetvisorCredentialSet] = {}
    names: set[str] = set()
    for name, value in raw.items():
        if not isinstance(name, str) or not name.strip():
            problems.append(RosterProblem(NETVISOR_CREDENTIALS, repr(name), "a credential set needs a name"))
            continue
        names.add(name)
        try:
            credentials[name] = NetvisorCredentialSet.model_validate(value)
        except ValidationError as error:
            entry = f"{NETVISOR_CREDENTIALS}.{name}"
            problems += _problems_from(error, value, entry, NetvisorCredentialSet, reveal=False)
    return credentials, names


# --- checks across entries ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Identity:
    """What the cross-entry checks need of a client entry, as far as it could be read."""

    entry: str
    business_id: BusinessId | None
    erp: Erp | None
    netvisor_credentials: str | None

    @classmethod
    def of_entry(cls, index: int, client: ClientEntry) -> _Identity:
        return cls(
            _entry_label(index, client.name, client.business_id),
            client.business_id,
            client.erp,
            client.netvisor_credentials,
        )

    @classmethod
    def of_raw(cls, index: int, item: object) -> _Identity:
        """The parts of an invalid entry that are valid, so its other problems are still found.

        A field written with a typo (``bussinessId``) is read too: the typo is reported as such,
        and the business ID still labels the entry and matches its API key.
        """
        fields: Mapping[Any, Any] = item if isinstance(item, dict) else {}
        written_id, name = _read_field(fields, "businessId"), _read_field(fields, "name")
        try:
            business_id: BusinessId | None = BusinessId(written_id)
        except InvalidBusinessId:
            business_id = None
        written_erp = _read_field(fields, "erp")
        erp = next((erp for erp in Erp if erp.value == written_erp), None)
        credentials = _read_field(fields, "netvisorCredentials")
        return cls(
            _entry_label(
                index,
                _shorten(name) if isinstance(name, str) and name.strip() else None,
                business_id or (_shorten(written_id) if isinstance(written_id, str) else None),
            ),
            business_id,
            erp,
            credentials if isinstance(credentials, str) and credentials.strip() else None,
        )


def _read_field(fields: Mapping[Any, Any], name: str) -> object:
    """The value of field ``name``, or of the one unknown field that looks like a typo of it."""
    if name in fields:
        return fields[name]
    unknown = [key for key in fields if isinstance(key, str) and key not in _CLIENT_FIELD_NAMES]
    likely = [key for key in unknown if _closest(key, _CLIENT_FIELD_NAMES) == name]
    return fields[likely[0]] if len(likely) == 1 else None


def _cross_entry_problems(
    identities: list[_Identity] | None,
    key_spellings: Mapping[BusinessId, str] | None,
    credential_names: set[str] | None,
) -> list[RosterProblem]:
    """Problems between entries and sections; a section of the wrong type (None) is left out of them."""
    if identities is None:
        return []
    problems: list[RosterProblem] = []
    first_by_id: dict[BusinessId, _Identity] = {}
    for identity in identities:
        if identity.business_id is None:
            continue
        first = first_by_id.setdefault(identity.business_id, identity)
        if first is not identity:
            problems.append(
                RosterProblem(
                    identity.entry,
                    "businessId",
                    f"the same business ID as {first.entry}; "
                    "the portal counts a company only once, keep one entry",
                )
            )
    if key_spellings is not None:
        keyless = {
            business_id: identity
            for business_id, identity in first_by_id.items()
            if identity.erp is Erp.PROCOUNTOR and business_id not in key_spellings
        }
        for business_id, identity in keyless.items():
            problems.append(
                RosterProblem(
                    identity.entry,
                    "businessId",
                    f"a Procountor client needs an API key in {PROCOUNTOR_API_KEYS} and there is none for "
                    f"{business_id}; add it with {_set_api_key_command(business_id)}",
                )
            )
        problems += _stray_key_problems(first_by_id, keyless, key_spellings)
    if credential_names is not None:
        problems += _unknown_credential_problems(identities, credential_names)
    return problems


def _stray_key_problems(
    first_by_id: Mapping[BusinessId, _Identity],
    keyless: Mapping[BusinessId, _Identity],
    key_spellings: Mapping[BusinessId, str],
) -> list[RosterProblem]:
    """Keys no Procountor client uses; one close to a keyless client's business ID is a likely typo."""
    problems: list[RosterProblem] = []
    keyless_by_id = {str(business_id): identity for business_id, identity in keyless.items()}
    for business_id, written in key_spellings.items():
        owner = first_by_id.get(business_id)
        if owner is None:
            likely = difflib.get_close_matches(str(business_id), keyless_by_id, n=1)
            hint = f"; did you mean {keyless_by_id[likely[0]].entry}?" if likely else ""
            problems.append(
                RosterProblem(
                    PROCOUNTOR_API_KEYS,
                    written,
                    f"no client in {CLIENTS} has business ID {business_id} (a typo?){hint}",
                )
            )
        elif owner.erp is not None and owner.erp is not Erp.PROCOUNTOR:
            problems.append(
                RosterProblem(
                    PROCOUNTOR_API_KEYS,
                    written,
                    f"{owner.entry} is a {owner.erp.display_name} client, not a Procountor client; "
                    "remove this key",
                )
            )
    return problems


def _unknown_credential_problems(
    identities: list[_Identity], credential_names: set[str]
) -> list[RosterProblem]:
    problems: list[RosterProblem] = []
    for identity in identities:
        name = identity.netvisor_credentials
        if name is None or name in credential_names or identity.erp is Erp.PROCOUNTOR:
            continue
        likely = difflib.get_close_matches(name, credential_names, n=1)
        if likely:
            hint = f"; did you mean {likely[0]!r}?"
        elif credential_names:
            hint = f"; it has: {', '.join(sorted(credential_names))}"
        else:
            hint = f"; {NETVISOR_CREDENTIALS} is empty"
        problems.append(
            RosterProblem(
                identity.entry,
                "netvisorCredentials",
                f"{_shorten(name)!r} is not a credential set in {NETVISOR_CREDENTIALS}{hint}",
            )
        )
    return problems


# --- messages -------------------------------------------------------------------------------------


def _entry_label(index: int, name: str | None, business_id: str | None) -> str:
    """``roster:clients[3] (Beta Oy, 1572860-0)``, with whatever of name and business ID is known."""
    known = [part for part in (name, business_id) if part]
    return f"{CLIENTS}[{index}]" + (f" ({', '.join(known)})" if known else "")


_CLIENT_POSITION: Final = re.compile(re.escape(CLIENTS) + r"\[(\d+)\]")
_SECTION_ORDER: Final = (CLIENTS, PROCOUNTOR_API_KEYS, NETVISOR_CREDENTIALS)


def _reading_order(problem: RosterProblem) -> tuple[int, int]:
    """Clients by position, then the key and credential sections: one entry's problems stay together."""
    position = _CLIENT_POSITION.match(problem.entry)
    section = next(index for index, name in enumerate(_SECTION_ORDER) if problem.entry.startswith(name))
    return section, int(position[1]) if position else 0


def _set_api_key_command(business_id: BusinessId) -> str:
    return f"pulumi config set --secret --path '{PROCOUNTOR_API_KEYS}[\"{business_id}\"]' <API key>"


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(value: object, *, reveal: bool) -> str:
    """What was found instead, for messages; the value itself only when it may be shown."""
    kinds: list[tuple[type | tuple[type, ...], str]] = [
        (bool, "true/false"),
        ((int, float), "a number"),
        (str, "text"),
        (list, "a list"),
        (dict, "a mapping"),
    ]
    if value is None:
        return "nothing (null)"
    kind = next((name for types, name in kinds if isinstance(value, types)), type(value).__name__)
    if reveal and isinstance(value, str | int | float):
        return f"{_shorten(repr(value))} ({kind})"
    return kind


_EXPECTED_BY_ERROR_TYPE: Final = {
    "bool_type": "expected true or false",
    "int_type": "expected a whole number",
    "int_from_float": "expected a whole number",
    "string_type": "expected text",
    "list_type": "expected a list like [A, B]",
    "dict_type": "expected a mapping of name: value",
    "model_type": "expected a mapping of field: value",
    "model_attributes_type": "expected a mapping of field: value",
}


def _problems_from(
    error: ValidationError, raw: object, entry: str, model: type[BaseModel], *, reveal: bool
) -> list[RosterProblem]:
    """RosterProblems for pydantic's errors, with YAML field paths and plain-language messages.

    Problems with an unwritten field that an unknown field's suggestion points at are left out:
    the suggestion (``bussinessId``: did you mean ``businessId``?) already says what to fix.
    """
    details = error.errors(include_url=False, include_input=reveal)
    problems: list[RosterProblem] = []
    suggested: set[tuple[str | int, ...]] = set()
    for detail in details:
        if detail["type"] == "extra_forbidden":
            # The unknown name stays as written, even when it is an attribute name (netvisor_credentials).
            loc = (*_yaml_loc(model, detail["loc"][:-1]), detail["loc"][-1])
            known = _field_names(model, loc[:-1])
            likely = _closest(str(loc[-1]), known)
            if likely:
                suggested.add((*loc[:-1], likely))
            hint = f"did you mean {likely!r}?" if likely else f"known fields: {', '.join(known)}"
            problems.append(RosterProblem(entry, _field_path(loc), f"unknown field; {hint}"))
    for detail in details:
        loc = _yaml_loc(model, detail["loc"])
        if detail["type"] == "extra_forbidden" or (loc in suggested and not _is_written(raw, loc)):
            continue
        message = _message(detail, reveal=reveal)
        if loc[-1:] == ("[key]",):  # a mapping's key is wrong: ('tags', 'bad key', '[key]')
            loc, message = loc[:-2], f"key {_shorten(str(loc[-2]))!r}: {message}"
        problems.append(RosterProblem(entry, _field_path(loc), message))
    return problems


def _message(detail: ErrorDetails, *, reveal: bool) -> str:
    kind, context = detail["type"], detail.get("ctx", {})
    found = _describe(detail["input"], reveal=True) if reveal else None
    if kind == "missing":
        return "is required"
    if kind == "value_error":
        return str(context["error"])
    if kind == "enum":
        return f"expected {context['expected']}" + (f", got {found}" if found else "")
    if kind in _EXPECTED_BY_ERROR_TYPE:
        return _EXPECTED_BY_ERROR_TYPE[kind] + (f", got {found}" if found else "")
    return detail["msg"]


def _is_written(raw: object, loc: tuple[str | int, ...]) -> bool:
    for part in loc:
        if not isinstance(raw, dict) or part not in raw:
            return False
        raw = raw[part]
    return True


def _closest(word: str, candidates: Iterable[str]) -> str | None:
    likely = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return likely[0] if likely else None


def _field_path(loc: Iterable[str | int]) -> str:
    """``('vat', 'deductionPercent')`` -> ``vat.deductionPercent``; ``('teams', 1)`` -> ``teams[1]``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def _yaml_loc(model: type[BaseModel], loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """``loc`` with every field named as in YAML (pydantic names defaulted fields by attribute name)."""
    named: list[str | int] = []
    current: type[BaseModel] | None = model
    for part in loc:
        field = _field(current, part) if current is not None else None
        named.append((field.alias or part) if field is not None else part)
        annotation = field.annotation if field is not None else None
        current = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return tuple(named)


def _field_names(model: type[BaseModel], path: tuple[str | int, ...]) -> list[str]:
    """The YAML field names accepted at ``path`` inside ``model`` (none where no model is)."""
    current: type[BaseModel] = model
    for part in path:
        field = _field(current, part)
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        current = annotation
    return [info.alias or name for name, info in current.model_fields.items()]


def _field(model: type[BaseModel], part: str | int) -> FieldInfo | None:
    return next((info for name, info in model.model_fields.items() if part in (info.alias, name)), None)


_CLIENT_FIELD_NAMES: Final = frozenset(_field_names(ClientEntry, ()))
