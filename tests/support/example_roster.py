"""The example roster's clients as tests know them (examples/Pulumi.sandbox*.yaml, examples/sandbox.yaml)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from sandbox.server import RunningSandbox
from scripts.example_config import demo_secrets

HEALTHY = ["2925630-9", "2077474-0", "0174592-8", "2358253-3", "1572860-0", "1618033-3", "1414213-0"]
NETVISOR = ["1572860-0", "1618033-3", "1414213-0"]
# Each broken client of examples/Pulumi.sandbox-broken.yaml and words its message must hold.
BROKEN = {
    "1202527-2": ["Lasku-Laiska Oy (1202527-2)", "Allow the use of billable interfaces"],
    "1303819-8": ["Johto-Puute Oy (1303819-8)", "Management > Basic company info"],
    "3247652-1": ["Osto-Esto Oy (3247652-1)", "Purchases > Product register"],
    "1394810-8": ["Kirjanpito-Kato Oy (1394810-8)", "Accounting > Rights for journal receipts"],
    "2718282-8": ["Käyttäjä-Kielto Oy (2718282-8)", "lacks 1 of the rights", "User > Edit personal info"],
    "2533810-4": ["Kaikki-Vinossa Oy (2533810-4)", "lacks 5 of the rights"],
    "1243265-2": ["Peruttu Avain Oy (1243265-2)", "New API key"],
    "1900509-8": ["Väärä Sovellus Oy (1900509-8)", "another application's client id", "New API key"],
    "1632707-5": ["Harhautettu Oy (1632707-5)", "belongs to Sauna-Saarinen Oy (2358253-3)"],
    "2236067-2": ["Osto-Ovi Kiinni Oy (2236067-2)", '"purchase invoices"'],
    "2645751-9": ["Kirjaamaton Oy (2645751-9)", '"accounting material"'],
    "3316624-2": ["Laskentakohteeton Oy (3316624-2)", '"calculation targets"'],
    "2449489-3": ["Ulkopuolinen Oy (2449489-3)", "copy the API credentials to this company"],
}


def leaves(value: Any) -> Iterator[str]:
    """The values of a (nested) secret config mapping."""
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    else:
        yield str(value)


# FabricAI's partner secrets, which the sandbox's portal holds (examples/sandbox.yaml, portal.verifier) and
# which partner-mode tests configure: no output, message or state of a firm's stack may show them either.
PARTNER_SECRETS = ["FAKE-procountor-client-secret", "FAKE-nv-partner-key-fabricai"]


def partner_settings() -> dict[str, dict[str, str]]:
    """What partner mode adds to an example stack: (plain settings, secret settings)."""
    return {
        "plain": {"procountor:clientId": "fabricai-roster-sandbox", "netvisor:partnerId": "FAI_fabricai"},
        "secret": {"procountor:clientSecret": PARTNER_SECRETS[0], "netvisor:partnerKey": PARTNER_SECRETS[1]},
    }


def secrets_used(*extra: str) -> list[str]:
    """Every secret the example stacks (sandbox, sandbox-broken) hold, after ``extra`` (a test's own keys,
    such as rotated ones), and FabricAI's partner secrets: what no output, message or state may show."""
    return [
        *extra,
        *leaves(demo_secrets("sandbox")),
        *leaves(demo_secrets("sandbox-broken")),
        *PARTNER_SECRETS,
    ]


def portal_http(running: RunningSandbox) -> httpx.Client:
    """The sandbox portal's API as the example stack reaches it (its organisation key)."""
    key = demo_secrets("sandbox")["fabricai:apiKey"]
    return httpx.Client(
        base_url=running.service_url("portal"), headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
