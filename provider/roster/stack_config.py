"""The roster's keys in stack config: every key present is looked at, so a misspelt one is never ignored.

``roster:client``, ``roster:Clients``, ``rooster:clients`` or a project-level ``clients`` (which Pulumi names
``<project>:clients``) would otherwise leave ``roster:clients`` unset; each is a problem that names it and
says which key was meant. The provider's own namespaces (``fabricai:``, ``procountor:``, ``netvisor:``) and
Pulumi's are left to their own checks.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from typing import Final

from provider.errors import RosterProblem
from provider.roster.models import (
    ALLOW_EMPTY,
    CLIENTS,
    NETVISOR_CREDENTIALS,
    PROCOUNTOR_API_KEYS,
    ROSTER_KEYS,
    Roster,
)
from provider.roster.parsing import parse_roster
from provider.roster.text import quote

NAMESPACE: Final = "roster"
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


def parse_stack_config(config: Mapping[str, object]) -> Roster:
    """The roster from stack config as ``{full key: value}`` (values as ``Config.get_object`` reads them),
    with every key present, so that misspelt keys are found; RosterInvalid lists every problem."""
    return parse_roster(
        config.get(CLIENTS),
        config.get(PROCOUNTOR_API_KEYS),
        config.get(NETVISOR_CREDENTIALS),
        allow_empty=config.get(ALLOW_EMPTY),
        key_problems=key_problems(config),
    )


def read_stack_config() -> dict[str, object]:
    """Every key of this run's stack config that concerns the roster, with its value as an object.

    Pulumi's Python SDK keeps the run's whole config in ``pulumi.runtime.config`` (set by the language
    host, or by ``set_all_config``; ``PULUMI_CONFIG`` is its fallback): that is the one place every key,
    misspelt ones included, can be listed. Assumption: this module-level store stays as it is in the SDK.
    """
    from pulumi.runtime import config as runtime_config  # pulumi only where the program runs

    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env() or {})
    return {key: _as_object(runtime_config.get_config(key)) for key in keys if _concerns_roster(key)}


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
