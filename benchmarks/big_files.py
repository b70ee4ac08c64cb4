"""Big files: validating a ``roster:clientsFile`` and ``fabricai-roster generate --csv`` at 200,000 clients.

Run: ``python -m benchmarks.big_files [--clients N ...]`` (default: 20,000 and 200,000, so the µs per client
of two sizes show whether it is linear). CPU seconds are printed beside the wall-clock time: on a shared
machine only they compare between runs. Prints figures only; nothing here asserts on time. Each measurement
runs in a fresh Python process, so its peak memory (the process's maximum resident set, ``ru_maxrss``) is its
own; the figure "imports only" is what a process that has imported the modules holds before reading anything.

- ``clients file: validate``: ``parse_stack_config`` of a stack config naming a YAML file of N entries (two
  thirds Procountor with their API keys in stack config, one third Netvisor), each valid entry counted and
  not kept, as ``fabricai-roster validate`` checks it;
- ``clients file: program's read``: the same, keeping the Roster the program declares (its entries' models
  are most of that memory);
- ``generate --csv``: ``fabricai-roster generate --csv FILE --output FILE`` of a CSV of N rows (no stack:
  every key is still to set, so one command per Procountor client and per credential set is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.roster_validation import valid_roster

SIZES = (20_000, 200_000)
VALIDATE = "clients file: validate"
PROGRAM = "clients file: program's read"
GENERATE = "generate --csv"
SEED = 20261206


def write_files(folder: Path, size: int) -> None:
    """``clients.yaml`` (block style, as a firm writes it), ``keys.json`` (the stack config's keys) and
    ``clients.csv`` (as Excel writes it in Finland: `;`, UTF-8 with a byte order mark)."""
    clients, keys, credentials = valid_roster(random.Random(SEED), size)
    with (folder / "clients.yaml").open("w", encoding="utf-8") as out:
        for entry in clients:
            out.write(
                f"- businessId: {entry['businessId']}\n  name: {entry['name']}\n  erp: {entry['erp']}\n"
            )
            out.write(f"  process: {entry['process']}\n")
            if "vat" in entry:
                out.write(f"  vat: {{mode: partial, deductionPercent: {entry['vat']['deductionPercent']}}}\n")
            if entry["dimensions"]:
                out.write(f"  dimensions: [{', '.join(entry['dimensions'])}]\n")
            out.write(f"  teams: [{entry['teams'][0]}]\n")
            if entry["erp"] == "netvisor":
                out.write(f"  netvisorCredentials: {entry['netvisorCredentials']}\n")
    (folder / "keys.json").write_text(
        json.dumps({"keys": keys, "credentials": credentials}), encoding="utf-8"
    )
    with (folder / "clients.csv").open("w", encoding="utf-8-sig", newline="") as out:
        out.write("Y-tunnus;Nimi;Järjestelmä;Tiimi;Netvisor-tunnukset\r\n")
        for entry in clients:
            system = entry["erp"].capitalize()
            out.write(
                f"{entry['businessId']};{entry['name']};{system};{entry['teams'][0]};"
                f"{entry.get('netvisorCredentials', '')}\r\n"
            )


def measure(what: str, folder: Path) -> None:
    """One measurement, in this (fresh) process: prints ``seconds peak_MiB baseline_MiB`` as JSON."""
    from provider.cli.main import main
    from provider.roster.stack_config import parse_stack_config

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started, cpu = time.perf_counter(), _cpu()
    if what in (VALIDATE, PROGRAM):
        keys = json.loads((folder / "keys.json").read_text(encoding="utf-8"))
        config = {
            "roster:clientsFile": "clients.yaml",
            "roster:procountorApiKeys": keys["keys"],
            "roster:netvisorCredentials": keys["credentials"],
        }
        if what == VALIDATE:  # as `fabricai-roster validate` checks it: each entry counted, not kept
            counted: list[int] = [0]
            parse_stack_config(
                config, folder, on_client=lambda client: counted.__setitem__(0, counted[0] + 1)
            )
            count = counted[0]
        else:  # as the program reads it: the Roster of every entry, to declare
            count = len(parse_stack_config(config, folder).clients)
    else:
        with Path(os.devnull).open("w", encoding="utf-8") as sink:
            stderr, sys.stderr = sys.stderr, sink
            try:
                code = main(
                    ["generate", "--csv", str(folder / "clients.csv"), "--output", str(folder / "out.yaml")]
                )
            finally:
                sys.stderr = stderr
        if code != 0:
            raise SystemExit(f"generate exited {code}")
        count = (folder / "out.yaml").read_text(encoding="utf-8").count("- businessId:")
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak": peak, "baseline": baseline, "count": count}))


def _cpu() -> float:
    """CPU seconds of this process: the figure that does not depend on what else the machine runs."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child(*args: str) -> str:
    """``python -m benchmarks.big_files ARGS`` in a fresh process; its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.big_files", *args],
        capture_output=True,
        text=True,
        check=True,
        # No pulumi on PATH: generate --csv then needs no stack (it would only look for keys already set).
        env={**os.environ, "PATH": "/nonexistent"},
    )
    return done.stdout


def run(what: str, folder: Path) -> dict[str, float]:
    figures: dict[str, float] = json.loads(
        _child("--measure", what, "--folder", str(folder)).strip().splitlines()[-1]
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--clients", type=int, nargs="+", default=list(SIZES), help="sizes (default 20000 200000)"
    )
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--write", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        measure(args.measure, args.folder)
        return 0
    if args.write:
        write_files(args.folder, args.write)
        return 0
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs; python {sys.version.split()[0]}")
    for size in args.clients:
        with tempfile.TemporaryDirectory() as folder:
            # In a process of its own: a child inherits its parent's peak memory (ru_maxrss survives fork and
            # exec), so this process must never hold the generated roster.
            _child("--write", str(size), "--folder", folder)
            mib = (Path(folder) / "clients.yaml").stat().st_size / 2**20
            csv_mib = (Path(folder) / "clients.csv").stat().st_size / 2**20
            print(f"{size:,} clients: clients.yaml {mib:.1f} MiB, clients.csv {csv_mib:.1f} MiB")
            for what in (VALIDATE, PROGRAM, GENERATE):
                figures = run(what, Path(folder))
                assert int(figures["count"]) == size, figures
                per_client = figures["cpu"] / size * 1e6
                wall, cpu, peak, baseline = (figures[k] for k in ("seconds", "cpu", "peak", "baseline"))
                print(
                    f"  {what:<29} {wall:6.1f} s ({cpu:.1f} s CPU, {per_client:.0f} µs per client)  "
                    f"peak {peak:.0f} MiB (imports only {baseline:.0f} MiB)"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
