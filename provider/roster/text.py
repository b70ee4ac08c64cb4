"""The roster's rules for text: what a name may hold, when two names are the same, how a value is quoted.

- A name (client, dimension, team, tag, credential set, customer id) is visible (not only blanks, invisible
  format characters or blank-looking letters such as U+2800 or U+3164), unpadded, at most ``MAX_NAME_LENGTH``
  characters, and holds no control character: no line break, tab, escape, line or paragraph separator, or
  bidirectional override (which would show the text in another order than it is stored).
- Two names are the same if they are equal after Unicode NFKC normalisation and case folding
  (``Projekti``, ``PROJEKTI`` and ``Ｐｒｏｊｅｋｔｉ`` are one name).
- A credential set's name is a config path segment: letters, digits, ``-`` and ``_`` (``SET_NAME_RULE``).
- A secret is checked without ever being quoted.
- Anything quoted in a problem is escaped (control characters as ``\\n``, ``\\x1b``...) and shortened, so a
  name can neither forge another problem line nor flood the message.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

MAX_NAME_LENGTH: Final = 200
QUOTE_LENGTH: Final = 60

# Bidirectional embeddings, overrides and isolates (U+202A-202E, U+2066-2069) reorder how text is shown.
# Invisible format characters that make a name look blank (zero-width space, joiners, BOM, soft hyphen).
_INVISIBLE_CATEGORIES: Final = frozenset({"Cf", "Zs", "Zl", "Zp", "Cc"})


# Letters and symbols that show as nothing: the Braille blank, the Hangul fillers, the combining grapheme
# joiner. Names made only of them look empty in the portal while passing a category check.
_BLANK_LOOKING: Final = frozenset("\u2800\u3164\u115f\u1160\uffa0\u034f")
# A credential set's name is a segment of a config path (`roster:netvisorCredentials.<name>.customerKey`),
# of a resource name (`netvisor-credentials-<name>`, inside a URN whose separator is `::`) and of the commands
# `fabricai-roster generate` prints: letters, digits, `-` and `_` only, so it needs no quoting anywhere.
_SAFE_SET_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
SET_NAME_RULE: Final = (
    "may hold only letters A-Z and a-z, digits, '-' and '_', starting with a letter or digit, at most 64 "
    "characters (it is a segment of the config path roster:netvisorCredentials.<name>.customerKey), "
    "like 'firm' or 'office-2'"
)

# C0 and C1 controls (category Cc), line and paragraph separators (Zl, Zp), and the bidi controls above.
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def is_control(char: str) -> bool:
    """A character that has no place in a name: C0/C1 controls, line/paragraph separators, bidi controls."""
    return _CONTROL.match(char) is not None


def has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


def looks_blank(text: str) -> bool:
    """Empty, or only whitespace and invisible format characters."""
    if text.isascii():
        return not text.strip()
    return all(char in _BLANK_LOOKING or unicodedata.category(char) in _INVISIBLE_CATEGORIES for char in text)


def name_problem(text: str) -> str | None:
    """Why ``text`` cannot be a name, or None; never quotes it (the caller names the field)."""
    if not text.strip():
        return "must not be empty"
    if has_control(text):
        return "contains a control character (a line break, tab or another invisible code); retype it"
    if looks_blank(text):
        return "looks blank: it holds only invisible characters"
    if len(text) > MAX_NAME_LENGTH:
        return f"is {len(text)} characters long; at most {MAX_NAME_LENGTH} are allowed"
    if text != text.strip():
        # Names are matched exactly (a team, a dimension in the ERP, a tag the portal shows): padding makes
        # another name that looks the same.
        return "has spaces at its start or end; remove them"
    return None


def identifier_problem(text: str) -> str | None:
    """``name_problem``: no spaces at either end either (an id or a key's name is matched exactly)."""
    return name_problem(text)


def set_name_problem(text: str) -> str | None:
    """Why ``text`` cannot name a Netvisor credential set, or None (see ``SET_NAME_RULE``)."""
    problem = name_problem(text)
    if problem is None and not _SAFE_SET_NAME.fullmatch(text):
        return SET_NAME_RULE
    return problem


def latin1_problem(text: str) -> str | None:
    """Why Netvisor cannot take ``text`` (it signs and sends it as ISO-8859-1), or None; never quotes it."""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError as error:
        return (
            f"holds a character Netvisor cannot take (not ISO-8859-1, at position {error.start + 1}); "
            "copy it again from Netvisor (Software interface -> Software interface credentials)"
        )
    return None


def secret_problem(text: str) -> str | None:
    """Why ``text`` cannot be a key or secret, or None; the message never contains the secret."""
    if not text.strip():
        return "is empty"
    if text != text.strip():
        return "has spaces or a line break at its start or end (pasted with them?)"
    if has_control(text):
        return "contains a line break or another control character (pasted over several lines?)"
    return None


def same_name_key(text: str) -> str:
    """What two names that are the same share: NFKC normalised and case folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def escape(text: str) -> str:
    """``text`` with every control character written as an escape, so it stays on one line as it is."""
    if not has_control(text):
        return text
    return "".join(
        char.encode("unicode_escape").decode("ascii") if is_control(char) else char for char in text
    )


def shorten(text: str, limit: int = QUOTE_LENGTH) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe(text: str, limit: int = QUOTE_LENGTH) -> str:
    """``text`` escaped and shortened, unquoted (for labels such as ``(Beta Oy, 1572860-0)``)."""
    return shorten(escape(text), limit)


def quote(text: str, limit: int = QUOTE_LENGTH) -> str:
    """``'text'``, escaped and shortened."""
    return shorten(repr(text), limit)
