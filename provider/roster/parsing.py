"""Parsing the three roster sections of stack config into a ``Roster``, or every problem at once."""

from __future__ import annotations

from pydantic import SecretStr, ValidationError

from provider.business_id import BusinessId, InvalidBusinessId
from provider.errors import RosterInvalid, RosterProblem
from provider.roster.checks import Identity, cross_entry_problems
from provider.roster.models import (
    CLIENTS,
    NETVISOR_CREDENTIALS,
    PROCOUNTOR_API_KEYS,
    ClientEntry,
    NetvisorCredentialSet,
    Roster,
)
from provider.roster.problems import describe, problems_from, reading_order, set_api_key_command


def parse_roster(clients: object, procountor_api_keys: object, netvisor_credentials: object) -> Roster:
    """Validate the three roster sections of stack config; RosterInvalid lists every problem found."""
    problems: list[RosterProblem] = []
    entries, identities = _parse_clients(clients, problems)
    keys, key_spellings = _parse_api_keys(procountor_api_keys, problems)
    credentials, credential_names = _parse_netvisor_credentials(netvisor_credentials, problems)
    problems += cross_entry_problems(identities, key_spellings, credential_names)
    if problems:
        raise RosterInvalid(sorted(problems, key=reading_order))
    # Built without validation: every entry is validated and the checks across entries have run (once).
    return Roster.model_construct(clients=entries, procountor_api_keys=keys, netvisor_credentials=credentials)


# --- sections -------------------------------------------------------------------------------------


def _parse_clients(
    raw: object, problems: list[RosterProblem]
) -> tuple[list[ClientEntry], list[Identity] | None]:
    """The valid entries, and what could be read of every entry (None if the section is unreadable)."""
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        problems.append(
            RosterProblem(CLIENTS, "", f"expected a list of client entries, got {describe(raw, reveal=True)}")
        )
        return [], None
    entries: list[ClientEntry] = []
    identities: list[Identity] = []
    for index, item in enumerate(raw):
        try:
            entry = ClientEntry.model_validate(item)
        except ValidationError as error:
            identity = Identity.of_raw(index, item)
            problems += problems_from(error, item, identity.entry, ClientEntry, reveal=True)
        else:
            identity = Identity.of_entry(index, entry)
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
                f"expected a mapping of business ID: API key, got {describe(raw, reveal=False)}",
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
                        f"{describe(value, reveal=False)}"
                    )
                    + f"; set it with {set_api_key_command(business_id)}",
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
                f"expected a mapping of name: {{customerId, customerKey}}, got {describe(raw, reveal=False)}",
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
            problems += problems_from(error, value, entry, NetvisorCredentialSet, reveal=False)
    return credentials, names
