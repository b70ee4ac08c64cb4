"""What the roster benchmarks share: a generated firm (scenario + stack config), the machine, the sandbox.

``generated_firm(procountor, netvisor)`` gives a firm where every client is healthy (a Procountor company
with the guide's rights and its own API key; Netvisor companies that one credential pair's user reaches,
with FabricAI's resource rights) and the roster that lists them all, the two ERPs taking turns as in a
mixed firm. ``Firm.scenario(Verification)`` is the sandbox scenario and ``Firm.stack_config`` the stack
config for one way of verifying (DESIGN.md "Who holds which secret"): **firm mode** (the default) holds no
partner secret, and the sandbox's portal plays FabricAI with a ``verifier`` (the bench app and partner)
paced at ``procountor_rps``; **partner mode** configures the partner secrets in the stack and the portal
stores connections unverified (``verifyConnections: false``), or every check would run twice. Either way
``procountor_rps`` is also the sandbox Procountor's limit for the app: that app's limit is FabricAI's.
``sandbox_process`` serves a scenario from ``python -m sandbox`` in its own process, as the real services
are elsewhere: none of its work shares this process's interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from itertools import zip_longest
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from harness.engine import Secret
from provider.business_id import check_digit
from provider.defaults import PROCOUNTOR_REQUESTS_PER_SECOND
from provider.roster import Roster, parse_roster
from sandbox.server import AdminClient
from scripts.example_config import sandbox_urls

APP = {"clientId": "fabricai-roster-bench", "clientSecret": "FAKE-bench-client-secret"}
PARTNER = {"id": "FAI_fabricai", "key": "FAKE-bench-partner-key", "name": "FabricAI"}
ACCESS_KEY = "E2DCB2FF20700782F1EA878EDC19DC27"
CUSTOMER = {"id": "TT_bench", "key": "FAKE-bench-customer-key", "userName": "API Tilitoimisto Bench"}
PORTAL_KEY = "FAKE-bench-portal-key"
NETVISOR_CREDENTIALS = {"customerId": CUSTOMER["id"], "customerKey": CUSTOMER["key"]}
DEFAULT_PROCOUNTOR_RPS = int(PROCOUNTOR_REQUESTS_PER_SECOND)


@dataclass(frozen=True)
class Verification:
    """Who runs the guide's checks, and at what Procountor pace.

    ``procountor_rps`` None: Procountor's published 20/s everywhere and the provider's default (no
    ``procountor:requestsPerSecond``); a number sets the sandbox's limit, the verifier's pace and, in
    partner mode, ``procountor:requestsPerSecond``. The sandbox counts whole requests per second.
    """

    partner_mode: bool = False
    procountor_rps: int | None = None

    @property
    def pace(self) -> int:
        """Procountor requests per second the run is held to: the verifier's (firm) or the provider's."""
        return self.procountor_rps or DEFAULT_PROCOUNTOR_RPS

    def describe(self) -> str:
        if self.partner_mode:
            setting = "procountor:requestsPerSecond" if self.procountor_rps else "the provider's default"
            return (
                f"partner mode (partner secrets in the stack, the portal stores unverified); Procountor "
                f"pace {self.pace}/s ({setting})"
            )
        return (
            f"firm mode (no partner secret in the stack; the portal verifies); Procountor pace "
            f"{self.pace}/s (the portal verifier's)"
        )


def rps_argument(text: str) -> int:
    """``--procountor-rps``: whole requests per second, as the sandbox and the verifier count them."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0 or not value.is_integer():
        raise argparse.ArgumentTypeError(f"{text!r}: a whole number of requests per second above 0")
    return int(value)


def business_ids(count: int) -> list[str]:
    """``count`` distinct valid business IDs, the same on every run."""
    found: list[str] = []
    serial = 1_000_000
    while len(found) < count:
        digit = check_digit(f"{serial:07d}")
        if digit is not None:
            found.append(f"{serial:07d}-{digit}")
        serial += 7
    return found


@dataclass(frozen=True)
class Firm:
    erps: dict[str, Any]  # the scenario's procountor and netvisor sections
    clients: list[dict[str, Any]]
    api_keys: dict[str, str]

    @property
    def size(self) -> int:
        return len(self.clients)

    def roster(self) -> Roster:
        """The roster as the program validates it from the stack config."""
        return parse_roster(self.clients, self.api_keys, self.netvisor_credentials())

    def netvisor_credentials(self) -> dict[str, dict[str, str]]:
        """The shared credential set, when a Netvisor client uses it (an unused set is a roster error)."""
        uses = any(client["erp"] == "netvisor" for client in self.clients)
        return {"firm": NETVISOR_CREDENTIALS} if uses else {}

    def scenario(self, verification: Verification) -> dict[str, Any]:
        """The sandbox scenario: the ERPs limited to the pace, and the portal playing FabricAI (firm mode)
        or storing connections unverified (partner mode)."""
        portal: dict[str, Any] = {"apiKeys": [PORTAL_KEY], "trainingSeconds": 3600}
        if verification.partner_mode:
            portal["verifyConnections"] = False
        else:
            portal["verifier"] = {
                "procountor": {**APP, "requestsPerSecond": verification.pace},
                "netvisor": {"partnerId": PARTNER["id"], "partnerKey": PARTNER["key"]},
            }
        procountor = {**self.erps["procountor"], "rateLimitPerSecond": verification.pace}
        return {"portal": portal, "procountor": procountor, "netvisor": self.erps["netvisor"]}

    def stack_config(self, sandbox_url: str, verification: Verification) -> dict[str, Any]:
        """The stack config as the program gets it: a firm's (portal URL and key, its clients' credentials)
        or, in partner mode, with FabricAI's partner settings and the ERPs' URLs too."""
        config: dict[str, Any] = {
            "fabricai:portalUrl": sandbox_urls(sandbox_url)["fabricai:portalUrl"],
            "fabricai:apiKey": Secret(PORTAL_KEY),
            "roster:clients": self.clients,
            "roster:procountorApiKeys": Secret(self.api_keys),
            "roster:netvisorCredentials": Secret(self.netvisor_credentials()),
        }
        return config | (
            self.partner_settings(sandbox_url, verification) if verification.partner_mode else {}
        )

    @staticmethod
    def partner_settings(sandbox_url: str, verification: Verification) -> dict[str, Any]:
        """What only FabricAI's own staff configure: the partner ids and secrets, the ERPs' URLs, the pace."""
        pace = (
            {}
            if verification.procountor_rps is None
            else {"procountor:requestsPerSecond": f"{verification.pace}"}
        )
        return {
            **sandbox_urls(sandbox_url),
            **pace,
            "procountor:clientId": APP["clientId"],
            "procountor:clientSecret": Secret(APP["clientSecret"]),
            "netvisor:partnerId": PARTNER["id"],
            "netvisor:partnerKey": Secret(PARTNER["key"]),
        }


