"""Problem reporting: pydantic's errors and raw values turned into roster paths and plain words.

``roster:clients[3] (Beta Oy, 1572860-0): vat.deductionPercent: must be from 1 to 99, got 0``: the entry as
written in YAML (0-based, as ``pulumi config set --path`` counts), the field by its YAML name, the message.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Final

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from provider.business_id import BusinessId
from provider.errors import RosterProblem
from provider.roster.models import (
    CLIENTS,
    NETVISOR_CREDENTIALS,
    PROCOUNTOR_API_KEYS,
    RETIRED_FIELDS,
    ClientEntry,
)
from provider.roster.text import quote, safe, shorten


def entry_label(index: int, name: str | None, business_id: str | None, source: str = CLIENTS) -> str:
    """``roster:clients[3] (Beta Oy, 1572860-0)``, with whatever of name and business ID is known (escaped
    and shortened: a name with a line break cannot forge another problem line). ``source`` is where the
    list is: ``roster:clients``, or the file ``roster:clientsFile`` names (``clients.yaml[3] (...)``)."""
    known = [safe(part) for part in (name, business_id) if part]
    return f"{source}[{index}]" + (f" ({', '.join(known)})" if known else "")


def reading_order(problem: RosterProblem, clients: str = CLIENTS) -> tuple[int, int]:
    """Roster keys first, then clients by position, then the key and credential sections: one entry's
    problems stay together. ``clients`` is where the client list is (see ``entry_label``)."""
    section = next(
        (
            index
            for index, name in enumerate((clients, PROCOUNTOR_API_KEYS, NETVISOR_CREDENTIALS))
            if problem.entry == name or problem.entry.startswith((f"{name}[", f"{name}."))
        ),
        -1,
    )
    position = _POSITION.match(problem.entry, len(clients)) if section == 0 else None
    return section, int(position[1]) if position else 0


_POSITION: Final = re.compile(r"\[(\d+)\]")


# Bounds of one problem line's parts once everything is quoted (a business ID of 10,000 characters...).
_FIELD_LENGTH: Final = 120
_MESSAGE_LENGTH: Final = 600


def one_line(problem: RosterProblem) -> RosterProblem:
    """``problem`` with every control character escaped and every part bounded: one line, of sane length.

    Every problem goes through here before it is shown (the last step of parsing), whatever quoted it.
    """
    return RosterProblem(
        safe(problem.entry, _FIELD_LENGTH * 2),
        safe(problem.field, _FIELD_LENGTH),
        safe(problem.message, _MESSAGE_LENGTH),
    )


def set_api_key_command(business_id: BusinessId) -> str:
    return f"pulumi config set --secret --path '{PROCOUNTOR_API_KEYS}[\"{business_id}\"]' <API key>"


def describe(value: object, *, reveal: bool) -> str:
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
        return f"{quote(value) if isinstance(value, str) else shorten(repr(value))} ({kind})"
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


def problems_from(
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
            known = field_names(model, loc[:-1])
            likely = closest(str(loc[-1]), known)
            if likely:
                suggested.add((*loc[:-1], likely))
            if model is ClientEntry and len(loc) == 1 and loc[0] in RETIRED_FIELDS:
                problems.append(RosterProblem(entry, str(loc[0]), RETIRED_FIELDS[str(loc[0])]))
                continue
            hint = f"did you mean {likely!r}?" if likely else f"known fields: {', '.join(known)}"
            problems.append(RosterProblem(entry, _field_path(loc), f"unknown field; {hint}"))
    for detail in details:
        loc = _yaml_loc(model, detail["loc"])
        if detail["type"] == "extra_forbidden" or (loc in suggested and not _is_written(raw, loc)):
            continue
        message = _message(detail, reveal=reveal)
        if loc[-1:] == ("[key]",):  # a mapping's key is wrong: ('tags', 'bad key', '[key]')
            loc, message = loc[:-2], f"key {quote(str(loc[-2]))}: {message}"
        problems.append(RosterProblem(entry, _field_path(loc), message))
    return problems


def _message(detail: ErrorDetails, *, reveal: bool) -> str:
    kind, context = detail["type"], detail.get("ctx", {})
    found = describe(detail["input"], reveal=True) if reveal else None
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


def closest(word: str, candidates: Iterable[str]) -> str | None:
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


def field_names(model: type[BaseModel], path: tuple[str | int, ...]) -> list[str]:
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
