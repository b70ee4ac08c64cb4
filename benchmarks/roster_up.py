"""`pulumi up` of a generated roster through the dynamic-provider servicer, the sandbox adding latency.

    python -m benchmarks.roster_up [--clients 200] [--latency-ms 20]

``--clients`` Procountor clients plus as many Netvisor clients (one shared credential pair) go through the
engine driver (tests/support/roster_driver.py: 4 provider calls at once, as the dynamic-provider process
serves the engine). Prints wall time, requests per client by service, and the lower bounds the run is
held to: the critical path per client (portal registration, then the ERP checks, then the portal
connection) with 4 calls at once, Netvisor's one-request-at-a-time rule for the shared credentials, and
Procountor's per-application rate limit. Figures only; nothing asserts on time.
"""

from __future__ import annotations

import argparse
import sys
import time

from benchmarks._roster import (
    difference,
    generated_firm,
    machine,
    requests_by_service,
    sandbox_for,
)
from tests.support.roster_driver import PROVIDER_CALLS_AT_ONCE, RosterDriver

# Round trips one after the other per client: ClientCompany (1: POST /clients); the integration:
# Procountor token, then company/rights/dimensions at once, then PUT connection (3); Netvisor: its
# 3 checks one at a time (the customer environment rule), then PUT connection (4).
PROCOUNTOR_ROUNDS = 1 + 3
NETVISOR_ROUNDS = 1 + 4
PROCOUNTOR_RATE_LIMIT = 60  # requests per second per client application (the scenario's default)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200, help="Procountor clients, and as many Netvisor")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args(argv)
    firm = generated_firm(args.clients, args.clients)
    latency = args.latency_ms / 1000
    print(f"machine: {machine()}")
    print(
        f"roster: {args.clients} Procountor + {args.clients} Netvisor clients; sandbox latency "
        f"{args.latency_ms:g} ms per request; {PROVIDER_CALLS_AT_ONCE} provider calls at once"
    )
    with sandbox_for(firm) as running:
        for service in ("portal", "procountor", "netvisor"):
            running.admin.set_faults(service, latencyMs=args.latency_ms)
        driver = RosterDriver(firm.stack_config(running.url))
        before = requests_by_service(running.admin.stats())
        started = time.perf_counter()
        report = driver.up()
        wall = time.perf_counter() - started
        stats = running.admin.stats()
    made = difference(requests_by_service(stats), before)
    print(
        f"up: {wall:.1f} s wall; {len(report.of_kind('create'))} resources created, "
        f"{len(report.of_kind('failed'))} failed"
    )
    per = {
        "portal": ("client", firm.size),
        "procountor": ("Procountor client", args.clients),
        "netvisor": ("Netvisor client", args.clients),
    }
    for service, count in made.items():
        kind, clients = per[service]
        print(f"  {service:<10} {count:6d} requests = {count / clients:.2f} per {kind}")
    critical = (PROCOUNTOR_ROUNDS + NETVISOR_ROUNDS) * latency * args.clients / PROVIDER_CALLS_AT_ONCE
    netvisor_serial = made["netvisor"] * latency
    rate_limited = made["procountor"] / PROCOUNTOR_RATE_LIMIT
    print(
        f"lower bound, critical path x latency x clients / {PROVIDER_CALLS_AT_ONCE}: {critical:.1f} s "
        f"-> ratio {wall / critical:.2f}"
    )
    print(f"lower bound, Netvisor one request at a time for the shared credentials: {netvisor_serial:.1f} s")
    print(f"lower bound, Procountor {PROCOUNTOR_RATE_LIMIT} requests/s per application: {rate_limited:.1f} s")
    bound = max(critical, netvisor_serial, rate_limited)
    print(f"ratio to the largest bound: {wall / bound:.2f}")
    netvisor_stats = stats["services"]["netvisor"]
    print(
        f"Netvisor: max in flight per customer {netvisor_stats['maxInFlightPerCustomer']}, "
        f"violations {netvisor_stats['concurrencyViolations']}"
    )
    return 0 if report.succeeded else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
