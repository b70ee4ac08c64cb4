"""What used to slip through the roster checks (issues 18 and 19): each is now one problem naming the entry
and the field, and none quotes a secret.

Blank-looking names (U+2800, U+3164), padded names, a credential set name that is not a safe config path
segment (``::``, a quote, a space), a Netvisor customer id or key that is not ISO-8859-1, one API key under
two business IDs; and ``erp: Procountor``, which is accepted in any case, normalised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provider.errors import RosterInvalid, RosterProblem
from provider.roster import Erp, Roster, parse_roster
from provider.roster.required_settings import local_erps, setting_problems
from provider.roster.stack_config import parse_stack_config

ACME_KEY = "procountor-key-ACME-7f3e9a"
GAMMA_KEY = "procountor-key-GAMMA-c41d0b"
FIRM_KEY = "netvisor-customer-key-FIRM-9b8c7d"
ACME = "roster:clients[0] (Acme Oy, 2925630-9)"
BETA = "roster:clients[1] (Beta Oy, 1572860-0)"


def config() -> dict[str, Any]:
    return {
        "clients": [
            {
                "businessId": "2925630-9",
                "name": "Acme Oy",
                "erp": "procountor",
                "tags": {"segment": "retail"},
            },
            {"businessId": "1572860-0", "name": "Beta Oy", "erp": "netvisor", "netvisorCredentials": "firm"},
            {"businessId": "2077474-0", "name": "Gamma Oy", "erp": "procountor"},
        ],
        "keys": {"2925630-9": ACME_KEY, "2077474-0": GAMMA_KEY},
        "credentials": {"firm": {"customerId": "FIRM_CUSTOMER_1", "customerKey": FIRM_KEY}},
    }


def parse(written: dict[str, Any]) -> Roster:
    return parse_roster(written["clients"], written["keys"], written["credentials"])


def problems(written: dict[str, Any]) -> list[RosterProblem]:
    with pytest.raises(RosterInvalid) as caught:
        parse(written)
    for problem in caught.value.problems:
        for secret in (ACME_KEY, GAMMA_KEY, FIRM_KEY):
            assert secret not in str(problem)
    return caught.value.problems


def only(written: dict[str, Any]) -> RosterProblem:
    found = problems(written)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("blank", ["\u2800", "\u2800\u2800\u2800", "\u3164", "\u3164 \u3164", "\uffa0\u115f"])
def test_a_name_of_blank_looking_letters_is_refused(blank: str) -> None:
    written = config()
    written["clients"][0]["name"] = blank
    problem = only(written)
    assert (problem.entry, problem.field) == ("roster:clients[0] (2925630-9)", "name")
    assert "looks blank" in problem.message


@pytest.mark.parametrize(
    ("where", "field"),
    [
        (lambda entry: entry.__setitem__("name", " Acme Oy"), "name"),
        (lambda entry: entry.__setitem__("name", "Acme Oy\u3000"), "name"),
        (lambda entry: entry.__setitem__("dimensions", ["Projekti "]), "dimensions[0]"),
        (lambda entry: entry.__setitem__("teams", ["\u00a0Team North"]), "teams[0]"),
        (lambda entry: entry.__setitem__("tags", {" segment": "retail"}), "tags"),
    ],
)
def test_names_padded_with_spaces_are_refused(where: Any, field: str) -> None:
    written = config()
    where(written["clients"][0])
    problem = only(written)
    assert problem.entry.startswith("roster:clients[0]") and problem.field == field
    assert "has spaces at its start or end; remove them" in problem.message


@pytest.mark.parametrize(
    "name", ["firm::prod", "firm office", "firm'; touch x; echo '", "toimisto.etelä", "-x"]
)
def test_a_credential_set_name_is_a_safe_config_path_segment(name: str) -> None:
    written = config()
    written["clients"][1]["netvisorCredentials"] = name
    written["credentials"] = {name: written["credentials"]["firm"]}
    found = problems(written)
    assert {(problem.entry, problem.field) for problem in found} == {
        (BETA, "netvisorCredentials"),
        ("roster:netvisorCredentials", repr(name)),
    }
    assert all("letters A-Z and a-z, digits, '-' and '_'" in problem.message for problem in found)


@pytest.mark.parametrize("field", ["customerId", "customerKey"])
def test_a_netvisor_id_or_key_netvisor_cannot_sign_is_named_at_its_field(field: str) -> None:
    written = config()
    written["credentials"]["firm"][field] = "FIRM\u2013KEY\u20ac1"  # an en dash and a euro sign: not latin-1
    problem = only(written)
    assert (problem.entry, problem.field) == ("roster:netvisorCredentials.firm", field)
    assert "not ISO-8859-1" in problem.message
    assert "\u2013" not in problem.message and "FIRM" not in problem.message


def test_latin1_letters_are_fine_for_netvisor() -> None:
    written = config()
    written["credentials"]["firm"]["customerId"] = "TT_Öljy_Åbo_1"
    assert parse(written).netvisor_credentials["firm"].customer_id == "TT_Öljy_Åbo_1"


@pytest.mark.parametrize(
    ("written_erp", "erp"),
    [("Procountor", Erp.PROCOUNTOR), ("NETVISOR", Erp.NETVISOR), (" Visma  Netvisor ", Erp.NETVISOR)],
)
def test_erp_names_are_accepted_in_any_case_and_normalised(written_erp: str, erp: Erp) -> None:
    written = config()
    index = 0 if erp is Erp.PROCOUNTOR else 1
    written["clients"][index]["erp"] = written_erp
    assert parse(written).clients[index].erp is erp


def test_an_erp_typo_in_any_case_still_matches_its_key() -> None:
    written = config()
    written["clients"][0]["erp"] = "Procountor"
    written["clients"][0]["bussinessId"] = written["clients"][0].pop("businessId")
    found = problems(written)
    # The entry's key is matched to it (no "no client has business ID 2925630-9"): only the typo is reported.
    assert [problem.field for problem in found] == ["bussinessId"]


def test_one_api_key_under_two_business_ids_names_both_entries_never_the_key() -> None:
    written = config()
    written["keys"]["2077474-0"] = ACME_KEY
    problem = only(written)
    assert (problem.entry, problem.field) == ("roster:procountorApiKeys", "2077474-0")
    assert (
        "roster:procountorApiKeys['2077474-0'] (roster:clients[2] (Gamma Oy, 2077474-0))" in problem.message
    )
    assert f"the same API key as roster:procountorApiKeys['2925630-9'] ({ACME})" in problem.message


def test_a_secret_in_a_clients_file_tag_is_refused_and_never_sent(tmp_path: Path) -> None:
    (tmp_path / "clients.yaml").write_text(
        "- {businessId: 2925630-9, name: Acme Oy, erp: procountor, tags: {memo: " + FIRM_KEY + "}}\n"
        "- {businessId: 1572860-0, name: Beta Oy, erp: netvisor, netvisorCredentials: firm}\n",
        encoding="utf-8",
    )
    written = config()
    with pytest.raises(RosterInvalid) as caught:
        parse_stack_config(
            {
                "roster:clientsFile": "clients.yaml",
                "roster:procountorApiKeys": {"2925630-9": ACME_KEY},
                "roster:netvisorCredentials": written["credentials"],
            },
            tmp_path,
        )
    (problem,) = caught.value.problems
    assert (problem.entry, problem.field) == ("clients.yaml[0] (Acme Oy, 2925630-9)", "tags.memo")
    assert "roster:netvisorCredentials.firm.customerKey" in problem.message
    assert FIRM_KEY not in str(caught.value)


def test_the_portal_key_as_a_client_name_is_refused_and_the_label_leaves_it_out() -> None:
    written = config()
    portal_key = "FAKE-portal-org-key-0001"
    written["clients"][2]["name"] = portal_key
    with pytest.raises(RosterInvalid) as caught:
        parse_stack_config(
            {
                "roster:clients": written["clients"],
                "roster:procountorApiKeys": written["keys"],
                "roster:netvisorCredentials": written["credentials"],
                "fabricai:apiKey": portal_key,
            }
        )
    (problem,) = caught.value.problems
    assert (problem.entry, problem.field) == ("roster:clients[2] (2077474-0)", "name")
    assert "the secret held in fabricai:apiKey" in problem.message and portal_key not in str(caught.value)


def test_auto_verification_is_local_only_for_the_erp_whose_partner_secret_is_set() -> None:
    roster = parse(config())
    settings = {"fabricai:apiKey": "k" * 20, "netvisor:partnerKey": "FAKE-nv-partner"}
    assert local_erps(roster, settings.get) == {Erp.NETVISOR}
    found = setting_problems(roster, settings.get)
    assert [problem.entry for problem in found] == ["netvisor:partnerId"]
    assert "pulumi config set netvisor:partnerId <partner id>" in found[0].message
    assert setting_problems(roster, {**settings, "fabricai:verification": "portal"}.get) == []
    local = {"fabricai:apiKey": "k" * 20, "fabricai:verification": "local"}
    assert [problem.entry for problem in setting_problems(roster, local.get)] == [
        "netvisor:partnerId",
        "netvisor:partnerKey",
        "procountor:clientId",
        "procountor:clientSecret",
    ]


def test_a_secret_pasted_into_another_roster_key_is_named_never_quoted() -> None:
    written = config()
    with pytest.raises(RosterInvalid) as caught:
        parse_roster(
            written["clients"],
            written["keys"],
            written["credentials"],
            confirm_deregistration=["1572860-0", GAMMA_KEY],
            max_deregistrations=FIRM_KEY,
        )
    assert [(problem.entry, problem.field) for problem in caught.value.problems] == [
        ("roster:maxDeregistrations", ""),
        ("roster:confirmDeregistration", "[1]"),
    ]
    assert GAMMA_KEY not in str(caught.value) and FIRM_KEY not in str(caught.value)


def test_a_secret_pasted_as_the_clients_file_is_named_never_quoted(tmp_path: Path) -> None:
    written = config()
    with pytest.raises(RosterInvalid) as caught:
        parse_stack_config(
            {
                "roster:clientsFile": ACME_KEY,
                "roster:procountorApiKeys": written["keys"],
                "roster:netvisorCredentials": written["credentials"],
            },
            tmp_path,
        )
    (problem,) = caught.value.problems
    assert problem.entry == "roster:clientsFile"
    assert "the secret held in roster:procountorApiKeys['2925630-9']" in problem.message
    assert ACME_KEY not in str(caught.value)
