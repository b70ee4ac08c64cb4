"""``roster:clientsFile``: the client list in a YAML file of the project, for a roster too large for config.

The engine hands the whole stack config to the program as ONE environment string, ``PULUMI_CONFIG``
(pulumi/pulumi#8680), and Linux caps one such string at 128 KiB: a roster of about 700 clients inline in
``roster:clients`` stops ``pulumi up`` before the program runs ("argument list too long"). A file's size is
not limited that way. Its top level is the list ``roster:clients`` would hold, with the same schema and the
same problems, each naming the file: ``clients.yaml[3] (Beta Oy, 1572860-0): vat.deductionPercent: ...``.

Secrets stay in stack config (``roster:procountorApiKeys``, ``roster:netvisorCredentials``, set with
``--secret``): a file with a field that looks like a secret is refused, and its value is never shown.

The file is read as YAML 1.2 reads (what Pulumi's own YAML reader does with stack config), not PyYAML's
YAML 1.1: ``yes``, ``on`` or ``2024-01-31`` stay text, so a file and ``roster:clients`` read the same
(``adopt: yes`` is reported, not taken as true).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import yaml

try:  # libyaml's parser: a roster of 5,000 clients reads in a fraction of a second, not in seconds
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

from provider.errors import RosterProblem
from provider.roster.models import CLIENTS, CLIENTS_FILE, NETVISOR_CREDENTIALS, PROCOUNTOR_API_KEYS
from provider.roster.parsing import CLIENTS_UNREAD
from provider.roster.problems import describe, entry_label
from provider.roster.text import quote, safe

# A roster of 100,000 clients is about 20 MB of YAML; a bigger file is a mistake (or /dev/zero).
MAX_FILE_BYTES: Final = 64 * 1024 * 1024

# Field names that hold secrets (compared without case, "-" and "_"): apiKey, customerKey, partner_key...
_SECRET_NAME: Final = re.compile(r".*(key|secret|password|passwd|token|credential)s?", re.IGNORECASE)
# Names that only look like it: the roster's own field naming a credential set in stack config.
_NOT_SECRET: Final = frozenset({"netvisorcredentials"})


class _Yaml12Loader(_SafeLoader):
    """PyYAML's safe loader with YAML 1.2 core scalars: only true/false are booleans, no sexagesimal
    numbers, no timestamps (``yes``, ``1:20`` and ``2024-01-31`` stay text)."""


_YAML_11_SCALARS: Final = frozenset(
    f"tag:yaml.org,2002:{kind}" for kind in ("bool", "int", "float", "timestamp")
)
_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _YAML_11_SCALARS]
    for first, resolvers in _SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*))$"), list("-+0123456789")
)
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)


def resolve(written: str, root: Path) -> Path:
    """The file ``roster:clientsFile`` names: absolute as written, or relative to the project root."""
    path = Path(written)
    return path if path.is_absolute() else root / path


def read_clients_file(written: object, root: Path) -> tuple[object, str, list[RosterProblem]]:
    """The client list in the file named by ``roster:clientsFile`` (``written``), the label problems name
    it by (the path as written), and the problems with the file itself.

    The list is ``CLIENTS_UNREAD`` when the file cannot be read or parsed; entries with a field that looks
    like a secret lose that field (it is reported, its value never reaches a message).
    """
    if not isinstance(written, str) or not written.strip():
        found = describe(written, reveal=True)
        problem = _problem(CLIENTS_FILE, f"expected the path of a YAML file, got {found}")
        return CLIENTS_UNREAD, CLIENTS_FILE, [problem]
    label = safe(written.strip(), 200)
    path = resolve(written.strip(), root)
    text, reason = _read(path, root, absolute=Path(written.strip()).is_absolute())
    if text is None:
        return CLIENTS_UNREAD, label, [_problem(CLIENTS_FILE, f"{quote(written)} cannot be read: {reason}")]
    try:
        clients = yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 (a SafeLoader with YAML 1.2 scalars)
    except yaml.YAMLError as error:
        return CLIENTS_UNREAD, label, [_problem(label, f"is not valid YAML: {_yaml_reason(error)}")]
    if clients is None:
        return CLIENTS_UNREAD, label, [_problem(label, f"is empty; it should hold the list {CLIENTS} would")]
    if not isinstance(clients, list):
        return (
            CLIENTS_UNREAD,
            label,
            [
                _problem(
                    label,
                    f"expected a list of client entries at the top level (the list {CLIENTS} would hold, "
                    f"each entry starting with `- businessId: ...`), got {describe(clients, reveal=False)}",
                )
            ],
        )
    problems: list[RosterProblem] = []
    cleaned = [_without_secrets(index, item, label, problems) for index, item in enumerate(clients)]
    return cleaned, label, problems


def _read(path: Path, root: Path, *, absolute: bool) -> tuple[str | None, str]:
    where = "" if absolute else f" (a relative path is read from the project root, {root})"
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return None, f"there is no file {path}{where}"
    except IsADirectoryError:
        return None, f"{path} is a folder; name the YAML file in it"
    except PermissionError:
        return None, f"permission denied reading {path}"
    except OSError as error:
        return None, f"{error.strerror or type(error).__name__} ({path})"
    if len(data) > MAX_FILE_BYTES:
        return None, f"{path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError as error:
        return None, f"{path} is not UTF-8 text (byte {error.start}); save it as UTF-8"


def _yaml_reason(error: yaml.YAMLError) -> str:
    """Where and what, without the quoted source line (it may hold anything, a secret included)."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        what = error.problem or error.context or "unreadable"
        context = f" ({error.context})" if error.context and error.problem else ""
        if mark is not None:
            return f"line {mark.line + 1}, column {mark.column + 1}: {what}{context}"
        return f"{what}{context}"
    return type(error).__name__


