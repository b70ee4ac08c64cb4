"""Secrets out of what a service answered: every form a service may echo a secret in, in any letter case.

A service that quotes the request it refused (a proxy, a careless error page, Netvisor's MAC errors quoting
the signed string) can give back our keys: as sent, percent-encoded (UTF-8 or Latin-1, ``+`` or ``%20``
for a space), HTML- or XML-escaped, JSON-escaped (``\\u00e4``, ``\\/``) or base64. Each service client
passes the text it quotes through ``redact`` with the secrets it sent, before the text is shortened and
reaches a message (``redacted_quote``); the resources and ``doctor`` then redact every secret of the stack's
config from each error too (a portal may quote a key it holds).
"""

from __future__ import annotations

import base64
import functools
import html
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"


def secret_forms(value: str) -> set[str]:
    """The forms ``value`` may be echoed in (base64 without its padding, so a padded echo matches too)."""
    forms = {value, html.escape(value), html.escape(value, quote=False)}
    escaped = json.dumps(value)[1:-1]
    forms |= {escaped, escaped.replace("/", "\\/"), json.dumps(value, ensure_ascii=False)[1:-1]}
    for encoding in ("utf-8", "latin-1"):
        raw = value.encode(encoding, errors="replace")
        forms |= {quote(raw, safe=""), quote_plus(raw), quote(raw)}
        forms |= {
            base64.b64encode(raw).decode("ascii").rstrip("="),
            base64.urlsafe_b64encode(raw).decode("ascii").rstrip("="),
        }
    return {form for form in forms if form}


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every form of every non-empty secret replaced by ``[redacted]``."""
    pattern = _pattern(frozenset(secret for secret in secrets if secret))
    return text if pattern is None else pattern.sub(REDACTED, text)


@functools.lru_cache(maxsize=16)
def _pattern(secrets: frozenset[str]) -> re.Pattern[str] | None:
    """One pattern for every form of ``secrets``, made once per set: a stack's config may hold thousands of
    keys, and every message of a run is redacted with all of them."""
    forms = {form for secret in secrets for form in secret_forms(secret)}
    if not forms:
        return None
    return re.compile(
        "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True)), re.IGNORECASE
    )


def redacted_quote(text: str, secrets: Iterable[str], limit: int) -> str:
    """What a service said, fit to quote: redacted first, then shortened to ``limit`` characters. Never the
    other way round: a key cut in half no longer matches any of its forms, and its first part would show."""
    text = redact(text, secrets)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def redact_error(error: BaseException, secrets: Iterable[str]) -> None:
    """Redact ``error``'s message in place (its class and fields stay), before it is raised on."""
    if error.args:
        error.args = (redact(str(error.args[0]), secrets), *error.args[1:])
