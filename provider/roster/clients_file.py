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

A big file stays cheap: the file is read in chunks by libyaml's event parser and each top-level entry is built
from its events and handed on (``ClientsStream``) before the next is read: no whole-file text, node graph or
list of raw entries is ever held, and the time is linear (docs/PERFORMANCE.md, "Big files"). Anchors,
aliases and ``<<`` merge keys work as in PyYAML's safe loader; a tag it would not construct is a problem. The
aliases may stand for at most 200,000 values in all ("billion laughs"), and an alias inside its own anchor
(a loop) is refused.
"""

from __future__ import annotations

import codecs
import functools
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Final

import yaml

try:  # libyaml's event parser, in C: the events of 200,000 clients in seconds
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]
from yaml.constructor import ConstructorError

from provider.errors import RosterProblem
from provider.roster.models import CLIENTS, CLIENTS_FILE, NETVISOR_CREDENTIALS, PROCOUNTOR_API_KEYS
from provider.roster.parsing import CLIENTS_UNREAD, StreamedClients
from provider.roster.problems import describe, entry_label
from provider.roster.text import quote, safe

# A roster of 100,000 clients is about 20 MB of YAML; a bigger file is a mistake (or /dev/zero).
MAX_FILE_BYTES: Final = 64 * 1024 * 1024

# Field names that hold secrets (compared without case, "-" and "_"): apiKey, customerKey, partner_key...
_SECRET_NAME: Final = re.compile(r".*(key|secret|password|passwd|token|credential)s?", re.IGNORECASE)
# Names that only look like it: the roster's own field naming a credential set in stack config.
_NOT_SECRET: Final = frozenset({"netvisorcredentials"})


# YAML 1.2 core scalars (what Pulumi's Go reader does with stack config): only these words are booleans, no
# sexagesimal numbers, no timestamps, no `yes`/`on` (PyYAML's safe loader reads YAML 1.1 and would).
_NULL: Final = re.compile(r"~|null|Null|NULL|")
_BOOL: Final = re.compile(r"true|True|TRUE|false|False|FALSE")
_INT: Final = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_FLOAT: Final = re.compile(
    r"[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
# Any of the four: a plain scalar that does not match is text.
_NOT_TEXT: Final = re.compile("|".join(f"(?:{p.pattern})" for p in (_NULL, _BOOL, _INT, _FLOAT)))
_TAG: Final = "tag:yaml.org,2002:"
# Deeper than this, an entry is a mistake (or an attack on the reader's stack).
MAX_DEPTH: Final = 64
# Values aliases may add to the file, in all. Shared dimensions or tags add a few per client; aliases of
# aliases can make a 1 KB file stand for billions of values ("billion laughs"), and every later walk of the
# roster would pay for each of them.
MAX_ALIASED_VALUES: Final = 200_000
# Bytes read from the file at a time.
CHUNK: Final = 1 << 16


def resolve(written: str, root: Path) -> Path:
    """The file ``roster:clientsFile`` names: absolute as written, or relative to the project root."""
    path = Path(written)
    return path if path.is_absolute() else root / path


def read_clients_file(written: object, root: Path) -> tuple[object, str, list[RosterProblem]]:
    """The client list in the file named by ``roster:clientsFile`` (``written``), the label problems name
    it by (the path as written), and the problems with the file itself.

    The list is ``CLIENTS_UNREAD`` when the file cannot be opened or its top level is not a list, else a
    ``ClientsStream`` that reads the entries one at a time (a problem found while reading, such as bad YAML
    further down, is the stream's). Entries with a field that looks like a secret lose that field (it is
    reported, its value never reaches a message).
    """
    if not isinstance(written, str) or not written.strip():
        found = describe(written, reveal=True)
        problem = _problem(CLIENTS_FILE, f"expected the path of a YAML file, got {found}")
        return CLIENTS_UNREAD, CLIENTS_FILE, [problem]
    label = safe(written.strip(), 200)
    path = resolve(written.strip(), root)
    file, reason = _open(path, root, absolute=Path(written.strip()).is_absolute())
    if file is None:
        return CLIENTS_UNREAD, label, [_problem(CLIENTS_FILE, f"{quote(written)} cannot be read: {reason}")]
    reader = _Utf8Reader(file, path)
    events = _SafeLoader(reader)
    try:
        kind = _top_level(events)
        if kind is yaml.SequenceStartEvent:
            return ClientsStream(events, reader, label), label, []
        top = None if kind is None else _Builder(events).node(0)
    except (yaml.YAMLError, _NotUtf8) as error:
        _close(events, reader)
        return CLIENTS_UNREAD, label, [_unreadable(label, error)]
    _close(events, reader)
    if top is None:
        return CLIENTS_UNREAD, label, [_problem(label, f"is empty; it should hold the list {CLIENTS} would")]
    return (
        CLIENTS_UNREAD,
        label,
        [
            _problem(
                label,
                f"expected a list of client entries at the top level (the list {CLIENTS} would hold, "
                f"each entry starting with `- businessId: ...`), got {describe(top, reveal=False)}",
            )
        ],
    )


class ClientsStream(StreamedClients):
    """The file's entries, each built from its YAML events as it is asked for; read once."""

    def __init__(self, events: Any, reader: _Utf8Reader, label: str) -> None:
        super().__init__()
        self._events, self._reader, self._label = events, reader, label

    def __iter__(self) -> Iterator[object]:
        builder = _Builder(self._events)
        try:
            self._events.get_event()  # the list's start, peeked at by read_clients_file
            index = 0
            event = self._events.get_event()
            while type(event) is not yaml.SequenceEndEvent:
                yield _without_secrets(index, builder.value(event, 1), self._label, self.problems)
                index += 1
                event = self._events.get_event()
            if not self._events.check_event(
                yaml.DocumentEndEvent
            ):  # pragma: no cover - libyaml says so first
                raise _error("expected the end of the document after the list", self._events)
            self._events.get_event()
            if not self._events.check_event(yaml.StreamEndEvent):
                raise _error(
                    "the file holds more than one YAML document; keep only the list of clients", self._events
                )
        except (yaml.YAMLError, _NotUtf8) as error:
            self.fail(_unreadable(self._label, error))
        finally:
            _close(self._events, self._reader)


