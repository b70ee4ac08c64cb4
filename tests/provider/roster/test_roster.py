"""The roster in stack config: every problem is found, named by entry and field, and never shows a secret."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from provider.business_id import BusinessId
from provider.errors import RosterInvalid, RosterProblem
from provider.roster import (
    PROCESSES_BY_ERP,
    ClientEntry,
    Erp,
    NetvisorCredentialSet,
    Process,
    Roster,
    VatMode,
    parse_roster,
)
from provider.roster import checks as roster_checks

ACME_KEY = "procountor-key-ACME-7f3e9a"
GAMMA_KEY = "procountor-key-GAMMA-c41d0b"
EXTRA_KEY = "procountor-key-EXTRA-55aa01"
FIRM_CUSTOMER_KEY = "netvisor-customer-key-FIRM-9b8c7d"
OTHER_CUSTOMER_KEY = "netvisor-customer-key-OTHER-1e2f3a"
SECRETS = (ACME_KEY, GAMMA_KEY, EXTRA_KEY, FIRM_CUSTOMER_KEY, OTHER_CUSTOMER_KEY)

Config = dict[str, Any]

ACME = "roster:clients[0] (Acme Oy, 2925630-9)"
BETA = "roster:clients[1] (Beta Oy, 1572860-0)"
GAMMA = "roster:clients[2] (Gamma Oy, 2077474-0)"
KEYS = "roster:procountorApiKeys"
FIRM = "roster:netvisorCredentials.firm"
NO_NAME = "roster:clients[1] (1572860-0)"


def valid_config() -> Config:
    """A fresh valid roster: two Procountor clients and one Netvisor client."""
    return {
        "clients": [
            {
                "businessId": "2925630-9",
                "name": "Acme Oy",
                "erp": "procountor",
                "process": "alternative-with-circulation",
                "vat": {"mode": "partial", "deductionPercent": 40},
                "dimensions": ["Kustannuspaikka"],
                "teams": ["Team North"],
                "tags": {"segment": "retail"},
            },
            {"businessId": "1572860-0", "name": "Beta Oy", "erp": "netvisor", "netvisorCredentials": "firm"},
            {"businessId": "2077474-0", "name": "Gamma Oy", "erp": "procountor"},
        ],
        "keys": {"2925630-9": ACME_KEY, "2077474-0": GAMMA_KEY},
        "credentials": {"firm": {"customerId": "FIRM_CUSTOMER_1", "customerKey": FIRM_CUSTOMER_KEY}},
    }


def parse(config: Config) -> Roster:
    return parse_roster(config["clients"], config["keys"], config["credentials"])


def problems_of(config: Config) -> RosterInvalid:
    with pytest.raises(RosterInvalid) as caught:
        parse(config)
    return caught.value


@dataclass(frozen=True)
class BadCase:
    name: str
    change: Callable[[Config], None]
    entry: str
    field: str
    says: str
    count: int = 1


def client(index: int, **fields: Any) -> Callable[[Config], None]:
    """Set (or, with value ..., remove) fields of one client entry."""

    def change(config: Config) -> None:
        entry = config["clients"][index]
        for name, value in fields.items():
            if value is ...:
                del entry[name]
            else:
                entry[name] = value

    return change


def section(name: str, value: object) -> Callable[[Config], None]:
    def change(config: Config) -> None:
        config[name] = value

    return change


def keys(**changes: object) -> Callable[[Config], None]:
    """Change roster:procountorApiKeys; business IDs are spelled with '_' for '-' in the keyword."""

    def change(config: Config) -> None:
        for written, value in changes.items():
            written = written.replace("_", "-")
            if value is ...:
                del config["keys"][written]
            else:
                config["keys"][written] = value

    return change


def firm(**changes: object) -> Callable[[Config], None]:
    def change(config: Config) -> None:
        for name, value in changes.items():
            if value is ...:
                del config["credentials"]["firm"][name]
            else:
                config["credentials"]["firm"][name] = value

    return change


def add_client(**fields: Any) -> Callable[[Config], None]:
    def change(config: Config) -> None:
        config["clients"].append(fields)

    return change


def process_table(table: dict[Erp, frozenset[Process]]) -> Callable[[Config], None]:
    """Not a config change: marks the case parsed with another ERP-process table
    (``parse_roster(processes_by_erp=...)``)."""

    def change(config: Config) -> None:
        config["clients"][1]["process"] = "alternative"

    change.table = table  # type: ignore[attr-defined]
    return change


BAD_CASES = [
    # business ID
    BadCase("check digit", client(1, businessId="1572860-1"), "roster:clients[1] (Beta Oy, 1572860-1)",
            "businessId", "check digit should be 0, not 1"),
    BadCase("format", client(1, businessId="1572860"), "roster:clients[1] (Beta Oy, 1572860)",
            "businessId", "expected 7 digits, a hyphen and a check digit, like 2925630-9"),
    BadCase("remainder 1", client(1, businessId="0292563-4"), "roster:clients[1] (Beta Oy, 0292563-4)",
            "businessId", "no business ID has these digits: remainder 1 is never issued"),
    BadCase("lookalike dash", client(1, businessId="1572860\u20130"),
            "roster:clients[1] (Beta Oy, 1572860\u20130)", "businessId", "type it as 1572860-0"),
    BadCase("business ID missing", client(1, businessId=...), "roster:clients[1] (Beta Oy)",
            "businessId", "is required"),
    BadCase("business ID a number", client(1, businessId=1572860), "roster:clients[1] (Beta Oy)",
            "businessId", "expected text, got 1572860 (a number)"),
    BadCase("duplicate business ID", add_client(businessId="FI20774740", name="Gamma Ab", erp="procountor"),
            "roster:clients[3] (Gamma Ab, 2077474-0)", "businessId",
            f"the same business ID as {GAMMA}"),
    # name
    BadCase("name missing", client(1, name=...), NO_NAME, "name", "is required"),
    BadCase("name blank", client(1, name="  "), NO_NAME, "name", "must not be empty"),
    BadCase("name a number", client(1, name=42), NO_NAME, "name",
            "expected text, got 42 (a number)"),
    # erp and process
    BadCase("unknown ERP", client(1, erp="sap"), BETA, "erp",
            "expected 'procountor' or 'netvisor', got 'sap' (text)"),
    BadCase("ERP missing", client(1, erp=...), BETA, "erp", "is required"),
    BadCase("unknown process", client(1, process="bg"), BETA, "process",
            "expected 'standard', 'alternative', 'alternative-with-circulation' or 'background', got 'bg'"),
    BadCase("process the ERP does not run",
            process_table({Erp.PROCOUNTOR: frozenset(Process), Erp.NETVISOR: frozenset({Process.STANDARD})}),
            BETA, "process", "Netvisor does not support process 'alternative'; it supports: standard"),
    # vat
    BadCase("partial VAT without percent", client(1, vat={"mode": "partial"}), BETA, "vat.deductionPercent",
            "mode: partial needs deductionPercent, a whole number from 1 to 99"),
    BadCase("partial VAT 0", client(1, vat={"mode": "partial", "deductionPercent": 0}), BETA,
            "vat.deductionPercent", "must be from 1 to 99, got 0"),
    BadCase("partial VAT 100", client(1, vat={"mode": "partial", "deductionPercent": 100}), BETA,
            "vat.deductionPercent", "must be from 1 to 99, got 100"),
    BadCase("exempt VAT with percent", client(1, vat={"mode": "exempt", "deductionPercent": 24}), BETA,
            "vat.deductionPercent", "only mode: partial takes a deduction percent"),
    BadCase("standard VAT with percent", client(1, vat={"deductionPercent": 24}), BETA,
            "vat.deductionPercent", "only mode: partial takes a deduction percent"),
    BadCase("unknown VAT mode", client(1, vat={"mode": "reduced"}), BETA, "vat.mode",
            "expected 'standard', 'exempt' or 'partial', got 'reduced'"),
    BadCase("VAT percent as text", client(1, vat={"mode": "partial", "deductionPercent": "40"}), BETA,
            "vat.deductionPercent", "expected a whole number, got '40' (text)"),
    BadCase("VAT percent fractional", client(1, vat={"mode": "partial", "deductionPercent": 40.5}), BETA,
            "vat.deductionPercent", "expected a whole number"),
    BadCase("VAT not a mapping", client(1, vat="partial"), BETA, "vat", "expected a mapping"),
    BadCase("VAT unknown field", client(1, vat={"mode": "partial", "deductionPercentage": 40}), BETA,
            "vat.deductionPercentage", "unknown field; did you mean 'deductionPercent'?"),
    # lists, flags, tags
    BadCase("dimensions as text", client(1, dimensions="Kustannuspaikka"), BETA, "dimensions",
            "expected a list like [A, B], got 'Kustannuspaikka' (text)"),
    BadCase("dimension twice", client(1, dimensions=["Kustannuspaikka", "Projekti", "Kustannuspaikka"]), BETA,
            "dimensions", "'Kustannuspaikka' is listed twice"),
    BadCase("dimension blank", client(1, dimensions=["Projekti", ""]), BETA, "dimensions[1]",
            "must not be empty"),
    BadCase("team twice", client(1, teams=["North", "North"]), BETA, "teams", "'North' is listed twice"),
    BadCase("team blank", client(1, teams=[" "]), BETA, "teams[0]", "must not be empty"),
    BadCase("favorite is no roster field", client(1, favorite=True), BETA, "favorite",
            "set the client as a favourite on the FabricAI portal's home page"),
    BadCase("adopt as text", client(1, adopt="true"), BETA, "adopt", "expected true or false"),
    BadCase("protect as number", client(1, protect=1), BETA, "protect", "expected true or false, got 1"),
    BadCase("tag value a number", client(1, tags={"cost": 5}), BETA, "tags.cost", "expected text"),
    BadCase("tag key blank", client(1, tags={"": "x"}), BETA, "tags", "key '': must not be empty"),
    BadCase("tags as a list", client(1, tags=["retail"]), BETA, "tags", "expected a mapping"),
    # unknown fields
    BadCase("business ID typo", client(1, businessId=..., bussinessId="1572860-0"), BETA, "bussinessId",
            "unknown field; did you mean 'businessId'?"),
    BadCase("snake_case field", client(1, netvisorCredentials=..., netvisor_credentials="firm"), BETA,
            "netvisor_credentials", "unknown field; did you mean 'netvisorCredentials'?"),
    BadCase("unrelated field", client(1, colour="blue"), BETA, "colour",
            "unknown field; known fields: businessId, name, erp, process"),
    # credentials of a client
    BadCase("Netvisor client without credentials", client(1, netvisorCredentials=...), BETA,
            "netvisorCredentials", "a Netvisor client needs netvisorCredentials"),
    BadCase("Procountor client with credentials", client(2, netvisorCredentials="firm"), GAMMA,
            "netvisorCredentials", "only Netvisor clients take netvisorCredentials"),
    BadCase("unknown credential set", client(1, netvisorCredentials="frim"), BETA, "netvisorCredentials",
            "'frim' is not a credential set in roster:netvisorCredentials; did you mean 'firm'?"),
    BadCase("Procountor client without key", keys(**{"2077474_0": ...}), GAMMA, "businessId",
            "needs an API key in roster:procountorApiKeys and there is none for 2077474-0"),
    # roster:procountorApiKeys
    BadCase("key for no client", keys(**{"0174592_8": EXTRA_KEY}), KEYS, "0174592-8",
            "no client in roster:clients has business ID 0174592-8 (a typo?)"),
    BadCase("key for a Netvisor client", keys(**{"1572860_0": EXTRA_KEY}), KEYS, "1572860-0",
            f"{BETA} is a Netvisor client, not a Procountor client"),
    BadCase("key name not a business ID", keys(Acme=EXTRA_KEY), KEYS, "",
            "an entry whose key is not a business ID (entry 2, counting from 0; the key is not shown"),
    BadCase("key name with bad check digit", keys(**{"2925630_1": EXTRA_KEY}), KEYS, "2925630-1",
            "check digit should be 9, not 1"),
    BadCase("same key twice", keys(FI29256309=EXTRA_KEY), KEYS, "FI29256309",
            "the same business ID as '2925630-9'"),
    BadCase("empty key", keys(**{"2925630_9": ""}), KEYS, "2925630-9", "the API key is empty"),
    BadCase("key not a string", keys(**{"2925630_9": {"secure": ACME_KEY}}), KEYS, "2925630-9",
            "expected the client's Procountor API key as a secret string, got a mapping"),
    BadCase("key name with a letter O", keys(**{"2077474_0": ..., "2O77474_0": GAMMA_KEY}), KEYS,
            "", "an entry whose key is not a business ID", count=2),
    # roster:netvisorCredentials
    BadCase("customerKey missing", firm(customerKey=...), FIRM, "customerKey", "is required"),
    BadCase("customerId missing", firm(customerId=...), FIRM, "customerId", "is required"),
    BadCase("customerKey empty", firm(customerKey=""), FIRM, "customerKey", "must not be empty"),
    BadCase("customerKey a number", firm(customerKey=12345), FIRM, "customerKey", "expected text"),
    BadCase("credential field typo", firm(customerKey=..., custmerKey=FIRM_CUSTOMER_KEY), FIRM, "custmerKey",
            "unknown field; did you mean 'customerKey'?"),
    BadCase("credential set not a mapping", section("credentials", {"firm": FIRM_CUSTOMER_KEY}), FIRM, "",
            "expected a mapping of field: value"),
    # whole sections and entries of the wrong type
    BadCase("clients not a list", section("clients", {"Acme Oy": "2925630-9"}), "roster:clients", "",
            "expected a list of client entries, got a mapping"),
    BadCase("keys not a mapping", section("keys", [ACME_KEY, GAMMA_KEY]), KEYS, "",
            "expected a mapping of business ID: API key, got a list"),
    BadCase("credentials not a mapping", section("credentials", FIRM_CUSTOMER_KEY),
            "roster:netvisorCredentials", "", "expected a mapping of name: {customerId, customerKey}"),
    BadCase("empty client entry", add_client(), "roster:clients[3]", "businessId", "is required", count=3),
    # issue 11: the holes validation closes (NO_NAME: an entry labelled without its unusable name)
    BadCase("placeholder business ID", client(1, businessId="0000000-0"),
            "roster:clients[1] (Beta Oy, 0000000-0)", "businessId", "0000000-0 is a placeholder"),
    BadCase("placeholder business ID as a key", keys(**{"0000000_0": EXTRA_KEY}), KEYS, "0000000-0",
            "0000000-0 is a placeholder"),
    BadCase("name of invisible characters", client(1, name="\u200b\u2060\u200b"), NO_NAME,
            "name", "looks blank: it holds only invisible characters"),
    BadCase("name of 201 characters", client(1, name="B" * 201), NO_NAME, "name",
            "is 201 characters long; at most 200 are allowed"),
    BadCase("name forging a problem line",
            client(1, name="Beta Oy\n  - roster:clients[0] (Acme Oy, 2925630-9): name: forged"),
            NO_NAME, "name", "contains a control character"),
    BadCase("name with an escape code", client(1, name="Beta \x1b[2J Oy"), NO_NAME, "name",
            "contains a control character"),
    BadCase("name with a bidi override", client(1, name="Beta \u202eyO"), NO_NAME, "name",
            "contains a control character"),
    BadCase("dimension with a tab", client(1, dimensions=["Kustannus\tpaikka"]), BETA, "dimensions[0]",
            "contains a control character"),
    BadCase("dimension of 201 characters", client(1, dimensions=["D" * 201]), BETA, "dimensions[0]",
            "at most 200"),
    BadCase("team twice but for case", client(1, teams=["Team North", "team NORTH"]), BETA, "teams",
            "'Team North' and 'team NORTH' are the same name but for case or Unicode form; keep one"),
    BadCase("dimension twice but for Unicode form", client(1, dimensions=["Projekti", "\uff30rojekti"]), BETA,
            "dimensions", "'Projekti' and '\uff30rojekti' are the same name but for case or Unicode form"),
    BadCase("tag value with a line break", client(1, tags={"owner": "Anna\nBob"}), BETA, "tags.owner",
            "contains a control character"),
    BadCase("credential set named with spaces", client(1, netvisorCredentials=" firm"), BETA,
            "netvisorCredentials", "has spaces at its start or end", count=2),
    BadCase("customerId padded", firm(customerId=" FIRM_CUSTOMER_1"), FIRM, "customerId",
            "has spaces at its start or end"),
    BadCase("customerKey padded", firm(customerKey=FIRM_CUSTOMER_KEY + " "), FIRM, "customerKey",
            "has spaces or a line break at its start or end"),
    BadCase("customerKey on two lines", firm(customerKey=FIRM_CUSTOMER_KEY.replace("-FIRM-", "-\n")), FIRM,
            "customerKey", "contains a line break"),
    BadCase("API key padded", keys(**{"2925630_9": ACME_KEY + "\n"}), KEYS, "2925630-9",
            "the API key has spaces or a line break at its start or end"),
    BadCase("API key on two lines", keys(**{"2925630_9": ACME_KEY.replace("-ACME-", "\r\n")}), KEYS,
            "2925630-9", "the API key contains a line break"),
    BadCase("API key in the key position", keys(**{ACME_KEY: "2925630-9"}), KEYS, "",
            "an entry whose key is not a business ID"),
    BadCase("credential set no client uses", section("credentials", {
                "firm": {"customerId": "FIRM_CUSTOMER_1", "customerKey": FIRM_CUSTOMER_KEY},
                "old": {"customerId": "OLD", "customerKey": OTHER_CUSTOMER_KEY}}),
            "roster:netvisorCredentials.old", "", "no client in roster:clients names this credential set"),
]  # fmt: skip


@pytest.mark.parametrize("case", BAD_CASES, ids=[case.name for case in BAD_CASES])
def test_bad_input_names_entry_and_field(case: BadCase) -> None:
    config = valid_config()
    table = getattr(case.change, "table", PROCESSES_BY_ERP)
    case.change(config)

    with pytest.raises(RosterInvalid) as caught:
        parse_roster(config["clients"], config["keys"], config["credentials"], processes_by_erp=table)
    error = caught.value

    matching = [
        problem
        for problem in error.problems
        if problem.entry == case.entry and problem.field == case.field and case.says in problem.message
    ]
    assert matching, f"no problem {case.entry!r} / {case.field!r} / {case.says!r} in:\n{error}"
    assert len(error.problems) == case.count, str(error)
    assert str(matching[0]) in str(error)
    assert str(error).count("\n") == len(error.problems), "a problem spans more than one line"
    assert_readable_and_secret_free(error)


def test_a_client_entry_that_is_not_a_mapping() -> None:
    config = valid_config()
    config["clients"].append("Delta Oy")

    error = problems_of(config)

    assert error.problems == [
        RosterProblem("roster:clients[3]", "", "expected a mapping of field: value, got 'Delta Oy' (text)")
    ]


def test_a_missing_key_and_a_mistyped_one_are_both_named() -> None:
    config = valid_config()
    config["keys"]["2077474-9"] = config["keys"].pop("2077474-0")

    error = problems_of(config)

    assert [(problem.entry, problem.field) for problem in error.problems] == [
        (GAMMA, "businessId"),
        (KEYS, "2077474-9"),
    ]


def test_a_stray_key_close_to_a_keyless_client_suggests_it() -> None:
    config = valid_config()
    config["clients"].append({"businessId": "3000002-8", "name": "Delta Oy", "erp": "procountor"})
    config["keys"]["3000003-6"] = EXTRA_KEY  # a valid business ID, one digit off Delta's

    error = problems_of(config)

    assert [(problem.entry, problem.field) for problem in error.problems] == [
        ("roster:clients[3] (Delta Oy, 3000002-8)", "businessId"),
        (KEYS, "3000003-6"),
    ]
    assert error.problems[1].message.endswith("did you mean roster:clients[3] (Delta Oy, 3000002-8)?")


def test_many_different_problems_are_reported_at_once() -> None:
    config = valid_config()
    config["clients"][0]["vat"] = {"mode": "partial"}
    config["clients"][0]["adopt"] = "yes"
    config["clients"][1]["netvisorCredentials"] = "frim"
    config["clients"][2]["businessId"] = "2077474-1"
    config["clients"].append({"businessId": "2925630-9", "name": "Acme Ab", "erp": "sap"})
    config["keys"]["0174592-8"] = EXTRA_KEY
    del config["credentials"]["firm"]["customerId"]

    error = problems_of(config)

    assert [(problem.entry, problem.field) for problem in error.problems] == [
        (ACME, "vat.deductionPercent"),
        (ACME, "adopt"),
        (BETA, "netvisorCredentials"),
        ("roster:clients[2] (Gamma Oy, 2077474-1)", "businessId"),
        ("roster:clients[3] (Acme Ab, 2925630-9)", "erp"),
        ("roster:clients[3] (Acme Ab, 2925630-9)", "businessId"),
        (KEYS, "2077474-0"),
        (KEYS, "0174592-8"),
        (FIRM, "customerId"),
    ]
    assert str(error).startswith("The roster has 9 problems:\n  - roster:clients[0] (Acme Oy, 2925630-9): ")
    assert_readable_and_secret_free(error)


def test_problems_are_listed_by_position_not_by_text() -> None:
    config = valid_config()
    config["clients"] += [
        {
            "businessId": business_id,
            "name": f"Client {index}",
            "erp": "netvisor",
            "netvisorCredentials": "firm",
        }
        for index, business_id in enumerate(_valid_business_ids(9), start=3)
    ]
    config["clients"][11]["adopt"] = "no"
    config["clients"][2]["adopt"] = "no"

    error = problems_of(config)

    assert [problem.entry.split(" ")[0] for problem in error.problems] == [
        "roster:clients[2]",
        "roster:clients[11]",
    ]


def test_valid_roster_round_trip() -> None:
    config = valid_config()

    roster = parse(config)

    acme, beta, gamma = roster.clients
    assert acme.business_id == BusinessId("2925630-9")
    assert acme.erp is Erp.PROCOUNTOR
    assert acme.process is Process.ALTERNATIVE_WITH_CIRCULATION
    assert acme.vat.mode is VatMode.PARTIAL
    assert acme.vat.deduction_percent == 40
    assert (acme.dimensions, acme.teams, acme.tags) == (
        ["Kustannuspaikka"],
        ["Team North"],
        {"segment": "retail"},
    )
    assert (beta.process, beta.vat.mode, beta.vat.deduction_percent) == (
        Process.STANDARD,
        VatMode.STANDARD,
        None,
    )
    assert (beta.dimensions, beta.teams, beta.tags, beta.adopt, beta.protect) == (
        [],
        [],
        {},
        False,
        False,
    )
    assert acme.label == "Acme Oy (2925630-9)"
    assert roster.api_key_for(acme).get_secret_value() == ACME_KEY
    assert roster.api_key_for(gamma).get_secret_value() == GAMMA_KEY
    assert roster.credentials_for(beta).customer_id == "FIRM_CUSTOMER_1"
    assert roster.credentials_for(beta).customer_key.get_secret_value() == FIRM_CUSTOMER_KEY

    dumped = [entry.model_dump(mode="json", by_alias=True, exclude_defaults=True) for entry in roster.clients]
    assert dumped == config["clients"]
    assert parse({**config, "clients": dumped}) == roster


def test_unicode_names_are_accepted() -> None:
    config = valid_config()
    config["clients"][1]["name"] = "Öljy-Äijät Oy"
    config["clients"][1]["teams"] = ["Tiimi Å"]

    roster = parse(config)

    assert roster.clients[1].label == "Öljy-Äijät Oy (1572860-0)"
    assert roster.clients[1].teams == ["Tiimi Å"]


def test_unicode_name_labels_a_bad_entry() -> None:
    config = valid_config()
    config["clients"][1]["name"] = "Öljy-Äijät Oy"
    config["clients"][1]["adopt"] = "kyllä"

    error = problems_of(config)

    assert error.problems[0].entry == "roster:clients[1] (Öljy-Äijät Oy, 1572860-0)"


def test_short_serial_and_vat_form_match_their_keys() -> None:
    config = valid_config()
    config["clients"].append({"businessId": "174592-8", "name": "Delta Oy", "erp": "procountor"})
    config["clients"][0]["businessId"] = "FI29256309"
    config["keys"]["FI01745928"] = EXTRA_KEY

    roster = parse(config)

    acme, delta = roster.clients[0], roster.clients[3]
    assert (acme.business_id, acme.business_id.vat_number) == ("2925630-9", "FI29256309")
    assert delta.business_id == "0174592-8"
    assert roster.api_key_for(delta).get_secret_value() == EXTRA_KEY
    assert set(roster.procountor_api_keys) == {"2925630-9", "2077474-0", "0174592-8"}


def test_missing_clients_are_a_problem_never_an_empty_roster() -> None:
    with pytest.raises(RosterInvalid) as caught:
        parse_roster(None, None, None)

    assert [(problem.entry, problem.field) for problem in caught.value.problems] == [("roster:clients", "")]
    assert "is not set" in str(caught.value)
    assert "`roster:clients: []` together with `roster:allowEmpty: true`" in str(caught.value)


def test_an_empty_roster_must_be_confirmed() -> None:
    with pytest.raises(RosterInvalid, match="confirm it with `roster:allowEmpty: true`"):
        parse_roster([], None, None)
    with pytest.raises(RosterInvalid, match=r"roster:allowEmpty: expected true or false, got 'yes' \(text\)"):
        parse_roster([], None, None, allow_empty="yes")

    roster = parse_roster([], None, None, allow_empty=True)

    assert (roster.clients, roster.procountor_api_keys, roster.netvisor_credentials) == ([], {}, {})


def test_credentials_no_client_uses_are_reported() -> None:
    config = valid_config()
    config["credentials"]["spare"] = {"customerId": "SPARE", "customerKey": OTHER_CUSTOMER_KEY}

    error = problems_of(config)

    assert [(problem.entry, problem.field) for problem in error.problems] == [
        ("roster:netvisorCredentials.spare", "")
    ]
    assert "no client in roster:clients names this credential set" in str(error)
    assert_readable_and_secret_free(error)


def test_a_roster_built_directly_is_checked_across_entries() -> None:
    roster = parse(valid_config())

    with pytest.raises(RosterInvalid) as caught:
        Roster(
            clients=roster.clients, procountor_api_keys={}, netvisor_credentials=roster.netvisor_credentials
        )

    assert [(problem.entry, problem.field) for problem in caught.value.problems] == [
        (ACME, "businessId"),
        (GAMMA, "businessId"),
    ]


def test_checks_across_entries_run_once_per_parse() -> None:
    """parse_roster checks across entries once, and builds the Roster without validating it again: the calls
    are observed (a profile hook sees every call of the function's code), nothing is replaced."""
    calls: list[int] = []
    code = roster_checks.cross_entry_problems.__code__

    def observe(frame: FrameType, event: str, _arg: object) -> None:
        if event == "call" and frame.f_code is code:
            calls.append(1)

    previous = sys.getprofile()
    sys.setprofile(observe)
    try:
        parse(valid_config())
    finally:
        sys.setprofile(previous)

    assert len(calls) == 1


def test_lookups_refuse_clients_of_the_other_erp() -> None:
    roster = parse(valid_config())
    acme, beta, _ = roster.clients

    with pytest.raises(LookupError, match=r"Beta Oy \(1572860-0\) has no API key"):
        roster.api_key_for(beta)
    with pytest.raises(LookupError, match=r"Acme Oy \(2925630-9\) names no credential set"):
        roster.credentials_for(acme)


def test_models_are_frozen() -> None:
    roster = parse(valid_config())

    with pytest.raises(ValidationError):
        roster.clients[0].name = "Renamed Oy"
    with pytest.raises(ValidationError):
        roster.clients[0].vat.deduction_percent = 50


def test_an_entry_validates_on_its_own() -> None:
    entry = ClientEntry.model_validate({"businessId": "FI15728600", "name": "Beta Oy", "erp": "netvisor",
                                        "netvisorCredentials": "firm"})  # fmt: skip
    assert entry.business_id == "1572860-0"
    with pytest.raises(ValidationError, match="a Netvisor client needs netvisorCredentials"):
        ClientEntry.model_validate({"businessId": "1572860-0", "name": "Beta Oy", "erp": "netvisor"})


def test_secrets_never_show_in_reprs() -> None:
    roster = parse(valid_config())

    rendered = repr(roster) + str(roster) + repr(roster.netvisor_credentials) + str(roster.model_dump())
    assert not [secret for secret in SECRETS if secret in rendered]
    assert isinstance(roster.procountor_api_keys[BusinessId("2925630-9")], SecretStr)
    assert isinstance(roster.netvisor_credentials["firm"], NetvisorCredentialSet)


def test_secrets_in_every_wrong_place_stay_out_of_the_message() -> None:
    clients = valid_config()["clients"]
    del clients[1]["netvisorCredentials"]
    keys = {
        "2925630-9": ACME_KEY,
        "2077474-1": GAMMA_KEY,  # bad business ID
        "0174592-8": EXTRA_KEY,  # no such client
        "FI29256309": ACME_KEY,  # the same business ID again
        "1572860-0": {"secure": OTHER_CUSTOMER_KEY},  # not decrypted, and a Netvisor client
    }
    credentials = {
        "firm": {"customerId": "FIRM", "customerKey": FIRM_CUSTOMER_KEY, "customerKye": OTHER_CUSTOMER_KEY},
        "other": OTHER_CUSTOMER_KEY,
        "third": {"customerKey": [FIRM_CUSTOMER_KEY]},
        "": {"customerId": "X", "customerKey": EXTRA_KEY},
    }

    with pytest.raises(RosterInvalid) as caught:
        parse_roster(clients, keys, credentials)

    assert len(caught.value.problems) >= 9, str(caught.value)
    assert_readable_and_secret_free(caught.value)


def assert_readable_and_secret_free(error: RosterInvalid) -> None:
    """No secret, no pydantic noise, and no chained exception that a traceback would print."""
    rendered = str(error) + repr(error) + "".join(traceback.format_exception(error))
    assert not [secret for secret in SECRETS if secret in rendered]
    for noise in ("pydantic", "https://", "type=", "input_value", "Value error", "validation error"):
        assert noise not in str(error)
    assert error.__cause__ is None
    assert error.__context__ is None


def _valid_business_ids(count: int) -> list[str]:
    """Business IDs not used by valid_config, found by trying every check digit."""
    found: list[str] = []
    serial = 3000000
    while len(found) < count:
        serial += 1
        for digit in "0123456789":
            try:
                found.append(BusinessId(f"{serial}-{digit}"))
            except ValueError:
                continue
    return found
