"""A generated roster through the REAL CLI, run the way README tells a firm to run it.

    python -m benchmarks.cli_roster [--clients 300] [--netvisor 0] [--latency-ms 0] [--procountor-rps N]
                                    [--partner-mode] [--clients-file] [--backend file|postgres|both]
                                    [--raw-pulumi [--skip-checkpoints]] [--preview-only]

By default the commands are README's: ``fabricai-roster up --yes`` (it pins the stack's identity, shows the
plan with ``pulumi preview``, then applies it with ``pulumi up``; both with ``PULUMI_SKIP_CHECKPOINTS=true``
and ``--non-interactive``), then ``fabricai-roster preview`` (nothing to do) and ``fabricai-roster refresh
--yes``. The ``up``'s plan is printed as the **first preview** (every resource to create), before the ``up``
itself. ``--raw-pulumi`` runs ``pulumi up --yes --skip-preview``, ``pulumi preview`` and ``pulumi refresh
--yes --skip-preview`` instead, with the state saved after every step unless ``--skip-checkpoints``.

``--clients`` Procountor clients, each with its own secret API key in stack config (set as secrets in one
``pulumi config set-all``), plus ``--netvisor`` Netvisor clients on one shared credential pair, against the
sandbox in its own process (``python -m sandbox``, ``--latency-ms`` added to every request). The stack is a
firm's: no partner secret, and the sandbox's portal verifies each connection as FabricAI, at
``--procountor-rps`` (default 20, also the sandbox Procountor's limit); ``--partner-mode`` configures the
partner secrets instead (the provider checks; the portal stores unverified), for comparison
(benchmarks/_roster.py). The CLI is the one on PATH or built by tools/pulumi/build.sh; the project is a
temporary copy of this one (passphrase secrets), so nothing touches stacks/ or your Pulumi login. The state
is in a local folder (``--backend file``), in a PostgreSQL server the benchmark starts (``postgres``: the
team backend of docs/TEAM.md), or the whole run on each, the second's figures as ratios to the first's
(``both``; a fresh sandbox for each).

Prints, per command: wall time, the time to the first resource created (up), the CPU of the CLI (engine),
program and provider processes, the sandbox requests by service, and the lower bounds the run is held to:
Procountor's pace (its requests, counted by the sandbox whoever made them, at the verifier's or the
provider's pace); Netvisor's one request at a time (its requests x latency); and the round trips one after
the other per client x latency x clients / 4 (the dynamic provider serves 4 calls at once). A preview's
ratio is to the ``up``'s bound. After the ``up``, the state's size (``pulumi stack export``) per client and
per resource. Also the machine's load average before and after. Figures only; nothing asserts on time.
The stand-in's figures for the same roster come from ``benchmarks.roster_up``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from benchmarks._roster import (
    NETVISOR_CREDENTIALS,
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
from harness.engine import Secret

ROOT = Path(__file__).resolve().parents[1]
PROVIDER_THREADS = 4
PASSPHRASE = "fabricai-roster-benchmark-only"  # noqa: S105 - guards fake keys in a temporary stack


def pulumi_bin() -> Path:
    on_path = shutil.which("pulumi")
    if on_path:
        return Path(on_path).resolve().parent
    built = subprocess.run(
        ["bash", str(ROOT / "tools" / "pulumi" / "build.sh")], capture_output=True, text=True, check=False
    )
    if built.returncode != 0:
        raise SystemExit(f"cli_roster: no Pulumi CLI: {built.stderr.strip()}")
    return Path(built.stdout.strip().splitlines()[-1])


class ProcessCpu:
    """CPU seconds of the engine (the CLI), program and provider processes of one command, from /proc.

    The command (``pulumi`` itself, or ``fabricai-roster`` running ``pulumi`` twice) starts the program
    (through the language host's exec helper) and the dynamic provider as processes of their own; each
    process descending from the command is polled while it runs and its last reading kept (Linux only;
    elsewhere the figures are left out). ``mark()`` notes the totals so far, so that one command's phases
    (the plan, then the up) can be told apart.
    """

    # The provider runs as `python -m pulumi.dynamic` (Pulumi's launcher) or through tools/pulumi's
    # pulumi-python-dynamic-provider.py (ours, which ends it with the engine): both say "dynamic".
    MARKS: ClassVar[dict[str, str]] = {"program": "pulumi-language-python-exec", "provider": "dynamic"}

    def __init__(self) -> None:
        self.seconds: dict[str, dict[int, float]] = {role: {} for role in (*self.MARKS, "engine")}
        self.root_pid: int | None = None  # the command started
        self.marks: list[dict[str, float]] = []
        self._ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._lock = threading.Lock()

    def poll(self) -> None:
        if self.root_pid is None:
            return
        seen: dict[int, tuple[int, list[str], float]] = {}  # pid -> (parent pid, arguments, CPU seconds)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                arguments = (stat.parent / "cmdline").read_bytes().decode(errors="replace").split("\0")
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended between the listing and the read
            # After the name: state, ppid, ...; utime and stime are fields 14 and 15 of the whole line.
            seen[int(stat.parent.name)] = (
                int(fields[1]),
                arguments,
                (int(fields[11]) + int(fields[12])) / self._ticks,
            )
        with self._lock:
            for pid, (_, arguments, used) in seen.items():
                if not self._descends_from_root(pid, seen):
                    continue  # another Pulumi run on this machine: not ours
                command = " ".join(arguments)
                roles = [role for role, mark in self.MARKS.items() if mark in command]
                if Path(arguments[0]).name == "pulumi":
                    roles.append("engine")
                for role in roles:
                    self.seconds[role][pid] = used

    def _descends_from_root(self, pid: int, seen: dict[int, tuple[int, list[str], float]]) -> bool:
        for _ in range(32):  # a bounded walk up the process tree
            if pid == self.root_pid:
                return True
            if pid not in seen or pid <= 1:
                return False
            pid = seen[pid][0]
        return False

    def poll_until(self, stop: threading.Event) -> None:
        while not stop.wait(0.2):
            self.poll()

    def mark(self) -> None:
        self.poll()
        with self._lock:
            self.marks.append({role: self.total(role) for role in self.seconds})

    def total(self, role: str) -> float:
        return sum(self.seconds[role].values())

    def describe(self, since: dict[str, float] | None = None, until: dict[str, float] | None = None) -> str:
        """``engine 1.0 s, program 2.0 s, provider 3.0 s`` between two marks (default: the whole run)."""
        start = since or {}
        end = until or {role: self.total(role) for role in self.seconds}
        used = {role: end[role] - start.get(role, 0.0) for role in ("engine", "program", "provider")}
        return ", ".join(f"{role} {seconds:.1f} s" for role, seconds in used.items())


# The program as it was before it yielded to the event loop (provider.program.declare): for comparison.
SYNCHRONOUS_PROGRAM = """import pulumi
from provider.program import declare_roster, read_roster, stack_outputs

for name, value in stack_outputs(declare_roster(read_roster())).items():
    pulumi.export(name, value)
"""


FABRICAI_ROSTER = str(Path(sys.executable).with_name("fabricai-roster"))
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Run:
    """One command: its wall time, the seconds to the first client created, the CPU of its processes, and,
    for a command of two phases (``fabricai-roster up``: the plan, then the up), when the second began,
    with the CPU and the sandbox's statistics at that moment."""

    wall: float
    first_created: float | None
    cpu: ProcessCpu
    second_phase: float | None = None
    stats_at_second_phase: dict[str, Any] | None = None


class Project:
    """A temporary copy of the project driven through the CLI; its state in ``backend_url`` (default: a
    folder of its own)."""

    def __init__(
        self,
        directory: Path,
        bin_dir: Path,
        *,
        synchronous_program: bool = False,
        backend_url: str | None = None,
    ) -> None:
        self.directory = directory
        (directory / "stacks").mkdir(parents=True)
        if synchronous_program:
            (directory / "stacks" / "__main__.py").write_text(SYNCHRONOUS_PROGRAM, encoding="utf-8")
        else:
            shutil.copy(ROOT / "stacks" / "__main__.py", directory / "stacks" / "__main__.py")
        shutil.copy(ROOT / "Pulumi.yaml", directory / "Pulumi.yaml")
        (directory / ".venv").symlink_to(ROOT / ".venv")
        (directory / "stacks" / ".venv").symlink_to("../.venv")
        (directory / ".state").mkdir()
        self.env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_HOME": str(directory / ".pulumi-home"),
            "PULUMI_BACKEND_URL": backend_url or f"file://{directory / '.state'}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
        }

    def pulumi(self, *args: str) -> Run:
        """``pulumi ARGS`` on the stack, without the live display."""
        return self._run(["pulumi", *args, "--stack", "bench", "--non-interactive", "--color", "never"])

    def roster(
        self,
        *args: str,
        second_phase: str | None = None,
        on_second_phase: Callable[[], dict[str, Any]] | None = None,
    ) -> Run:
        """``fabricai-roster --stack bench ARGS`` as README writes it; ``second_phase`` is the start of the
        line pulumi prints as the command's second phase begins (``Updating (``)."""
        command = [FABRICAI_ROSTER, "--cwd", str(self.directory), "--stack", "bench", *args]
        return self._run(command, second_phase=second_phase, on_second_phase=on_second_phase)

    def _run(
        self,
        command: list[str],
        *,
        second_phase: str | None = None,
        on_second_phase: Callable[[], dict[str, Any]] | None = None,
    ) -> Run:
        started = time.perf_counter()
        cpu = ProcessCpu()
        stop = threading.Event()
        poller = threading.Thread(target=cpu.poll_until, args=(stop,))
        done = Run(wall=0.0, first_created=None, cpu=cpu)
        with subprocess.Popen(
            command,
            cwd=self.directory,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        ) as process:
            cpu.root_pid = process.pid
            poller.start()
            assert process.stdout is not None
            tail: list[str] = []
            for raw in process.stdout:
                line = ANSI.sub("", raw)
                now = time.perf_counter() - started
                if second_phase is not None and done.second_phase is None and line.startswith(second_phase):
                    done.second_phase = now
                    cpu.mark()
                    if on_second_phase is not None:
                        done.stats_at_second_phase = on_second_phase()
                if done.first_created is None and "fabricai:ClientCompany" in line and " created" in line:
                    done.first_created = now
                tail = [*tail[-40:], line]
            code = process.wait()
        stop.set()
        poller.join()
        if code != 0:
            raise SystemExit(f"cli_roster: {' '.join(command[:6])} ... failed:\n{''.join(tail)}")
        done.wall = time.perf_counter() - started
        return done

    def state_size(self) -> tuple[int, dict[str, tuple[int, int]]]:
        """The stack's state as ``pulumi stack export`` gives it: its bytes, and per resource type the count
        and the bytes of its resources (each resource's JSON)."""
        exported = subprocess.run(
            ["pulumi", "stack", "export", "--stack", "bench"],
            cwd=self.directory,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        by_type: dict[str, tuple[int, int]] = {}
        for resource in json.loads(exported)["deployment"].get("resources") or []:
            kind = str(resource["type"]).removeprefix("pulumi-python:dynamic/fabricai:")
            count, size = by_type.get(kind, (0, 0))
            by_type[kind] = (count + 1, size + len(json.dumps(resource)))
        return len(exported.encode()), by_type


def stack_settings(
    firm: Firm, sandbox_url: str, verification: Verification, *, clients_file: bool
) -> tuple[dict[str, Any], list[str]]:
    """The stack's plain settings, and its secrets as ``PATH=VALUE`` for ``pulumi config set-all --path``:
    the same stack config as the stand-in's (``Firm.stack_config``), the Netvisor customer id in plain text
    as a firm writes it."""
    plain: dict[str, Any] = {}
    secrets: list[str] = []
    for key, value in firm.stack_config(sandbox_url, verification).items():
        if key == "roster:netvisorCredentials":
            if not value.value:
                continue  # no Netvisor client: an unused credential set is a roster error
            plain[key] = {"firm": {"customerId": NETVISOR_CREDENTIALS["customerId"]}}
            secrets.append(f'{key}["firm"]["customerKey"]={NETVISOR_CREDENTIALS["customerKey"]}')
        elif isinstance(value, Secret) and isinstance(value.value, dict):
            secrets += [f'{key}["{name}"]={leaf}' for name, leaf in value.value.items()]
        elif isinstance(value, Secret):
            secrets.append(f"{key}={value.value}")
        else:
            plain[key] = value
    if clients_file:
        # Beyond ~700 clients the roster cannot be inline: the engine hands all config to the program in
        # one environment string, which Linux caps at 128 KiB (README, "The roster").
        del plain["roster:clients"]
        plain["roster:clientsFile"] = "clients.yaml"
    return plain, secrets


def set_up_stack(
    project: Project, firm: Firm, sandbox_url: str, verification: Verification, *, clients_file: bool
) -> None:
    plain, secrets = stack_settings(firm, sandbox_url, verification, clients_file=clients_file)
    if clients_file:
        (project.directory / "clients.yaml").write_text(json.dumps(firm.clients), encoding="utf-8")
    (project.directory / "stacks" / "Pulumi.bench.yaml").write_text(json.dumps({"config": plain}), "utf-8")
    subprocess.run(
        ["pulumi", "stack", "init", "bench", "--secrets-provider", "passphrase", "--non-interactive"],
        cwd=project.directory,
        env=project.env,
        check=True,
        capture_output=True,
    )
    # Benchmark keys are fake: on the command line here; a firm's go through stdin one by one.
    command = ["pulumi", "config", "set-all", "--stack", "bench", "--path"]
    for secret in secrets:
        command += ["--secret", secret]
    subprocess.run(command, cwd=project.directory, env=project.env, check=True, capture_output=True)


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages (other developers' runs share it)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def bounds(requests: dict[str, int], clients: int, latency_s: float, rps: float) -> dict[str, float]:
    procountor, netvisor, portal = (requests.get(name, 0) for name in ("procountor", "netvisor", "portal"))
    per_client = (procountor + netvisor + portal) / max(clients, 1)
    return {
        "Procountor pace": procountor / rps,
        "Netvisor one at a time": netvisor * latency_s,
        "round trips x latency x clients / 4": per_client * latency_s * clients / PROVIDER_THREADS,
    }


def procountor_limit(before: dict[str, Any], after: dict[str, Any]) -> str:
    """The Procountor app's 429s in the command (its limit is FabricAI's, whoever called), and its peak."""

    def refused(stats: dict[str, Any]) -> int:
        return sum(stats["services"]["procountor"]["rateLimited"].values())

    peak = sum(after["services"]["procountor"]["peakRequestsPerSecond"].values())
    return f"Procountor 429s {refused(after) - refused(before)} (peak so far {peak} in one second)"


@contextlib.contextmanager
def backend(kind: str) -> Iterator[str | None]:
    """The state's place: None for a folder of the project's own, or a PostgreSQL server's URL."""
    if kind == "file":
        yield None
        return

    def unavailable(reason: str) -> None:
        raise SystemExit(f"cli_roster: no PostgreSQL backend: {reason}")

    # The team test's server (Debian's binaries, run by pytest-postgresql's executor), outside pytest.
    from tests.support.postgres import postgres_server

    with postgres_server(unavailable) as url:
        yield url


class Figures:
    """The figures of one run (one backend): each command's line, and its wall time by label for comparing
    runs; a preview's ratio is to the ``up``'s bound."""

    def __init__(self, firm: Firm, args: argparse.Namespace, verification: Verification) -> None:
        self.firm = firm
        self.latency_s = args.latency_ms / 1000
        self.pace = verification.pace
        self.walls: dict[str, float] = {}
        self.up_bound: float | None = None

    def line(
        self,
        label: str,
        wall: float,
        cpu: str,
        made: dict[str, int],
        *,
        first_created: float | None = None,
        limit: str = "",
    ) -> str:
        self.walls[label] = wall
        lower = bounds(made, self.firm.size, self.latency_s, self.pace)
        bound = max(lower.values())
        line = f"{label}: {wall:.1f} s"
        if first_created is not None:
            line += f"; first resource created after {first_created:.1f} s"
        line += f"; CPU: {cpu}; requests {made}"
        if bound > 0:
            which = max(lower, key=lower.__getitem__)
            line += f"; lower bound {bound:.1f} s ({which}), ratio {wall / bound:.2f}"
            if label == "up":
                self.up_bound = bound
        elif self.up_bound:
            line += f"; {wall / self.up_bound:.2f} of the up's bound ({self.up_bound:.1f} s)"
        return line + (f"; {limit}" if limit else "")


def run_roster(
    args: argparse.Namespace, firm: Firm, verification: Verification, bin_dir: Path, kind: str
) -> Figures:
    """The whole run on one backend: a fresh sandbox and stack, then the commands; prints as it goes."""
    figures = Figures(firm, args, verification)
    with (
        sandbox_process(firm.scenario(verification)) as (url, admin),
        tempfile.TemporaryDirectory(prefix="fabricai-cli-") as tmp,
        backend(kind) as backend_url,
    ):
        admin.set_faults("portal", latencyMs=args.latency_ms)
        admin.set_faults("procountor", latencyMs=args.latency_ms)
        admin.set_faults("netvisor", latencyMs=args.latency_ms)
        project = Project(
            Path(tmp), bin_dir, synchronous_program=args.synchronous_program, backend_url=backend_url
        )
        if args.skip_checkpoints:
            project.env["PULUMI_SKIP_CHECKPOINTS"] = "true"
        started = time.perf_counter()
        set_up_stack(project, firm, url, verification, clients_file=args.clients_file)
        print(
            f"[{kind} backend] stack config with {len(firm.api_keys)} secret API keys: "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        if args.preview_only:
            done = project.pulumi("preview") if args.raw_pulumi else project.roster("preview")
            print(
                figures.line("first preview (every resource to create)", done.wall, done.cpu.describe(), {})
            )
            return figures

        def measured(label: str, command: Callable[[], Run]) -> None:
            before = admin.stats()
            sandbox_before = sandbox_cpu_seconds()
            done: Run = command()
            after = admin.stats()
            sandbox_cpu = f"sandbox {sandbox_cpu_seconds() - sandbox_before:.1f} s"
            limit = procountor_limit(before, after)
            if done.second_phase is not None and done.stats_at_second_phase is not None:
                (at_split,) = done.cpu.marks
                plan = requests_by_service(done.stats_at_second_phase)
                print(
                    figures.line(
                        "first preview (every resource to create)",
                        done.second_phase,
                        done.cpu.describe(until=at_split),
                        difference(plan, requests_by_service(before)),
                    ),
                    flush=True,
                )
                # The plan's ratio needs the up's bound: printed again below once it is known.
                applied = difference(requests_by_service(after), plan)
                print(
                    figures.line(
                        label,
                        done.wall - done.second_phase,
                        f"{done.cpu.describe(since=at_split)}, {sandbox_cpu}",
                        applied,
                        first_created=None
                        if done.first_created is None
                        else done.first_created - done.second_phase,
                        limit=limit,
                    ),
                    flush=True,
                )
                first = figures.walls["first preview (every resource to create)"]
                if figures.up_bound:
                    print(f"  first preview: {first / figures.up_bound:.2f} of the up's bound", flush=True)
            else:
                made = difference(requests_by_service(after), requests_by_service(before))
                print(
                    figures.line(
                        label,
                        done.wall,
                        f"{done.cpu.describe()}, {sandbox_cpu}",
                        made,
                        first_created=done.first_created if label == "up" else None,
                        limit=limit,
                    ),
                    flush=True,
                )
            if label == "up":
                size, by_type = project.state_size()
                kinds = ", ".join(
                    f"{kind_} {count} x {total / count / 1024:.2f} KiB"
                    for kind_, (count, total) in by_type.items()
                )
                per_client = size / max(firm.size, 1) / 1024
                print(
                    f"  state after up: {size / 2**20:.1f} MiB, {per_client:.2f} KiB per client; per "
                    f"resource: {kinds}",
                    flush=True,
                )

        if args.raw_pulumi:
            measured("up", lambda: project.pulumi("up", "--yes", "--skip-preview"))
            measured("no-op preview", lambda: project.pulumi("preview"))
            measured("refresh", lambda: project.pulumi("refresh", "--yes", "--skip-preview"))
        else:
            measured(
                "up",
                lambda: project.roster("up", "--yes", second_phase="Updating (", on_second_phase=admin.stats),
            )
            measured("no-op preview", lambda: project.roster("preview"))
            measured("refresh", lambda: project.roster("refresh", "--yes"))
    return figures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=300, help="Procountor clients, each with its own key")
    parser.add_argument("--netvisor", type=int, default=0, help="Netvisor clients on one credential pair")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--procountor-rps",
        type=rps_argument,
        default=None,
        help="Procountor's pace: the sandbox's limit and the verifier's pace (default 20); in partner mode "
        "also procountor:requestsPerSecond",
    )
    parser.add_argument(
        "--partner-mode",
        action="store_true",
        help="partner secrets in the stack (the provider checks); the portal stores unverified",
    )
    parser.add_argument("--pulumi-bin", type=Path, default=None, help="the folder holding pulumi")
    parser.add_argument(
        "--clients-file", action="store_true", help="the client list in roster:clientsFile, not inline"
    )
    parser.add_argument(
        "--backend",
        choices=("file", "postgres", "both"),
        default="file",
        help="where the state is: a folder, a PostgreSQL server started for the run, or each in turn",
    )
    parser.add_argument(
        "--raw-pulumi",
        action="store_true",
        help="run pulumi's commands directly (up --skip-preview, preview, refresh), not fabricai-roster's",
    )
    parser.add_argument(
        "--skip-checkpoints",
        action="store_true",
        help="with --raw-pulumi: PULUMI_SKIP_CHECKPOINTS=true (fabricai-roster's commands always set it)",
    )
    parser.add_argument(
        "--preview-only",
        action="store_true",
        help="only the first preview of the new stack (every resource to create): the program's cost alone",
    )
    parser.add_argument(
        "--synchronous-program",
        action="store_true",
        help="run the program as it was before it yielded to the event loop once (for the before figure)",
    )
    args = parser.parse_args(argv)
    if args.skip_checkpoints and not args.raw_pulumi:
        parser.error(
            "--skip-checkpoints goes with --raw-pulumi (fabricai-roster's commands always skip them)"
        )
    firm = generated_firm(args.clients, args.netvisor)
    verification = Verification(partner_mode=args.partner_mode, procountor_rps=args.procountor_rps)
    bin_dir = args.pulumi_bin or pulumi_bin()
    print(f"machine: {machine()}; load average {load_average()}")
    version = subprocess.run([str(bin_dir / "pulumi"), "version"], capture_output=True, text=True, check=True)
    how = (
        "pulumi's commands"
        + ("; PULUMI_SKIP_CHECKPOINTS=true" if args.skip_checkpoints else "; checkpoints on")
        if args.raw_pulumi
        else "README's commands (fabricai-roster up --yes, preview, refresh --yes)"
    )
    print(
        f"Pulumi CLI {version.stdout.strip()}; {args.clients} Procountor + {args.netvisor} Netvisor clients; "
        f"latency {args.latency_ms:g} ms; {verification.describe()}; {how}"
        + ("; the program as before the yield fix" if args.synchronous_program else "")
        + ("; clients in roster:clientsFile" if args.clients_file else "")
    )
    kinds = ("file", "postgres") if args.backend == "both" else (args.backend,)
    runs = {kind: run_roster(args, firm, verification, bin_dir, kind) for kind in kinds}
    if len(runs) == 2:
        file_walls, postgres_walls = runs["file"].walls, runs["postgres"].walls
        ratios = ", ".join(
            f"{label} {postgres_walls[label] / file_walls[label]:.2f} ({postgres_walls[label]:.1f} s vs "
            f"{file_walls[label]:.1f} s)"
            for label in file_walls
            if label in postgres_walls and file_walls[label] > 0
        )
        print(f"PostgreSQL backend / file backend, same roster, this run: {ratios}")
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
