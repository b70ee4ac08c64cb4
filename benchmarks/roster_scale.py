"""A large roster: no-op preview and refresh of 2,000 clients, and the peak memory it takes.

    python -m benchmarks.roster_scale [--clients 2000]

Half the clients are Procountor, half Netvisor. The sandbox runs in its own process (so the memory figure
is ours alone); the program, the engine driver and the dynamic-provider servicer run here, in one process
(under the CLI they are two, so the peak RSS printed is an upper bound for the provider process).
First an ``up`` creates the roster (setup, timed too); then:
- a no-op ``preview`` (Check + Diff only): total and per-resource time, and the sandbox's request counts
  before and after, proving no request left the provider;
- a ``refresh``: wall time and portal requests per client.
Figures only; nothing asserts on time.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory

import yaml

from benchmarks._roster import Firm, difference, generated_firm, machine, requests_by_service
from sandbox.server import AdminClient
from tests.support.roster_driver import RosterDriver


@contextmanager
def sandbox_process(firm: Firm) -> Iterator[tuple[str, AdminClient]]:
    """``python -m sandbox`` on a free port with the firm's scenario; stopped on exit."""
    with TemporaryDirectory(prefix="fabricai-bench-") as directory:
        scenario = Path(directory) / "scenario.yaml"
        scenario.write_text(yaml.safe_dump(firm.scenario), encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "sandbox",
            "--port",
            "0",
            "--scenario",
            str(scenario),
            "--state",
            str(Path(directory) / "state.db"),
        ]
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
            try:
                assert process.stdout is not None
                url = process.stdout.readline().strip().rsplit(" ", 1)[-1]
                yield url, AdminClient(url)
            finally:
                process.terminate()
                process.wait(timeout=10)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000, help="clients in all (half per ERP)")
    args = parser.parse_args(argv)
    firm = generated_firm(args.clients // 2, args.clients - args.clients // 2)
    print(f"machine: {machine()}")
    print(
        f"roster: {firm.size} clients ({args.clients // 2} Procountor, {args.clients - args.clients // 2} "
        "Netvisor, one shared Netvisor credential set)"
    )
    with sandbox_process(firm) as (url, admin):
        driver = RosterDriver(firm.stack_config(url))
        started = time.perf_counter()
        up = driver.up()
        print(
            f"setup up: {time.perf_counter() - started:.1f} s, {len(up.of_kind('create'))} created, "
            f"{len(up.of_kind('failed'))} failed; peak RSS so far {peak_rss_mib():.0f} MiB"
        )
        resources = sum(1 for entry in driver.state.values() if entry.resource is not None)

        before = requests_by_service(admin.stats())
        started = time.perf_counter()
        preview = driver.preview()
        elapsed = time.perf_counter() - started
        after = requests_by_service(admin.stats())
        changes = len(preview.of_kind("create", "update", "replace", "delete"))
        print(
            f"no-op preview: {elapsed:.1f} s for {resources} resources = {1000 * elapsed / resources:.2f} ms "
            f"per resource; {changes} changes"
        )
        print(
            f"  sandbox requests before {before}, after {after}: {sum(difference(after, before).values())} "
            "made by the preview"
        )

        before = requests_by_service(admin.stats())
        started = time.perf_counter()
        refresh = driver.refresh()
        elapsed = time.perf_counter() - started
        made = difference(requests_by_service(admin.stats()), before)
        print(
            f"refresh: {elapsed:.1f} s for {resources} resources; {made['portal']} portal requests = "
            f"{made['portal'] / firm.size:.3f} per client; "
            f"ERP requests {made['procountor'] + made['netvisor']}; "
            f"{len(refresh.of_kind('drift', 'gone'))} drifted"
        )
    print(f"peak RSS of the program + driver + provider process: {peak_rss_mib():.0f} MiB")
    return 0 if up.succeeded and not changes else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
