"""Two costs of Pulumi's Python SDK that the program skips: a roster pays them thousands of times for nothing.

At every resource registration the SDK (3.272) also

- sends **five DEBUG messages** to the engine, each a blocking ``Log`` call (about 1 ms of the program's
  time each; the engine shows them only under ``pulumi --debug``). Upstream cut most of them once
  (pulumi/pulumi#7295, #17489); these five remain;
- walks the **whole Python stack** of the declaring code (``traceback.extract_stack``: a ``stat`` of every
  frame's file, its line read, each path made a URI) and sends it with the registration, so that Pulumi
  Cloud can show the line that declared a resource. Here that line is always ``provider/program.py``.

Measured with the real CLI on 2 CPUs, the first preview of 1,000 clients: 45.1 s with both, 20.9 s without
the DEBUG messages, 16.8 s without either (the program's CPU 25.8 s, 17.3 s, 13.7 s; docs/PERFORMANCE.md).

``skip_sdk_overhead()`` (called by the program before it declares anything) hands the SDK an engine client
that drops DEBUG messages (INFO, WARNING and ERROR pass unchanged) and an empty stack trace for each
registration (the engine records no source position). ``FABRICAI_ROSTER_SDK_DEBUG=1`` keeps both, for
debugging the SDK itself with ``pulumi --debug``.

Decisions: the SDK has no switch for either, so this reaches two of its names
(``pulumi.runtime.settings.SETTINGS.engine`` and ``pulumi.runtime.resource._get_stack_trace``); where an
SDK upgrade has moved one, that part is left alone (the program still works, only slower) and
tests/provider/test_sdk_overhead.py fails, so the upgrade cannot pass unnoticed.
"""

from __future__ import annotations

import os
from typing import Any

from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import settings as sdk_settings
from pulumi.runtime.proto import engine_pb2, source_pb2

KEEP_VARIABLE = "FABRICAI_ROSTER_SDK_DEBUG"
# The SDK's own, as imported (None where an upgrade moved it): what ``skip_sdk_overhead`` replaces.
SDK_STACK_TRACE = getattr(sdk_resource, "_get_stack_trace", None)


class EngineWithoutDebug:
    """The SDK's engine client, but DEBUG messages go nowhere."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def Log(self, request: engine_pb2.LogRequest, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 - gRPC's name
        if request.severity == engine_pb2.DEBUG:
            return None
        return self.engine.Log(request, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


def no_stack_trace() -> source_pb2.StackTrace:
    return source_pb2.StackTrace()


def skip_sdk_overhead(environment: dict[str, str] | None = None) -> list[str]:
    """Skip both costs unless ``FABRICAI_ROSTER_SDK_DEBUG`` is set; returns what was skipped (by name)."""
    environment = dict(os.environ) if environment is None else environment
    if environment.get(KEEP_VARIABLE, "").strip() not in ("", "0"):
        return []
    skipped = []
    engine = sdk_settings.get_engine()
    if engine is not None and hasattr(engine, "Log") and not isinstance(engine, EngineWithoutDebug):
        sdk_settings.SETTINGS.engine = EngineWithoutDebug(engine)
        skipped.append("debug messages")
    if callable(SDK_STACK_TRACE):
        sdk_resource._get_stack_trace = no_stack_trace
        skipped.append("stack traces")
    return skipped
