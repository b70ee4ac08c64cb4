"""``fabricai-roster preview`` / ``up``: pulumi run the way a roster of any size should be, against a
stand-in ``pulumi`` that records each call (tests/support/fake_pulumi.py); the real CLI runs it in
tests/cli/test_cli_apply.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.operator.conftest import run_command
from tests.support.fake_pulumi import install_fake_pulumi


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "bin"
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")
    return folder


def test_up_previews_then_applies_without_checkpoints_or_live_display(
    fake_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pulumi = install_fake_pulumi(fake_bin)
    ran = run_command(capsys, "--stack", "production", "up", "--yes", "--", "--diff")
    assert ran.code == 0, ran.err
    calls = [call for call in pulumi.calls() if call["args"][0] in ("preview", "up")]
    assert [call["args"] for call in calls] == [
        ["preview", "--non-interactive", "--diff", "--stack", "production"],
        ["up", "--yes", "--skip-preview", "--non-interactive", "--diff", "--stack", "production"],
    ]
    assert all(call["env"].get("PULUMI_SKIP_CHECKPOINTS") == "true" for call in calls)
    # Before anything runs, the identity is pinned (a stack with none in state gets a new one): a first
    # run killed half-way without checkpoints must not lose it.
    (pin,) = [call["args"] for call in pulumi.calls() if call["args"][:2] == ["config", "set"]]
    assert (
        pin[2] == "roster:stackId"
        and pin[3].startswith("production-")
        and len(pin[3]) == len("production-") + 24
    )
    assert pulumi.calls()[-2]["args"][0] == "preview"


def test_a_failed_preview_applies_nothing(fake_bin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pulumi = install_fake_pulumi(fake_bin, fail_on="preview")
    ran = run_command(capsys, "up", "--yes")
    assert ran.code == 1 and "nothing was changed" in ran.err
    assert [call["args"][0] for call in pulumi.calls() if call["args"][0] in ("preview", "up")] == ["preview"]


def test_up_asks_first_and_scripts_must_say_yes(fake_bin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pulumi = install_fake_pulumi(fake_bin)
    ran = run_command(capsys, "up")  # stdin is not a terminal under pytest
    assert ran.code == 2 and "pass --yes" in ran.err
    assert [call["args"][0] for call in pulumi.calls() if call["args"][0] in ("preview", "up")] == ["preview"]


def test_a_failed_up_says_running_it_again_is_safe(
    fake_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install_fake_pulumi(fake_bin, fail_on="skip-preview")
    ran = run_command(capsys, "up", "--yes")
    assert ran.code == 1 and "Run the same command again" in ran.err
