"""The example roster's clients as tests know them (examples/Pulumi.sandbox*.yaml, examples/sandbox.yaml)."""

from __future__ import annotations

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
    "1900509-8": ["Väärä Sovellus Oy (1900509-8)", "fabricai-roster-sandbox"],
    "1632707-5": ["Harhautettu Oy (1632707-5)", "belongs to Sauna-Saarinen Oy (2358253-3)"],
    "2236067-2": ["Osto-Ovi Kiinni Oy (2236067-2)", '"purchase invoices"'],
    "2645751-9": ["Kirjaamaton Oy (2645751-9)", '"accounting material"'],
    "3316624-2": ["Laskentakohteeton Oy (3316624-2)", '"calculation targets"'],
    "2449489-3": ["Ulkopuolinen Oy (2449489-3)", "copy the API credentials to this company"],
}
