"""The engine harness itself: it must reproduce the engine's contract, or every engine-path test lies."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.dynamic import (
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from harness.engine import Engine, EngineCallFailed, Secret


class EchoProvider(ResourceProvider):
    """Records what the engine hands it."""

    configured: dict[str, Any]

    def configure(self, req: ConfigureRequest) -> None:
        self.configured = {"token": req.config.get("test:token")}

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(
            changes=olds.get("value") != news.get("value"),
            replaces=[],
            stables=None,
            delete_before_replace=False,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        if props.get("value") == "fail":
            raise RuntimeError("refused")
        return CreateResult("id-1", {**props, "token_seen": self.configured["token"] == "t0k3n"})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult({**news, "updated": True})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult("", {}) if props.get("value") == "gone" else ReadResult(id_, props)


def test_create_update_refresh_through_the_servicer() -> None:
    engine = Engine({"test:token": Secret("t0k3n")})
    state = engine.up(EchoProvider(), {"value": "a", "key": Secret("s3cr3t")})
    assert state.id == "id-1"
    assert state.outputs["token_seen"] is True
    assert state.outputs["key"] == "s3cr3t"  # providers see plain values
    assert state.public_outputs()["key"] == "[secret]"
    assert "__provider" in state.outputs
    same = engine.up(EchoProvider(), {"value": "a", "key": Secret("s3cr3t")}, state)
    assert same is state
    changed = engine.up(EchoProvider(), {"value": "b", "key": Secret("s3cr3t")}, state)
    assert changed.outputs["updated"] is True
    assert engine.refresh(changed) is not None
    gone = engine.up(EchoProvider(), {"value": "gone"}, changed)
    assert engine.refresh(gone) is None


def test_a_provider_exception_reaches_the_user_as_the_engine_shows_it() -> None:
    engine = Engine({})
    with pytest.raises(EngineCallFailed) as failure:
        engine.up(EchoProvider(), {"value": "fail"})
    assert "RuntimeError: refused" in failure.value.details
    assert "Traceback" in failure.value.details
