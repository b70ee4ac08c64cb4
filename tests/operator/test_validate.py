"""``validate``: the program's roster checks, offline, every problem listed; never a secret shown."""

from __future__ import annotations

from typing import Any

import pytest

from tests.operator.conftest import ALL_SECRETS, KAHVILA, KIRJA_KETTU, run_command, sandbox_config


def test_a_valid_roster(fake_stack: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    fake_stack["config"] = sandbox_config("http://127.0.0.1:9", [KAHVILA, KIRJA_KETTU])
    ran = run_command(capsys, "validate")
    assert ran.code == 0, ran.out + ran.err
    assert (
        "The roster is valid: 2 clients (1 Procountor, 1 Netvisor), 1 Netvisor credential set(s)." in ran.out
    )


def test_every_problem_is_listed_and_no_secret_is_shown(
    fake_stack: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    config = sandbox_config("http://127.0.0.1:9", [KAHVILA, KIRJA_KETTU])
    config["roster:clients"] = [
        {**KAHVILA, "vat": {"mode": "partial"}},
        {**KIRJA_KETTU, "netvisorCredentials": "frim"},
        {"businessId": "2925630-8", "name": "Väärä Oy", "erp": "procountor"},
    ]
    config["roster:procountorApiKeys"]["2925630-9"] = "FAKE-pc-key-oljy-aijat-1"
    fake_stack["config"] = config
    ran = run_command(capsys, "validate")
    assert ran.code == 1
    assert "The roster has 4 problems:" in ran.out
    for expected in (
        "roster:clients[0] (Kahvila Kuppi Oy, 2077474-0): vat.deductionPercent",
        "'frim' is not a credential set in roster:netvisorCredentials; did you mean 'firm'?",
        "roster:clients[2] (Väärä Oy, 2925630-8): businessId: '2925630-8': check digit should be 9",
        "no client in roster:clients has business ID 2925630-9",
    ):
        assert expected in " ".join(ran.out.split()), ran.out
    for secret in ALL_SECRETS:
        assert secret not in ran.out + ran.err


def test_without_the_pulumi_cli_it_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    ran = run_command(capsys, "validate")
    assert ran.code == 2
    assert ran.err.startswith("error: the Pulumi CLI is not on PATH")
    assert "Traceback" not in ran.err


def test_help_reads_well(capsys: pytest.CaptureFixture[str]) -> None:
    ran = run_command(capsys, "--help")
    assert ran.code == 0
    for command in ("validate", "status", "doctor", "generate", "exit status"):
        assert command in ran.out
    ran = run_command(capsys, "bogus")
    assert ran.code == 2 and "invalid choice: 'bogus'" in ran.err
