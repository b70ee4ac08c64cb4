"""The roster's keys in stack config: a missing or misspelt key is named; an empty roster is said so."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pulumi
import pytest

from provider.errors import RosterInvalid
from provider.roster.stack_config import parse_stack_config, read_stack_config
from tests.provider.roster.test_roster import assert_readable_and_secret_free, valid_config

CLIENTS = "roster:clients"
KEYS = "roster:procountorApiKeys"
CREDENTIALS = "roster:netvisorCredentials"


def stack_config(**renamed: str | None) -> dict[str, Any]:
    """The valid roster as stack config (with provider settings beside it); ``renamed`` moves a roster key
    (``clients="roster:client"``) or, with None, removes it."""
    roster = valid_config()
    config: dict[str, Any] = {
        "fabricai:apiKey": "portal-key",
        "procountor:clientId": "app",
        "netvisor:partnerId": "partner",
        CLIENTS: roster["clients"],
        KEYS: roster["keys"],
        CREDENTIALS: roster["credentials"],
    }
    for short, key in renamed.items():
        value = config.pop(f"roster:{short}")
        if key is not None:
            config[key] = value
    return config


MISSPELT = [
    ("roster:client", CLIENTS),
    ("roster:Clients", CLIENTS),
    ("rooster:clients", CLIENTS),
    ("fabricai-roster:clients", CLIENTS),  # written without a namespace: Pulumi puts it under the project's
    ("roster:procountorApiKey", KEYS),
    ("roster:netvisorcredentials", CREDENTIALS),
]


@pytest.mark.parametrize(("written", "meant"), MISSPELT, ids=[written for written, _ in MISSPELT])
def test_a_misspelt_roster_key_is_named_with_the_key_meant(written: str, meant: str) -> None:
    short = meant.partition(":")[2]

    with pytest.raises(RosterInvalid) as caught:
        parse_stack_config(stack_config(**{short: written}))

    first = caught.value.problems[0]
    assert (first.entry, first.field) == (repr(written), "")
    assert first.message == f"is not a roster key; did you mean {meant}?"
    assert_readable_and_secret_free(caught.value)


def test_a_misspelt_clients_key_never_reads_as_an_empty_roster() -> None:
    with pytest.raises(RosterInvalid) as caught:
        parse_stack_config(stack_config(clients="roster:client"))

    assert [(problem.entry, problem.field) for problem in caught.value.problems][:2] == [
        ("'roster:client'", ""),
        (CLIENTS, ""),
    ]
    assert "is not set, so the roster lists no client" in caught.value.problems[1].message


def test_an_unknown_key_in_the_roster_namespace_lists_the_roster_keys() -> None:
    config = {**stack_config(), "roster:colourScheme": "blue"}

    with pytest.raises(RosterInvalid) as caught:
        parse_stack_config(config)

    assert [str(problem) for problem in caught.value.problems] == [
        "'roster:colourScheme': is not a roster key; the roster keys are roster:clients, roster:clientsFile, "
        "roster:procountorApiKeys, roster:netvisorCredentials, roster:allowEmpty, roster:maxDeregistrations, "
        "roster:confirmDeregistration, roster:rotateAfterDays, roster:stackId"
    ]


@pytest.mark.parametrize("days", [0, -5, "365", 1.5, True])
def test_rotate_after_days_is_a_whole_number_of_days(days: object) -> None:
    """`roster:rotateAfterDays` (read by `fabricai-roster status`) is a roster key; a wrong value is named."""
    config = {**stack_config(), "roster:rotateAfterDays": days}
    with pytest.raises(RosterInvalid) as caught:
        parse_stack_config(config)
    assert [str(problem) for problem in caught.value.problems] == [
        "roster:rotateAfterDays: must be a whole number of days, at least 1 (e.g. 365)"
    ]


def test_rotate_after_days_set_right_is_no_problem() -> None:
    parse_stack_config({**stack_config(), "roster:rotateAfterDays": 365})


def test_no_clients_key_at_all_is_a_problem() -> None:
    with pytest.raises(RosterInvalid, match="roster:clients: is not set"):
        parse_stack_config(stack_config(clients=None, procountorApiKeys=None, netvisorCredentials=None))


def test_an_empty_roster_is_said_explicitly() -> None:
    empty = {"fabricai:apiKey": "portal-key", CLIENTS: []}
    with pytest.raises(RosterInvalid, match="confirm it with `roster:allowEmpty: true`"):
        parse_stack_config(empty)

    roster = parse_stack_config({**empty, "roster:allowEmpty": True})

    assert roster.clients == []


def test_valid_stack_config_with_other_namespaces_parses() -> None:
    roster = parse_stack_config(stack_config())

    assert len(roster.clients) == 3


@pytest.fixture
def run_config() -> Iterator[None]:
    yield
    pulumi.runtime.set_all_config({}, [])


@pytest.mark.usefixtures("run_config")
def test_the_programs_config_is_read_with_every_key() -> None:
    pulumi.runtime.set_all_config(
        {
            "roster:client": '[{"businessId": "2925630-9"}]',
            "roster:allowEmpty": "true",
            "procountor:clientId": "app",
            "roster:colour": "not json",
        },
        [],
    )

    assert read_stack_config() == {
        "roster:client": [{"businessId": "2925630-9"}],
        "roster:allowEmpty": True,
        "roster:colour": "not json",
    }
