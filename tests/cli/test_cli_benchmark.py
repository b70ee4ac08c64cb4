"""The real-CLI benchmark runs end to end with a tiny roster, so it cannot rot. No figures are checked.

Both ways of verifying: a firm's stack (the portal verifies) with the clients inline, and partner mode with
the flags of the large-roster figures (``--clients-file --skip-checkpoints``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import cli_roster


@pytest.mark.parametrize(
    ("flags", "mode"),
    [
        ([], "firm mode"),
        (["--partner-mode", "--clients-file", "--skip-checkpoints"], "partner mode"),
    ],
)
def test_cli_benchmark_runs(
    flags: list[str], mode: str, pulumi_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--clients", "2", "--netvisor", "1", "--pulumi-bin", str(pulumi_bin), *flags]
    assert cli_roster.main(argv) == 0
    printed = capsys.readouterr().out
    assert "up:" in printed and "no-op preview:" in printed and "refresh:" in printed
    assert "first resource created after" in printed
    assert mode in printed and "(Procountor pace)" in printed and "load average after" in printed
