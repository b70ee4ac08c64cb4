"""The roster in stack config: pydantic models and whole-roster validation.

``parse_roster`` takes the three config values as plain Python (``config.get_object(...)``) and
returns a ``Roster`` or raises ``RosterInvalid`` listing *every* problem, each naming the entry and
the field as written in YAML: ``roster:clients[3] (Beta Oy, 1572860-0): vat.deductionPercent: ...``.

The package, by job:
- ``models``: the pydantic models (a client entry, a Netvisor credential set, the roster) and what each
  checks alone;
- ``parsing``: the three sections read into models, every problem collected;
- ``checks``: the checks across entries and sections, run once per parse;
- ``problems``: pydantic's errors and raw values turned into roster paths and plain words.

Decisions worth knowing:
- Positions are 0-based, as in ``pulumi config set --path 'roster:clients[3].name'``.
- Business IDs may be written in any form ``BusinessId`` accepts (``174592-8``, ``FI29256309``);
  clients and ``roster:procountorApiKeys`` are matched after normalisation.
- A missing section is empty: an empty roster is valid (it deregisters every client).
- A Netvisor credential set that no client names is accepted: a firm may stage credentials
  before it adds the clients that use them.
- Inputs are not coerced: ``favorite: "yes"`` or ``deductionPercent: "40"`` are reported, not guessed.
- No problem ever quotes a value from ``roster:procountorApiKeys`` or ``roster:netvisorCredentials``.
"""

from provider.roster.models import (
    CLIENTS,
    NETVISOR_CREDENTIALS,
    PROCESSES_BY_ERP,
    PROCOUNTOR_API_KEYS,
    ClientEntry,
    Erp,
    NetvisorCredentialSet,
    Process,
    Roster,
    Vat,
    VatMode,
)
from provider.roster.parsing import parse_roster

__all__ = [
    "CLIENTS",
    "NETVISOR_CREDENTIALS",
    "PROCESSES_BY_ERP",
    "PROCOUNTOR_API_KEYS",
    "ClientEntry",
    "Erp",
    "NetvisorCredentialSet",
    "Process",
    "Roster",
    "Vat",
    "VatMode",
    "parse_roster",
]
