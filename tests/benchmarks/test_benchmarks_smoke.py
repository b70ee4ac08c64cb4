"""Every benchmark runs end to end with a tiny roster, so none can rot. No figures are checked."""

from __future__ import annotations

import pytest

from benchmarks import big_files, roster_scale, roster_up, roster_validation


@pytest.mark.parametrize(("flags", "mode"), [([], "firm mode"), (["--partner-mode"], "partner mode")])
def test_up_benchmark_runs(flags: list[str], mode: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Both ways of verifying: the portal (a firm's stack, the default) and the provider (partner mode)."""
    argv = ["--clients", "2", "--latency-ms", "1", "--procountor-rps", "60", "--whole-program", *flags]
    assert roster_up.main(argv) == 0
    printed = capsys.readouterr().out
    assert "0 failed" in printed and "ratio to the largest bound" in printed and "violations 0" in printed
    assert (
        "[whole program under mocks, SDK included] up" in printed and "0 failed" in printed.split("mocks")[1]
    )
    assert mode in printed and "Procountor pace 60 requests/s" in printed
    assert "refused over its limit (429) 0" in printed


@pytest.mark.parametrize("flags", [[], ["--partner-mode"]])
def test_scale_benchmark_runs(flags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert roster_scale.main(["--clients", "4", *flags]) == 0
    printed = capsys.readouterr().out
    assert "0 made by the preview" in printed and "peak RSS of the provider-side process" in printed
    assert "erp_health: {'OK': 4}" in printed


def test_validation_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert roster_validation.main(["--clients", "30"]) == 0
    printed = capsys.readouterr().out
    assert "roster:  30 clients (20 Procountor, 10 Netvisor)" in printed
    assert "invalid: 1 mistakes -> 1 problems reported" in printed
    assert "invalid roster (all problems)" in printed


def test_up_benchmark_runs_without_latency(capsys: pytest.CaptureFixture[str]) -> None:
    """With no added latency the round-trip bounds are 0 s: reported as such, never divided by."""
    assert roster_up.main(["--clients", "2", "--latency-ms", "0", "--procountor-rps", "60"]) == 0
    assert "no ratio (0 s)" in capsys.readouterr().out


def test_big_files_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert big_files.main(["--clients", "30"]) == 0
    printed = capsys.readouterr().out
    for line in ("clients file: validate", "clients file: program's read", "generate --csv", "peak"):
        assert line in printed
