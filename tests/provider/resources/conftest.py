"""The resources' stack: ``stack`` is the one ERP ``Stack`` (tests/support/erp_stack.py) in partner mode on
the shared ``partner_sandbox``, in a fresh provider process with tiny retry waits."""

from __future__ import annotations

import pytest

from harness.engine import Engine
from sandbox.server import RunningSandbox
from tests.support.erp_stack import Stack, engine_config, fresh_process


@pytest.fixture
def stack(partner_sandbox: RunningSandbox) -> Stack:
    fresh_process()
    return Stack(partner_sandbox, Engine(engine_config(partner_sandbox)))
