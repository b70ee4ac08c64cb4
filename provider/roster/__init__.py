"""The roster in stack config: pydantic models and whole-roster validation.

``parse_stack_config`` (in ``stack_config``) takes every roster key of stack config, and ``parse_roster`` the
sections' values as plain Python (``config.get_object(...)``); each returns a ``Roster`` or raises
``RosterInvalid`` listing *every* problem, each naming the entry and the field as written in YAML:
``roster:clients[3] (Beta Oy, 1572860-0): vat.deductionPercent: ...``.

The keys: ``roster:clients`` (the list) or ``roster:clientsFile`` (a YAML file holding it, relative to the
project root), ``roster:procountorApiKeys`` (secret, business ID: API key), ``roster:netvisorCredentials``
(name: {customerId, customerKey}), ``roster:allowEmpty`` (true/false).

The size limit: the engine hands all stack config to the program and to the provider plugin as ONE
environment string, ``PULUMI_CONFIG`` (pulumi/pulumi#8680, open), which Linux caps at 128 KiB
(MAX_ARG_STRLEN, 131,072 bytes). An inline client costs about 180 bytes there, so ``roster:clients`` holds
about 700 clients before ``pulumi up`` fails with "argument list too long", before any of our code runs. A
large roster names a file in ``roster:clientsFile`` instead (``clients_file``: same schema, same problems,
named by the file; no secrets in it); ``config_size`` measures the string and the program warns from three
quarters of the limit.

The package, by job:
- ``models``: the pydantic models (a client entry, a Netvisor credential set, the roster) and what each
  checks alone;
- ``parsing``: the three sections read into models, every problem collected;
- ``checks``: the checks across entries and sections, run once per parse;
- ``problems``: pydantic's errors and raw values turned into roster paths and plain words;
- ``text``: what a name or secret may hold, when two names are the same, how values are quoted;
- ``stack_config``: the keys themselves (a misspelt or missing one is named) and reading them in a run;
- ``clients_file``: the client list read from the file ``roster:clientsFile`` names, entry by entry;
- ``config_size``: the bytes of the engine's ``PULUMI_CONFIG``, and the warning before the limit;
- ``secret_values``: no entry holds one of the stack's secrets, by value, wherever it is (never quoted);
- ``required_settings``: every provider setting the roster needs and lacks, with its ``pulumi config set``
  (``fabricai:verification``: auto, portal or local), checked by ``validate`` and by the program before any
  resource is declared.

Decisions worth knowing:
- Positions are 0-based, as in ``pulumi config set --path 'roster:clients[3].name'``.
- Business IDs may be written in any form ``BusinessId`` accepts (``174592-8``, ``FI29256309``);
  clients and ``roster:procountorApiKeys`` are matched after normalisation.
- A roster is never empty by accident. A missing ``roster:clients``, or a misspelt roster key
  (``roster:client``, ``roster:Clients``, ``rooster:clients``, a project-level ``clients``), is a problem
  that names it ("did you mean roster:clients?"). To deregister every client on purpose, say so:
  ``roster:clients: []`` together with ``roster:allowEmpty: true``; an empty list without it is a problem.
- A missing ``roster:procountorApiKeys`` or ``roster:netvisorCredentials`` is empty (a firm may use one ERP).
- An API key or a Netvisor credential set that no client uses is reported: remove it (a staged set is
  added together with its first client). While a Netvisor client names no set or a missing one, that
  client's problem is reported instead.
- Inputs are not coerced: ``adopt: "yes"`` or ``deductionPercent: "40"`` are reported, not guessed. The one
  normalisation: ERP names in any case (``erp: Procountor``), as the CSV import takes them.
- One API key under two business IDs is a problem naming both entries (a key opens one company only).
- ``favorite`` is no roster field: favourites are per portal user and not in the portal's API. An entry
  with it is told to set the client as a favourite on the FabricAI portal's home page (a manual step).
- Names (client, dimension, team, tag, credential set) are visible (blank-looking letters such as U+2800 or
  U+3164 count as blank), unpadded, at most 200 characters, on one line with no control character; a
  credential set's name is a config path segment (letters, digits, ``-``, ``_``); dimensions and teams of
  one client differ in more than case or Unicode form (NFKC + casefold). ``0000000-0`` is refused: its
  check digit is right but no company has it. Ids and secrets (customerId, customerKey, API keys) have no
  padding and no line break; a Netvisor customer id or key is ISO-8859-1 (Netvisor signs it so).
- No problem ever quotes a value from ``roster:procountorApiKeys`` or ``roster:netvisorCredentials``;
  a key of ``roster:procountorApiKeys`` is quoted only if it is shaped like a business ID (an API key put
  in the key position is never echoed). Every quoted value is escaped and shortened: each problem is one
  line, so a name with a line break cannot forge another.
- The checks across entries are linear in the roster's size (``benchmarks/roster_validation.py``).
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
