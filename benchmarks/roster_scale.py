"""A large roster: no-op preview and refresh of 2,000 clients, and the peak memory of the provider side.

    python -m benchmarks.roster_scale [--clients 2000] [--partner-mode]

Half the clients are Procountor, half Netvisor (one shared credential set), taking turns in the roster.
Three processes, as in a real run the provider, the engine and the services are apart: this one (starts
the others, prints), the sandbox (``python -m sandbox``, no latency), and the provider side: the
dynamic-provider servicer driven by 4 threads as the engine drives it (benchmarks/_engine_path.py), plus
the engine's part of the harness (the stack's state, protobuf requests). Its peak RSS is printed, so the
memory figure is the provider's and that harness's, not the sandbox's and not the program's.

The stack is a firm's (no partner secret; the sandbox's portal verifies as FabricAI, its pace 60 requests/s
for the whole run, and the sandbox's Procountor limit 60); ``--partner-mode`` puts the partner secrets in
the stack and the portal stores unverified (benchmarks/_roster.py). On the provider side:
- setup: ``up`` of the whole roster at 60 Procountor requests/s (a faster setup only; in partner mode
  ``procountor:requestsPerSecond`` 60);
- a no-op ``preview`` (Check + Diff of every resource): total and per-resource time, and the sandbox's
  request counts before and after, proving no request left the provider;
- two ``refresh`` runs (Read of every resource), each in a provider process of its own: portal only
  (``fabricai:refreshErp`` false), then with the ERP health (the guide's checks again, read-only): wall
  time, portal and ERP requests per client, drift found, and for the ERP side the wall time against the
  pace bound (Procountor's requests at the verifier's 60/s, or in partner mode at the provider's default
  20/s; Netvisor one request at a time, shown by the sandbox's most requests in flight per customer).
Figures only; nothing asserts on time.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from benchmarks._roster import (
    Firm,
    Verification,
    difference,
    generated_firm,
    machine,
    requests_by_service,
    sandbox_process,
)
from harness.engine import Engine
from harness.engine_path import PROVIDER_THREADS, EnginePath, PhaseReport
from provider.context import reset as reset_process_context
from sandbox.server import AdminClient

SETUP_PROCOUNTOR_RPS = 60


@dataclass(frozen=True)
class ProviderSideOutcome:
    """What the provider-side process reports back: its printed figures, and whether all went as expected."""

    lines: list[str]
    succeeded: bool


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _phase_line(report: PhaseReport, what: str) -> str:
    resources = max(report.resources, 1)
    return (
        f"{report.command}: {report.wall:.1f} s wall for {report.resources} resources "
        f"({1000 * report.wall / resources:.2f} ms per resource) with {PROVIDER_THREADS} threads; "
        f"{len(report.failures)} failed; {report.changes} {what}"
    )


def provider_side(url: str, procountor: int, netvisor: int, *, partner_mode: bool) -> ProviderSideOutcome:
    """Set the roster up, preview it, refresh it; runs in its own process (the dynamic-provider's)."""
    lines = [f"provider side: peak RSS after imports {peak_rss_mib():.0f} MiB"]
    firm = generated_firm(procountor, netvisor)
    admin = AdminClient(url)
    setup_pace = Verification(partner_mode=partner_mode, procountor_rps=SETUP_PROCOUNTOR_RPS)
    path = EnginePath(firm.stack_config(url, setup_pace), firm.roster())

    setup = path.up()
    lines.append(_phase_line(setup, "created") + f"; peak RSS {peak_rss_mib():.0f} MiB")
    lines += [f"  failed: {failure}" for failure in setup.failures[:5]]

    before = requests_by_service(admin.stats())
    preview = path.preview()
    after = requests_by_service(admin.stats())
    lines.append(_phase_line(preview, "with changes"))
    lines.append("  time per resource (Check + Diff):")
    lines += preview.per_resource_lines()
    made_by_preview = sum(difference(after, before).values())
    lines.append(f"  sandbox requests before {before}, after {after}: {made_by_preview} made by the preview")

    refreshes = []
    for refresh_erp in (False, True):
        refresh, refresh_lines = _refresh(path, admin, firm, url, setup_pace, refresh_erp=refresh_erp)
        refreshes.append(refresh)
        lines += refresh_lines
    lines.append(
        f"peak RSS of the provider-side process (servicer + providers + the engine's state): "
        f"{peak_rss_mib():.0f} MiB"
    )
    succeeded = not (
        setup.failures
        or preview.failures
        or any(refresh.failures for refresh in refreshes)
        or preview.changes
        or made_by_preview
    )
    return ProviderSideOutcome(lines, succeeded)


def _refresh(
    path: EnginePath, admin: AdminClient, firm: Firm, url: str, setup: Verification, *, refresh_erp: bool
) -> tuple[PhaseReport, list[str]]:
    """One ``pulumi refresh`` in a provider process of its own: portal only (``fabricai:refreshErp`` false),
    or with the ERP health. In partner mode at the provider's default Procountor pace (the setup's faster
    pace is not kept); in firm mode the verifier's pace is the sandbox's, the setup's."""
    reset_process_context()
    verification = setup if not setup.partner_mode else Verification(partner_mode=True)
    config = firm.stack_config(url, verification)
    path.engine = Engine({**config, "fabricai:refreshErp": str(refresh_erp).lower()})
    stats = admin.stats()
    before = requests_by_service(stats)
    violations_before = stats["services"]["netvisor"]["concurrencyViolations"]
    refresh = path.refresh()
    stats = admin.stats()
    made = difference(requests_by_service(stats), before)
    netvisor = stats["services"]["netvisor"]
    what = "with the ERP health (fabricai:refreshErp true, the default)" if refresh_erp else "portal only"
    lines = [f"refresh {what}:"]
    lines.append("  " + _phase_line(refresh, "with changed outputs (Pulumi shows them as refresh changes)"))
    lines.append("  time per resource (Read):")
    lines += ["  " + line for line in refresh.per_resource_lines()]
    lines.append(f"  {made['portal']} portal requests = {made['portal'] / firm.size:.3f} per client")
    procountor, netvisor_requests = made["procountor"], made["netvisor"]
    per_erp = Counter(str(client["erp"]) for client in firm.clients)
    pc_each = procountor / max(per_erp["procountor"], 1)
    nv_each = netvisor_requests / max(per_erp["netvisor"], 1)
    lines.append(
        f"  {procountor} Procountor requests = {pc_each:.2f} per Procountor client; "
        f"{netvisor_requests} Netvisor requests = {nv_each:.2f} per Netvisor client"
    )
    if refresh_erp:
        pace = verification.pace
        bound = procountor / pace
        lines.append(
            f"  pace bound: Procountor {procountor} requests at {pace:g}/s "
            f"= {bound:.1f} s; wall {refresh.wall:.1f} s = {refresh.wall / bound if bound else 0:.2f} x the "
            f"bound; Netvisor one request at a time: {netvisor_requests / refresh.wall:.1f} requests/s, "
            f"max in flight per customer {netvisor['maxInFlightPerCustomer']}, "
            f"{netvisor['concurrencyViolations'] - violations_before} overlapping requests"
        )
        health = Counter(
            str(state.outputs.get("erp_health"))
            for state in path.states.values()
            if "Integration" in state.type_name
        )
        lines.append(f"  erp_health: {dict(health)}")
    return refresh, lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000, help="clients in all (half per ERP)")
    parser.add_argument(
        "--partner-mode",
        action="store_true",
        help="partner secrets in the stack (the provider checks); the portal stores unverified",
    )
    args = parser.parse_args(argv)
    verification = Verification(partner_mode=args.partner_mode, procountor_rps=SETUP_PROCOUNTOR_RPS)
    procountor, netvisor = args.clients // 2, args.clients - args.clients // 2
    firm = generated_firm(procountor, netvisor)
    print(f"machine: {machine()}")
    print(
        f"roster: {firm.size} clients ({procountor} Procountor, {netvisor} Netvisor, one shared Netvisor "
        f"credential set); sandbox in its own process, no latency; setup at {verification.describe()}"
    )
    started = time.perf_counter()
    with (
        sandbox_process(firm.scenario(verification)) as (url, _),
        ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as provider_process,
    ):
        print(f"sandbox started in {time.perf_counter() - started:.1f} s")
        outcome = provider_process.submit(
            provider_side, url, procountor, netvisor, partner_mode=args.partner_mode
        ).result()
    print("\n".join(outcome.lines))
    return 0 if outcome.succeeded else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
