"""`pulumi up`, a no-op `pulumi preview` and `pulumi refresh` of a generated roster through the REAL CLI.

    python -m benchmarks.cli_roster [--clients 300] [--netvisor 0] [--latency-ms 0] [--procountor-rps N]
                                    [--partner-mode] [--clients-file] [--skip-checkpoints]

``--clients`` Procountor clients, each with its own secret API key in stack config (set as secrets in one
``pulumi config set-all``; Pulumi is known to slow down with hundreds of secrets), plus ``--netvisor``
Netvisor clients on one shared credential pair, against the sandbox in its own process (``python -m
sandbox``, ``--latency-ms`` added to every request). The stack is a firm's: no partner secret, and the
sandbox's portal verifies each connection as FabricAI, at ``--procountor-rps`` (default 20, also the
sandbox Procountor's limit); ``--partner-mode`` configures the partner secrets instead (the provider
checks; the portal stores unverified), for comparison (benchmarks/_roster.py). The CLI is the one on PATH
or built by tools/pulumi/build.sh; the project is a temporary copy of this one (local file backend,
passphrase secrets), so nothing touches stacks/ or your Pulumi login.

Prints, per command: wall time, the time to the first resource created (up), the sandbox requests by
service, and the lower bounds the run is held to: Procountor's pace (its requests, counted by the sandbox
whoever made them, at the verifier's or the provider's pace); Netvisor's one request at a time (its
requests x latency); and the round trips one after the other per client x latency x clients / 4 (the
dynamic provider serves 4 calls at once). Also the machine's load average before and after. Figures only;
nothing asserts on time. The stand-in's figures for the same roster come from ``benchmarks.roster_up``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
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

    The CLI starts the program (through the language host's exec helper) and the dynamic provider as
    processes of their own; each is polled while the command runs and its last reading kept (Linux only;
    elsewhere the figures are left out).
    """

    # The provider runs as `python -m pulumi.dynamic` (Pulumi's launcher) or through tools/pulumi's
    # pulumi-python-dynamic-provider.py (ours, which ends it with the engine): both say "dynamic".
    MARKS: ClassVar[dict[str, str]] = {"program": "pulumi-language-python-exec", "provider": "dynamic"}

    def __init__(self) -> None:
        self.seconds: dict[str, dict[int, float]] = {role: {} for role in (*self.MARKS, "engine")}
        self.engine_pid: int | None = None  # the pulumi CLI process itself
        self._ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def poll(self) -> None:
        if self.engine_pid is None:
            return
        seen: dict[int, tuple[int, str, float]] = {}  # pid -> (parent pid, command line, CPU seconds)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended between the listing and the read
            # After the name: state, ppid, ...; utime and stime are fields 14 and 15 of the whole line.
            seen[int(stat.parent.name)] = (
                int(fields[1]),
                command,
                (int(fields[11]) + int(fields[12])) / self._ticks,
            )
        for pid, (_, command, used) in seen.items():
            if not self._descends_from_engine(pid, seen):
                continue  # another Pulumi run on this machine: not ours
            roles = [role for role, mark in self.MARKS.items() if mark in command]
            if pid == self.engine_pid:
                roles.append("engine")
            for role in roles:
                self.seconds[role][pid] = used

    def _descends_from_engine(self, pid: int, seen: dict[int, tuple[int, str, float]]) -> bool:
        for _ in range(32):  # a bounded walk up the process tree
            if pid == self.engine_pid:
                return True
            if pid not in seen or pid <= 1:
                return False
            pid = seen[pid][0]
        return False

    def poll_until(self, stop: threading.Event) -> None:
        while not stop.wait(0.2):
            self.poll()

    def total(self, role: str) -> float:
        return sum(self.seconds[role].values())


# The program as it was before it yielded to the event loop (provider.program.declare): for comparison.
SYNCHRONOUS_PROGRAM = """import pulumi
from provider.program import declare_roster, read_roster, stack_outputs

for name, value in stack_outputs(declare_roster(read_roster())).items():
    pulumi.export(name, value)
"""


