"""How a provider error reaches the person running `pulumi up`: its message, never a Python traceback.

Pulumi's dynamic-provider server (``pulumi/dynamic/__main__.py``, ``_abort_with_traceback``) answers the
engine with ``traceback.format_exc()`` of whatever a provider raised, and the CLI prints it whole: a dozen
lines of ``File ".../site-packages/pulumi/dynamic/__main__.py"`` above every "Fix:". There is no hook for
a provider to give the engine a clean message (pulumi#6065 covers the engine's log, not errors), so the
server's module gets a ``traceback`` of ours whose ``format_exc`` gives an operator-facing error
(``FabricaiRosterError``) as its message alone and leaves every other exception, a bug in our code
included, with its full traceback. Should a later SDK stop using ``traceback.format_exc`` there, nothing
breaks: the messages carry tracebacks again, and the real-CLI tests (tests/cli/) say so.
"""

from __future__ import annotations

import sys
import traceback
from types import ModuleType
from typing import Any

from provider.errors import FabricaiRosterError

# The name of the decorator that marks the module of Pulumi's dynamic-provider server.
_SERVER_MARK = "_abort_with_traceback"


class _MessagesForOperators(ModuleType):
    """The ``traceback`` module as the dynamic-provider server sees it once installed."""

    def __init__(self) -> None:
        super().__init__("traceback")

    def __getattr__(self, name: str) -> Any:
        return getattr(traceback, name)

    @staticmethod
    def format_exc(limit: int | None = None, chain: bool = True) -> str:
        error = sys.exc_info()[1]
        if isinstance(error, FabricaiRosterError):
            return str(error)
        return traceback.format_exc(limit=limit, chain=chain)


_INSTALLED = _MessagesForOperators()


def install() -> None:
    """Give every loaded dynamic-provider server module our ``traceback`` (idempotent, cheap)."""
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if (
            namespace is not None
            and _SERVER_MARK in namespace
            and namespace.get("traceback") is not _INSTALLED
        ):
            namespace["traceback"] = _INSTALLED
