"""The provider's log lines reach the operator: the provider process's stderr, which the engine shows."""

from __future__ import annotations

import io
import logging

import pytest

from harness.engine import Engine
from provider import logs
from sandbox.server import RunningSandbox
from tests.support.erp_stack import FIRM, engine_config, fresh_process, netvisor_credentials


def test_a_configured_provider_writes_its_warnings_to_stderr(
    partner_sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """Deleting a credential set warns what is left to do in Netvisor: the operator reads it."""
    fresh_process()
    engine = Engine(engine_config(partner_sandbox))
    state = netvisor_credentials(engine, FIRM)
    engine.destroy(state)
    written = capsys.readouterr().err
    assert "fabricai-roster WARNING: Netvisor credentials 'firm'" in written
    assert "Software interface > Software interface credentials" in written
    assert FIRM.key not in written


def test_info_lines_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    logger = logging.getLogger("provider.test")
    monkeypatch.setenv(logs.LEVEL_VARIABLE, "INFO")
    logs.install(stream)
    logger.info("connected")
    monkeypatch.setenv(logs.LEVEL_VARIABLE, "WARNING")
    logs.install(stream)  # idempotent: one handler, the level as set now
    logger.info("not shown")
    logger.warning("shown")
    logs.install()  # back to whatever sys.stderr is
    assert stream.getvalue().splitlines() == [
        "fabricai-roster INFO: connected",
        "fabricai-roster WARNING: shown",
    ]
