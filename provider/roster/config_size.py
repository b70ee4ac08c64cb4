"""How much of the engine's one config string the roster takes, and the warning before it is too much.

The Pulumi engine starts the program (and the dynamic-provider plugin) with ALL stack config in one
environment variable, ``PULUMI_CONFIG``: a JSON object of full key -> string value, where an object value
(``roster:clients``) is its JSON text, so escaped once more inside the outer JSON (pulumi/pulumi#8680, open).
Linux caps one environment string, ``NAME=value`` and its NUL, at 128 KiB (MAX_ARG_STRLEN, 131,072 bytes);
above it ``pulumi up`` fails before any of our code runs: "fork/exec .../python: argument list too long".
A client entry inline in ``roster:clients`` costs about 180 bytes there, so about 700 clients fill it; a
Procountor API key in ``roster:procountorApiKeys`` about 60 bytes. The fix is ``roster:clientsFile`` (the
list in a YAML file, which costs nothing there), or several stacks for one firm.

Assumption (from the Go SDK's source, not a documented contract): the engine marshals the object with Go's
encoding/json, compact; Go also escapes ``<``, ``>`` and ``&`` (6 bytes each), counted here. A value nested
in an object value is escaped twice by the engine and once here: the size can be a few bytes low per such
character, far below the warning's margin.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Final

from provider.roster.models import CLIENTS, CLIENTS_FILE

VARIABLE: Final = "PULUMI_CONFIG"
# Linux's MAX_ARG_STRLEN (32 pages of 4 KiB): the longest one environment string may be, NUL included.
MAX_ARG_STRLEN: Final = 131_072
# Warn from three quarters of it: room for a few hundred more clients (or keys) before the hard failure.
WARN_FROM: Final = MAX_ARG_STRLEN * 3 // 4
ISSUE: Final = "pulumi/pulumi#8680"


def environment_bytes(config: Mapping[str, str]) -> int:
    """The bytes of ``PULUMI_CONFIG=<JSON>`` and its NUL, as the engine builds it from ``config`` (full key
    -> string value, object values as JSON text)."""
    return len(VARIABLE) + 1 + _json_bytes(config) + 1


def share_bytes(config: Mapping[str, str], keys: Callable[[str], bool]) -> int:
    """The bytes the keys for which ``keys`` holds take in that JSON (with their separators)."""
    return sum(_json_bytes(key) + 1 + _json_bytes(value) + 1 for key, value in config.items() if keys(key))


def as_engine_text(value: object) -> str:
    """A config value as the engine passes it: text as is, anything else as compact JSON."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def size_warning(config: Mapping[str, str], concerns_roster: Callable[[str], bool]) -> str | None:
    """The warning to show when ``PULUMI_CONFIG`` nears the limit (None below ``WARN_FROM``)."""
    total = environment_bytes(config)
    if total < WARN_FROM:
        return None
    roster = share_bytes(config, concerns_roster)
    inline = share_bytes(config, lambda key: key == CLIENTS)
    fix = (
        f"move the client list to a YAML file of the project named by {CLIENTS_FILE} (its {inline:,} "
        f"bytes of {CLIENTS} then cost nothing there; see README, 'The roster'), or split the firm into "
        "several stacks"
        if inline
        else "split the firm into several stacks (the clients are in a file already: the rest is keys "
        "and other stack settings)"
    )
    return (
        f"The stack config takes {total:,} of the {MAX_ARG_STRLEN:,} bytes Linux allows the one "
        f"environment string the Pulumi engine hands all config in ({VARIABLE}, {ISSUE}); the roster "
        f"settings (roster:*) take {roster:,} of them. Beyond the limit `pulumi up` fails before this "
        f"program runs ('argument list too long'). To make room: {fix}."
    )


def _json_bytes(value: object) -> int:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    # Go's encoding/json writes <, > and & as \u003c (6 bytes) and U+2028/U+2029 as \u2028 (6, not 3).
    html = sum(text.count(char) for char in "<>&")
    separators = text.count("\u2028") + text.count("\u2029")
    return len(text.encode("utf-8")) + 5 * html + 3 * separators
