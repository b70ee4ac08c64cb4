"""provider/sdk_overhead.py: the SDK's DEBUG messages and stack traces skipped, everything else kept; an SDK
upgrade that moves what it reaches fails here (tests/cli/test_cli_sdk_overhead.py runs it in the real CLI)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pytest
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import settings as sdk_settings
from pulumi.runtime.proto import engine_pb2

from provider.sdk_overhead import KEEP_VARIABLE, SDK_STACK_TRACE, EngineWithoutDebug, skip_sdk_overhead


class RecordingEngine:
    """An engine client that keeps what it is sent."""

    def __init__(self) -> None:
        self.logged: list[tuple[int, str]] = []

    def Log(self, request: engine_pb2.LogRequest) -> None:  # noqa: N802 - gRPC's name
        self.logged.append((request.severity, request.message))

    def GetRootResource(self, request: Any) -> str:  # noqa: N802 - gRPC's name
        return "root"


@pytest.fixture
def sdk_stack_trace() -> Iterator[Callable[[], Any]]:
    """The SDK's stack-trace function, put back after the test (another test may have run the program)."""
    original = SDK_STACK_TRACE
    assert original is not None
    try:
        yield original
    finally:
        sdk_resource._get_stack_trace = original


def in_fresh_context(body: Callable[[], Any]) -> Any:
    """Run ``body`` in a copy of the context, so the engine it installs stays there."""
    return contextvars.copy_context().run(body)


def test_what_it_reaches_is_still_in_the_sdk() -> None:
    # If either moved in an SDK upgrade, the program would silently pay the costs again.
    assert callable(SDK_STACK_TRACE) and SDK_STACK_TRACE.__module__ == "pulumi.runtime.resource"
    assert hasattr(sdk_settings.SETTINGS, "engine") and callable(sdk_settings.get_engine)
    assert engine_pb2.DEBUG != engine_pb2.INFO


def test_debug_messages_stop_and_the_rest_reach_the_engine(sdk_stack_trace: Callable[[], Any]) -> None:
    engine = RecordingEngine()

    def body() -> list[str]:
        sdk_settings.SETTINGS.engine = engine
        skipped = skip_sdk_overhead({})
        pulumi.log.debug("registering resource: ty=x")
        pulumi.log.info("shown")
        pulumi.log.warn("warned")
        pulumi.log.error("failed")
        wrapped = sdk_settings.get_engine()
        assert wrapped is not None and wrapped.GetRootResource(None) == "root"  # the rest passes through
        return skipped

    assert in_fresh_context(body) == ["debug messages", "stack traces"]
    assert engine.logged == [
        (engine_pb2.INFO, "shown"),
        (engine_pb2.WARNING, "warned"),
        (engine_pb2.ERROR, "failed"),
    ]
    assert list(sdk_resource._get_stack_trace().frames) == []
    assert sdk_resource._get_stack_trace is not sdk_stack_trace


def test_twice_wraps_the_engine_once(sdk_stack_trace: Callable[[], Any]) -> None:
    engine = RecordingEngine()

    def body() -> Any:
        sdk_settings.SETTINGS.engine = engine
        skip_sdk_overhead({})
        skip_sdk_overhead({})
        return sdk_settings.get_engine()

    wrapped = in_fresh_context(body)
    assert isinstance(wrapped, EngineWithoutDebug) and wrapped.engine is engine


def test_the_variable_keeps_both(sdk_stack_trace: Callable[[], Any]) -> None:
    sdk_resource._get_stack_trace = sdk_stack_trace
    engine = RecordingEngine()

    def body() -> list[str]:
        sdk_settings.SETTINGS.engine = engine
        skipped = skip_sdk_overhead({KEEP_VARIABLE: "1"})
        pulumi.log.debug("kept")
        return skipped

    assert in_fresh_context(body) == []
    assert engine.logged == [(engine_pb2.DEBUG, "kept")]
    assert sdk_resource._get_stack_trace is sdk_stack_trace


def test_without_an_engine_only_the_stack_traces_go(sdk_stack_trace: Callable[[], Any]) -> None:
    def body() -> list[str]:
        sdk_settings.SETTINGS.engine = None
        return skip_sdk_overhead({})

    assert in_fresh_context(body) == ["stack traces"]
