"""The roster's keys in stack config: every key present is looked at, so a misspelt one is never ignored.

``roster:client``, ``roster:Clients``, ``rooster:clients`` or a project-level ``clients`` (which Pulumi names
``<project>:clients``) would otherwise leave ``roster:clients`` unset; each is a problem that names it and
says which key was meant. The provider's own namespaces (``fabricai:``, ``procountor:``, ``netvisor:``) and
Pulumi's are left to their own checks.

The client list is in ``roster:clients`` or in the YAML file ``roster:clientsFile`` names (exactly one of
the two), read relative to the project root: the folder holding Pulumi.yaml (``project_root``).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Final

from provider.errors import RosterProblem
from provider.roster.clients_file import read_clients_file
from provider.roster.config_size import as_engine_text, size_warning
from provider.roster.models import (
    ALLOW_EMPTY,
    CLIENTS,
    CLIENTS_FILE,
    CONFIRM_DEREGISTRATION,
    MAX_DEREGISTRATIONS,
    NETVISOR_CREDENTIALS,
    PROCOUNTOR_API_KEYS,
    ROSTER_KEYS,
    ROTATE_AFTER_DAYS,
    ClientEntry,
    Roster,
)
from provider.roster.parsing import CLIENTS_UNREAD, parse_roster, secret_index
from provider.roster.secret_values import secret_fields
from provider.roster.text import quote

NAMESPACE: Final = "roster"
# The provider's secret settings: no client entry may hold their values (``secret_values``).
SECRET_SETTINGS: Final = ("fabricai:apiKey", "procountor:clientSecret", "netvisor:partnerKey")
_OTHER_NAMESPACES: Final = frozenset({"fabricai", "procountor", "netvisor", "pulumi"})
_NAME_OF: Final = {key.partition(":")[2]: key for key in ROSTER_KEYS}


def key_problems(keys: Iterable[str]) -> list[RosterProblem]:
    """A problem for every config key that is not a roster key but looks meant as one or is in ``roster:``."""
    problems: list[RosterProblem] = []
    for key in keys:
        if key in ROSTER_KEYS:
            continue
        namespace, _, name = key.partition(":")
        if namespace.casefold() in _OTHER_NAMESPACES:
            continue
        likely = _meant(namespace, name)
        if likely is not None:
            message = f"is not a roster key; did you mean {likely}?"
        elif namespace == NAMESPACE:
            message = f"is not a roster key; the roster keys are {', '.join(ROSTER_KEYS)}"
        else:
            continue
        problems.append(RosterProblem(quote(key, 80), "", message))
    return problems


def _meant(namespace: str, name: str) -> str | None:
    """The roster key ``namespace:name`` was likely meant as, if any."""
    by_case = {short.casefold(): key for short, key in _NAME_OF.items()}
    if name.casefold() in by_case:
        return by_case[name.casefold()]
    roster_like = namespace.casefold() == NAMESPACE or bool(
        difflib.get_close_matches(namespace.casefold(), [NAMESPACE], n=1, cutoff=0.75)
    )
    if not roster_like or len(name) > 60:
        return None
    likely = difflib.get_close_matches(name.casefold(), list(by_case), n=1, cutoff=0.6)
    return by_case[likely[0]] if likely else None


def parse_stack_config(
    config: Mapping[str, object],
    root: Path | str | None = None,
    *,
    on_client: Callable[[ClientEntry], None] | None = None,
) -> Roster:
    """The roster from stack config as ``{full key: value}`` (values as ``Config.get_object`` reads them),
    with every key present, so that misspelt keys are found; RosterInvalid lists every problem.

    ``root`` is the folder a relative ``roster:clientsFile`` is read from; by default the project root
    (``project_root``), looked up only when the key is set. ``on_client``: see ``parse_roster``.
    """
    clients, source, file_problems = _client_list(config, root)
    return parse_roster(
        clients,
        config.get(PROCOUNTOR_API_KEYS),
        config.get(NETVISOR_CREDENTIALS),
        allow_empty=config.get(ALLOW_EMPTY),
        max_deregistrations=config.get(MAX_DEREGISTRATIONS),
        confirm_deregistration=config.get(CONFIRM_DEREGISTRATION),
        key_problems=[*key_problems(config), *file_problems, *_rotate_after_problems(config)],
        clients_source=source,
        secrets=_secrets(config),
        on_client=on_client,
    )


def _rotate_after_problems(config: Mapping[str, object]) -> list[RosterProblem]:
    """``roster:rotateAfterDays``, when set, is a whole number of days from 1 (read by `fabricai-roster`)."""
    value = config.get(ROTATE_AFTER_DAYS)
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return []
    return [RosterProblem(ROTATE_AFTER_DAYS, "", "must be a whole number of days, at least 1 (e.g. 365)")]


def _client_list(
    config: Mapping[str, object], root: Path | str | None
) -> tuple[object, str, list[RosterProblem]]:
    """The client list as written, where problems name it from, and the problems of getting it."""
    inline, written = config.get(CLIENTS), config.get(CLIENTS_FILE)
    if written is None:
        return inline, CLIENTS, []
    if inline is not None:
        both = RosterProblem(
            CLIENTS_FILE,
            "",
            f"and {CLIENTS} are both set; keep one: the clients in {CLIENTS}, or in the file "
            f"{CLIENTS_FILE} names (`pulumi config rm {CLIENTS}` or `pulumi config rm {CLIENTS_FILE}`)",
        )
        return CLIENTS_UNREAD, CLIENTS, [both]
    # A path is quoted when it cannot be read: a secret pasted here is named by its holder instead.
    index = secret_index(config.get(PROCOUNTOR_API_KEYS), config.get(NETVISOR_CREDENTIALS), _secrets(config))
    found = secret_fields(written, index)
    if found:
        pasted = RosterProblem(
            CLIENTS_FILE,
            "",
            f"holds the secret held in {found[0].held_in} (not shown here); name the YAML file of the "
            "clients instead, relative to the project root",
        )
        return CLIENTS_UNREAD, CLIENTS_FILE, [pasted]
    return read_clients_file(written, Path(root) if root is not None else project_root())


def _secrets(config: Mapping[str, object]) -> dict[str, object]:
    """The provider's secret settings in ``config`` (config key -> value)."""
    return {key: config[key] for key in SECRET_SETTINGS if isinstance(config.get(key), str)}


