"""Parsing the three roster sections of stack config into a ``Roster``, or every problem at once."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Final

from pydantic import SecretStr, ValidationError

from provider.business_id import BusinessId, InvalidBusinessId
from provider.errors import RosterInvalid, RosterProblem
from provider.roster.checks import Identity, cross_entry_problems, shared_key_problems
from provider.roster.models import (
    ALLOW_EMPTY,
    CLIENTS,
    CLIENTS_FILE,
    CONFIRM_DEREGISTRATION,
    DEFAULT_MAX_DEREGISTRATIONS,
    MAX_DEREGISTRATIONS,
    NETVISOR_CREDENTIALS,
    PROCESSES_BY_ERP,
    PROCESSES_CONTEXT,
    PROCOUNTOR_API_KEYS,
    ClientEntry,
    Erp,
    NetvisorCredentialSet,
    Process,
    Roster,
    issued,
)
from provider.roster.problems import describe, one_line, problems_from, reading_order, set_api_key_command
from provider.roster.secret_values import SecretField, SecretIndex, secret_fields, without
from provider.roster.text import quote, safe, secret_problem, set_name_problem

# The shapes a business ID is written in (its digits may still be wrong): only such a key is ever quoted.
_LOOKS_LIKE_BUSINESS_ID: Final = re.compile(r"[0-9]{6,7}-[0-9]|FI[0-9]{8}", re.ASCII | re.IGNORECASE)


class _Unread:
    """The client list could not be read (its file is unreadable, or two sources are set): the problem
    saying why is reported already, so "not set" would be noise."""

    def __repr__(self) -> str:
        return "CLIENTS_UNREAD"


CLIENTS_UNREAD: Final = _Unread()


class StreamedClients(ABC):
    """A client list read one entry at a time (``roster:clientsFile``: no whole file held in memory). It is
    iterated once; ``problems`` are those found while reading (fields that look like secrets); ``failed``
    is set, with the problem saying why, when reading stopped midway (bad YAML further down): the entries
    read so far are then not a roster, and are not checked."""

    def __init__(self) -> None:
        self.problems: list[RosterProblem] = []
        self.failed = False

    def fail(self, problem: RosterProblem) -> None:
        self.failed = True
        self.problems.append(problem)

    @abstractmethod
    def __iter__(self) -> Iterator[object]:
        """The raw entries, in order (each as ``roster:clients`` would hold it)."""


def parse_roster(
    clients: object,
    procountor_api_keys: object,
    netvisor_credentials: object,
    *,
    allow_empty: object = None,
    max_deregistrations: object = None,
    confirm_deregistration: object = None,
    key_problems: Iterable[RosterProblem] = (),
    clients_source: str = CLIENTS,
    secrets: Mapping[str, object] | None = None,
    on_client: Callable[[ClientEntry], None] | None = None,
    processes_by_erp: Mapping[Erp, frozenset[Process]] = PROCESSES_BY_ERP,
) -> Roster:
    """Validate the roster sections of stack config; RosterInvalid lists every problem found.

    ``clients`` None means ``roster:clients`` is not set: a problem, never an empty roster. An empty list
    is a roster only with ``allow_empty`` true (``roster:allowEmpty``). ``key_problems`` are problems with
    the config keys themselves (``parse_stack_config`` finds them), listed first. ``clients_source`` names
    the list in problems: ``roster:clients``, or the file ``roster:clientsFile`` names (see
    ``clients_file``); ``clients`` is ``CLIENTS_UNREAD`` when that file could not be read (its problem is
    among ``key_problems``). ``max_deregistrations`` and ``confirm_deregistration`` are the deregistration
    guard's keys (``roster:maxDeregistrations``, ``roster:confirmDeregistration``; see
    ``provider.deregistration``). ``secrets`` are the provider's secret settings (config key -> value): no
    client entry may hold one, nor one of the roster's own keys (``secret_values``). With ``on_client``,
    each valid entry is handed to it instead of being kept (the Roster then has no clients): a check of a
    big roster (``fabricai-roster validate``, ``generate``) holds no more than the checks need.
    ``processes_by_erp`` is the processes each ERP runs (FabricAI's table, ``PROCESSES_BY_ERP``).
    """
    problems: list[RosterProblem] = list(key_problems)
    index = secret_index(procountor_api_keys, netvisor_credentials, secrets or {})
    entries, identities = _parse_clients(
        clients, problems, clients_source, index, on_client, processes_by_erp
    )
    shape = clients
    if isinstance(clients, StreamedClients):  # read now: unread if it failed, empty if it held no entry
        shape = CLIENTS_UNREAD if clients.failed else (clients if identities else [])
    # The other roster keys quote what they hold when it is wrong: a secret pasted into one is taken out.
    allow_empty = _unless_secret(allow_empty, ALLOW_EMPTY, index, problems)
    max_deregistrations = _unless_secret(max_deregistrations, MAX_DEREGISTRATIONS, index, problems)
    confirm_deregistration = _unless_secret(confirm_deregistration, CONFIRM_DEREGISTRATION, index, problems)
    _check_present(shape, allow_empty, problems, clients_source)
    keys, key_spellings = _parse_api_keys(procountor_api_keys, problems)
    credentials, credential_names = _parse_netvisor_credentials(netvisor_credentials, problems)
    problems += cross_entry_problems(identities, key_spellings, credential_names, clients_source)
    problems += shared_key_problems(keys, key_spellings, identities)
    limit = _parse_max_deregistrations(max_deregistrations, problems)
    confirmed = _parse_confirm_deregistration(confirm_deregistration, problems)
    if problems:
        in_order = sorted(problems, key=lambda problem: reading_order(problem, clients_source))
        raise RosterInvalid([one_line(problem) for problem in in_order])
    # Built without validation: every entry is validated and the checks across entries have run (once).
    return Roster.model_construct(
        clients=entries,
        procountor_api_keys=keys,
        netvisor_credentials=credentials,
        max_deregistrations=limit,
        confirm_deregistration=confirmed,
    )


# --- sections -------------------------------------------------------------------------------------


def _check_present(clients: object, allow_empty: object, problems: list[RosterProblem], source: str) -> None:
    """A roster is never empty by accident: a missing list, or an empty one not confirmed, is a problem."""
    confirm = f"`{CLIENTS}: []` together with `{ALLOW_EMPTY}: true`"
    if allow_empty is not None and not isinstance(allow_empty, bool):
        problems.append(
            RosterProblem(
                ALLOW_EMPTY, "", f"expected true or false, got {describe(allow_empty, reveal=True)}"
            )
        )
    if clients is None:
        problems.append(
            RosterProblem(
                CLIENTS,
                "",
                "is not set, so the roster lists no client (and `pulumi up` would deregister every client "
                f"of the stack); list the clients in {CLIENTS}, or in a YAML file named by {CLIENTS_FILE}, "
                f"or, to deregister them all on purpose, set {confirm}",
            )
        )
    elif clients == [] and allow_empty is not True:
        problems.append(
            RosterProblem(
                source,
                "",
                "is empty, and `pulumi up` would deregister every client of the stack; if that is what you "
                f"mean, confirm it with `{ALLOW_EMPTY}: true`",
            )
        )


def secret_index(keys: object, credentials: object, settings: Mapping[str, object]) -> SecretIndex:
    """Every secret of the stack by value, named by the config key holding it (never by the value): the
    values of ``roster:procountorApiKeys`` (``keys``), the customer keys of ``roster:netvisorCredentials``
    (``credentials``) and the provider's secret ``settings`` (config key -> value)."""
    index = SecretIndex()
    if isinstance(keys, dict):
        for written, value in keys.items():
            if isinstance(value, str) and _LOOKS_LIKE_BUSINESS_ID.fullmatch(value.strip()):
                continue  # key and value swapped: the business ID is no secret (the key's problem says so)
            shaped = isinstance(written, str) and _LOOKS_LIKE_BUSINESS_ID.fullmatch(written.strip())
            index.add(value, f"{PROCOUNTOR_API_KEYS}[{written!r}]" if shaped else PROCOUNTOR_API_KEYS)
    if isinstance(credentials, dict):
        for name, pair in credentials.items():
            if isinstance(pair, dict):
                index.add(
                    pair.get("customerKey"), f"{NETVISOR_CREDENTIALS}.{safe(str(name), 40)}.customerKey"
                )
    for key, value in settings.items():
        index.add(value, key)
    return index


def _unless_secret(value: object, key: str, index: SecretIndex, problems: list[RosterProblem]) -> object:
    """``value`` of roster key ``key`` without what is one of the stack's secrets (each reported, never
    shown): a text or number is then unset, a list loses those items."""
    found = secret_fields(value, index)
    if not found:
        return value
    problems += _secret_problems(found, key)
    return without(value, found) if isinstance(value, list) else None


def _secret_problems(found: list[SecretField], entry: str) -> list[RosterProblem]:
    return [
        RosterProblem(
            entry,
            secret.field,
            ("a key of this mapping is" if secret.is_key else "holds")
            + f" the secret held in {secret.held_in} (not shown here): a secret belongs only in its own "
            "stack config key, encrypted with `pulumi config set --secret`; remove it from this entry (and "
            "if the entry was shared or committed, rotate that secret)",
        )
        for secret in found
    ]


def _parse_clients(
    raw: object,
    problems: list[RosterProblem],
    source: str,
    index: SecretIndex,
    on_client: Callable[[ClientEntry], None] | None,
    processes_by_erp: Mapping[Erp, frozenset[Process]],
) -> tuple[list[ClientEntry], list[Identity] | None]:
    """The valid entries, and what could be read of every entry (None if the section is unreadable)."""
    if raw is None or raw is CLIENTS_UNREAD:
        return [], None
    if isinstance(raw, StreamedClients):
        found: list[RosterProblem] = []
        entries, identities = _parse_entries(raw, found, source, index, on_client, processes_by_erp)
        if raw.failed:  # the file's problem says why; what was read before it is no roster
            problems += raw.problems
            return [], None
        problems += found + raw.problems
        return entries, identities
    if not isinstance(raw, list):
        problems.append(
            RosterProblem(source, "", f"expected a list of client entries, got {describe(raw, reveal=True)}")
        )
        return [], None
    return _parse_entries(raw, problems, source, index, on_client, processes_by_erp)


def _parse_entries(
    raw: Iterable[object],
    problems: list[RosterProblem],
    source: str,
    index: SecretIndex,
    on_client: Callable[[ClientEntry], None] | None,
    processes_by_erp: Mapping[Erp, frozenset[Process]],
) -> tuple[list[ClientEntry], list[Identity]]:
    entries: list[ClientEntry] = []
    identities: list[Identity] = []
    for position, item in enumerate(raw):
        # Secrets out first: no label, check or problem after this may quote them.
        found = secret_fields(item, index)
        if found:
            item = without(item, found)
        try:
            entry = ClientEntry.model_validate(item, context={PROCESSES_CONTEXT: processes_by_erp})
        except ValidationError as error:
            identity = Identity.of_raw(position, item, source)
            hidden = {secret.field for secret in found if not secret.is_key}
            problems += [
                problem
                for problem in problems_from(error, item, identity.entry, ClientEntry, reveal=True)
                if problem.field not in hidden
            ]
        else:
            identity = Identity.of_entry(position, entry, source)
            if not found:  # an entry that held a secret is reported, never used
                if on_client is not None:
                    on_client(entry)
                else:
                    entries.append(entry)
        problems += _secret_problems(found, identity.entry)
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
    for position, (written, value) in enumerate(raw.items()):
        if not (isinstance(written, str) and _LOOKS_LIKE_BUSINESS_ID.fullmatch(written.strip())):
            # Never echoed: an API key written where its business ID belongs would be printed.
            problems.append(
                RosterProblem(
                    PROCOUNTOR_API_KEYS,
                    "",
                    f"an entry whose key is not a business ID (entry {position}, counting from 0; the key is "
                    "not shown, as it may be an API key put in the wrong place); each entry is "
                    "`<business ID>: <API key>`, like `2925630-9: <API key>`",
                )
            )
            continue
        try:
            business_id = issued(BusinessId(written))
        except (InvalidBusinessId, ValueError) as error:
            problems.append(RosterProblem(PROCOUNTOR_API_KEYS, written, f"not a business ID: {error}"))
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
        flaw = secret_problem(value) if isinstance(value, str) else None
        if not isinstance(value, str) or flaw is not None:
            problems.append(
                RosterProblem(
                    PROCOUNTOR_API_KEYS,
                    str(written),
                    (
                        f"the API key {flaw}"
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
            problems.append(
                RosterProblem(NETVISOR_CREDENTIALS, quote(str(name)), "a credential set needs a name")
            )
            continue
        # Known even when its name is refused: a client naming it gets the name's problem, not "no such set".
        names.add(name)
        flaw = set_name_problem(name)
        if flaw is not None:
            problems.append(
                RosterProblem(NETVISOR_CREDENTIALS, quote(name), f"the name of a credential set {flaw}")
            )
            continue
        try:
            credentials[name] = NetvisorCredentialSet.model_validate(value)
        except ValidationError as error:
            entry = f"{NETVISOR_CREDENTIALS}.{name}"
            problems += problems_from(error, value, entry, NetvisorCredentialSet, reveal=False)
    return credentials, names


def _parse_max_deregistrations(raw: object, problems: list[RosterProblem]) -> int:
    """``roster:maxDeregistrations``: a whole number from 0 (unset: one client at a time)."""
    if raw is None:
        return DEFAULT_MAX_DEREGISTRATIONS
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        problems.append(
            RosterProblem(
                MAX_DEREGISTRATIONS,
                "",
                "expected a whole number from 0 (how many clients one `pulumi up` may deregister without "
                f"confirming them in {CONFIRM_DEREGISTRATION}), got {describe(raw, reveal=True)}",
            )
        )
        return DEFAULT_MAX_DEREGISTRATIONS
    return raw


def _parse_confirm_deregistration(raw: object, problems: list[RosterProblem]) -> frozenset[BusinessId]:
    """``roster:confirmDeregistration``: the business IDs of the clients a run may deregister at once."""
    if raw is None:
        return frozenset()
    if not isinstance(raw, list):
        problems.append(
            RosterProblem(
                CONFIRM_DEREGISTRATION,
                "",
                f"expected a list of business IDs like [2925630-9], got {describe(raw, reveal=True)}",
            )
        )
        return frozenset()
    confirmed: set[BusinessId] = set()
    for index, written in enumerate(raw):
        try:
            if not isinstance(written, str):
                raise ValueError(f"expected a business ID, got {describe(written, reveal=True)}")
            confirmed.add(issued(BusinessId(written)))
        except ValueError as error:  # InvalidBusinessId is a ValueError
            problems.append(
                RosterProblem(f"{CONFIRM_DEREGISTRATION}[{index}]", "", f"not a business ID: {error}")
            )
    return frozenset(confirmed)
