"""Who owns the provider's log lines: one handler, installed in the dynamic-provider process.

Every module logs through ``logging.getLogger(__name__)`` under ``provider``; nothing configured them, so a
warning reached the operator only through Python's last-resort handler (bare text, warnings only). The
engine shows a provider process's stderr with its run, so ``install`` gives the ``provider`` loggers one
stderr handler: every line says it is fabricai-roster's and its level. Warnings and errors by default (what
an operator acts on: a pace above Procountor's limit, a key left to revoke, a rotation settled after a lost
answer); ``FABRICAI_ROSTER_LOG_LEVEL=INFO`` adds a line per client (connected, predictions ordered), which
at a firm's size would bury the rest. Messages hold no secret (provider/errors.py), so neither do lines.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

LEVEL_VARIABLE = "FABRICAI_ROSTER_LOG_LEVEL"
_FORMAT = "fabricai-roster %(levelname)s: %(message)s"


class _ProviderHandler(logging.Handler):
    """The one handler ``install`` adds (a second call adds none): to ``stream``, or to whatever
    ``sys.stderr`` is when a line is written."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__()
        self._stream = stream

    def stream_to(self, stream: TextIO | None) -> None:
        self._stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = self._stream if self._stream is not None else sys.stderr
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:  # noqa: BLE001 - a log line must never fail a provider call
            self.handleError(record)


def install(stream: TextIO | None = None) -> None:
    """Route the provider's log lines to stderr (or ``stream``) at the level of ``FABRICAI_ROSTER_LOG_LEVEL``
    (default WARNING); idempotent."""
    logger = logging.getLogger("provider")
    level = logging.getLevelName(os.environ.get(LEVEL_VARIABLE, "WARNING").strip().upper())
    logger.setLevel(level if isinstance(level, int) else logging.WARNING)
    installed = [handler for handler in logger.handlers if isinstance(handler, _ProviderHandler)]
    if installed:
        installed[0].stream_to(stream)
        return
    handler = _ProviderHandler(stream)
    handler.setFormatter(logging.Formatter(_FORMAT))
    logger.addHandler(handler)
