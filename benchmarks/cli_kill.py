"""Killed at any point, nothing lost: `pulumi up` SIGKILLed through the real CLI, then the recovery.

    python -m benchmarks.cli_kill [--clients 200] [--netvisor 0] [--kills 5] [--seed 7]
                                  [--checkpoints both|skip|keep] [--procountor-rps N] [--leave-leftovers]

A firm's stack (no partner secret; the portal verifies; benchmarks/_roster.py), fresh per round with the
sandbox reset. The CLI process alone gets SIGKILL once it printed a seeded-random number of resources
created (any moment of the run) plus up to a second. Its leftovers (its process group, and what descended
from it just before) are counted after ``--grace`` s with the portal requests they made meanwhile, then
killed, so no killed run still writes (``--leave-leftovers``: the recovery runs beside them, as a firm's
would today). The recovery, as found: ``pulumi up``; on "the stack is currently locked" (a killed run keeps
the backend's lock) ``pulumi cancel --yes`` and ``up`` again; then, if the state keeps pending CREATEs
(the engine carries them through every later ``up``), ``pulumi refresh --clear-pending-creates``. Then it
prints ``duplicateRegistrations``, records per business ID, orphan connections (a portal connection no
integration in ``pulumi stack export`` holds) and whether state equals the portal. With and without
``PULUMI_SKIP_CHECKPOINTS=true``. Every command is bounded by a timeout. The exit code says whether all held.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks._roster import (
    PORTAL_KEY,
    Firm,
    Verification,
    generated_firm,
    machine,
    requests_by_service,
    rps_argument,
)
from benchmarks._roster import sandbox_process as start_sandbox
from benchmarks.cli_roster import Project, load_average, pulumi_bin, set_up_stack
from provider.cli.apply import pin_identity
from provider.cli.stack import Stack
from sandbox.server import AdminClient

COMMAND_TIMEOUT_SECONDS = 900.0
CLEANUP_TIMEOUT_SECONDS = 10.0
LOCKED = "the stack is currently locked"
DYNAMIC = "pulumi-python:dynamic/fabricai:"


def _business_id(vat_form: str) -> str:
    """``1000000-4`` for the portal's ``FI10000004``."""
    digits = vat_form.removeprefix("FI")
    return f"{digits[:7]}-{digits[7:]}"


# ---- processes ----


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    parent: int
    group: int
    started: int  # clock ticks after boot: with the pid, names one process even if the pid is reused
    name: str


def processes() -> dict[int, ProcessInfo]:
    """Every process of the machine, from /proc (Linux)."""
    found: dict[int, ProcessInfo] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # it ended between the listing and the read
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        # After the name: state, ppid, pgrp, ... starttime is field 22 of the whole line.
        pid = int(stat.parent.name)
        found[pid] = ProcessInfo(pid, int(fields[1]), int(fields[2]), int(fields[19]), name)
    return found


# What a process of a Pulumi run is, by its command line (the names in /proc are cut at 15 characters).
ROLES = {
    "pulumi-language-python-exec": "program",
    "pulumi.dynamic": "dynamic provider",
    "pulumi-language-python": "language host",
    "pulumi-resource-pulumi-python": "dynamic provider launcher",
}