def generated_firm(procountor: int, netvisor: int) -> Firm:
    ids = business_ids(procountor + netvisor)
    pc_ids, nv_ids = ids[:procountor], ids[procountor:]
    pc_clients: list[dict[str, Any]] = []
    nv_clients: list[dict[str, Any]] = []
    api_keys: dict[str, str] = {}
    pc_companies = []
    for number, business_id in enumerate(pc_ids):
        key = f"FAKE-bench-pc-key-{number:05d}"
        api_keys[business_id] = key
        pc_companies.append(
            {
                "id": 10_000 + number,
                "name": f"Procountor Asiakas {number} Oy",
                "businessId": business_id,
                "dimensions": [{"name": "Kustannuspaikka", "items": ["Hallinto"]}],
                "users": [{"userName": "API Tilitoimisto Bench", "rights": "guide"}],
                "apiKeys": [{"key": key, "clientId": APP["clientId"], "userName": "API Tilitoimisto Bench"}],
            }
        )
        pc_clients.append(
            {
                "businessId": business_id,
                "name": f"Procountor Asiakas {number} Oy",
                "erp": "procountor",
                "dimensions": ["Kustannuspaikka"],
            }
        )
    nv_companies = []
    for number, business_id in enumerate(nv_ids):
        nv_companies.append(
            {
                "businessId": business_id,
                "name": f"Netvisor Asiakas {number} Oy",
                "resourceRights": {
                    PARTNER["id"]: ["purchaseInvoices", "accountingMaterial", "calculationTargets"]
                },
                "dimensions": [{"name": "Kustannuspaikka", "items": ["Hallinto"]}],
            }
        )
        nv_clients.append(
            {
                "businessId": business_id,
                "name": f"Netvisor Asiakas {number} Oy",
                "erp": "netvisor",
                "netvisorCredentials": "firm",
                "dimensions": ["Kustannuspaikka"],
            }
        )
    turns = zip_longest(pc_clients, nv_clients)
    clients = [client for pair in turns for client in pair if client is not None]
    erps = {
        "procountor": {"apps": [APP], "companies": pc_companies},
        "netvisor": {
            "partners": [{**PARTNER, "accessKey": ACCESS_KEY}],
            "customers": [{**CUSTOMER, "companies": nv_ids}],
            "companies": nv_companies,
        },
    }
    return Firm(erps, clients, api_keys)


@contextmanager
def sandbox_process(scenario: dict[str, Any]) -> Iterator[tuple[str, AdminClient]]:
    """``python -m sandbox`` on a free port serving ``scenario``: URL and admin; stopped on exit."""
    with TemporaryDirectory(prefix="fabricai-bench-") as directory:
        scenario_file = Path(directory) / "scenario.yaml"
        scenario_file.write_text(json.dumps(scenario), encoding="utf-8")  # JSON is YAML too
        command = [sys.executable, "-m", "sandbox", "--port", "0", "--scenario", str(scenario_file)]
        command += ["--state", str(Path(directory) / "state.db")]
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
            try:
                assert process.stdout is not None
                first_line = process.stdout.readline().strip()
                if not first_line.startswith("sandbox listening on "):
                    raise RuntimeError(f"the sandbox did not start (exit code {process.wait(timeout=10)})")
                url = first_line.rsplit(" ", 1)[-1]
                yield url, AdminClient(url)
            finally:
                process.terminate()  # uvicorn shuts down gracefully on SIGTERM
                process.wait(timeout=10)


def sandbox_cpu_seconds() -> float:
    """CPU seconds used so far by the sandboxes this process started (``sandbox_process``), from /proc
    (Linux; 0 elsewhere): in firm mode FabricAI's verifier runs there, beside the ERPs and the portal."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    used = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            command = (stat.parent / "cmdline").read_bytes().split(b"\0")
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended between the listing and the read
        if int(fields[1]) == os.getpid() and command[1:3] == [b"-m", b"sandbox"]:
            used += (int(fields[11]) + int(fields[12])) / ticks
    return used


def machine() -> str:
    return (
        f"{platform.platform()}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}; "
        f"pulumi {version('pulumi')}"
    )


def requests_by_service(stats: dict[str, Any]) -> dict[str, int]:
    return {service: int(counts["total"]) for service, counts in stats["requests"].items()}


def difference(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {service: after[service] - before.get(service, 0) for service in after}
