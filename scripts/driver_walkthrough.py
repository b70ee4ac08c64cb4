"""The steps of examples/walkthrough.sh without the Pulumi CLI: the engine driver and an in-process sandbox.

    python -m scripts.driver_walkthrough

Prints a Pulumi-like summary per step (harness/driver.py plays the engine; the program, the
providers and the sandbox are the real ones). docs/WALKTHROUGH.md quotes its output.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from harness.driver import RosterDriver, RunReport
from harness.engine import Secret
from sandbox.server import run_in_thread
from scripts import portal_drift
from scripts.example_config import PROGRAM, stack_config


def show(title: str, run: Callable[[], RunReport]) -> None:
    """The step's heading first, then whatever the step logs (stderr), then its summary."""
    print(f"\n==> {title}", flush=True)
    print(run().summary(), flush=True)


def main() -> int:
    with TemporaryDirectory() as directory, run_in_thread(None, Path(directory) / "sandbox.db") as running:
        config: dict[str, Any] = stack_config("sandbox", running.url, Secret)
        stack = RosterDriver(config, program=PROGRAM)
        show("4. pulumi up (examples/Pulumi.sandbox.yaml)", stack.up)

        keys = {**config["roster:procountorApiKeys"].value, "2925630-9": "FAKE-pc-key-oljy-aijat-2"}
        rotated = {"customerId": "TT_tase_api_2", "customerKey": "FAKE-nv-customer-key-tase-2"}
        config = {
            **config,
            "roster:procountorApiKeys": Secret(keys),
            "roster:netvisorCredentials": Secret({"firm": rotated}),
        }
        show("5. pulumi preview --diff (after rotating two keys)", lambda: stack.preview(config))
        show("5. pulumi up", stack.up)

        def edit_the_portal_then_refresh() -> RunReport:
            drift = [running.service_url("portal"), "--change", "2077474-0", "--delete", "0174592-8"]
            portal_drift.main(drift)
            return stack.refresh()

        show("6. pulumi refresh (after edits in the portal)", edit_the_portal_then_refresh)
        show("6. pulumi up", stack.up)

        broken = RosterDriver(
            stack_config("sandbox-broken", running.url, Secret), program=PROGRAM, stack="sandbox-broken"
        )
        show("7. pulumi up --continue-on-error (examples/Pulumi.sandbox-broken.yaml)", broken.up)

        clients = [dict(client) for client in config["roster:clients"]]
        clients[3]["protect"] = False
        show("8. pulumi up (protect lifted)", lambda: stack.up({**config, "roster:clients": clients}))
        show("8. pulumi destroy", stack.destroy)
        show("8. pulumi destroy (sandbox-broken)", broken.destroy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
