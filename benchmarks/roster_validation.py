"""How long whole-roster validation takes for a large firm: 50,000 clients, valid and with problems.

Run: ``python benchmarks/roster_validation.py [--clients N]``. Prints figures only; nothing here asserts
on time. The checks across entries are linear: compare the µs per client of two sizes (``--clients 5000``
and the default) to see it; the last figure has 2% of the keys moved to a business ID one typo away, each
of which is matched to its client ("did you mean"), the case that was quadratic.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from provider.business_id import check_digit
from provider.errors import RosterInvalid
from provider.roster import parse_roster

CLIENTS = 50_000
RUNS = 3
CREDENTIAL_SETS = 20
SEED = 20240601

Config = tuple[list[dict[str, Any]], dict[str, str], dict[str, dict[str, str]]]


def business_ids(count: int, rng: random.Random) -> list[str]:
    """Distinct valid business IDs from random serials (those with remainder 1 have none)."""
    found: dict[str, None] = {}
    while len(found) < count:
        serial = f"{rng.randrange(10_000_000):07d}"
        digit = check_digit(serial)
        if digit is not None and serial != "0000000":  # 0000000-0: the placeholder, refused by the roster
            found[f"{serial}-{digit}"] = None
    return list(found)


def valid_roster(rng: random.Random, size: int) -> Config:
    """Two thirds Procountor with one key each, one third Netvisor sharing a few credential sets."""
    clients: list[dict[str, Any]] = []
    keys: dict[str, str] = {}
    processes = ["standard", "alternative", "alternative-with-circulation", "background"]
    for number, business_id in enumerate(business_ids(size, rng)):
        entry: dict[str, Any] = {
            "businessId": business_id,
            "name": f"Asiakas {number} Oy",
            "process": rng.choice(processes),
            "dimensions": ["Kustannuspaikka", "Projekti"][: rng.randrange(3)],
            "teams": [f"Tiimi {number % 7}"],
        }
        if number % 5 == 0:
            entry["vat"] = {"mode": "partial", "deductionPercent": rng.randrange(1, 100)}
        if number % 3 == 2:
            entry |= {"erp": "netvisor", "netvisorCredentials": f"office-{number % CREDENTIAL_SETS}"}
        else:
            entry["erp"] = "procountor"
            keys[business_id] = f"procountor-key-{number:05d}"
        clients.append(entry)
    used = sorted({entry["netvisorCredentials"] for entry in clients if entry["erp"] == "netvisor"})
    credentials = {
        name: {"customerId": f"CUSTOMER_{name[7:]}", "customerKey": f"customer-key-{int(name[7:]):04d}"}
        for name in used
    }
    return clients, keys, credentials


def spoil(config: Config, rng: random.Random) -> int:
    """Put typical mistakes into about 2% of the entries (at least one); returns how many were made."""
    clients, keys, _ = config
    mistakes = 0
    for entry in rng.sample(clients, max(1, len(clients) // 50)):
        kind = rng.randrange(4)
        if kind == 0:
            entry["vat"] = {"mode": "partial"}
        elif kind == 1:
            entry["adopt"] = "yes"
        elif kind == 2 and entry["erp"] == "procountor":
            del keys[entry["businessId"]]
        else:
            entry["bussinessId"] = entry.pop("businessId")
        mistakes += 1
    return mistakes


def misplace_keys(config: Config, rng: random.Random) -> int:
    """Move about 2% of the API keys (at least one) to a valid business ID one digit off their client's."""
    clients, keys, _ = config
    taken = {entry["businessId"] for entry in clients} | set(keys)
    moved = 0
    for entry in rng.sample(clients, max(1, len(clients) // 50)):
        if entry["erp"] != "procountor" or entry["businessId"] not in keys:
            continue
        serial = entry["businessId"][:7]
        for at in range(7):
            typo = serial[:at] + str((int(serial[at]) + 1) % 10) + serial[at + 1 :]
            digit = check_digit(typo)
            if digit is not None and f"{typo}-{digit}" not in taken:
                keys[f"{typo}-{digit}"] = keys.pop(entry["businessId"])
                taken.add(f"{typo}-{digit}")
                moved += 1
                break
    return moved


def timed(label: str, size: int, run: Callable[[], object]) -> None:
    seconds = []
    for _ in range(RUNS):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    median = statistics.median(seconds)
    print(
        f"{label:<34} median {median * 1000:8.1f} ms/run  {median / size * 1e6:7.1f} µs/client  "
        f"(best {min(seconds) * 1000:.1f} ms, worst {max(seconds) * 1000:.1f} ms, {RUNS} runs)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=CLIENTS, help=f"roster size (default {CLIENTS})")
    size = parser.parse_args(argv).clients
    print(f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"python:  {sys.version.split()[0]} ({platform.python_implementation()})")
    rng = random.Random(SEED)

    valid = valid_roster(rng, size)
    roster = parse_roster(*valid)
    procountor = len(roster.procountor_api_keys)
    print(
        f"roster:  {len(roster.clients)} clients ({procountor} Procountor, "
        f"{len(roster.clients) - procountor} Netvisor), {len(roster.netvisor_credentials)} credential sets"
    )
    timed("valid roster", size, lambda: parse_roster(*valid))

    invalid = valid_roster(rng, size)
    mistakes = spoil(invalid, rng)

    def reject() -> int:
        try:
            parse_roster(*invalid)
        except RosterInvalid as error:
            return len(error.problems)
        raise AssertionError("the spoiled roster was accepted")

    print(f"invalid: {mistakes} mistakes -> {reject()} problems reported")
    timed("invalid roster (all problems)", size, reject)

    typos = valid_roster(rng, size)
    moved = misplace_keys(typos, rng)

    def suggest() -> int:
        try:
            parse_roster(*typos)
        except RosterInvalid as error:
            return sum("did you mean" in problem.message for problem in error.problems)
        raise AssertionError("the roster with misplaced keys was accepted")

    print(f"typos:   {moved} keys one digit off -> {suggest()} suggestions")
    timed("misplaced keys (did you mean)", size, suggest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
