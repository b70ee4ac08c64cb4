"""``validate``: the program's roster checks, offline, every problem listed; never a secret shown."""

from __future__ import annotations

from typing import Any

import pytest

from tests.operator.conftest import (
    ALL_SECRETS,
    KAHVILA,
    KIRJA_KETTU,
    NETVISOR_KEY,
    PORTAL_KEY,
    PROCOUNTOR_KEYS,
    run_command,
    sandbox_config,
)


def test_a_valid_roster(fake_stack: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    fake_stack["config"] = sandbox_config("http://127.0.0.1:9", [KAHVILA, KIRJA_KETTU])
    ran = run_command(capsys, "validate")
    assert ran.code == 0, ran.out + ran.err
    assert (
        "The roster is valid: 2 clients (1 Procountor, 1 Netvisor), 1 Netvisor credential set(s)"
        in " ".join(ran.out.split())
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


def flat(text: str) -> str:
    return " ".join(text.split())


def test_a_misspelt_roster_key_gets_the_hint_preview_gives(
    fake_stack: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    config = sandbox_config("http://127.0.0.1:9", [KAHVILA, KIRJA_KETTU])
    config["roster:client"] = config.pop("roster:clients")
    fake_stack["config"] = config
    ran = run_command(capsys, "validate")
    assert ran.code == 1
    assert "'roster:client': is not a roster key; did you mean roster:clients?" in flat(ran.out)


def test_every_missing_provider_setting_at_once_with_its_command(
    fake_stack: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    config = sandbox_config("http://127.0.0.1:9", [KAHVILA, KIRJA_KETTU])
    for key in ("fabricai:apiKey", "procountor:clientId", "procountor:clientSecret", "netvisor:partnerKey"):
        del config[key]
    config["fabricai:verification"] = "local"
    fake_stack["config"] = config
    ran = run_command(capsys, "validate")
    assert ran.code == 1
    out = flat(ran.out)
    assert "The roster has 4 problems:" in out
    for command in (
        "pulumi config set --secret fabricai:apiKey <key>",
        "pulumi config set procountor:clientId <client id>",
        "pulumi config set --secret procountor:clientSecret <client secret>",
        "pulumi config set --secret netvisor:partnerKey <partner key>",
    ):
        assert command in out, out


def test_a_firm_verifying_at_fabricai_needs_no_partner_secret(
    fake_stack: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    config = sandbox_config("http://127.0.0.1:9", [KAHVILA, KIRJA_KETTU])
    for key in (
        "procountor:clientId",
        "procountor:clientSecret",
        "netvisor:partnerId",
        "netvisor:partnerKey",
    ):
        del config[key]
    fake_stack["config"] = config
    ran = run_command(capsys, "validate")
    assert ran.code == 0, ran.out
    del config["fabricai:apiKey"]
    ran = run_command(capsys, "validate")
    assert ran.code == 1 and "The roster has 1 problem:" in ran.out and "fabricai:apiKey" in ran.out


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("netvisor:language", "xx", "must be one of FI, EN, SE"),
        (
            "procountor:requestsPerSecond",
            "1e-300",
            "must be a number of requests per second from 0.1 to 1000",
        ),
        ("procountor:requestsPerSecond", "fast", "must be a number of requests per second"),
        ("fabricai:verification", "sometimes", "must be one of auto | portal | local"),
    ],
)
def test_a_malformed_setting_is_named_with_its_command(
    fake_stack: dict[str, Any], capsys: pytest.CaptureFixture[str], key: str, value: str, says: str
) -> None:
    fake_stack["config"] = {**sandbox_config("http://127.0.0.1:9", [KAHVILA, KIRJA_KETTU]), key: value}
    ran = run_command(capsys, "validate")
    assert ran.code == 1
    out = flat(ran.out)
    assert f"{key}: {says}" in out and f"pulumi config set {key} " in out
    assert value not in out.replace(key, "")


@pytest.mark.parametrize(
    ("secret", "held_in"),
    [
        (PORTAL_KEY, "fabricai:apiKey"),
        (NETVISOR_KEY, "roster:netvisorCredentials.firm.customerKey"),
        (PROCOUNTOR_KEYS["2077474-0"], "roster:procountorApiKeys['2077474-0']"),
    ],
)
def test_a_secret_written_anywhere_in_an_entry_is_refused_never_quoted(
    fake_stack: dict[str, Any], capsys: pytest.CaptureFixture[str], secret: str, held_in: str
) -> None:
    config = sandbox_config("http://127.0.0.1:9", [KAHVILA, KIRJA_KETTU])
    config["roster:clients"] = [
        {**KAHVILA, "tags": {"note": f"key: {secret}"}},
        {**KIRJA_KETTU, "businessId": secret},
    ]
    fake_stack["config"] = config
    ran = run_command(capsys, "validate")
    assert ran.code == 1
    out = flat(ran.out)
    assert (
        f"roster:clients[0] (Kahvila Kuppi Oy, 2077474-0): tags.note: holds the secret held in {held_in}"
        in out
    )
    assert f"roster:clients[1] (Kirja-Kettu Oy): businessId: holds the secret held in {held_in}" in out
    for shown in ALL_SECRETS:
        assert shown not in ran.out + ran.err


def test_erp_names_in_any_case(fake_stack: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    config = sandbox_config("http://127.0.0.1:9", [KAHVILA, KIRJA_KETTU])
    config["roster:clients"] = [{**KAHVILA, "erp": "Procountor"}, {**KIRJA_KETTU, "erp": "NETVISOR"}]
    fake_stack["config"] = config
    ran = run_command(capsys, "validate")
    assert ran.code == 0, ran.out