def role(info: ProcessInfo) -> str:
    try:
        command = Path(f"/proc/{info.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        command = ""
    return next((name for mark, name in ROLES.items() if mark in command), info.name)


def descendants(root: int, table: dict[int, ProcessInfo]) -> list[ProcessInfo]:
    children: dict[int, list[int]] = {}
    for info in table.values():
        children.setdefault(info.parent, []).append(info.pid)
    found: list[ProcessInfo] = []
    todo = list(children.get(root, []))
    while todo and len(found) < 10_000:  # bounded: a process table is finite, but be sure
        pid = todo.pop()
        found.append(table[pid])
        todo += children.get(pid, [])
    return found


def alive(watched: list[ProcessInfo], group: int) -> list[ProcessInfo]:
    """Which of ``watched`` still run (same pid and start time), plus any other member of ``group``."""
    table = processes()
    still = {
        info.pid: info for info in watched if (now := table.get(info.pid)) and now.started == info.started
    }
    still |= {info.pid: info for info in table.values() if info.group == group}
    return [info for info in still.values() if _not_zombie(info.pid)]


def _not_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_all(group: int, watched: list[ProcessInfo]) -> None:
    """SIGKILL the process group and every watched process still alive; wait (bounded) until none is."""
    deadline = time.monotonic() + CLEANUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        left = alive(watched, group)
        if not left:
            return
        with suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        for info in left:
            with suppress(ProcessLookupError):
                os.kill(info.pid, signal.SIGKILL)
        time.sleep(0.1)
    raise RuntimeError(f"processes of the killed run still alive: {alive(watched, group)}")


# ---- the CLI ----


@dataclass
class Outcome:
    code: int | None  # None: killed by us
    output: str
    seconds: float
    created: int = 0
    left_alive: list[str] = field(default_factory=list)
    portal_requests_in_grace: int = 0  # received by the portal after the CLI died, before the cleanup
    # With --leave-leftovers: the killed run's process group and processes, still running.
    leftovers: tuple[int, list[ProcessInfo]] | None = None


def run_cli(project: Project, *args: str) -> Outcome:
    """``pulumi ARGS`` in a process group of its own; on timeout the whole group is killed."""
    command = ["pulumi", *args, "--stack", "bench", "--non-interactive", "--color", "never"]
    started = time.monotonic()
    with subprocess.Popen(
        command,
        cwd=project.directory,
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            output, _ = process.communicate(timeout=COMMAND_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            kill_all(process.pid, descendants(process.pid, processes()))
            output, _ = process.communicate()
            return Outcome(None, output + "\n[timed out: killed]", time.monotonic() - started)
    return Outcome(process.returncode, output, time.monotonic() - started)


def up_killed(
    project: Project,
    after_created: int,
    delay: float,
    grace: float,
    portal_requests: Callable[[], int],
    *,
    leave: bool = False,
) -> Outcome:
    """``pulumi up`` killed with SIGKILL of the CLI process once it printed ``after_created`` resources
    created, plus ``delay`` seconds; then what is left of its processes after ``grace`` seconds, killed
    (with ``leave``, left running for the caller: ``Outcome.leftovers``)."""
    command = ["pulumi", "up", "--yes", "--skip-preview", "--stack", "bench", "--non-interactive"]
    started = time.monotonic()
    lines: list[str] = []
    created = 0
    reached = threading.Event()
    with subprocess.Popen(
        [*command, "--color", "never"],
        cwd=project.directory,
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the CLI leads a process group: its plugins and program are in it
    ) as process:
        assert process.stdout is not None
        stdout = process.stdout

        def read() -> None:
            nonlocal created
            if after_created == 0:
                reached.set()
            for line in stdout:
                lines.append(line)
                if DYNAMIC in line and " created" in line:
                    created += 1
                    if created >= after_created:
                        reached.set()
            reached.set()  # the output ended: the run is over

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reached.wait(timeout=COMMAND_TIMEOUT_SECONDS)
        time.sleep(delay)
        if process.poll() is not None:
            reader.join(timeout=10)
            return Outcome(process.returncode, "".join(lines), time.monotonic() - started, created)
        watched = descendants(process.pid, processes())
        process.send_signal(signal.SIGKILL)  # the CLI alone, as a crash or an OOM kill would
        process.wait()
        killed_at = time.monotonic() - started
        if leave:
            outcome = Outcome(None, "".join(lines), killed_at, created)
            outcome.left_alive = sorted(role(info) for info in alive(watched, process.pid))
            outcome.leftovers = (process.pid, watched)
            return outcome
        before = portal_requests()
        time.sleep(grace)
        left = sorted(role(info) for info in alive(watched, process.pid))  # named while they run
        in_grace = portal_requests() - before
        kill_all(process.pid, watched)
        reader.join(timeout=10)
    outcome = Outcome(None, "".join(lines), killed_at, created)
    outcome.left_alive = left
    outcome.portal_requests_in_grace = in_grace
    return outcome


@dataclass
class Recovery:
    steps: list[str]
    seconds: float
    succeeded: bool
    tail: str


def recover(project: Project) -> Recovery:
    """``pulumi up``; after a lock, ``pulumi cancel --yes`` and ``pulumi up`` again; then, while the state
    holds pending CREATEs, ``pulumi refresh --clear-pending-creates``. At most two of each."""
    steps: list[str] = []
    started = time.monotonic()
    outcome = Outcome(1, "", 0.0)
    for _ in range(2):
        outcome = run_cli(project, "up", "--yes", "--skip-preview")
        steps.append(f"up ({'ok' if outcome.code == 0 else 'failed'}, {outcome.seconds:.1f} s)")
        if outcome.code == 0 or LOCKED not in outcome.output:
            break
        cancel = run_cli(project, "cancel", "--yes")
        steps.append(f"cancel ({'ok' if cancel.code == 0 else 'failed'})")
    if outcome.code == 0 and pending_operations(export(project)):
        refresh = run_cli(project, "refresh", "--yes", "--skip-preview", "--clear-pending-creates")
        steps.append(f"refresh --clear-pending-creates ({'ok' if refresh.code == 0 else 'failed'})")
    tail = "" if outcome.code == 0 else outcome.output[-3000:]
    return Recovery(steps, time.monotonic() - started, outcome.code == 0, tail)


def export(project: Project) -> dict[str, Any]:
    result = run_cli(project, "stack", "export")
    if result.code != 0:
        raise RuntimeError(f"pulumi stack export failed:\n{result.output[-2000:]}")
    exported: dict[str, Any] = json.loads(result.output)
    deployment: dict[str, Any] = exported["deployment"]
    return deployment


def pending_operations(deployment: dict[str, Any]) -> list[str]:
    return [
        f"{op['type']} {op['resource']['urn'].rsplit('::', 1)[-1]}"
        for op in deployment.get("pending_operations") or []
    ]


# ---- the check ----


@dataclass
class Check:
    duplicates: int  # the sandbox's duplicateRegistrations
    records_per_business_id: Counter[int]  # records -> how many roster clients have that many
    orphan_connections: int
    untracked_records: int  # portal records no ClientCompany in state holds
    problems: list[str]
    pending: list[str]

    @property
    def state_equals_portal(self) -> bool:
        return not self.problems


def portal_records(url: str) -> list[dict[str, Any]]:
    """The whole client list, by pages of 50 (bounded)."""
    records: list[dict[str, Any]] = []
    with httpx.Client(base_url=f"{url}/portal", headers={"Authorization": f"Bearer {PORTAL_KEY}"}) as http:
        for page in range(1, 1001):
            answer = http.get("/clients", params={"page": page, "limit": 50}, timeout=30)
            answer.raise_for_status()
            items: list[dict[str, Any]] = answer.json()["data"]
            records += items
            if len(items) < 50:
                break
    return records


def check(firm: Firm, url: str, admin: AdminClient, deployment: dict[str, Any]) -> Check:
    records = portal_records(url)
    by_business_id = Counter(_business_id(str(record["businessId"])) for record in records)
    roster = [str(client["businessId"]) for client in firm.clients]
    connections = {int(r["id"]): admin.portal_connection(int(r["id"])) for r in records}
    state = [r for r in deployment.get("resources") or [] if str(r["type"]).startswith(DYNAMIC)]
    companies = [r for r in state if r["type"].endswith(":ClientCompany")]
    integrations = [r for r in state if r["type"].endswith("Integration")]
    held = {str((r.get("outputs") or {}).get("connection_id")) for r in integrations}
    portal_ids = {int(record["id"]): record for record in records}
    problems: list[str] = []
    for company in companies:
        record = portal_ids.get(int(company["id"]))
        business_id = (company.get("outputs") or {}).get("business_id")
        if record is None or _business_id(str(record["businessId"])) != business_id:
            problems.append(
                f"ClientCompany {business_id} (id {company['id']}) is not that record in the portal"
            )
    companies_of = Counter(str((r.get("outputs") or {}).get("business_id")) for r in companies)
    integrations_of = Counter(str((r.get("outputs") or {}).get("business_id")) for r in integrations)
    connected = Counter(
        _business_id(str(record["businessId"])) for record in records if connections[int(record["id"])]
    )
    for business_id in roster:
        counts = (by_business_id[business_id], connected[business_id])
        ours = (companies_of[business_id], integrations_of[business_id])
        if counts != (1, 1) or ours != (1, 1):
            problems.append(
                f"{business_id}: {counts[0]} records and {counts[1]} connections in the portal, "
                f"{ours[0]} ClientCompany and {ours[1]} integrations in state"
            )
    orphans = sum(1 for c in connections.values() if c is not None and str(c["id"]) not in held)
    tracked = {int(company["id"]) for company in companies}
    duplicates = int(admin.stats()["services"]["portal"].get("duplicateRegistrations", 0))
    return Check(
        duplicates=duplicates,
        records_per_business_id=Counter(by_business_id[business_id] for business_id in roster),
        orphan_connections=orphans,
        untracked_records=sum(1 for portal_id in portal_ids if portal_id not in tracked),
        problems=problems,
        pending=pending_operations(deployment),
    )


# ---- rounds ----


@dataclass
class Totals:
    rounds: int = 0
    killed: int = 0
    left_alive: int = 0
    requests_in_grace: int = 0
    duplicates: int = 0
    orphans: int = 0
    unequal: int = 0
    failed_recoveries: int = 0
    cancels: int = 0
    pending_cleared: int = 0


def one_round(
    number: int,
    firm: Firm,
    url: str,
    admin: AdminClient,
    bin_dir: Path,
    rng: random.Random,
    args: argparse.Namespace,
    *,
    skip_checkpoints: bool,
    totals: Totals,
) -> None:
    admin.reset()  # the portal back to its seed (no clients), counters cleared
    verification = Verification(procountor_rps=args.procountor_rps)
    resources = 2 * firm.size + (1 if args.netvisor else 0)
    after_created = rng.randrange(resources)
    delay = rng.uniform(0, 1)
    with tempfile.TemporaryDirectory(prefix="fabricai-kill-") as tmp:
        project = Project(Path(tmp), bin_dir)
        if skip_checkpoints:
            project.env["PULUMI_SKIP_CHECKPOINTS"] = "true"
        set_up_stack(project, firm, url, verification, clients_file=firm.size > 500)
        # As `fabricai-roster up` does before it runs pulumi (README): the identity pinned in the settings,
        # so a first run killed before its state was saved still finds its records by their tag.
        pin_identity(Stack(name="bench", cwd=project.directory, env=project.env))
        killed = up_killed(
            project,
            after_created,
            delay,
            args.grace,
            lambda: requests_by_service(admin.stats())["portal"],
            leave=args.leave_leftovers,
        )
        totals.rounds += 1
        if killed.code is not None:
            print(
                f"  round {number}: the up ended ({killed.code}) before the kill after {killed.created} "
                f"created; nothing to recover"
            )
            return
        totals.killed += 1
        totals.left_alive += len(killed.left_alive)
        totals.requests_in_grace += killed.portal_requests_in_grace
        kept = export(project)  # what the killed run left in the backend: the recovery starts from it
        kept_resources = sum(str(r["type"]).startswith(DYNAMIC) for r in kept.get("resources") or [])
        left = ", ".join(f"{n} x{c}" for n, c in Counter(killed.left_alive).items()) or "none"
        if killed.leftovers is None:
            leftovers = (
                f"left alive {args.grace:g} s after the CLI's SIGKILL: {len(killed.left_alive)} ({left}; "
                f"portal requests received meanwhile {killed.portal_requests_in_grace}), then killed"
            )
        else:
            leftovers = f"left alive at the CLI's SIGKILL: {len(killed.left_alive)} ({left}), LEFT RUNNING"
        print(
            f"  round {number}: killed after {killed.seconds:.1f} s, {killed.created} of {resources} "
            f"resources reported created (target {after_created} + {delay:.2f} s); {leftovers}; "
            f"state kept: {kept_resources} resources, {len(pending_operations(kept))} pending operations",
            flush=True,
        )
        try:
            recovery = recover(project)
        finally:
            if killed.leftovers is not None:
                group, watched = killed.leftovers
                still = sorted(role(info) for info in alive(watched, group))
                kill_all(group, watched)
                print(f"    alive when the recovery ended, then killed: {len(still)} ({', '.join(still)})")
        totals.failed_recoveries += not recovery.succeeded
        totals.cancels += sum(step.startswith("cancel") for step in recovery.steps)
        totals.pending_cleared += sum(step.startswith("refresh") for step in recovery.steps)
        found = check(firm, url, admin, export(project))
        totals.duplicates += found.duplicates
        totals.orphans += found.orphan_connections
        totals.unequal += not found.state_equals_portal
        per_id = ", ".join(f"{k} record(s): {v}" for k, v in sorted(found.records_per_business_id.items()))
        print(
            f"    recovery: {' -> '.join(recovery.steps)} ({recovery.seconds:.1f} s); "
            f"duplicateRegistrations {found.duplicates}; clients with {per_id}; orphan connections "
            f"{found.orphan_connections}; portal records not in state {found.untracked_records}; "
            f"pending operations left {len(found.pending)}; state equals portal: "
            f"{'yes' if found.state_equals_portal else 'NO'}",
            flush=True,
        )
        for problem in found.problems[:5]:
            print(f"      {problem}")
        if recovery.tail:
            print("    the recovery's last output:\n" + recovery.tail)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200, help="Procountor clients, each with its own key")
    parser.add_argument("--netvisor", type=int, default=0, help="Netvisor clients on one credential pair")
    parser.add_argument("--kills", type=int, default=5, help="rounds (one kill each) per checkpoint setting")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--grace", type=float, default=2.0, help="seconds before the leftovers are counted")
    parser.add_argument(
        "--leave-leftovers",
        action="store_true",
        help="run the recovery while the killed run's processes still run (as a firm would today); they "
        "are killed after it",
    )
    parser.add_argument(
        "--checkpoints",
        choices=("both", "skip", "keep"),
        default="both",
        help="skip: PULUMI_SKIP_CHECKPOINTS=true; keep: the state saved after every step; both",
    )
    parser.add_argument("--procountor-rps", type=rps_argument, default=None)
    parser.add_argument("--pulumi-bin", type=Path, default=None, help="the folder holding pulumi")
    args = parser.parse_args(argv)
    firm = generated_firm(args.clients, args.netvisor)
    verification = Verification(procountor_rps=args.procountor_rps)
    bin_dir = args.pulumi_bin or pulumi_bin()
    rng = random.Random(args.seed)
    print(f"machine: {machine()}; load average {load_average()}")
    print(
        f"{args.clients} Procountor + {args.netvisor} Netvisor clients; {verification.describe()}; "
        f"{args.kills} kills per setting, seed {args.seed}"
        + ("; the recovery runs beside the killed run's leftovers" if args.leave_leftovers else "")
    )
    settings = {"both": (True, False), "skip": (True,), "keep": (False,)}[args.checkpoints]
    all_totals: list[tuple[str, Totals]] = []
    with start_sandbox(firm.scenario(verification)) as (url, admin):
        for skip in settings:
            label = (
                "PULUMI_SKIP_CHECKPOINTS=true" if skip else "checkpoints on (state saved after every step)"
            )
            print(f"{label}:", flush=True)
            totals = Totals()
            for number in range(1, args.kills + 1):
                one_round(number, firm, url, admin, bin_dir, rng, args, skip_checkpoints=skip, totals=totals)
            all_totals.append((label, totals))
    for label, totals in all_totals:
        grace_requests = (
            "left running through the recovery"
            if args.leave_leftovers
            else f"portal requests from them {totals.requests_in_grace}"
        )
        print(
            f"{label}: {totals.killed} of {totals.rounds} runs killed; processes left alive after the "
            f"CLI's SIGKILL {totals.left_alive} ({grace_requests}); "
            f"recoveries failed {totals.failed_recoveries}, with pulumi cancel {totals.cancels}, pending "
            f"CREATEs cleared {totals.pending_cleared}; duplicate registrations {totals.duplicates}; "
            f"orphan connections {totals.orphans}; state unequal to the portal {totals.unequal}"
        )
    print(f"load average after: {load_average()}")
    failed = any(t.failed_recoveries or t.duplicates or t.orphans or t.unequal for _, t in all_totals)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
