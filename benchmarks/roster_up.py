"""`pulumi up` of a generated roster through the dynamic-provider servicer, the sandbox adding latency.

    python -m benchmarks.roster_up [--clients 200] [--latency-ms 20] [--procountor-rps N] [--partner-mode]
                                   [--whole-program]

``--clients`` Procountor clients plus as many Netvisor clients (one shared credential pair, the two ERPs
taking turns in the roster) are created through the servicer as the engine drives the dynamic-provider
process: 4 worker threads, the NetvisorCredentials first, then one job per client (its ClientCompany, then
its integration); see harness/engine_path.py. The sandbox runs in its own process (``python -m
sandbox``) and adds ``--latency-ms`` to every request. The stack is a firm's (no partner secret; the
sandbox's portal verifies, as FabricAI, at ``--procountor-rps``, default 20); ``--partner-mode`` puts the
partner secrets in the stack (the provider checks, at ``procountor:requestsPerSecond`` when
``--procountor-rps`` is given) and the portal stores unverified. ``--procountor-rps`` is also the sandbox
Procountor's limit (benchmarks/_roster.py).

Prints wall time, requests per client by service, and the lower bounds the run is held to: the round trips
one after the other per client (portal look-up and registration, the ERP checks, the portal connection and
status; counted from the requests made) x latency x clients / 4 threads; Netvisor's one-request-at-a-time
rule for the shared credentials; Procountor's pace (its requests, whoever made them, at the pace above).

``--whole-program`` also runs the real program (stacks/__main__.py) under Pulumi's mocks with the same
servicer (sandbox/roster_driver.py) against a fresh sandbox, as a second, separately labelled figure.
That one includes the Python SDK's own cost (``wait_for_rpcs`` waits on every pending output at each
completion, O(n^2)), which in a real run is spent in the language host, another process: it measures the
SDK under mocks as much as the provider. Figures only; nothing asserts on time.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from benchmarks._roster import (
    Firm,
    Verification,
    difference,
    generated_firm,
    machine,
    requests_by_service,
    rps_argument,
    sandbox_cpu_seconds,
    sandbox_process,
)
from harness.engine_path import PROVIDER_THREADS, EnginePath

SERVICES = ("portal", "procountor", "netvisor")
# Procountor's company, rights and dimensions reads go at once after the token: 3 requests, 1 round trip.
PROCOUNTOR_READS_AT_ONCE = 3


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200, help="Procountor clients")
    parser.add_argument("--netvisor", type=int, default=None, help="Netvisor clients (default: --clients)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="added to every sandbox request")
    parser.add_argument(
        "--procountor-rps",
        type=rps_argument,
        default=None,
        help="Procountor's pace: the sandbox's limit and the verifier's pace (default 20, Procountor's "
        "published pace); in partner mode also procountor:requestsPerSecond",
    )
    parser.add_argument(
        "--partner-mode",
        action="store_true",
        help="partner secrets in the stack (the provider checks); the portal stores unverified",
    )
    parser.add_argument(
        "--whole-program", action="store_true", help="also time the program under mocks (includes the SDK)"
    )
    return parser.parse_args(argv)


def _with_latency(admin: Any, latency_ms: float) -> dict[str, int]:
    for service in SERVICES:
        admin.set_faults(service, latencyMs=latency_ms)
    return requests_by_service(admin.stats())


def _print_requests(made: dict[str, int], procountor: int, netvisor: int) -> None:
    per = {"portal": ("client", procountor + netvisor), "procountor": ("Procountor client", procountor)}
    per["netvisor"] = ("Netvisor client", netvisor)
    for service in SERVICES:
        kind, count = per[service]
        each = f"{made[service] / count:.2f}" if count else "-"
        print(f"  {service:<10} {made[service]:6d} requests = {each} per {kind}")


def critical_rounds(made: dict[str, int], procountor_clients: int) -> int:
    """Round trips one after the other, summed over the clients, from the requests the run made.

    Within a client's chain every request waits for the one before (portal registration, the ERP checks,
    Netvisor's one at a time, the portal connection and status), except Procountor's three reads at once.
    """
    parallel = (PROCOUNTOR_READS_AT_ONCE - 1) * procountor_clients
    return made["portal"] + made["netvisor"] + made["procountor"] - parallel


def _print_bounds(
    wall: float, made: dict[str, int], procountor: int, netvisor: int, latency: float, pace: float
) -> None:
    rounds = critical_rounds(made, procountor)
    print(f"critical path: {rounds / (procountor + netvisor):.2f} round trips per client")
    bounds = {
        f"critical path x latency x clients / {PROVIDER_THREADS}": rounds * latency / PROVIDER_THREADS,
        "Netvisor one request at a time (shared credentials)": made["netvisor"] * latency,
        f"Procountor pace {pace:g} requests/s": made["procountor"] / pace,
    }
    for name, bound in bounds.items():
        # With no latency a bound made of round trips is 0 s: there is no ratio to it.
        ratio = f"ratio {wall / bound:.2f}" if bound > 0 else "no ratio (0 s)"
        print(f"lower bound, {name}: {bound:.1f} s -> {ratio}")
    print(f"ratio to the largest bound: {wall / max(bounds.values()):.2f}")


def _engine_run(firm: Firm, args: argparse.Namespace, verification: Verification) -> bool:
    with sandbox_process(firm.scenario(verification)) as (url, admin):
        before = _with_latency(admin, args.latency_ms)
        path = EnginePath(firm.stack_config(url, verification), firm.roster())
        sandbox_before = sandbox_cpu_seconds()
        report = path.up()
        sandbox_cpu = sandbox_cpu_seconds() - sandbox_before
        stats = admin.stats()
    made = difference(requests_by_service(stats), before)
    print(
        f"up through the servicer, {PROVIDER_THREADS} threads: {report.wall:.1f} s wall; "
        f"{report.resources - len(report.failures)} resources created, {len(report.failures)} failed; "
        f"sandbox CPU {sandbox_cpu:.1f} s"
    )
    for failure in report.failures[:5]:
        print(f"  failed: {failure}")
    print("  provider-call time per resource (waits for the pace and the Netvisor lock included):")
    print("\n".join(report.per_resource_lines()))
    _print_requests(made, args.clients, args.netvisor)
    _print_bounds(report.wall, made, args.clients, args.netvisor, args.latency_ms / 1000, verification.pace)
    netvisor = stats["services"]["netvisor"]
    print(
        f"Netvisor: max in flight per customer {netvisor['maxInFlightPerCustomer']}, "
        f"violations {netvisor['concurrencyViolations']}"
    )
    print(procountor_pace_line(stats))
    return not report.failures


def procountor_pace_line(stats: dict[str, Any]) -> str:
    """What the sandbox's Procountor saw of the app's pace: its peak per second and the 429s it answered."""
    procountor = stats["services"]["procountor"]
    return (
        f"Procountor: peak requests in one second {sum(procountor['peakRequestsPerSecond'].values())}, "
        f"refused over its limit (429) {sum(procountor['rateLimited'].values())}"
    )


def _whole_program_run(firm: Firm, args: argparse.Namespace, verification: Verification) -> bool:
    from harness.driver import RosterDriver  # only this figure needs the SDK's runtime
    from scripts.example_config import PROGRAM

    with sandbox_process(firm.scenario(verification)) as (url, admin):
        before = _with_latency(admin, args.latency_ms)
        driver = RosterDriver(firm.stack_config(url, verification), program=PROGRAM)
        started = time.perf_counter()
        report = driver.up()
        wall = time.perf_counter() - started
        made = difference(requests_by_service(admin.stats()), before)
    print(
        f"[whole program under mocks, SDK included] up: {wall:.1f} s wall; "
        f"{len(report.of_kind('create'))} created, {len(report.of_kind('failed'))} failed; "
        f"requests {made}"
    )
    return report.succeeded


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    if args.netvisor is None:
        args.netvisor = args.clients
    firm = generated_firm(args.clients, args.netvisor)
    verification = Verification(partner_mode=args.partner_mode, procountor_rps=args.procountor_rps)
    print(f"machine: {machine()}")
    print(
        f"roster: {args.clients} Procountor + {args.netvisor} Netvisor clients; sandbox (own process) "
        f"latency {args.latency_ms:g} ms per request; {verification.describe()}"
    )
    succeeded = _engine_run(firm, args, verification)
    if args.whole_program:
        succeeded = _whole_program_run(firm, args, verification) and succeeded
    return 0 if succeeded else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
