"""Secrets by value: a client entry holding one of the stack's secrets anywhere is refused, never quoted.

A field name tells little (``tags: {note: <API key>}``, ``businessId: <API key>`` pasted in the wrong
column): what counts is the value. ``SecretIndex`` holds every secret the stack has (the roster's own keys,
and the provider's ``fabricai:apiKey``, ``procountor:clientSecret``, ``netvisor:partnerKey`` where known), by
value, with the name of the config key that holds it. ``secret_fields`` finds, in one raw entry, every key or
text value that is a secret, or holds one as a word (split at blanks and punctuation that no key contains);
``without`` drops them, so no later check, label or problem can quote them.

Decisions: matching is by set look-up, linear in the roster's size (no secret is searched for inside every
value); values shorter than ``MIN_SECRET_LENGTH`` are not treated as secrets (a 3-character "key" would match
ordinary names); the problem names the config key that holds the secret, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from provider.roster.text import safe

MIN_SECRET_LENGTH: Final = 8
# Characters that separate words in free text and appear in no API key the services issue.
_WORD_BREAK: Final = re.compile(r"[\s,;:\"'()\[\]{}<>|]+")

Path = tuple[str | int, ...]


@dataclass
class SecretIndex:
    """Every secret of the stack by value, with the config key that holds it (first one named wins)."""

    by_value: dict[str, str] = field(default_factory=dict)

    def add(self, value: object, held_in: str) -> None:
        if isinstance(value, str) and len(value.strip()) >= MIN_SECRET_LENGTH:
            self.by_value.setdefault(value.strip(), held_in)

    def holder(self, text: str) -> str | None:
        """The config key whose secret ``text`` is or holds as a word, or None."""
        if len(text) < MIN_SECRET_LENGTH:
            return None
        by_value = self.by_value
        found = by_value.get(text) or by_value.get(text.strip())
        if found is not None or text.isalnum():
            return found
        for word in _WORD_BREAK.split(text):
            if word in by_value:
                return by_value[word]
        return None

    def __bool__(self) -> bool:
        return bool(self.by_value)


@dataclass(frozen=True)
class SecretField:
    """Where in an entry a secret was found: the path (``('tags', 'note')``), whether it is a mapping's key
    rather than its value, and the config key that holds that secret."""

    path: Path
    is_key: bool
    held_in: str

    @property
    def field(self) -> str:
        """The YAML field path problems use: ``tags.note``, ``dimensions[1]``; a key found as a mapping's key
        is named by its mapping (the key itself is the secret)."""
        shown = self.path[:-1] if self.is_key else self.path
        text = ""
        for part in shown:
            text += (
                f"[{part}]" if isinstance(part, int) else (f".{safe(part, 40)}" if text else safe(part, 40))
            )
        return text


def secret_fields(item: object, index: SecretIndex) -> list[SecretField]:
    """Every key or text value of ``item`` (nested mappings and lists too) that is or holds a secret.

    Every text of every entry is looked at, so a first pass only answers whether the entry holds any secret
    (most hold none); only then is it walked again to say where."""
    if not index or not _has_secret(item, index.by_value):
        return []
    return list(_walk(item, (), index))


def _has_secret(value: object, by_value: Mapping[str, str]) -> bool:
    kind = type(value)
    if kind is str:
        return _holds(value, by_value)  # type: ignore[arg-type]
    if kind is dict:
        for key, inner in value.items():  # type: ignore[attr-defined]
            if (type(key) is str and _holds(key, by_value)) or _has_secret(inner, by_value):
                return True
        return False
    if kind is list:
        return any(_has_secret(inner, by_value) for inner in value)  # type: ignore[attr-defined]
    return False


def _holds(text: str, by_value: Mapping[str, str]) -> bool:
    if len(text) < MIN_SECRET_LENGTH:
        return False
    if text in by_value or text.isalnum():
        return text in by_value
    return text.strip() in by_value or any(word in by_value for word in _WORD_BREAK.split(text))


def _walk(value: object, at: Path, index: SecretIndex) -> Iterator[SecretField]:
    if isinstance(value, str):
        held_in = index.holder(value)
        if held_in is not None:
            yield SecretField(at, False, held_in)
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            key_holder = index.holder(key) if isinstance(key, str) else None
            if key_holder is not None:
                yield SecretField((*at, key), True, key_holder)
                continue
            yield from _walk(inner, (*at, str(key)), index)
    elif isinstance(value, list):
        for position, inner in enumerate(value):
            yield from _walk(inner, (*at, position), index)


def without(item: Any, found: list[SecretField]) -> Any:
    """A copy of ``item`` without the values (and mapping entries) at ``found``'s paths."""
    paths = {secret.path for secret in found}
    return _drop(item, (), paths)


def _drop(value: Any, at: Path, paths: set[Path]) -> Any:
    if isinstance(value, Mapping):
        kept: dict[Any, Any] = {}
        for key, inner in value.items():
            here = (*at, key if isinstance(key, str) else str(key))
            if here in paths:
                continue
            kept[key] = _drop(inner, here, paths)
        return kept
    if isinstance(value, list):
        return [_drop(inner, (*at, i), paths) for i, inner in enumerate(value) if (*at, i) not in paths]
    return value
