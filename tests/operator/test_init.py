"""``fabricai-roster init`` with flags, against a stand-in ``pulumi`` that records every call
(tests/support/fake_pulumi.py): what it asks for, what it refuses, what it sets and how (secrets on stdin
only, never a partner secret), and what it leaves behind when it stops. The real CLI, a real terminal and
``pulumi preview`` of the result: tests/cli/test_init_cli.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from provider.cli.init import redact_url
from tests.operator.conftest import run_command, run_piped
from tests.support.fake_pulumi import FakePulumi, install_fake_pulumi
from tests.support.project_copy import folder_digest, roster_program

PORTAL_KEY = "FAKE-portal-org-key-0001"
KAHVILA_KEY = "FAKE-pc-key-kahvila-kuppi"
NETVISOR_KEY = "FAKE-nv-customer-key-tase-1"
PASSPHRASE = "correct horse battery staple"
PARTNER_SECRETS = ("procountor:clientSecret", "netvisor:partnerKey", "clientSecret", "partnerKey")
# The firm's list with its keys, as a firm exports it from Excel (";", Finnish headers).
CSV_WITH_KEYS = (
    "Y-tunnus;Nimi;Järjestelmä;Procountor API key;Netvisor customer id;Netvisor customer key\n"
    f"2077474-0;Kahvila Kuppi Oy;Procountor;{KAHVILA_KEY};;\n"
    f"1618033-3;Kirja-Kettu Oy;Netvisor;;TT_tase_api_1;{NETVISOR_KEY}\n"
)
CSV_WITHOUT_KEYS = "Y-tunnus;Nimi;Järjestelmä\n2077474-0;Kahvila Kuppi Oy;Procountor\n"


class Firm:
    """A temporary project, a passphrase file, the portal key in a file, and the stand-in CLI on PATH."""

    def __init__(self, tmp_path: Path, pulumi: FakePulumi) -> None:
        self.project = roster_program(tmp_path / "project")
        self.pulumi = pulumi
        self.passphrase = tmp_path / "passphrase"
        self.passphrase.write_text(PASSPHRASE + "\n", encoding="utf-8")
        self.api_key = tmp_path / "api-key"
        self.api_key.write_text(PORTAL_KEY + "\n", encoding="utf-8")
        self.csv = tmp_path / "asiakkaat.csv"
        self.csv.write_text(CSV_WITH_KEYS, encoding="utf-8")
        self.home = tmp_path / "home"

    @property
    def settings(self) -> Path:
        return self.project / "stacks" / "Pulumi.firm.yaml"

    def flags(self, *extra: str) -> list[str]:
        return [
            "--cwd",
            str(self.project),
            "init",
            "--yes",
            "--stack",
            "firm",
            "--passphrase-file",
            str(self.passphrase),
            "--api-key-file",
            str(self.api_key),
            *extra,
        ]


def secrets_set(pulumi: FakePulumi) -> dict[str, str]:
    """``pulumi config set --secret --path PATH`` calls: PATH -> what was given on stdin."""
    found = {}
    for call in pulumi.calls():
        args = call["args"]
        if args[:2] == ["config", "set"]:
            found[args[args.index("--path") + 1]] = call["stdin"]
    return found


@pytest.fixture
def firm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Firm:
    return _firm(tmp_path, monkeypatch, stacks=())


def _firm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **fake: object) -> Firm:
    pulumi = install_fake_pulumi(tmp_path / "bin", **fake)  # type: ignore[arg-type]
    monkeypatch.setenv("PATH", f"{pulumi.folder}:{Path(sys.executable).parent}:/usr/bin:/bin")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for variable in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        monkeypatch.delenv(variable, raising=False)
    return Firm(tmp_path, pulumi)


def test_with_flags_the_stack_is_made_with_every_secret_on_stdin_and_no_partner_secret(
    firm: Firm, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = run_command(capsys, *firm.flags("--csv", str(firm.csv)))
    assert ran.code == 0, ran.err

    # The settings file: the roster and the Netvisor customer id in plain text, no key.
    text = firm.settings.read_text(encoding="utf-8")
    config = yaml.safe_load(text)["config"]
    assert config["roster:clients"] == [
        {
            "businessId": "1618033-3",
            "name": "Kirja-Kettu Oy",
            "erp": "netvisor",
            "netvisorCredentials": "firm",
        },
        {"businessId": "2077474-0", "name": "Kahvila Kuppi Oy", "erp": "procountor"},
    ]
    assert config["roster:netvisorCredentials"] == {"firm": {"customerId": "TT_tase_api_1"}}
    assert "fabricai:portalUrl" not in config  # the default portal is not written

    # The stack in the default backend (a folder in the home, made for its owner only), then each secret.
    calls = firm.pulumi.calls()
    backend = firm.home / ".fabricai-roster" / "state"
    assert backend.is_dir() and backend.stat().st_mode & 0o077 == 0
    assert {call["env"]["PULUMI_BACKEND_URL"] for call in calls} == {f"file://{backend}"}
    # The passphrase from the stack's creation on (listing the backend's stacks needs none).
    assert {call["env"].get("PULUMI_CONFIG_PASSPHRASE_FILE") for call in calls[1:]} == {str(firm.passphrase)}
    assert firm.pulumi.commands() == [["stack", "ls"], ["stack", "init"], *[["config", "set"]] * 3]
    init = calls[1]["args"]
    assert init[init.index("--secrets-provider") + 1] == "passphrase"
    assert init[init.index("--stack") + 1] == "firm"
    assert secrets_set(firm.pulumi) == {
        "fabricai:apiKey": PORTAL_KEY,
        'roster:procountorApiKeys["2077474-0"]': KAHVILA_KEY,
        'roster:netvisorCredentials["firm"]["customerKey"]': NETVISOR_KEY,
    }
    sets = [call["args"] for call in calls if call["args"][:2] == ["config", "set"]]
    assert all("--secret" in args and args[args.index("--stack") + 1] == "firm" for args in sets)

    secrets = (PORTAL_KEY, KAHVILA_KEY, NETVISOR_KEY, PASSPHRASE)
    every_argument = " ".join(arg for call in calls for arg in call["args"])
    for secret in secrets:
        assert secret not in every_argument  # never on a command line (the process list)
        assert secret not in ran.out + ran.err + text
    for partner in PARTNER_SECRETS:
        assert partner not in every_argument + text + ran.out + ran.err

    # It ends with the next commands and what every run needs.
    out = " ".join(ran.out.split())
    assert f"export PULUMI_BACKEND_URL='file://{backend}'" in out
    assert "PULUMI_CONFIG_PASSPHRASE_FILE" in out and "keep it safe" in out
    next_steps = out[out.index("Next:") :]
    assert next_steps.index(" validate") < next_steps.index(" preview") < next_steps.index(" up`")
    # The CSV held keys in plain text: the firm is told to put it away.
    assert "holds client keys in plain text" in " ".join(ran.err.split())


def test_with_yes_every_missing_answer_is_named_by_its_flag_and_nothing_is_made(
    firm: Firm, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = run_command(capsys, "--cwd", str(firm.project), "init", "--yes")
    assert ran.code == 2
    err = " ".join(ran.err.split())
    for flag in (
        "--stack NAME",
        "--api-key-file FILE",
        "--csv FILE and/or --portal",
        "--passphrase-file FILE",
    ):
        assert flag in err
    assert firm.pulumi.calls() == []
    assert sorted(folder_digest(firm.project / "stacks")) == [".venv", "__main__.py"]


def test_without_a_terminal_nothing_is_asked_either(firm: Firm) -> None:
    ran = run_piped("production\n", "--cwd", str(firm.project), "init", "--csv", str(firm.csv))  # a pipe
    assert ran.code == 2
    err = " ".join(ran.err.split())
    assert "init asks nothing here (standard input is not a terminal)" in err
    assert "--stack NAME" in err and "--api-key-file FILE" in err and "--csv FILE" not in err
    assert firm.pulumi.calls() == []


def test_with_yes_a_missing_client_key_names_where_it_can_come_from(
    firm: Firm, capsys: pytest.CaptureFixture[str]
) -> None:
    firm.csv.write_text(CSV_WITHOUT_KEYS, encoding="utf-8")
    ran = run_command(capsys, *firm.flags("--csv", str(firm.csv)))
    assert ran.code == 2
    err = " ".join(ran.err.split())
    assert "no key for 2077474-0" in err and "--keys-file FILE" in err and "--keys-later" in err
    assert not firm.settings.exists()
    assert ["stack", "init"] not in firm.pulumi.commands()


def test_keys_later_and_a_keys_file(firm: Firm, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    firm.csv.write_text(
        "Y-tunnus;Nimi;Järjestelmä\n2077474-0;Kahvila Kuppi Oy;Procountor\n"
        "2925630-9;Öljy-Äijät Oy;Procountor\n0174592-8;Metsä-Mökit Ky;Procountor\n",
        encoding="utf-8",
    )
    keys = tmp_path / "keys.yaml"
    keys.write_text(yaml.safe_dump({"roster:procountorApiKeys": {"FI29256309": "FAKE-pc-key-oljy"}}), "utf-8")
    ran = run_command(capsys, *firm.flags("--csv", str(firm.csv), "--keys-file", str(keys), "--keys-later"))
    assert ran.code == 0, ran.err
    assert secrets_set(firm.pulumi) == {
        "fabricai:apiKey": PORTAL_KEY,
        'roster:procountorApiKeys["FI29256309"]': "FAKE-pc-key-oljy",
    }
    out = " ".join(ran.out.split())
    # Two keys to set later are no "same API key under two clients" (each is stood in for on its own), and
    # each command runs as printed, its value at the prompt or on stdin.
    for later in ("0174592-8", "2077474-0"):
        command = f"pulumi config set --secret --path 'roster:procountorApiKeys[\"{later}\"]' --stack firm"
        assert command in out
    assert "2925630-9" not in out  # its key is set
    assert "FAKE-pc-key-oljy" not in ran.out + ran.err


def test_an_existing_settings_file_is_never_overwritten(
    firm: Firm, capsys: pytest.CaptureFixture[str]
) -> None:
    firm.settings.write_text("config:\n  roster:clients: []\n", encoding="utf-8")
    ran = run_command(capsys, *firm.flags("--csv", str(firm.csv)))
    assert ran.code == 2
    assert "stacks/Pulumi.firm.yaml exists already" in " ".join(ran.err.split())
    assert firm.settings.read_text(encoding="utf-8") == "config:\n  roster:clients: []\n"
    assert firm.pulumi.commands() == [["stack", "ls"]]


def test_an_existing_stack_is_refused_before_anything_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    firm = _firm(tmp_path, monkeypatch, stacks=("firm",))
    ran = run_command(capsys, *firm.flags("--csv", str(firm.csv)))
    assert ran.code == 2
    assert "stack 'firm' exists already" in " ".join(ran.err.split())
    assert firm.pulumi.commands() == [["stack", "ls"]]
    assert not firm.settings.exists()


def test_a_failure_after_the_stack_was_made_removes_what_this_run_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    firm = _firm(tmp_path, monkeypatch, fail_on="roster:procountorApiKeys")
    ran = run_command(capsys, *firm.flags("--csv", str(firm.csv)))
    assert ran.code == 2
    err = " ".join(ran.err.split())
    assert "failed (exit status 1)" in err and "were not kept" in err
    assert firm.pulumi.commands()[-1] == ["stack", "rm"]
    assert not firm.settings.exists()
    for secret in (PORTAL_KEY, KAHVILA_KEY, NETVISOR_KEY):
        assert secret not in ran.out + ran.err


def test_a_list_with_problems_makes_nothing(firm: Firm, capsys: pytest.CaptureFixture[str]) -> None:
    firm.csv.write_text("Y-tunnus;Nimi;Järjestelmä\n2925630-8;Öljy-Äijät Oy;Procountor\n", encoding="utf-8")
    ran = run_command(capsys, *firm.flags("--csv", str(firm.csv)))
    assert ran.code == 1
    assert "check digit should be 9" in ran.err
    assert not firm.settings.exists()
    assert ["stack", "init"] not in firm.pulumi.commands()


def test_the_portal_key_from_stdin(firm: Firm) -> None:
    args = firm.flags("--csv", str(firm.csv))
    args[args.index("--api-key-file") + 1] = "-"
    ran = run_piped("FAKE-portal-org-key-0002\n", *args)
    assert ran.code == 0, ran.err
    assert secrets_set(firm.pulumi)["fabricai:apiKey"] == "FAKE-portal-org-key-0002"


def test_a_team_backend_and_its_password_are_never_shown(
    firm: Firm, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgres://roster:S3cret-pw@db.example.fi:5432/pulumi"
    ran = run_command(capsys, *firm.flags("--csv", str(firm.csv), "--backend", url))
    assert ran.code == 0, ran.err
    assert {call["env"]["PULUMI_BACKEND_URL"] for call in firm.pulumi.calls()} == {url}
    assert "S3cret-pw" not in ran.out + ran.err
    assert "export PULUMI_BACKEND_URL='postgres://roster:<password>@db.example.fi:5432/pulumi'" in ran.out
    assert redact_url(url) == "postgres://roster:***@db.example.fi:5432/pulumi"
    assert redact_url("s3://bucket/roster") == "s3://bucket/roster"


def test_help_says_what_the_passphrase_is_and_asks_no_partner_secret(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ran = run_command(capsys, "init", "--help")
    assert ran.code == 0
    text = " ".join(ran.out.split())
    assert "The passphrase encrypts this stack's secrets" in text and "Keep it safe" in text
    assert "PULUMI_CONFIG_PASSPHRASE or, better, PULUMI_CONFIG_PASSPHRASE_FILE" in text
    assert "Never asks for FabricAI's partner secrets" in text
    for partner in ("clientSecret", "partnerKey", "client-secret", "partner-key"):
        assert partner not in text


def test_keys_in_the_wrong_columns_or_two_keys_for_one_set_are_problems_and_never_shown(
    firm: Firm, capsys: pytest.CaptureFixture[str]
) -> None:
    firm.csv.write_text(
        "Y-tunnus;Nimi;Järjestelmä;Procountor API key;Netvisor customer id;Netvisor customer key\n"
        f"2077474-0;Kahvila Kuppi Oy;Procountor;{KAHVILA_KEY};TT_tase_api_1;\n"
        f"1618033-3;Kirja-Kettu Oy;Netvisor;;TT_tase_api_1;{NETVISOR_KEY}\n"
        "1572860-0;Beta Oy;Netvisor;;TT_tase_api_1;FAKE-nv-another-key\n",
        encoding="utf-8",
    )
    ran = run_command(capsys, *firm.flags("--csv", str(firm.csv)))
    assert ran.code == 1
    err = " ".join(ran.err.split())
    assert "line 2 (Kahvila Kuppi Oy, 2077474-0): Netvisor credentials on a Procountor client" in err
    assert "line 4 (Beta Oy, 1572860-0): Netvisor credential set 'firm' has another customerKey" in err
    for secret in (KAHVILA_KEY, NETVISOR_KEY, "FAKE-nv-another-key"):
        assert secret not in ran.out + ran.err
    assert not firm.settings.exists()
    assert ["stack", "init"] not in firm.pulumi.commands()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            "roster:procountorApiKeys: [FAKE-pc-key-in-a-list]\n",
            "roster:procountorApiKeys: expected a mapping",
        ),
        ("roster:procountorApiKey: {2077474-0: FAKE-pc-key-misspelt}\n", "expected a mapping of"),
        (
            "roster:netvisorCredentials: {firm: FAKE-nv-key-flat}\n",
            "firm: expected customerId and customerKey",
        ),
        ("roster:procountorApiKeys: {2077474-0: [FAKE-pc-key\n", "not valid YAML"),
    ],
)
def test_a_keys_file_with_problems_makes_nothing_and_shows_no_key(
    firm: Firm, capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, problem: str
) -> None:
    keys = tmp_path / "keys.yaml"
    keys.write_text(content, encoding="utf-8")
    firm.csv.write_text(CSV_WITHOUT_KEYS, encoding="utf-8")
    ran = run_command(capsys, *firm.flags("--csv", str(firm.csv), "--keys-file", str(keys)))
    assert ran.code in (1, 2), ran.err
    assert problem in " ".join(ran.err.split())
    assert "FAKE-" not in ran.out + ran.err  # no key, and not the portal key either
    assert not firm.settings.exists()
