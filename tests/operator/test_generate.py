"""``generate`` from the sandbox portal's clients and/or a CSV client list: the roster, the report both
ways, and the key commands (never a value)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import SecretStr

from provider.cli.config import roster_of
from provider.cli.generate import key_commands
from provider.portal import ClientBody, PortalClient
from provider.settings import PortalSettings
from sandbox.server import RunningSandbox
from tests.operator.conftest import ALL_SECRETS, PORTAL_KEY, run_command, sandbox_config

EXISTING = [
    ("2077474-0", "Kahvila Kuppi Oy", "procountor"),
    ("1618033-3", "Kirja-Kettu Oy", "netvisor"),
    ("2925630-9", "Öljy-Äijät Oy", "procountor"),
]


@pytest.fixture
def onboarded_by_hand(fake_stack: dict[str, Any], example_sandbox: RunningSandbox) -> None:
    """The example portal with the clients a firm onboarded by hand before it used the roster (EXISTING),
    and a stack of no clients yet pointing at it."""
    url = example_sandbox.service_url("portal")
    portal = PortalClient(PortalSettings(url=url, api_key=SecretStr(PORTAL_KEY)))
    for business_id, name, system in EXISTING:
        portal.register(business_id, ClientBody(name=name, system=system))
    fake_stack["config"] = sandbox_config(example_sandbox.url, [])


@pytest.mark.usefixtures("onboarded_by_hand")
def test_from_the_portal_every_client_is_adopted_with_its_erp(
    fake_stack: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fake_stack["config"] |= {
        "roster:procountorApiKeys": {"2077474-0": "FAKE-pc-key-kahvila-kuppi"},
        "roster:netvisorCredentials": None,
    }
    output = tmp_path / "roster.yaml"
    ran = run_command(capsys, "generate", "--portal", "--output", str(output))
    assert ran.code == 0, ran.err
    written = yaml.safe_load(output.read_text(encoding="utf-8"))
    assert written["config"]["roster:clients"] == [
        {
            "businessId": "1618033-3",
            "name": "Kirja-Kettu Oy",
            "erp": "netvisor",
            "adopt": True,
            "netvisorCredentials": "firm",
        },
        {"businessId": "2077474-0", "name": "Kahvila Kuppi Oy", "erp": "procountor", "adopt": True},
        {"businessId": "2925630-9", "name": "Öljy-Äijät Oy", "erp": "procountor", "adopt": True},
    ]
    err = " ".join(ran.err.split())
    assert "3 clients: 3 adopted from the portal, 0 new." in err
    # The key the stack holds is not asked for again; the others are, without any value.
    assert "pulumi config set --secret --path 'roster:procountorApiKeys[\"2925630-9\"]'" in err
    assert "2077474-0\"]'" not in err
    assert "pulumi config set --secret --path roster:netvisorCredentials.firm.customerKey" in err
    for secret in ALL_SECRETS:
        assert secret not in ran.out + ran.err + output.read_text(encoding="utf-8")
    # The same roster model accepts it once the keys are set.
    config = {**fake_stack["config"], **written["config"]}
    config["roster:procountorApiKeys"] = {"2077474-0": "k1", "2925630-9": "k2"}
    config["roster:netvisorCredentials"] = {"firm": {"customerId": "c", "customerKey": "k"}}
    assert len(roster_of(config).clients) == 3


@pytest.mark.usefixtures("onboarded_by_hand")
def test_portal_and_list_together_report_both_ways(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    listing = tmp_path / "asiakkaat.csv"
    listing.write_bytes(
        "Y-tunnus;Nimi;Järjestelmä;Tiimi\r\n"
        "2077474-0;Kahvila Kuppi Oy;Procountor;Team North\r\n"
        "1618033-3;Kirja-Kettu Oy;;\r\n"
        "0174592-8;Metsä-Mökit Ky;Procountor;Team South\r\n".encode("cp1252")
    )
    ran = run_command(capsys, "generate", "--portal", "--csv", str(listing))
    assert ran.code == 0, ran.err
    entries = yaml.safe_load(ran.out)["config"]["roster:clients"]
    assert [(e["businessId"], e.get("adopt", False), e["erp"]) for e in entries] == [
        ("0174592-8", False, "procountor"),
        ("1618033-3", True, "netvisor"),  # the ERP the list leaves out comes from the portal record
        ("2077474-0", True, "procountor"),
    ]
    assert entries[2]["teams"] == ["Team North"]
    err = " ".join(ran.err.split())
    assert "note: " in err and "line 1: not UTF-8: read as Windows-1252" in err
    assert "In the portal but not in the list (left out of the roster): - Öljy-Äijät Oy (2925630-9)" in err
    assert (
        "In the list but not in the portal (registered by the next `pulumi up`): "
        "- Metsä-Mökit Ky (0174592-8), line 4" in err
    )


def test_a_list_with_problems_writes_nothing(
    fake_stack: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    listing = tmp_path / "clients.csv"
    listing.write_text("Business ID,Name,ERP\n2077474-0,Kahvila,procountor\n2077474-1,Bad,procountor\n")
    output = tmp_path / "roster.yaml"
    ran = run_command(capsys, "generate", "--csv", str(listing), "--output", str(output))
    assert ran.code == 1
    assert "clients.csv: line 3: bad business ID" in " ".join(ran.err.split())
    assert not output.exists()
    ran = run_command(capsys, "generate")
    assert ran.code == 2 and "pass --portal, --csv FILE, or both" in ran.err


@pytest.mark.usefixtures("onboarded_by_hand")
def test_a_business_id_with_two_portal_records_is_left_out_and_named(
    example_sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    # A second record of Kahvila, made by hand in the portal (the API does not refuse it).
    created = httpx.post(
        f"{example_sandbox.service_url('portal')}/clients",
        headers={"Authorization": f"Bearer {PORTAL_KEY}"},
        json={
            "name": "Kahvila Kuppi Oy (2)",
            "businessId": "FI20774740",
            "country": "FI",
            "system": "procountor",
        },
    )
    assert created.status_code in (200, 201), created.text
    ran = run_command(capsys, "generate", "--portal")
    assert ran.code == 0, ran.err
    ids = [e["businessId"] for e in yaml.safe_load(ran.out)["config"]["roster:clients"]]
    assert ids == ["1618033-3", "2925630-9"]
    err = " ".join(ran.err.split())
    assert "Portal clients left out:" in err
    assert "(2077474-0): the portal holds 2 records of this business ID" in err


HOSTILE = "x' ; touch /tmp/fabricai-roster-pwned ; echo '"


@pytest.mark.parametrize("where", ["csv", "option"])
def test_no_shell_command_is_built_from_a_hostile_credential_set_name(
    fake_stack: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path, where: str
) -> None:
    listing = tmp_path / "clients.csv"
    cell = HOSTILE.replace('"', "") if where == "csv" else ""
    listing.write_text(
        f'Business ID;Name;ERP;Netvisor credentials\n1618033-3;Kirja-Kettu Oy;netvisor;"{cell}"\n',
        encoding="utf-8",
    )
    extra = ["--netvisor-credentials", HOSTILE] if where == "option" else []
    ran = run_command(capsys, "generate", "--csv", str(listing), *extra)
    assert ran.code == 1, ran.out + ran.err
    flat = " ".join(ran.err.split())
    assert "letters A-Z and a-z, digits, '-' and '_'" in flat
    assert "pulumi config set" not in ran.out + ran.err


def test_every_printed_argument_is_quoted_for_the_shell() -> None:
    # Even a name the roster would refuse cannot become shell syntax in a printed command.
    entries = [
        {
            "businessId": "1618033-3",
            "name": "Kirja-Kettu Oy",
            "erp": "netvisor",
            "netvisorCredentials": HOSTILE,
        }
    ]
    commands = key_commands(entries, {})
    assert [shlex.split(command) for command in commands] == [
        ["pulumi", "config", "set", "--path", f"roster:netvisorCredentials.{HOSTILE}.customerId"],
        [
            "pulumi",
            "config",
            "set",
            "--secret",
            "--path",
            f"roster:netvisorCredentials.{HOSTILE}.customerKey",
        ],
    ]
    (procountor,) = key_commands([{"businessId": "FI20774740", "name": "K", "erp": "procountor"}], {})
    assert shlex.split(procountor)[-1] == 'roster:procountorApiKeys["2077474-0"]'


OUR_STACK = "sandbox-0123456789abcdef01234567"
THEIR_STACK = "sandbox-fedcba9876543210fedcba98"


def test_from_the_portal_each_record_says_whose_it_is(
    fake_stack: dict[str, Any], example_sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """This stack's own record needs no adopt; another stack's (same project and stack name, other identity)
    and one made by hand get `adopt: true` with a comment beside it that says whose they are."""
    url = example_sandbox.service_url("portal")
    portal = PortalClient(PortalSettings(url=url, api_key=SecretStr(PORTAL_KEY)))
    portal.register("2077474-0", ClientBody(name="Kahvila Kuppi Oy", system="procountor"), stack=OUR_STACK)
    portal.register("2925630-9", ClientBody(name="Öljy-Äijät Oy", system="procountor"), stack=THEIR_STACK)
    portal.register("1618033-3", ClientBody(name="Kirja-Kettu Oy", system="netvisor"))
    fake_stack["config"] = sandbox_config(example_sandbox.url, []) | {"roster:stackId": OUR_STACK}

    ran = run_command(capsys, "generate", "--portal")
    assert ran.code == 0, ran.err
    entries = {e["businessId"]: e for e in yaml.safe_load(ran.out)["config"]["roster:clients"]}
    assert "adopt" not in entries["2077474-0"]  # taken back by `pulumi up` without adopt
    assert entries["2925630-9"]["adopt"] is True and entries["1618033-3"]["adopt"] is True
    lines = ran.out.splitlines()
    adopt_lines = [line for line in lines if "adopt: true" in line]
    assert len(adopt_lines) == 2 and all("#" in line for line in adopt_lines)  # never silently
    assert any(f"ANOTHER STACK's record (rosterStack {THEIR_STACK})" in line for line in adopt_lines)
    assert any("registered by hand (no rosterStack tag)" in line for line in adopt_lines)
    assert any(
        line.startswith("  - businessId: 2077474-0")
        and f"this stack's own record (rosterStack {OUR_STACK})" in line
        for line in lines
    )
    err = " ".join(ran.err.split())
    assert "1 of them are another stack's records" in err and "2925630-9" in err
    assert "1 this stack's own (no adopt needed)" in err

    # Without a pinned identity, the stack output tells it; a stack with no identity owns no record.
    fake_stack["config"].pop("roster:stackId")
    fake_stack["outputs"] = {"rosterStackId": OUR_STACK}
    ran = run_command(capsys, "generate", "--portal")
    assert (
        "adopt"
        not in {e["businessId"]: e for e in yaml.safe_load(ran.out)["config"]["roster:clients"]}["2077474-0"]
    )
    fake_stack["outputs"] = {}
    ran = run_command(capsys, "generate", "--portal")
    assert all(e["adopt"] for e in yaml.safe_load(ran.out)["config"]["roster:clients"])
