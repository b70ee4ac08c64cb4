"""``roster:clientsFile``: the client list in a YAML file reads as ``roster:clients`` does, with the same
problems (named by the file), and keeps the engine's one config string (``PULUMI_CONFIG``) small."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.mocks import MockEngine

from provider.errors import RosterInvalid
from provider.program import read_roster
from provider.roster import Roster
from provider.roster.config_size import MAX_ARG_STRLEN, WARN_FROM, as_engine_text, environment_bytes
from provider.roster.stack_config import config_size_warning, parse_stack_config, project_root
from tests.provider.roster.test_roster import (
    ACME_KEY,
    FIRM_CUSTOMER_KEY,
    _valid_business_ids,
    assert_readable_and_secret_free,
)
from tests.provider.roster.test_roster_keys import stack_config

REPOSITORY = Path(__file__).resolve().parents[3]
CLIENTS = "roster:clients"
CLIENTS_FILE = "roster:clientsFile"


def file_config(path: str = "clients.yaml") -> dict[str, Any]:
    """The valid roster of test_roster_keys, its client list moved to the file ``path`` names."""
    config = stack_config()
    del config[CLIENTS]
    return {**config, CLIENTS_FILE: path}


def write(folder: Path, text: str, name: str = "clients.yaml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(config: dict[str, Any], root: Path) -> list[str]:
    with pytest.raises(RosterInvalid) as caught:
        parse_stack_config(config, root)
    assert_readable_and_secret_free(caught.value)
    return [str(problem) for problem in caught.value.problems]


# --- the same roster ---------------------------------------------------------------------------------


def test_a_file_roster_is_the_inline_roster(tmp_path: Path) -> None:
    write(tmp_path, yaml.safe_dump(stack_config()[CLIENTS], allow_unicode=True))

    from_file = parse_stack_config(file_config(), tmp_path)

    assert isinstance(from_file, Roster)
    assert from_file == parse_stack_config(stack_config(), tmp_path)
    assert [str(client.business_id) for client in from_file.clients] == [
        "2925630-9",
        "1572860-0",
        "2077474-0",
    ]


def test_the_example_clients_file_is_the_example_stacks_roster() -> None:
    stack = yaml.safe_load((REPOSITORY / "examples/Pulumi.sandbox.yaml").read_text(encoding="utf-8"))[
        "config"
    ]
    secrets = yaml.safe_load((REPOSITORY / "examples/sandbox-secrets.yaml").read_text(encoding="utf-8"))[
        "sandbox"
    ]
    credentials = {
        name: {**pair, **secrets["roster:netvisorCredentials"][name]}
        for name, pair in stack["roster:netvisorCredentials"].items()
    }
    inline = {**stack, **secrets, "roster:netvisorCredentials": credentials}
    from_file = {key: value for key, value in inline.items() if key != CLIENTS}

    roster = parse_stack_config({**from_file, CLIENTS_FILE: "examples/clients.sandbox.yaml"}, REPOSITORY)

    assert roster == parse_stack_config(inline, REPOSITORY)
    assert len(roster.clients) == 7


def test_a_relative_path_is_read_from_the_root_given_and_an_absolute_one_as_is(tmp_path: Path) -> None:
    path = write(tmp_path / "rosters", yaml.safe_dump(stack_config()[CLIENTS]))

    relative = parse_stack_config(file_config("rosters/clients.yaml"), tmp_path)
    absolute = parse_stack_config(file_config(str(path)), tmp_path / "elsewhere")

    assert relative == absolute
    assert len(relative.clients) == 3


def test_without_a_root_the_file_is_read_from_the_folder_holding_pulumi_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: roster\nruntime: python\nmain: stacks/\n", encoding="utf-8")
    write(tmp_path / "examples", yaml.safe_dump(stack_config()[CLIENTS]))
    (tmp_path / "stacks").mkdir()
    monkeypatch.chdir(tmp_path / "stacks")  # where the engine runs the program (Pulumi.yaml's main)

    assert project_root() == tmp_path
    assert len(parse_stack_config(file_config("examples/clients.yaml")).clients) == 3


@contextmanager
def engine_settings(**told: Any) -> Iterator[None]:
    """The SDK's settings as the language host sets them for a run (``pulumi.runtime.settings.configure``):
    ``root_directory`` the engine tells, ``engine`` the one the program logs to; then back as they were."""
    keys = ("project", "stack", "monitor", "engine", "parallel", "dry_run", "organization", "root_directory")
    before = {key: getattr(runtime_settings.SETTINGS, key) for key in keys}
    runtime_settings.configure(runtime_settings.Settings(**{**before, **told}))
    try:
        yield
    finally:
        runtime_settings.configure(runtime_settings.Settings(**before))


def test_the_root_the_engine_tells_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPOSITORY)

    with engine_settings(root_directory=str(tmp_path)):
        assert project_root() == tmp_path


# --- problems ----------------------------------------------------------------------------------------


def test_a_bad_entry_is_named_by_the_file_and_its_position(tmp_path: Path) -> None:
    clients = stack_config()[CLIENTS]
    clients[1]["vat"] = {"mode": "partial", "deductionPercent": 0}
    write(tmp_path, yaml.safe_dump(clients))

    problems = problems_of(file_config(), tmp_path)

    assert problems == [
        "clients.yaml[1] (Beta Oy, 1572860-0): vat.deductionPercent: must be from 1 to 99, got 0 "
        "(for full deduction use mode: standard, for none use mode: exempt)"
    ]


def test_problems_across_entries_name_the_file(tmp_path: Path) -> None:
    clients = stack_config()[CLIENTS]
    clients.append(dict(clients[0]))
    write(tmp_path, yaml.safe_dump(clients))

    problems = problems_of(file_config(), tmp_path)

    assert problems[0].startswith(
        "clients.yaml[3] (Acme Oy, 2925630-9): businessId: the same business ID as "
    )
    assert "clients.yaml[0] (Acme Oy, 2925630-9)" in problems[0]


def test_bad_yaml_is_named_with_its_line_and_column_but_not_its_text(tmp_path: Path) -> None:
    write(tmp_path, f"- businessId: 2925630-9\n  name: Acme Oy\n apiKey: {ACME_KEY}\n")

    problems = problems_of(file_config(), tmp_path)

    assert len(problems) == 1
    assert problems[0].startswith("clients.yaml: is not valid YAML: line 3, column 2: ")


def test_a_file_whose_top_level_is_not_a_list_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path, yaml.safe_dump({"clients": stack_config()[CLIENTS]}))

    problems = problems_of(file_config(), tmp_path)

    assert len(problems) == 1
    assert problems[0].startswith("clients.yaml: expected a list of client entries at the top level")
    assert problems[0].endswith("got a mapping")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "clients.yaml: is empty; it should hold the list roster:clients would"),
        ("# nothing yet\n", "clients.yaml: is empty; it should hold the list roster:clients would"),
        ("[]\n", "clients.yaml: is empty, and `pulumi up` would deregister every client of the stack"),
    ],
)
def test_an_empty_file_is_never_an_empty_roster_by_accident(
    tmp_path: Path, content: str, expected: str
) -> None:
    write(tmp_path, content)

    problems = problems_of(file_config(), tmp_path)

    assert problems[0].startswith(expected)


def test_an_empty_list_in_a_file_is_a_roster_when_confirmed(tmp_path: Path) -> None:
    write(tmp_path, "[]\n")
    config = {CLIENTS_FILE: "clients.yaml", "roster:allowEmpty": True}

    assert parse_stack_config(config, tmp_path).clients == []


def test_a_missing_file_names_the_path_it_looked_at(tmp_path: Path) -> None:
    problems = problems_of(file_config("rosters/clients.yaml"), tmp_path)

    assert problems == [
        f"roster:clientsFile: 'rosters/clients.yaml' cannot be read: there is no file "
        f"{tmp_path / 'rosters/clients.yaml'} (a relative path is read from the project root, {tmp_path})"
    ]


def test_a_folder_or_a_file_not_utf8_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes("- name: Öljy Oy\n".encode("latin-1"))

    assert problems_of(file_config("."), tmp_path)[0].endswith("is a folder; name the YAML file in it")
    assert "is not UTF-8 text (byte 8)" in problems_of(file_config("latin1.yaml"), tmp_path)[0]


@pytest.mark.parametrize("written", ["", 3, ["clients.yaml"]])
def test_a_clients_file_that_is_no_path_is_a_problem(tmp_path: Path, written: object) -> None:
    problems = problems_of({**file_config(), CLIENTS_FILE: written}, tmp_path)

    assert problems[0].startswith("roster:clientsFile: expected the path of a YAML file, got ")


def test_both_keys_set_is_a_problem_naming_both(tmp_path: Path) -> None:
    write(tmp_path, yaml.safe_dump(stack_config()[CLIENTS]))

    problems = problems_of({**stack_config(), CLIENTS_FILE: "clients.yaml"}, tmp_path)

    assert problems == [
        "roster:clientsFile: and roster:clients are both set; keep one: the clients in roster:clients, or in "
        "the file roster:clientsFile names (`pulumi config rm roster:clients` or "
        "`pulumi config rm roster:clientsFile`)"
    ]


def test_neither_key_set_mentions_the_clients_file(tmp_path: Path) -> None:
    config = stack_config()
    del config[CLIENTS]

    problems = problems_of(config, tmp_path)

    assert problems[0].startswith("roster:clients: is not set, so the roster lists no client")
    assert "or in a YAML file named by roster:clientsFile" in problems[0]


def test_a_misspelt_clients_file_key_is_named() -> None:
    config = {**file_config(), "roster:clientsfile": "clients.yaml"}
    del config[CLIENTS_FILE]

    with pytest.raises(RosterInvalid) as caught:
        parse_stack_config(config)

    assert (
        str(caught.value.problems[0])
        == "'roster:clientsfile': is not a roster key; did you mean roster:clientsFile?"
    )


@pytest.mark.parametrize(
    ("field", "shown"),
    [
        ("apiKey", "apiKey"),
        ("customerKey", "customerKey"),
        ("customer_key", "customer_key"),
        ("password", "password"),
    ],
)
def test_a_secret_in_the_file_is_refused_and_never_shown(tmp_path: Path, field: str, shown: str) -> None:
    clients = stack_config()[CLIENTS]
    clients[0][field] = ACME_KEY
    clients[1]["tags"] = {"segment": "retail", "partnerKey": FIRM_CUSTOMER_KEY}
    write(tmp_path, yaml.safe_dump(clients))

    problems = problems_of(file_config(), tmp_path)

    assert problems[0].startswith(f"clients.yaml[0] (Acme Oy, 2925630-9): {shown}: looks like a secret, and ")
    assert "keep the key in stack config, encrypted" in problems[0]
    assert "--secret" in problems[0]
    assert problems[1].startswith(
        "clients.yaml[1] (Beta Oy, 1572860-0): tags.partnerKey: looks like a secret"
    )
    assert len(problems) == 2  # the secret fields are left out of validation: no "unknown field" besides


def test_the_file_reads_yaml_1_2_as_stack_config_does(tmp_path: Path) -> None:
    clients = stack_config()[CLIENTS]
    text = yaml.safe_dump(clients) + "  adopt: yes\n  tags: {on: 2024-01-31, 'off': '1:20'}\n"
    write(tmp_path, text)

    problems = problems_of(file_config(), tmp_path)

    assert problems == [
        "clients.yaml[2] (Gamma Oy, 2077474-0): adopt: expected true or false, got 'yes' (text)"
    ]


# --- size --------------------------------------------------------------------------------------------


def engine_config(config: dict[str, Any]) -> dict[str, str]:
    """Stack config as the engine passes it: full key -> text, an object as its JSON text."""
    return {key: as_engine_text(value) for key, value in config.items()}


def netvisor_clients(count: int) -> list[dict[str, Any]]:
    """``count`` Netvisor clients of one credential set, each with a dimension and a team (no API key)."""
    return [
        {
            "businessId": str(business_id),
            "name": f"Asiakas {index} Oy",
            "erp": "netvisor",
            "netvisorCredentials": "firm",
            "dimensions": ["Kustannuspaikka"],
            "teams": ["Team North"],
        }
        for index, business_id in enumerate(_valid_business_ids(count))
    ]


def base_config() -> dict[str, Any]:
    return {
        "fabricai:apiKey": "portal-key",
        "netvisor:partnerId": "partner",
        "roster:netvisorCredentials": {"firm": {"customerId": "FIRM_1", "customerKey": FIRM_CUSTOMER_KEY}},
    }


def test_5000_clients_from_a_file_validate_with_a_small_stack_config(tmp_path: Path) -> None:
    clients = netvisor_clients(5000)
    write(tmp_path, yaml.dump(clients, Dumper=yaml.CSafeDumper, sort_keys=False))
    config = {**base_config(), CLIENTS_FILE: "clients.yaml"}

    roster = parse_stack_config(config, tmp_path)

    assert len(roster.clients) == 5000
    assert environment_bytes(engine_config(config)) < 32 * 1024
    # The same clients inline would not even start: the engine's one string is over Linux's limit.
    assert environment_bytes(engine_config({**base_config(), CLIENTS: clients})) > MAX_ARG_STRLEN


def test_the_size_is_what_linux_refuses_one_byte_above() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("MAX_ARG_STRLEN is Linux's")
    config = {"roster:clients": json.dumps(netvisor_clients(10), separators=(",", ":"))}
    padding = MAX_ARG_STRLEN - environment_bytes({**config, "roster:pad": ""})
    fits = {**config, "roster:pad": "x" * padding}
    assert environment_bytes(fits) == MAX_ARG_STRLEN

    def run_with(pulumi_config: dict[str, str]) -> None:
        value = json.dumps(pulumi_config, separators=(",", ":"), ensure_ascii=False)
        subprocess.run(["true"], env={"PULUMI_CONFIG": value}, check=True)

    run_with(fits)
    with pytest.raises(OSError, match="Argument list too long"):
        run_with({**config, "roster:pad": "x" * (padding + 1)})


def test_the_warning_fires_near_the_limit_with_the_size_and_the_fix() -> None:
    few = engine_config({**base_config(), CLIENTS: netvisor_clients(100)})
    many = engine_config({**base_config(), CLIENTS: netvisor_clients(600)})

    assert environment_bytes(few) < WARN_FROM <= environment_bytes(many) < MAX_ARG_STRLEN
    assert config_size_warning(few) is None
    warning = config_size_warning(many)
    assert warning is not None
    assert f"takes {environment_bytes(many):,} of the 131,072 bytes" in warning
    assert "PULUMI_CONFIG, pulumi/pulumi#8680" in warning
    assert "move the client list to a YAML file of the project named by roster:clientsFile" in warning
    assert FIRM_CUSTOMER_KEY not in warning


def test_with_the_clients_in_a_file_the_warning_says_to_split_the_stack() -> None:
    keys = {
        business_id: f"procountor-key-{business_id}-{'x' * 40}" for business_id in _valid_business_ids(1800)
    }
    config = engine_config({**base_config(), CLIENTS_FILE: "clients.yaml", "roster:procountorApiKeys": keys})

    warning = config_size_warning(config)

    assert warning is not None
    assert "split the firm into several stacks (the clients are in a file already" in warning
    assert "procountor-key-" not in warning


@pytest.fixture
def run_config() -> Any:
    yield
    pulumi.runtime.set_all_config({}, [])


@pytest.mark.usefixtures("run_config")
def test_the_program_warns_before_reading_a_roster_near_the_limit(caplog: pytest.LogCaptureFixture) -> None:
    engine = logging.getLogger("tests.engine")  # what the engine shows: the program's log lines
    config = engine_config({**base_config(), CLIENTS: netvisor_clients(600)})
    pulumi.runtime.set_all_config(config, ["fabricai:apiKey", "roster:netvisorCredentials"])

    with engine_settings(engine=MockEngine(engine)), caplog.at_level(logging.WARNING, logger=engine.name):
        roster = read_roster()
        warnings = [record.getMessage() for record in caplog.records if record.name == engine.name]

        assert len(roster.clients) == 600
        assert len(warnings) == 1
        assert f"takes {environment_bytes(config):,} of the 131,072 bytes" in warnings[0]

        pulumi.runtime.set_all_config(engine_config({**base_config(), CLIENTS: netvisor_clients(3)}), [])
        read_roster()
        assert len([record for record in caplog.records if record.name == engine.name]) == 1