def project_root() -> Path:
    """The folder holding Pulumi.yaml: what the engine told the program (``pulumi.get_root_directory``,
    set by the language host since SDK 3.10x), else the first folder up from the working folder that
    holds Pulumi.yaml (the program runs in ``stacks/``, Pulumi.yaml's ``main``), else the working folder."""
    from pulumi.runtime import settings  # pulumi only where the program runs

    told = settings.get_root_directory()
    # Outside an engine run the SDK answers a placeholder ("root_directory"), not a path.
    if isinstance(told, str) and Path(told).is_absolute() and Path(told).is_dir():
        return Path(told)
    return find_project_root(Path.cwd())


def find_project_root(here: Path) -> Path:
    """The first folder up from ``here`` that holds Pulumi.yaml, else ``here``."""
    here = here.resolve()
    return next(
        (
            folder
            for folder in (here, *here.parents)
            if (folder / "Pulumi.yaml").is_file() or (folder / "Pulumi.yml").is_file()
        ),
        here,
    )


def read_engine_config() -> dict[str, str]:
    """Every key of this run's stack config with its value as the engine passed it (text; JSON text for
    an object): what ``PULUMI_CONFIG`` held, to measure it (see ``config_size``)."""
    from pulumi.runtime import config as runtime_config  # pulumi only where the program runs

    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env() or {})
    values = {key: runtime_config.get_config(key) for key in keys}
    return {key: as_engine_text(value) for key, value in values.items() if value is not None}


def config_size_warning(config: Mapping[str, str]) -> str | None:
    """The warning to show when the engine's ``PULUMI_CONFIG`` nears Linux's limit, if it does."""
    return size_warning(config, _concerns_roster)


def read_stack_config() -> dict[str, object]:
    """Every key of this run's stack config that concerns the roster, with its value as an object.

    Pulumi's Python SDK keeps the run's whole config in ``pulumi.runtime.config`` (set by the language
    host, or by ``set_all_config``; ``PULUMI_CONFIG`` is its fallback): that is the one place every key,
    misspelt ones included, can be listed. Assumption: this module-level store stays as it is in the SDK.
    """
    from pulumi.runtime import config as runtime_config  # pulumi only where the program runs

    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env() or {})
    return roster_config({key: runtime_config.get_config(key) for key in keys})


def roster_config(config: Mapping[str, object]) -> dict[str, object]:
    """The keys of ``config`` that concern the roster, each value as ``Config.get_object`` reads it, and the
    provider's secret settings as text (their values must not appear in the roster): what
    ``parse_stack_config`` takes, from the program's config or from ``pulumi config --json``."""
    roster = {key: _as_object(value) for key, value in config.items() if _concerns_roster(key)}
    return roster | {key: config[key] for key in SECRET_SETTINGS if key in config}


def _concerns_roster(key: str) -> bool:
    namespace, _, name = key.partition(":")
    return key in ROSTER_KEYS or (
        namespace.casefold() not in _OTHER_NAMESPACES
        and (namespace == NAMESPACE or _meant(namespace, name) is not None)
    )


def _as_object(value: object) -> object:
    """As ``Config.get_object`` reads a value (JSON), but text that is not JSON stays text (to report)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value
