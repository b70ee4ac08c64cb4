"""The provider settings a roster needs and lacks, every one at once, each with the command that sets it.

``setting_problems(roster, get)``: ``roster`` the validated roster (None when it is invalid: only the settings
every stack needs are checked), ``get`` a config getter by full key (``pulumi.runtime.get_config``, or the
mapping ``pulumi config --json`` gives); returns ``RosterProblem``s, each naming the key and ending with its
``pulumi config set [--secret] KEY <value>``. ``require_settings`` raises them as ``RosterInvalid``.
``fabricai-roster validate`` and the program (before any resource is declared) call it, so a missing setting
is found by `validate` and `preview`, and a `pulumi up` that lacks one changes nothing in the portal.

Decisions: a firm never holds FabricAI's partner secrets. ``fabricai:verification`` is ``auto`` (default),
``portal`` or ``local``: ``portal`` needs only ``fabricai:apiKey`` (``fabricai:portalUrl`` has a default);
``local`` needs, per ERP in use, its partner credentials (``procountor:clientId`` and
``procountor:clientSecret``, ``netvisor:partnerId`` and ``netvisor:partnerKey``); ``auto`` is local for an
ERP whose partner secret is set, else portal. Malformed values the provider would only meet at its first
call are problems here too: ``netvisor:language`` (FI, EN or SE) and ``procountor:requestsPerSecond`` (a
number from 0.1 to 1000). A value is never quoted: a secret may have been pasted into the wrong key.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from enum import StrEnum
from typing import Final

from provider.errors import RosterInvalid, RosterProblem
from provider.roster.models import Erp, Roster

ConfigGetter = Callable[[str], object]

API_KEY: Final = "fabricai:apiKey"
PORTAL_URL: Final = "fabricai:portalUrl"
VERIFICATION: Final = "fabricai:verification"
PROCOUNTOR_CLIENT_ID: Final = "procountor:clientId"
PROCOUNTOR_CLIENT_SECRET: Final = "procountor:clientSecret"  # noqa: S105 - a config key's name
PROCOUNTOR_PACE: Final = "procountor:requestsPerSecond"
NETVISOR_PARTNER_ID: Final = "netvisor:partnerId"
NETVISOR_PARTNER_KEY: Final = "netvisor:partnerKey"
NETVISOR_LANGUAGE: Final = "netvisor:language"
# The interface languages Netvisor takes (X-Netvisor-Interface-Language).
NETVISOR_LANGUAGES: Final = ("FI", "EN", "SE")
# Below 0.1 requests/s one client's checks take minutes; a figure past 1000 is no pace at all (and one like
# 1e-300 overflowed the limiter's wait).
MIN_PACE: Final = 0.1
MAX_PACE: Final = 1000.0


class Verification(StrEnum):
    AUTO = "auto"
    PORTAL = "portal"
    LOCAL = "local"


# Per ERP: its partner credentials (key, secret?, what it is) for local verification; the last is the secret
# whose presence makes `auto` verify locally.
_PARTNER_KEYS: Final = {
    Erp.PROCOUNTOR: (
        (PROCOUNTOR_CLIENT_ID, False, "<client id>", "FabricAI's Procountor partner application's client id"),
        (PROCOUNTOR_CLIENT_SECRET, True, "<client secret>", "that application's client secret"),
    ),
    Erp.NETVISOR: (
        (NETVISOR_PARTNER_ID, False, "<partner id>", "FabricAI's Netvisor partner id"),
        (NETVISOR_PARTNER_KEY, True, "<partner key>", "FabricAI's Netvisor partner key"),
    ),
}


def set_command(key: str, placeholder: str, *, secret: bool) -> str:
    return f"pulumi config set{' --secret' if secret else ''} {key} {placeholder}"


def _value(get: ConfigGetter, key: str) -> object:
    """The setting as text or a number; unset, empty or blank is None."""
    value = get(key)
    if isinstance(value, str):
        value = value.strip()
    return None if value is None or value == "" else value


def verification(get: ConfigGetter) -> Verification | None:
    """``fabricai:verification`` (unset: auto); None when it is none of the three."""
    value = _value(get, VERIFICATION)
    if value is None:
        return Verification.AUTO
    return next((mode for mode in Verification if isinstance(value, str) and value.casefold() == mode), None)


def local_erps(roster: Roster | None, get: ConfigGetter, erps: Collection[Erp] | None = None) -> set[Erp]:
    """The ERPs of the roster (or ``erps``, the ERPs in use where the roster's clients were not kept) whose
    checks run locally (with partner credentials) rather than at FabricAI."""
    in_use = (
        set(erps) if erps is not None else {c.erp for c in roster.clients} if roster is not None else set()
    )
    mode = verification(get)
    if mode is Verification.LOCAL:
        return in_use
    if mode is Verification.AUTO:
        return {erp for erp in in_use if _value(get, _PARTNER_KEYS[erp][-1][0]) is not None}
    return set()


def setting_problems(
    roster: Roster | None, get: ConfigGetter, *, erps: Collection[Erp] | None = None
) -> list[RosterProblem]:
    """Every setting ``roster`` needs and lacks, or holds in a form the provider cannot use. ``erps``: the
    ERPs in use, when the roster was checked without keeping its clients (``parse_roster``: ``on_client``)."""
    problems: list[RosterProblem] = []
    if _value(get, API_KEY) is None:
        problems.append(
            RosterProblem(
                API_KEY,
                "",
                "is not set: the firm's FabricAI organisation API key (the portal: Organization -> API keys) "
                f"is needed for every client. Set it with: {set_command(API_KEY, '<key>', secret=True)}",
            )
        )
    url = _value(get, PORTAL_URL)
    if url is not None and not (isinstance(url, str) and url.startswith(("https://", "http://"))):
        problems.append(
            RosterProblem(
                PORTAL_URL,
                "",
                "must be the portal API's address, starting with https:// (unset: https://ai.fabricai.io). "
                f"Set it with: {set_command(PORTAL_URL, 'https://ai.fabricai.io', secret=False)}",
            )
        )
    mode = verification(get)
    if mode is None:
        choices = " | ".join(Verification)
        problems.append(
            RosterProblem(
                VERIFICATION,
                "",
                f"must be one of {choices} (unset: auto, which verifies at FabricAI unless an ERP's partner "
                f"secret is set). Set it with: {set_command(VERIFICATION, 'auto', secret=False)}",
            )
        )
    instead = set_command(VERIFICATION, "portal", secret=False)
    for erp in sorted(local_erps(roster, get, erps)):
        why = "fabricai:verification is local" if mode is Verification.LOCAL else "its partner secret is set"
        for key, secret, placeholder, what in _PARTNER_KEYS[erp]:
            if _value(get, key) is None:
                command = set_command(key, placeholder, secret=secret)
                problems.append(
                    RosterProblem(
                        key,
                        "",
                        f"is not set: {erp.display_name} clients are verified locally ({why}), which "
                        f"needs {what}. Set it with: {command}; or, as a firm, verify at FabricAI instead: "
                        f"{instead}",
                    )
                )
    problems += _format_problems(get)
    return problems


def _format_problems(get: ConfigGetter) -> list[RosterProblem]:
    """The provider settings whose value the provider would refuse only at its first call."""
    problems: list[RosterProblem] = []
    language = _value(get, NETVISOR_LANGUAGE)
    if language is not None and language not in NETVISOR_LANGUAGES:
        problems.append(
            RosterProblem(
                NETVISOR_LANGUAGE,
                "",
                f"must be one of {', '.join(NETVISOR_LANGUAGES)} (Netvisor's interface languages; unset: "
                f"FI). Set it with: {set_command(NETVISOR_LANGUAGE, 'FI', secret=False)}",
            )
        )
    pace = _value(get, PROCOUNTOR_PACE)
    if pace is not None and not _pace_ok(pace):
        problems.append(
            RosterProblem(
                PROCOUNTOR_PACE,
                "",
                f"must be a number of requests per second from {MIN_PACE:g} to {MAX_PACE:g} (Procountor's "
                "page allows 20 per client application, the default; more is the firm's own choice). Set it "
                f"with: {set_command(PROCOUNTOR_PACE, '20', secret=False)}",
            )
        )
    return problems


def _pace_ok(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    try:
        pace = float(value)
    except (ValueError, OverflowError):
        return False
    return math.isfinite(pace) and MIN_PACE <= pace <= MAX_PACE


def require_settings(roster: Roster | None, get: ConfigGetter) -> None:
    """``setting_problems`` as one RosterInvalid listing them all (nothing when every setting is there)."""
    problems = setting_problems(roster, get)
    if problems:
        raise RosterInvalid(problems)