class _NotUtf8(ValueError):
    def __init__(self, path: Path, offset: int) -> None:
        super().__init__(f"{path} is not UTF-8 text (byte {offset}); save it as UTF-8")


class _Utf8Reader:
    """The file as text for libyaml, decoded as it is read (UTF-8, a byte order mark dropped), and bounded."""

    def __init__(self, file: IO[bytes], path: Path) -> None:
        self._file, self._path = file, path
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._offset = 0

    def read(self, size: int = -1, /) -> str:
        chunk = self._file.read(min(size, CHUNK) if size > 0 else CHUNK)
        try:
            text = self._decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as error:
            raise _NotUtf8(self._path, self._offset + error.start) from None
        self._offset += len(chunk)
        if self._offset > MAX_FILE_BYTES:
            raise yaml.YAMLError(f"{self._path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
        return text

    def close(self) -> None:
        self._file.close()


def _close(events: Any, reader: _Utf8Reader) -> None:
    events.dispose()
    reader.close()


def _top_level(events: Any) -> type[yaml.Event] | None:
    """Past the stream and document starts: the kind of the top-level node's first event (None: empty)."""
    events.get_event()  # StreamStart
    if events.check_event(yaml.StreamEndEvent):
        return None
    events.get_event()  # DocumentStart
    if events.check_event(yaml.ScalarEvent):
        scalar = events.peek_event()
        if scalar.tag is None and not scalar.style and _NULL.fullmatch(scalar.value):
            return None
    kind: type[yaml.Event] = type(events.peek_event())
    return kind


def _fail(problem: str, event: Any) -> ConstructorError:
    """A problem at ``event``'s place in the file (line and column, never its text)."""
    return ConstructorError(None, None, problem, event.start_mark)


def _error(problem: str, events: Any) -> ConstructorError:
    mark = events.peek_event().start_mark if not events.check_event(yaml.StreamEndEvent) else None
    return ConstructorError(None, None, problem, mark)


class _Builder:
    """Python values from YAML events, as PyYAML's safe loader builds them but with YAML 1.2 scalars."""

    def __init__(self, events: Any) -> None:
        self._events = events
        self._anchors: dict[str, object] = {}
        # Values built so far, each alias counted as the values it stands for; per anchor, that count.
        self._built = 0
        self._aliased = 0
        self._sizes: dict[str, int] = {}
        self._scalars: dict[str, Callable[[str], object]] = {
            f"{_TAG}str": str,
            f"{_TAG}int": _int,
            f"{_TAG}float": _float,
            f"{_TAG}bool": lambda value: value.casefold() == "true",
            f"{_TAG}null": lambda value: None,
        }

    def node(self, depth: int) -> object:
        """The value of the next node of the event stream."""
        return self.value(self._events.get_event(), depth)

    def value(self, event: Any, depth: int) -> object:
        """The value of the node that starts with ``event`` (its other events are read here)."""
        kind = type(event)
        start = self._built
        self._built += 1
        if kind is yaml.ScalarEvent:
            # The common case inline: a plain, untagged scalar.
            value = _plain(event.value) if event.tag is None and not event.style else self._scalar(event)
        elif kind is yaml.AliasEvent:
            if event.anchor not in self._anchors:
                raise _fail(f"found undefined alias {event.anchor!r}", event)
            if event.anchor not in self._sizes:  # the alias is inside its own anchor's node
                raise _fail(f"alias {event.anchor!r} refers to a node that contains it (a loop)", event)
            self._aliased += self._sizes[event.anchor]
            self._built += self._sizes[event.anchor] - 1
            if self._aliased > MAX_ALIASED_VALUES:
                raise _fail(
                    f"its aliases stand for more than {MAX_ALIASED_VALUES:,} values (aliases of aliases?); "
                    "write the entries out, or alias only small parts such as a list of dimensions",
                    event,
                )
            return self._anchors[event.anchor]
        elif depth > MAX_DEPTH:
            raise _fail(f"nested deeper than {MAX_DEPTH} levels", event)
        elif kind is yaml.SequenceStartEvent:
            self._check_tag(event, "seq")
            items: list[object] = []
            if event.anchor is not None:
                self._anchors[event.anchor] = items
            next_event = self._events.get_event
            inner = next_event()
            while type(inner) is not yaml.SequenceEndEvent:
                items.append(self.value(inner, depth + 1))
                inner = next_event()
            value = items
        elif kind is yaml.MappingStartEvent:
            self._check_tag(event, "map")
            mapping: dict[object, object] = {}
            if event.anchor is not None:
                self._anchors[event.anchor] = mapping
            self._mapping(mapping, depth)
            value = mapping
        else:  # pragma: no cover - libyaml emits only these inside a document
            raise _fail(f"unexpected {kind.__name__}", event)
        if event.anchor is not None:
            self._anchors[event.anchor] = value
            self._sizes[event.anchor] = self._built - start
        return value

    def _mapping(self, mapping: dict[object, object], depth: int) -> None:
        merged: list[dict[object, object]] = []
        next_event = self._events.get_event
        key_event = next_event()
        while type(key_event) is not yaml.MappingEndEvent:
            key = self.value(key_event, depth + 1)
            value = self.value(next_event(), depth + 1)
            if key == "<<" and key_event.tag is None and not key_event.style:  # a merge key, as PyYAML reads
                sources = value if isinstance(value, list) else [value]
                if not all(isinstance(source, dict) for source in sources):
                    raise _fail("a merge key (<<) takes a mapping or a list of mappings", key_event)
                merged += [source for source in reversed(sources) if isinstance(source, dict)]  # first wins
            else:
                try:
                    mapping[key] = value
                except TypeError:
                    raise _fail("found a key that is a list or a mapping", key_event) from None
            key_event = next_event()
        if merged:
            explicit = dict(mapping)
            mapping.clear()
            for source in merged:
                mapping.update(source)
            mapping.update(explicit)

    def _scalar(self, event: yaml.ScalarEvent) -> object:
        value: str = event.value
        tag = event.tag
        if tag is None or tag == "!":
            if event.style or tag == "!":  # quoted, a block scalar, or `!`: text
                return value
            return _plain(value)
        construct = self._scalars.get(tag)
        if construct is None:
            raise _fail(f"the tag {tag!r} is not supported here", event)
        try:
            return construct(value)
        except ValueError:
            raise _fail(f"{value[:40]!r} is no {tag[len(_TAG) :]}", event) from None

    def _check_tag(self, event: yaml.CollectionStartEvent, kind: str) -> None:
        if event.tag not in (None, "!", f"{_TAG}{kind}"):
            raise _fail(f"the tag {event.tag!r} is not supported here", event)


def _plain(value: str) -> object:
    """A plain scalar as YAML 1.2's core schema reads it (most are text: one look-up tells)."""
    if value and (value[0] not in "-+.0123456789~nNtTfF" or not _NOT_TEXT.fullmatch(value)):
        return value
    if _NULL.fullmatch(value):
        return None
    if _BOOL.fullmatch(value):
        return value.casefold() == "true"
    if _INT.fullmatch(value):
        return int(value)
    if _FLOAT.fullmatch(value):
        return _float(value)
    return value


def _int(value: str) -> int:
    return (
        int(value.replace("_", ""), 0) if value.strip("+-")[:2].lower() in ("0x", "0o", "0b") else int(value)
    )


def _float(value: str) -> float:
    lowered = value.lower()
    if lowered.endswith(".inf"):
        return -math.inf if lowered.startswith("-") else math.inf
    if lowered == ".nan":
        return math.nan
    return float(value)


def _open(path: Path, root: Path, *, absolute: bool) -> tuple[IO[bytes] | None, str]:
    where = "" if absolute else f" (a relative path is read from the project root, {root})"
    try:
        file = path.open("rb")
    except FileNotFoundError:
        return None, f"there is no file {path}{where}"
    except IsADirectoryError:
        return None, f"{path} is a folder; name the YAML file in it"
    except PermissionError:
        return None, f"permission denied reading {path}"
    except OSError as error:
        return None, f"{error.strerror or type(error).__name__} ({path})"
    if path.is_dir():  # some systems open a folder for reading
        file.close()
        return None, f"{path} is a folder; name the YAML file in it"
    return file, ""


def _unreadable(label: str, error: yaml.YAMLError | _NotUtf8) -> RosterProblem:
    if isinstance(error, _NotUtf8) or type(error) is yaml.YAMLError:  # not UTF-8, or our own size bound
        return _problem(label, f"cannot be read: {error}")
    return _problem(label, f"is not valid YAML: {_yaml_reason(error)}")


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
        if _secret_name(key):
            yield (*at, safe(str(key), 60))
        elif isinstance(value, dict):
            yield from _secret_fields(value, (*at, safe(str(key), 60)))


@functools.lru_cache(maxsize=4096)
def _secret_name(key: object) -> bool:
    """A field name that looks like a secret's; cached, as every entry repeats the same few names."""
    normalised = str(key).replace("-", "").replace("_", "").casefold()
    return normalised not in _NOT_SECRET and _SECRET_NAME.fullmatch(normalised) is not None


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
