"""The kill benchmark runs end to end with a tiny roster, so it cannot rot; and what it checks must hold:
nothing lost or doubled. One SIGKILLed `pulumi up` with checkpoints on (the longer recovery: the lock, then
the pending CREATEs), followed by the recovery: about 35 s on 2 quiet cores, a minute on busy ones. No
figures are checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import cli_kill


def test_a_killed_up_recovers_with_nothing_lost(pulumi_bin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--clients", "6", "--kills", "1", "--seed", "1", "--pulumi-bin", str(pulumi_bin)]
    code = cli_kill.main(argv)
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "PULUMI_SKIP_CHECKPOINTS=true:" in printed and "checkpoints on" in printed
    assert (
        printed.count("duplicate registrations 0; orphan connections 0; state unequal to the portal 0") == 2
    )
