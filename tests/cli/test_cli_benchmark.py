"""The real-CLI benchmark runs end to end with a tiny roster, so it cannot rot. No figures are checked.

README's way (``fabricai-roster up --yes``, ``preview``, ``refresh --yes``) on a firm's stack with the clients
inline; pulumi's own commands in partner mode with the flags of the earlier large-roster figures
(``--clients-file --raw-pulumi --skip-checkpoints``); and the same roster on the file and the PostgreSQL
backends in one run (``--backend both``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks import cli_roster
from tests.support.postgres import find_pg_ctl


@pytest.mark.parametrize(
    ("flags", "mode"),
    [
        ([], "firm mode"),
        (["--partner-mode", "--clients-file", "--raw-pulumi", "--skip-checkpoints"], "partner mode"),
    ],
)
def test_cli_benchmark_runs(
    flags: list[str], mode: str, pulumi_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--clients", "2", "--netvisor", "1", "--pulumi-bin", str(pulumi_bin), *flags]
    assert cli_roster.main(argv) == 0
    printed = capsys.readouterr().out
    assert "up:" in printed and "no-op preview:" in printed and "refresh:" in printed
    assert "first resource created after" in printed and "state after up:" in printed
    assert mode in printed and "(Procountor pace)" in printed and "load average after" in printed
    if not flags:
        # README's way: the up's plan (every resource to create) is printed before the up.
        assert "README's commands" in printed
        assert printed.index("first preview (every resource to create):") < printed.index("\nup:")
        assert "first preview: " in printed and "of the up's bound" in printed


def test_cli_benchmark_compares_the_postgres_backend(
    pulumi_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if find_pg_ctl() is None and os.environ.get("FABRICAI_ROSTER_REQUIRE_POSTGRES") != "1":
        pytest.skip("no PostgreSQL server binaries (Debian: apt-get install postgresql)")
    argv = ["--clients", "2", "--pulumi-bin", str(pulumi_bin), "--backend", "both"]
    assert cli_roster.main(argv) == 0
    printed = capsys.readouterr().out
    assert "[file backend]" in printed and "[postgres backend]" in printed
    (ratios,) = [
        line for line in printed.splitlines() if line.startswith("PostgreSQL backend / file backend")
    ]
    for label in ("first preview (every resource to create)", "up", "no-op preview", "refresh"):
        assert f"{label} " in ratios
