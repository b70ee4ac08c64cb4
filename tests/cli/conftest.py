"""The real Pulumi CLI for these tests (found on PATH or built from Pulumi's Go modules) and a temporary
project driven through it: see tests/support/pulumi_cli.py.

    def test_x(pulumi_project: PulumiProject) -> None:
        pulumi_project.init_stack("sandbox", config={...}, secrets={"fabricai:apiKey": "k"})
        result = pulumi_project.run("up", "--yes", stack="sandbox")
"""

from __future__ import annotations

from tests.support.pulumi_cli import PulumiProject as PulumiProject
from tests.support.pulumi_cli import pulumi_bin as pulumi_bin
from tests.support.pulumi_cli import pulumi_project as pulumi_project
