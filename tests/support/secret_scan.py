"""Secret scans: every form a secret may take when a service echoes it or a file stores it.

A secret chosen with ``/``, ``+``, ``=``, a space and a non-ASCII letter differs in each of these forms,
so a scan for all of them catches an echo that a scan for the plain text would miss. Texts are compared
without letter case (a service may upper-case what it echoes). Kept apart from provider/redaction.py on
purpose: a scan built from the redaction's own list of forms could never find a form that list misses.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

# The names of ``echo_forms``' forms, in order (test ids).
ECHO_FORM_NAMES = (
    "raw",
    "upper",
    "url-quoted",
    "url-quoted-plus",
    "url-quoted-latin-1",
    "html",
    "json-escaped",
    "base64",
)


def echo_forms(secret: str) -> list[str]:
    """The secret as a service may echo it: as it is, upper case, URL-encoded (UTF-8; form-encoded; and
    Latin-1, as Netvisor's ISO-8859-15 services might), HTML- and JSON-escaped, base64."""
    raw = secret.encode("utf-8")
    try:
        latin = quote_plus(secret.encode("latin-1"))
    except UnicodeEncodeError:  # not Latin-1: that form cannot occur
        latin = quote_plus(raw)
    return [
        secret,
        secret.upper(),
        quote(raw, safe=""),
        quote_plus(raw),
        latin,
        html.escape(secret),
        json.dumps(secret)[1:-1],
        base64.b64encode(raw).decode("ascii"),
    ]


# A JSON string value holding a serialized dynamic provider (the state's ``__provider``).
_PROVIDER = re.compile(r'"__provider"\s*:\s*"([A-Za-z0-9+/=\\n]+)"')


def pickled_providers(text: str) -> str:
    """The serialized providers in ``text`` (state files), decoded: a pickle stores strings as UTF-8."""
    decoded = []
    for blob in _PROVIDER.findall(text):
        try:
            decoded.append(base64.b64decode(blob.replace("\\n", "")).decode("utf-8", errors="replace"))
        except binascii.Error:
            continue
    return "\n".join(decoded)


def leaks(text: str, secrets: Iterable[str]) -> list[str]:
    """The secrets found in ``text`` in any echoed form (the form is named, never the secret)."""
    seen = text.lower()
    return [
        f"secret #{index} as {name}"
        for index, secret in enumerate(secrets)
        for name, form in zip(ECHO_FORM_NAMES, echo_forms(secret), strict=True)
        if form.lower() in seen
    ]
