"""Checks across entries and sections: duplicates, and keys or credential sets a client needs or none uses.

They run once per parse, on what could be read of every entry (valid or not), so an entry with a typo still
has its key matched. Every check is linear in the roster's size: suggestions ("did you mean") are found by
looking up the few one-typo variants of a business ID, never by comparing every key with every client.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pydantic import SecretStr

from provider.business_id import BusinessId, InvalidBusinessId
from provider.errors import RosterProblem
from provider.roster.models import (
    CLIENTS,
    NETVISOR_CREDENTIALS,
    PROCOUNTOR_API_KEYS,
    ClientEntry,
    Erp,
    erp_of,
)
from provider.roster.problems import closest, entry_label, field_names, set_api_key_command
from provider.roster.text import name_problem, quote, same_name_key, shorten


@dataclass(frozen=True)
class Identity:
    """What the cross-entry checks need of a client entry, as far as it could be read."""

    entry: str
    business_id: BusinessId | None
    erp: Erp | None
    netvisor_credentials: str | None

    @classmethod
    def of_entry(cls, index: int, client: ClientEntry, source: str = CLIENTS) -> Identity:
        return cls(
            entry_label(index, client.name, client.business_id, source),
            client.business_id,
            client.erp,
            client.netvisor_credentials,
        )

    @classmethod
    def of_raw(cls, index: int, item: object, source: str = CLIENTS) -> Identity:
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
        erp = erp_of(written_erp)
        credentials = _read_field(fields, "netvisorCredentials")
        return cls(
            entry_label(
                index,
                name if isinstance(name, str) and name_problem(name) is None else None,
                business_id or (shorten(written_id) if isinstance(written_id, str) else None),
                source,
            ),
            business_id,
            erp,
            credentials if isinstance(credentials, str) and credentials.strip() else None,
        )


def _read_field(fields: Mapping[Any, Any], name: str) -> object:
    """The value of field ``name``, or of the one unknown field that looks like a typo of it."""
    if name in fields:
        return fields[name]
    unknown = [
        key for key in fields if isinstance(key, str) and key not in _CLIENT_FIELD_NAMES and len(key) <= 40
    ]
    likely = [key for key in unknown if closest(key, _CLIENT_FIELD_NAMES) == name]
    return fields[likely[0]] if len(likely) == 1 else None


def cross_entry_problems(
    identities: list[Identity] | None,
    key_spellings: Mapping[BusinessId, str] | None,
    credential_names: set[str] | None,
    source: str = CLIENTS,
) -> list[RosterProblem]:
    """Problems between entries and sections; a section of the wrong type (None) is left out of them.
    ``source`` is where the client list is (``roster:clients`` or the file of ``roster:clientsFile``)."""
    if identities is None:
        return []
    problems: list[RosterProblem] = []
    first_by_id: dict[BusinessId, Identity] = {}
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
                    f"{business_id}; add it with {set_api_key_command(business_id)}",
                )
            )
        problems += _stray_key_problems(first_by_id, keyless, key_spellings, source)
    if credential_names is not None:
        problems += _unknown_credential_problems(identities, credential_names)
        problems += _unused_credential_problems(identities, credential_names, source)
    return problems


def shared_key_problems(
    keys: Mapping[BusinessId, SecretStr],
    key_spellings: Mapping[BusinessId, str] | None,
    identities: list[Identity] | None,
) -> list[RosterProblem]:
    """One API key under two business IDs: a Procountor key opens one company, so one of the two entries is
    wrong (a key pasted twice), which `pulumi up` would find only after portal writes. Each problem names
    both entries, and their clients where the list has them; the key itself never."""
    spellings = key_spellings or {}
    clients: dict[BusinessId, str] = {}
    for identity in identities or []:
        if identity.business_id is not None:
            clients.setdefault(identity.business_id, identity.entry)

    def named(business_id: BusinessId) -> str:
        written = spellings.get(business_id, str(business_id))
        return f"{PROCOUNTOR_API_KEYS}[{written!r}]" + (
            f" ({clients[business_id]})" if business_id in clients else ""
        )

    problems: list[RosterProblem] = []
    first_by_key: dict[str, BusinessId] = {}
    for business_id, key in keys.items():
        first = first_by_key.setdefault(key.get_secret_value(), business_id)
        if first != business_id:
            problems.append(
                RosterProblem(
                    PROCOUNTOR_API_KEYS,
                    spellings.get(business_id, str(business_id)),
                    f"{named(business_id)} holds the same API key as {named(first)}; a Procountor API key "
                    "opens one company only, so one of them is another client's key: make a key in each "
                    "client's own Procountor (Basics -> API client keys) and set it with "
                    f"{set_api_key_command(business_id)}",
                )
            )
    return problems


def _one_typo_away(business_id: BusinessId) -> list[str]:
    """The serials one typo away from ``business_id``'s: one digit changed, or two neighbours swapped.

    A typo in the serial changes the check digit too, so a key and a client are matched by serial.
    """
    serial = business_id[:7]
    variants = [serial[:at] + digit + serial[at + 1 :] for at in range(7) for digit in "0123456789"]
    variants += [serial[:at] + serial[at + 1] + serial[at] + serial[at + 2 :] for at in range(6)]
    return [variant for variant in dict.fromkeys(variants) if variant != serial]


def _stray_key_problems(
    first_by_id: Mapping[BusinessId, Identity],
    keyless: Mapping[BusinessId, Identity],
    key_spellings: Mapping[BusinessId, str],
    source: str,
) -> list[RosterProblem]:
    """Keys no Procountor client uses; one a typo away from a keyless client's business ID suggests it."""
    problems: list[RosterProblem] = []
    keyless_by_serial = {business_id[:7]: identity for business_id, identity in keyless.items()}
    for business_id, written in key_spellings.items():
        owner = first_by_id.get(business_id)
        if owner is None:
            likely = next(
                (
                    keyless_by_serial[serial]
                    for serial in _one_typo_away(business_id)
                    if serial in keyless_by_serial
                ),
                None,
            )
            hint = f"; did you mean {likely.entry}?" if likely else ""
            problems.append(
                RosterProblem(
                    PROCOUNTOR_API_KEYS,
                    written,
                    f"no client in {source} has business ID {business_id} (a typo?){hint}",
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


# Above this many credential sets, a misspelt name is matched by case and Unicode form only (difflib over
# every set for every client would make the checks quadratic).
_FUZZY_CREDENTIAL_SETS: Final = 100
_LISTED_CREDENTIAL_SETS: Final = 10


def _unknown_credential_problems(
    identities: list[Identity], credential_names: set[str]
) -> list[RosterProblem]:
    problems: list[RosterProblem] = []
    by_key = {same_name_key(name): name for name in credential_names}
    hints: dict[str, str] = {}
    for identity in identities:
        name = identity.netvisor_credentials
        if name is None or name in credential_names or identity.erp is Erp.PROCOUNTOR:
            continue
        if name not in hints:
            hints[name] = _credential_hint(name, credential_names, by_key)
        problems.append(
            RosterProblem(
                identity.entry,
                "netvisorCredentials",
                f"{quote(name)} is not a credential set in {NETVISOR_CREDENTIALS}{hints[name]}",
            )
        )
    return problems


def _credential_hint(name: str, credential_names: set[str], by_key: Mapping[str, str]) -> str:
    likely = by_key.get(same_name_key(name))
    if likely is None and len(credential_names) <= _FUZZY_CREDENTIAL_SETS and len(name) <= 60:
        likely = next(iter(difflib.get_close_matches(name, credential_names, n=1)), None)
    if likely is not None:
        return f"; did you mean {quote(likely)}?"
    if not credential_names:
        return f"; {NETVISOR_CREDENTIALS} is empty"
    listed = sorted(credential_names)[:_LISTED_CREDENTIAL_SETS]
    more = len(credential_names) - len(listed)
    return f"; it has: {', '.join(shorten(name, 40) for name in listed)}" + (
        f" and {more} more" if more else ""
    )


def _unused_credential_problems(
    identities: list[Identity], credential_names: set[str], source: str
) -> list[RosterProblem]:
    """Credential sets no client names: a leftover of a removed client, or staged and forgotten.

    Only said when every Netvisor client names a set that exists: otherwise the client's own problem
    (no set named, or a typo of one) is the one to fix, and "unused" would be noise.
    """
    if any(
        identity.erp is Erp.NETVISOR and identity.netvisor_credentials not in credential_names
        for identity in identities
    ):
        return []
    # An entry whose ERP is unreadable still counts as using the set it names.
    used = {identity.netvisor_credentials for identity in identities if identity.erp is not Erp.PROCOUNTOR}
    return [
        RosterProblem(
            f"{NETVISOR_CREDENTIALS}.{name}",
            "",
            f"no client in {source} names this credential set; remove it, or add the clients that use it "
            "(a firm's customer key should not stay in config unused)",
        )
        for name in sorted(credential_names - used)
    ]


_CLIENT_FIELD_NAMES: Final = frozenset(field_names(ClientEntry, ()))