class Project:
    """A temporary copy of the project driven through the CLI."""

    def __init__(self, directory: Path, bin_dir: Path, *, synchronous_program: bool = False) -> None:
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
            "PULUMI_BACKEND_URL": f"file://{directory / '.state'}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
        }

    def run(self, *args: str, first_created: bool = False) -> tuple[float, float | None, ProcessCpu]:
        """Wall time of ``pulumi ARGS``, with ``first_created`` the seconds to the first resource created,
        and the CPU its program and provider processes used."""
        command = ["pulumi", *args, "--stack", "bench", "--non-interactive", "--color", "never"]
        started = time.perf_counter()
        first: float | None = None
        cpu = ProcessCpu()
        stop = threading.Event()
        poller = threading.Thread(target=cpu.poll_until, args=(stop,))
        poller.start()
        with subprocess.Popen(
            command,
            cwd=self.directory,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as process:
            cpu.engine_pid = process.pid
            assert process.stdout is not None
            tail: list[str] = []
            for line in process.stdout:
                if (
                    first_created
                    and first is None
                    and "fabricai:ClientCompany" in line
                    and " created" in line
                ):
                    first = time.perf_counter() - started
                tail = [*tail[-40:], line]
            code = process.wait()
        stop.set()
        poller.join()
        if code != 0:
            raise SystemExit(f"cli_roster: pulumi {' '.join(args)} failed:\n{''.join(tail)}")
        return time.perf_counter() - started, first, cpu


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
        "--skip-checkpoints",
        action="store_true",
        help="PULUMI_SKIP_CHECKPOINTS=true: the backend saves the state once, at the end",
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
    firm = generated_firm(args.clients, args.netvisor)
    verification = Verification(partner_mode=args.partner_mode, procountor_rps=args.procountor_rps)
    bin_dir = args.pulumi_bin or pulumi_bin()
    print(f"machine: {machine()}; load average {load_average()}")
    version = subprocess.run([str(bin_dir / "pulumi"), "version"], capture_output=True, text=True, check=True)
    print(
        f"Pulumi CLI {version.stdout.strip()}; {args.clients} Procountor + {args.netvisor} Netvisor clients; "
        f"latency {args.latency_ms:g} ms; {verification.describe()}"
        + ("; the program as before the yield fix" if args.synchronous_program else "")
        + ("; clients in roster:clientsFile" if args.clients_file else "")
        + ("; PULUMI_SKIP_CHECKPOINTS=true" if args.skip_checkpoints else "")
    )
    with (
        sandbox_process(firm.scenario(verification)) as (url, admin),
        tempfile.TemporaryDirectory(prefix="fabricai-cli-") as tmp,
    ):
        admin.set_faults("portal", latencyMs=args.latency_ms)
        admin.set_faults("procountor", latencyMs=args.latency_ms)
        admin.set_faults("netvisor", latencyMs=args.latency_ms)
        project = Project(Path(tmp), bin_dir, synchronous_program=args.synchronous_program)
        if args.skip_checkpoints:
            project.env["PULUMI_SKIP_CHECKPOINTS"] = "true"
        started = time.perf_counter()
        set_up_stack(project, firm, url, verification, clients_file=args.clients_file)
        print(
            f"stack config with {len(firm.api_keys)} secret API keys: {time.perf_counter() - started:.1f} s"
        )
        commands: tuple[tuple[str, tuple[str, ...], bool], ...] = (
            ("up", ("up", "--yes", "--skip-preview"), True),
            ("no-op preview", ("preview",), False),
            ("refresh", ("refresh", "--yes", "--skip-preview"), False),
        )
        if args.preview_only:
            commands = (("first preview (every resource to create)", ("preview",), False),)
        for command, extra, first in commands:
            before_stats = admin.stats()
            sandbox_before = sandbox_cpu_seconds()
            wall, first_created, cpu = project.run(*extra, first_created=first)
            sandbox_cpu = sandbox_cpu_seconds() - sandbox_before
            stats = admin.stats()
            made = difference(requests_by_service(stats), requests_by_service(before_stats))
            lower = bounds(made, firm.size, args.latency_ms / 1000, verification.pace)
            bound = max(lower.values())
            line = f"{command}: {wall:.1f} s"
            if first_created is not None:
                line += f"; first resource created after {first_created:.1f} s"
            line += (
                f"; CPU: engine {cpu.total('engine'):.1f} s, program {cpu.total('program'):.1f} s, "
                f"provider {cpu.total('provider'):.1f} s, sandbox {sandbox_cpu:.1f} s"
            )
            line += f"; requests {made}"
            if bound > 0:
                which = max(lower, key=lower.__getitem__)
                line += f"; lower bound {bound:.1f} s ({which}), ratio {wall / bound:.2f}"
            line += f"; {procountor_limit(before_stats, stats)}"
            print(line, flush=True)
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
