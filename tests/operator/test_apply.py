"""``fabricai-roster preview`` / ``up`` / ``refresh``: pulumi run the way a roster of any size should be,
against a stand-in ``pulumi`` that records each call (tests/support/fake_pulumi.py); the real CLI runs it in
tests/cli/test_cli_apply.py."""

from __future__ import annotations

import builtins
import io
import sys
from pathlib import Path

import pytest

from tests.operator.conftest import run_command
from tests.support.fake_pulumi import FakePulumi, install_fake_pulumi


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


def test_up_without_a_terminal_or_yes_refuses_before_it_pins_or_previews(
    fake_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pulumi = install_fake_pulumi(fake_bin)
    ran = run_command(capsys, "up")  # stdin is not a terminal under pytest
    assert ran.code == 2 and "pass --yes" in ran.err
    # Nothing written to the settings and no preview run for a question nobody can answer.
    assert pulumi.calls() == []


def test_a_failed_up_says_running_it_again_is_safe(
    fake_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install_fake_pulumi(fake_bin, fail_on="skip-preview")
    ran = run_command(capsys, "up", "--yes")
    assert ran.code == 1 and "Run the same command again" in ran.err


# ---- refresh -----------------------------------------------------------------------------------------------


def refresh_calls(pulumi: FakePulumi) -> list[list[str]]:
    return [call["args"] for call in pulumi.calls() if call["args"][0] == "refresh"]


class Terminal(io.StringIO):
    """Standard input at a terminal (pytest's is not one)."""

    def isatty(self) -> bool:
        return True


def answer_at_a_terminal(monkeypatch: pytest.MonkeyPatch, answer: str) -> list[str]:
    """The operator at a terminal answers ``answer`` to every question; the questions asked, in order."""
    asked: list[str] = []

    def typed(question: str = "") -> str:
        asked.append(question)
        return answer

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr(builtins, "input", typed)
    return asked


def test_refresh_in_a_script_records_in_one_pass_without_checkpoints(
    fake_bin: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A refresh's preview re-verifies every connection as the refresh does: --yes does not show first.
    monkeypatch.setenv("PULUMI_SKIP_CONFIRMATIONS", "true")
    pulumi = install_fake_pulumi(fake_bin)
    ran = run_command(capsys, "--stack", "production", "refresh", "--yes", "--", "--diff")
    assert ran.code == 0, ran.err
    assert refresh_calls(pulumi) == [
        ["refresh", "--yes", "--skip-preview", "--non-interactive", "--diff", "--stack", "production"],
    ]
    (recorded,) = [call["env"] for call in pulumi.calls()]  # nothing else is run: no identity pinned
    assert recorded == {"PULUMI_SKIP_CHECKPOINTS": "true", "PULUMI_SKIP_CONFIRMATIONS": "true"}


def test_refresh_shows_what_it_would_record_without_the_skip_confirmations_variable(
    fake_bin: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A CI environment often sets PULUMI_SKIP_CONFIRMATIONS: pulumi takes it for --yes, which its
    # --preview-only refuses, so the showing call runs without it.
    monkeypatch.setenv("PULUMI_SKIP_CONFIRMATIONS", "true")
    pulumi = install_fake_pulumi(fake_bin)
    ran = run_command(capsys, "--stack", "production", "refresh", "--preview-only")
    assert ran.code == 0, ran.err
    (shown,) = [call["env"] for call in pulumi.calls()]
    assert shown == {"PULUMI_SKIP_CHECKPOINTS": "true"}


def test_refresh_preview_only_only_shows(fake_bin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pulumi = install_fake_pulumi(fake_bin)
    ran = run_command(
        capsys, "--stack", "production", "refresh", "--preview-only", "--", "--expect-no-changes"
    )
    assert ran.code == 0, ran.err
    assert [call["args"] for call in pulumi.calls()] == [
        ["refresh", "--preview-only", "--non-interactive", "--expect-no-changes", "--stack", "production"]
    ]
    assert pulumi.calls()[0]["env"]["PULUMI_SKIP_CHECKPOINTS"] == "true"


def test_the_drift_check_exits_1_on_drift(fake_bin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Pulumi's 7 (changes where --expect-no-changes expected none): the nightly job must see non-zero."""
    pulumi = install_fake_pulumi(fake_bin, fail_on="--preview-only", fail_status=7)
    ran = run_command(
        capsys, "--stack", "production", "refresh", "--preview-only", "--", "--expect-no-changes"
    )
    assert ran.code == 1, ran.err
    text = " ".join(ran.err.split())  # as rich wrapped it
    assert "Drift:" in text and "exit status 7" in text and "nothing was recorded" in text
    assert "`fabricai-roster --stack production refresh --yes` records them" in text
    assert len(refresh_calls(pulumi)) == 1


@pytest.mark.parametrize("status", [1, 255])
def test_a_failed_drift_check_exits_2_and_says_run_it_again(
    fake_bin: Path, capsys: pytest.CaptureFixture[str], status: int
) -> None:
    pulumi = install_fake_pulumi(fake_bin, fail_on="--preview-only", fail_status=status)
    ran = run_command(capsys, "refresh", "--preview-only", "--", "--expect-no-changes")
    assert ran.code == 2, ran.err
    text = " ".join(ran.err.split())
    assert f"failed (exit status {status}); nothing was recorded" in text
    assert "Nothing in the portal was changed" in text and "run the same command again" in text
    assert "Drift" not in text
    assert len(refresh_calls(pulumi)) == 1


def test_refresh_asks_first_and_scripts_must_say_yes(
    fake_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pulumi = install_fake_pulumi(fake_bin)
    ran = run_command(capsys, "refresh")  # stdin is not a terminal under pytest
    assert ran.code == 2 and "pass --yes" in ran.err and "refresh" in ran.err
    assert refresh_calls(pulumi) == []  # refused before its preview re-verified every client for nothing


@pytest.mark.parametrize(("answer", "recorded"), [("y", True), ("n", False), ("", False)])
def test_refresh_records_only_what_the_operator_confirms(
    fake_bin: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    recorded: bool,
) -> None:
    pulumi = install_fake_pulumi(fake_bin)
    asked = answer_at_a_terminal(monkeypatch, answer)
    ran = run_command(capsys, "refresh")
    assert ran.code == 0, ran.err
    assert asked == ["Record these changes in the state? [y/N] "]
    expected = ["--preview-only", "--yes"] if recorded else ["--preview-only"]
    assert [call[1] for call in refresh_calls(pulumi)] == expected
    assert ("Nothing was recorded" in ran.err) is not recorded


def test_a_failed_preview_of_the_refresh_records_nothing(
    fake_bin: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pulumi = install_fake_pulumi(fake_bin, fail_on="--preview-only")
    asked = answer_at_a_terminal(monkeypatch, "y")
    ran = run_command(capsys, "refresh")
    assert ran.code == 2 and "nothing was recorded" in ran.err
    assert [call[1] for call in refresh_calls(pulumi)] == ["--preview-only"]
    assert asked == []  # nothing to confirm after a failed preview


def test_a_failed_refresh_says_the_portal_is_untouched_and_to_run_it_again(
    fake_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install_fake_pulumi(fake_bin, fail_on="--skip-preview")
    ran = run_command(capsys, "refresh", "--yes")
    assert ran.code == 2, ran.err
    text = " ".join(ran.err.split())
    assert "pulumi refresh failed (exit status 1)" in text
    assert "Nothing in the portal was changed" in text and "run the same command again" in text


def test_refresh_yes_and_preview_only_do_not_go_together(
    fake_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pulumi = install_fake_pulumi(fake_bin)
    ran = run_command(capsys, "refresh", "--yes", "--preview-only")
    assert ran.code == 2 and "not allowed with" in ran.err
    assert pulumi.calls() == []
