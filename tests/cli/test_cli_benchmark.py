"""The real-CLI benchmark runs end to end with a tiny roster, so it cannot rot. No figures are checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import cli_roster


def test_cli_benchmark_runs(pulumi_bin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_roster.main(["--clients", "2", "--netvisor", "1", "--pulumi-bin", str(pulumi_bin)]) == 0
    printed = capsys.readouterr().out
    assert "up:" in printed and "no-op preview:" in printed and "refresh:" in printed
    assert "first resource created after" in printed