def _without_secrets(index: int, item: object, label: str, problems: list[RosterProblem]) -> object:
    """``item`` without the fields that look like secrets, each reported (its value never shown)."""
    if not isinstance(item, dict):
        return item
    found = list(_secret_fields(item, ()))
    if not found:
        return item
    name, business_id = item.get("name"), item.get("businessId")
    entry = entry_label(
        index,
        name if isinstance(name, str) else None,
        business_id if isinstance(business_id, str) else None,
        label,
    )
    for path in found:
        problems.append(
            RosterProblem(
                entry,
                ".".join(path),
                "looks like a secret, and secrets do not belong in the clients file (it is plain text, "
                "usually committed); remove it and keep the key in stack config, encrypted: "
                f"`pulumi config set --secret --path '{PROCOUNTOR_API_KEYS}[\"<business ID>\"]' <API key>` "
                f"for Procountor, {NETVISOR_CREDENTIALS}.<set>.customerKey (with --secret) for Netvisor",
            )
        )
    return _strip(item, found)


def _secret_fields(mapping: dict[Any, Any], at: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    for key, value in mapping.items():
        path = (*at, safe(str(key), 60))
        normalised = str(key).replace("-", "").replace("_", "").casefold()
        if normalised not in _NOT_SECRET and _SECRET_NAME.fullmatch(normalised):
            yield path
        elif isinstance(value, dict):
            yield from _secret_fields(value, path)


def _strip(mapping: dict[Any, Any], paths: list[tuple[str, ...]]) -> dict[Any, Any]:
    """A copy of ``mapping`` without the fields at ``paths`` (nested mappings copied as needed)."""
    top = {path[0] for path in paths if len(path) == 1}
    nested = {path[0] for path in paths if len(path) > 1}
    copy: dict[Any, Any] = {}
    for key, value in mapping.items():
        name = safe(str(key), 60)
        if name in top:
            continue
        if name in nested and isinstance(value, dict):
            value = _strip(value, [path[1:] for path in paths if path[0] == name and len(path) > 1])
        copy[key] = value
    return copy


def _problem(entry: str, message: str) -> RosterProblem:
    return RosterProblem(entry, "", message)
