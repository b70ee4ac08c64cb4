"""provider/sdk_overhead.py in the real CLI: ``pulumi preview --debug`` shows the SDK's per-resource DEBUG
messages only when ``FABRICAI_ROSTER_SDK_DEBUG=1`` asks for them, and the plan is the same either way."""

from __future__ import annotations

import re
from typing import Any

import pytest

from scripts.example_config import demo_secrets, plain_config, sandbox_urls
from tests.cli.conftest import PulumiProject
from tests.conftest import SandboxFactory

pytestmark = pytest.mark.cli

# One of the five DEBUG messages the SDK (3.272) sends for every resource it registers, for the program's
# resources (the stack's own is registered before the program runs, so its messages stay).
SDK_DEBUG_LINE = re.compile(
    r"resource registration prepared: ty=((?:pulumi-python:dynamic/fabricai:|fabricai:roster:Client)[^,]*), "
    r"name=([^\s]+)"
)


def test_the_sdks_debug_messages_are_skipped_unless_asked_for(
    pulumi_project: PulumiProject, sandbox: SandboxFactory, example_scenario: dict[str, Any]
) -> None:
    running = sandbox(example_scenario)
    config = {**plain_config("sandbox"), **sandbox_urls(running.url)}
    pulumi_project.init_stack("sandbox", config, demo_secrets("sandbox"))
    quiet = pulumi_project.run("preview", "--debug", stack="sandbox")
    assert not SDK_DEBUG_LINE.search(quiet.stdout + quiet.stderr), quiet.stdout[-3000:]
    pulumi_project.env["FABRICAI_ROSTER_SDK_DEBUG"] = "1"
    kept = pulumi_project.run("preview", "--debug", stack="sandbox")
    # Each of the 23 resources the program declares (the plan's 24 but the stack) announced.
    assert len(set(SDK_DEBUG_LINE.findall(kept.stdout))) == 23, kept.stdout[-3000:]

    def plan(output: str) -> str:
        return output[output.index("Resources:") :]

    assert plan(quiet.stdout) == plan(kept.stdout)
    assert "24 to create" in plan(quiet.stdout)
