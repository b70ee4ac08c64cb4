"""``fabricai-roster init``: a firm's stack in a few questions (or flags, for scripts).

Contract: asks (or takes from flags) the backend, the stack name, the secrets provider and its passphrase,
the portal key (``fabricai:apiKey``, secret; ``fabricai:portalUrl`` optional), the roster (``generate``'s CSV
and/or portal sources, reused) and the clients' keys (``roster:procountorApiKeys``,
``roster:netvisorCredentials``: from the CSV, a keys file or the prompt; secret); validates the whole roster;
only then writes ``stacks/Pulumi.<stack>.yaml``, runs ``pulumi stack init``, sets every secret, and prints
the next commands. Decisions:
- Default backend ``file://~/.fabricai-roster/state``: outside the clone (never committed, kept through a new
  clone or ``git clean``); Pulumi's file backend scopes stack names by project. A team uses ``postgres://``
  or ``s3://`` (they lock). It reaches every ``pulumi`` as ``PULUMI_BACKEND_URL``: init never runs
  ``pulumi login`` (the user's login for all projects) nor edits Pulumi.yaml (tests copy it).
- A firm never holds FabricAI's partner secrets (``procountor:clientSecret``, ``netvisor:partnerKey``): the
  portal verifies its clients' credentials, so init never asks for them.
- Nothing is made before every answer is in and the roster is valid; an existing stack or settings file is
  refused, never overwritten; a failure after ``pulumi stack init`` removes what this run made.
- ``pulumi`` runs with arguments as a list; a secret goes on its stdin (the passphrase: in its environment),
  never on a command line; no secret is printed; prompts for secrets do not echo.
"""

from __future__ import annotations

import argparse
import csv
import getpass
import io
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit, urlunsplit

import yaml

from provider.business_id import BusinessId, InvalidBusinessId
from provider.cli import generate, render
from provider.cli.config import settings_of
from provider.cli.csv_import import HEADERS, ClientList, decode, read_client_list
from provider.cli.stack import OperatorError, Stack, find_pulumi, run_pulumi
from provider.defaults import PORTAL_URL
from provider.errors import FabricaiRosterError, RosterInvalid
from provider.portal import ListedClient, PortalClient
from provider.roster import NETVISOR_CREDENTIALS, PROCOUNTOR_API_KEYS, parse_roster

T = TypeVar("T")
DEFAULT_BACKEND: Final = "file://~/.fabricai-roster/state"
BACKEND_SCHEMES: Final = ("file", "postgres", "postgresql", "s3", "azblob", "gs")
# Pulumi's secrets providers besides the passphrase (a cloud KMS or Vault key).
KMS_SCHEMES: Final = ("awskms", "azurekeyvault", "gcpkms", "hashivault")
STACK_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
# The names of the variables Pulumi reads the passphrase from (no secret here).
PASSPHRASE_ENV: Final = "PULUMI_CONFIG_PASSPHRASE"  # noqa: S105
PASSPHRASE_FILE_ENV: Final = "PULUMI_CONFIG_PASSPHRASE_FILE"  # noqa: S105
PASSPHRASE_TRIES: Final = 3
# Key columns a firm's CSV may hold beside generate's (the same matching: any case, spaces squeezed).
KEY_HEADERS: Final = {
    "procountor_api_key": (
        "procountor api key",
        "procountor-avain",
        "procountor avain",
        "api-avain",
        "api key",
    ),
    "customer_id": ("netvisor customer id", "customer id", "netvisor-asiakastunnus", "asiakastunnus"),
    "customer_key": ("netvisor customer key", "customer key", "netvisor-asiakasavain", "asiakasavain"),
}

ENCRYPTION_TEXT: Final = """\
The passphrase encrypts this stack's secrets (the portal key and your clients' ERP keys) in the stack's
settings file and in its state. Keep it safe, in your password manager: without it nobody can read or change
those secrets, and it cannot be recovered. Every `pulumi` and `fabricai-roster` run of this stack needs it, as
PULUMI_CONFIG_PASSPHRASE or, better, PULUMI_CONFIG_PASSPHRASE_FILE (a file only you can read)."""
BACKEND_TEXT: Final = f"""\
Where Pulumi keeps the stack's state (what `pulumi up` made). The default, {DEFAULT_BACKEND}, is a folder
in your home, outside the project: it is never committed and survives a new clone. A team sharing one stack
uses PostgreSQL (postgres://user@host/db) or S3-compatible storage (s3://bucket/path), which lock."""


@dataclass
class Keys:
    """The clients' keys found so far: business ID -> API key; set name -> {customerId, customerKey}."""

    procountor: dict[str, str] = field(default_factory=dict)
    netvisor: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class Plan:
    """Everything init makes, decided before anything is made."""

    stack: str
    project: Path
    settings_file: Path
    backend: str
    secrets_provider: str
    env: dict[str, str]
    portal_url: str | None
    api_key: str
    entries: list[dict[str, Any]]
    keys: Keys
    later: list[str]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "init",
        help="make a firm's stack: backend, secrets, portal key, roster and the clients' keys",
        description="Make a new roster stack in a few questions, or from flags for scripts (--yes: no "
        "questions; a missing answer is an error naming its flag). Refuses an existing stack or settings "
        "file. Never asks for FabricAI's partner secrets: the portal verifies your clients' credentials. "
        "Secrets are read without echo, from files or stdin, never from the command line, and never printed. "
        "Exit status 0: made; 1: problems in the client list or the roster, nothing made; 2: could not run, "
        "nothing made.",
        epilog=f"{ENCRYPTION_TEXT}\n\nCSV key columns (besides generate's): Procountor API key, Netvisor "
        "customer id, Netvisor customer key (the keys file: YAML with roster:procountorApiKeys and "
        "roster:netvisorCredentials, as stack config holds them).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--stack", dest="init_stack", metavar="NAME", help="the new stack's name")
    parser.add_argument("--backend", metavar="URL", help=f"the state backend (default: {DEFAULT_BACKEND})")
    parser.add_argument(
        "--secrets-provider",
        metavar="PROVIDER",
        help="passphrase (default), or a KMS key: awskms://..., azurekeyvault://..., gcpkms://..., hashivault://...",
    )
    parser.add_argument(
        "--passphrase-file",
        metavar="FILE",
        type=Path,
        help=f"the passphrase (default: {PASSPHRASE_FILE_ENV} or {PASSPHRASE_ENV}, else asked)",
    )
    parser.add_argument("--portal-url", metavar="URL", help=f"fabricai:portalUrl (default: {PORTAL_URL})")
    parser.add_argument(
        "--api-key-file", metavar="FILE", help="the firm's FabricAI API key (fabricai:apiKey); - reads stdin"
    )
    parser.add_argument("--csv", metavar="FILE", type=Path, help="the roster from the firm's client list")
    parser.add_argument(
        "--portal", action="store_true", help="the roster from the portal's clients (adopted)"
    )
    parser.add_argument("--keys-file", metavar="FILE", type=Path, help="the clients' keys (YAML)")
    parser.add_argument(
        "--keys-later", action="store_true", help="set missing client keys later (the commands are printed)"
    )
    parser.add_argument(
        "--netvisor-credentials",
        metavar="NAME",
        default=generate.DEFAULT_CREDENTIALS,
        help=f"the credential set of Netvisor clients the list does not name (default: "
        f"{generate.DEFAULT_CREDENTIALS})",
    )
    parser.add_argument(
        "--default-erp", choices=["procountor", "netvisor"], help="the ERP of list rows without one"
    )
    parser.add_argument("--yes", "-y", action="store_true", help="no questions: every answer from the flags")
    parser.set_defaults(run=run)


class Asker:
    """The questions: on a terminal asked (secrets without echo), a refused answer asked again; without one
    (--yes, or no terminal) a missing answer is an error naming its flag."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive
        self.err = render.stderr()

    def explain(self, text: str) -> None:
        if self.interactive:
            self.err.print(render.escape(text), soft_wrap=True)

    def missing(self, what: str, flag: str) -> OperatorError:
        return OperatorError(f"{what} is needed: pass {flag} (with --yes, init asks nothing)")

    def text(self, question: str, flag: str, default: str | None = None) -> str:
        if not self.interactive:
            if default is None:
                raise self.missing(question, flag)
            return default
        shown = f" [{default}]" if default else ""
        while True:
            print(f"{question}{shown}: ", end="", file=sys.stderr, flush=True)
            line = sys.stdin.readline()
            if not line:
                raise OperatorError(f"no answer to {question!r} (end of input): pass {flag}")
            answer = line.strip()
            if answer or default is not None:
                return answer or (default or "")
            self.err.print("  (an answer is needed; Ctrl-C stops, nothing is made)")

    def checked(
        self,
        question: str,
        flag: str,
        check: Callable[[str], T],
        default: str | None = None,
        *,
        given: str | None = None,
    ) -> T:
        """The answer (``given`` by its flag, else asked) through ``check``; on a terminal an answer it
        refuses is asked again, otherwise the refusal is the error."""
        while True:
            answer = given if given is not None else self.text(question, flag, default)
            try:
                return check(answer)
            except OperatorError as refused:
                if given is not None or not self.interactive:
                    raise
                self.err.print(f"  [red]{render.escape(str(refused))}[/]")

    def yes_no(self, question: str, default: bool) -> bool:
        answer = self.text(f"{question} (y/n)", "--yes", "y" if default else "n").casefold()
        return answer in ("y", "yes", "k", "kyllä")

    def secret(self, question: str, flag: str) -> str:
        if not self.interactive:
            raise self.missing(question, flag)
        while True:
            answer = getpass.getpass(f"{question} (not shown): ", stream=sys.stderr).strip()
            if answer:
                return answer
            self.err.print("  (an answer is needed; Ctrl-C stops, nothing is made)")


def run(args: argparse.Namespace, stack: Stack) -> int:
    find_pulumi()  # before any question: without the CLI nothing can be made
    interactive = not args.yes and sys.stdin.isatty()
    asker = Asker(interactive)
    project = (args.cwd or Path.cwd()).resolve()
    plan = _plan(args, asker, project)
    if plan is None:
        return render.PROBLEMS
    _make(plan)
    _next_steps(plan, args.cwd)
    return render.OK


def _plan(args: argparse.Namespace, asker: Asker, project: Path) -> Plan | None:
    """Every answer, checked; None when the client list or the roster has problems (printed)."""
    err = asker.err
    settings_dir = _settings_dir(project)
    if not asker.interactive:
        _require_flags(args, "--yes" if args.yes else "standard input is not a terminal")
    else:
        err.print(
            "[bold]A new FabricAI roster stack.[/] Ctrl-C stops at any question; nothing is made until "
            "the end."
        )
    if args.backend is None:
        asker.explain(BACKEND_TEXT)
    backend = asker.checked("State backend", "--backend", _backend, DEFAULT_BACKEND, given=args.backend)
    env = {
        key: value for key, value in os.environ.items() if key not in (PASSPHRASE_ENV, PASSPHRASE_FILE_ENV)
    }
    env["PULUMI_BACKEND_URL"] = backend
    env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    existing = _existing_stacks(project, env, backend)

    def new_stack(name: str) -> str:
        _check_stack_name(name)
        _refuse_existing_file(settings_dir / f"Pulumi.{name}.yaml", project, name)
        if name in existing or any(known.endswith(f"/{name}") for known in existing):
            raise OperatorError(
                f"stack {name!r} exists already in {redact_url(backend)}: init never overwrites a stack. "
                "Choose another name, or remove that stack with `pulumi stack rm` if it is truly unused"
            )
        return name

    name = asker.checked(
        "Stack name (e.g. production)", "--stack", new_stack, given=args.init_stack or args.stack
    )
    if args.secrets_provider is None:
        asker.explain("Secrets are encrypted with a passphrase, or with a cloud KMS key (awskms://...).")
    provider = asker.checked(
        "Secrets provider", "--secrets-provider", _secrets_provider, "passphrase", given=args.secrets_provider
    )
    if provider == "passphrase":
        _passphrase(args, asker, env)

    portal_url = args.portal_url
    if portal_url is None and asker.interactive:
        portal_url = asker.text("FabricAI portal API", "--portal-url", PORTAL_URL)
    portal_url = None if portal_url in (None, "", PORTAL_URL) else portal_url.rstrip("/")
    asker.explain(
        "The firm's FabricAI API key (the portal: Organization -> API keys). It is stored encrypted."
    )
    api_key = _read_secret_file(args.api_key_file, "--api-key-file") if args.api_key_file else None
    api_key = api_key or asker.secret("FabricAI API key (fabricai:apiKey)", "--api-key-file")

    csv_path, entries = _roster(args, asker, api_key, portal_url)
    if entries is None:
        return None
    keys = _keys(args, csv_path, entries, err)
    if keys is None:
        return None
    later = _ask_keys(entries, keys, asker, later=args.keys_later)
    try:
        _validate(entries, keys)
    except RosterInvalid as invalid:
        _print_problems(invalid, err, "the roster is not valid; nothing was made.")
        return None
    return Plan(
        stack=name,
        project=project,
        settings_file=settings_dir / f"Pulumi.{name}.yaml",
        backend=backend,
        secrets_provider=provider,
        env=env,
        portal_url=portal_url,
        api_key=api_key,
        entries=entries,
        keys=keys,
        later=later,
    )


def _roster(
    args: argparse.Namespace, asker: Asker, api_key: str, portal_url: str | None
) -> tuple[Path | None, list[dict[str, Any]] | None]:
    """The CSV path and the roster entries (``generate``'s, with its report); None entries on problems."""
    err = asker.err
    csv_path, from_portal = args.csv, args.portal
    if csv_path is None and not from_portal:
        asker.explain(
            "The roster: your client list as CSV (Y-tunnus;Nimi;Järjestelmä...; see `generate --help`), "
            "and/or the clients already in the FabricAI portal (each adopted, never registered twice)."
        )
        csv_path = asker.checked("Client list CSV file (empty: none)", "--csv or --portal", _csv_path, "")
        from_portal = asker.yes_no("Also take the clients already in the portal?", default=csv_path is None)
        if csv_path is None and not from_portal:
            raise OperatorError(
                "no roster source: give a CSV file or take the portal's clients (--csv, --portal)"
            )
    listed = _client_list(csv_path, err)
    if isinstance(listed, bool):
        return csv_path, None
    records = _portal_records(api_key, portal_url, err) if from_portal else None
    try:
        generated = generate.build(
            listed,
            records,
            credentials=args.netvisor_credentials,
            default_erp=args.default_erp,
            known_keys={},
        )
    except RosterInvalid as invalid:
        _print_problems(invalid, err, "the roster is not valid; nothing was made.")
        return csv_path, None
    if not generated.entries:
        raise OperatorError("the roster would be empty: no client in the list or the portal")
    for title, items in (
        ("In the portal but not in the list (left out of the roster)", generated.only_in_portal),
        ("In the list but not in the portal (registered by the first `pulumi up`)", generated.only_in_list),
        ("Portal clients left out", generated.skipped_in_portal),
    ):
        if items:
            err.print(f"[bold]{title}:[/]")
            for item in items:
                err.print(f"  - {render.escape(item)}")
    return csv_path, generated.entries


def _csv_path(answer: str) -> Path | None:
    if not answer:
        return None
    path = Path(answer).expanduser()
    if not path.is_file():
        raise OperatorError(f"{path}: no such file (the client list as CSV; empty: none)")
    return path


def _keys(
    args: argparse.Namespace, csv_path: Path | None, entries: list[dict[str, Any]], err: Any
) -> Keys | None:
    """The keys the CSV and the keys file hold; None when they have problems (printed)."""
    keys = Keys()
    problems: list[str] = []
    if csv_path is not None:
        problems += csv_keys(csv_path, entries, keys)
        if keys.procountor or keys.netvisor:
            err.print(
                f"[yellow]note:[/] {render.escape(str(csv_path))} holds client keys in plain text: once the "
                "stack is made they are stored encrypted, so delete the file or keep it as safe as the "
                "passphrase."
            )
    if args.keys_file is not None:
        problems += file_keys(args.keys_file, keys)
    if problems:
        for problem in problems:
            err.print(f"[bold red]✗[/] {render.escape(problem)}")
        err.print("[bold red]the clients' keys have problems; nothing was made.[/]")
        return None
    return keys


def _require_flags(args: argparse.Namespace, why: str) -> None:
    """Without questions every required answer comes from a flag: name all the missing ones at once."""
    missing = []
    if not (args.init_stack or args.stack):
        missing.append("--stack NAME")
    if not args.api_key_file:
        missing.append("--api-key-file FILE (the FabricAI API key; - for stdin)")
    if args.csv is None and not args.portal:
        missing.append("--csv FILE and/or --portal (the roster)")
    provider = args.secrets_provider or "passphrase"
    has_passphrase = (
        args.passphrase_file or os.environ.get(PASSPHRASE_ENV) or os.environ.get(PASSPHRASE_FILE_ENV)
    )
    if provider == "passphrase" and not has_passphrase:
        missing.append(f"--passphrase-file FILE (or {PASSPHRASE_FILE_ENV} / {PASSPHRASE_ENV} set)")
    if missing:
        raise OperatorError(
            f"init asks nothing here ({why}); these answers are missing:\n  " + "\n  ".join(missing)
        )


def _settings_dir(project: Path) -> Path:
    """Where the CLI keeps stack settings: Pulumi.yaml's stackConfigDir (this project: stacks/)."""
    descriptor = project / "Pulumi.yaml"
    if not descriptor.is_file():
        raise OperatorError(
            f"{project} holds no Pulumi.yaml: run init in the project folder, or pass --cwd (before init)"
        )
    try:
        loaded = yaml.safe_load(descriptor.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise OperatorError(f"cannot read {descriptor}: {error}") from None
    folder = loaded.get("stackConfigDir") if isinstance(loaded, dict) else None
    return project / folder if isinstance(folder, str) and folder else project


def _check_stack_name(name: str) -> None:
    if not STACK_NAME.fullmatch(name):
        raise OperatorError(
            f"stack name {name!r}: use letters, digits, '-', '_' and '.', starting with a letter or digit, "
            "at most 100 characters (e.g. production)"
        )


def _refuse_existing_file(settings_file: Path, project: Path, name: str) -> None:
    if settings_file.exists():
        shown = settings_file.relative_to(project) if settings_file.is_relative_to(project) else settings_file
        raise OperatorError(
            f"{shown} exists already: init never overwrites a stack's settings. Choose another stack name, "
            f"or change stack {name!r} with `pulumi config set --stack {name} ...`"
        )


def _backend(answer: str) -> str:
    """The backend URL, a file folder made absolute (and created, readable by its owner only)."""
    url = answer.strip()
    scheme = url.split("://", 1)[0].casefold() if "://" in url else ""
    if scheme not in BACKEND_SCHEMES:
        raise OperatorError(
            f"backend {redact_url(url)!r}: expected file://FOLDER (one machine), postgres://... or s3://... "
            "(a team), or azblob:// / gs://"
        )
    if scheme != "file":
        return url
    folder = Path(url[len("file://") :].split("?", 1)[0]).expanduser()
    if not folder.is_absolute():
        folder = Path.cwd() / folder
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise OperatorError(f"cannot make the backend folder {folder}: {error.strerror}") from None
    return f"file://{folder}"


def redact_url(url: str) -> str:
    """The URL with the password of its user part (postgres://user:password@host) replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<a URL that cannot be read>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _secrets_provider(answer: str) -> str:
    provider = answer.strip()
    if provider.casefold() == "passphrase":
        return "passphrase"
    if provider.split("://", 1)[0].casefold() in KMS_SCHEMES and "://" in provider:
        return provider
    raise OperatorError(
        f"secrets provider {provider!r}: expected passphrase, or a KMS key URL (awskms://, azurekeyvault://, "
        "gcpkms://, hashivault://)"
    )


def _passphrase(args: argparse.Namespace, asker: Asker, env: dict[str, str]) -> None:
    """Puts the passphrase where Pulumi reads it: the environment of the ``pulumi`` runs."""
    if args.passphrase_file is not None:
        _read_secret_file(str(args.passphrase_file), "--passphrase-file")
        env[PASSPHRASE_FILE_ENV] = str(args.passphrase_file.expanduser().resolve())
        return
    asker.explain(ENCRYPTION_TEXT)
    for name in (PASSPHRASE_FILE_ENV, PASSPHRASE_ENV):
        if os.environ.get(name):
            env[name] = os.environ[name]
            asker.explain(f"The passphrase: the one {name} gives, as set in your environment.")
            return
    for _ in range(PASSPHRASE_TRIES):
        first = asker.secret("New passphrase", "--passphrase-file")
        if first == asker.secret("The same passphrase again", "--passphrase-file"):
            env[PASSPHRASE_ENV] = first
            return
        asker.err.print("  the two did not match; again")
    raise OperatorError(f"the passphrase was not confirmed in {PASSPHRASE_TRIES} tries; nothing was made")


def _read_secret_file(name: str, flag: str) -> str:
    """A secret from a file (``-``: stdin): its text without the line end; never shown."""
    try:
        text = sys.stdin.read() if name == "-" else Path(name).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise OperatorError(f"{flag} {name}: cannot read it: {reason}") from None
    value = text.strip()
    if not value:
        raise OperatorError(f"{flag} {name}: it is empty")
    return value


def _existing_stacks(project: Path, env: Mapping[str, str], backend: str) -> set[str]:
    """The names of the project's stacks in the backend (``pulumi stack ls --json``)."""
    text = run_pulumi(project, env, ["stack", "ls", "--json"], hide=_password(backend))
    try:
        listed = json.loads(text or "[]")
    except json.JSONDecodeError:
        raise OperatorError("`pulumi stack ls --json` did not answer JSON") from None
    items = listed if isinstance(listed, list) else []
    return {str(item.get("name", "")) for item in items if isinstance(item, dict)}


def _client_list(path: Path | None, err: Any) -> ClientList | bool | None:
    """The CSV read (notes and problems printed); None without a CSV; False when it has problems."""
    if path is None:
        return None
    listed = read_client_list(path)
    for note in listed.notes:
        err.print(f"[yellow]note:[/] {path}: {render.escape(str(note))}")
    if listed.problems:
        for problem in listed.problems:
            err.print(f"[bold red]✗[/] {path}: {render.escape(str(problem))}")
        err.print(
            f"[bold red]{len(listed.problems)} problem(s) in {render.escape(str(path))}; nothing was made.[/]"
        )
        return False
    return listed


def _portal_records(api_key: str, portal_url: str | None, err: Any) -> list[ListedClient]:
    config = {"fabricai:apiKey": api_key, **({"fabricai:portalUrl": portal_url} if portal_url else {})}
    err.print("Reading the portal's clients...")
    return generate.portal_clients(PortalClient(settings_of(config).portal()))


def _column(header: str, names: Mapping[str, Sequence[str]]) -> str | None:
    wanted = " ".join(header.strip().strip('"').casefold().split())
    return next((column for column, spellings in names.items() if wanted in spellings), None)


def csv_keys(path: Path, entries: Sequence[Mapping[str, Any]], keys: Keys) -> list[str]:
    """The keys the firm's CSV holds (read as ``csv_import`` reads it), into ``keys``; problems name their
    line, never a value. A Netvisor client's customer id and key fill its entry's credential set."""
    notes: list[Any] = []
    text, _ = decode(path.read_bytes(), notes)
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip()), 0)
    separator = ";" if lines[start].count(";") >= lines[start].count(",") else ","
    rows = list(csv.reader(io.StringIO("\n".join(lines[start:])), delimiter=separator))
    columns = [_column(h, {**KEY_HEADERS, "business_id": HEADERS["business_id"]}) for h in rows[0]]
    if not any(c in KEY_HEADERS for c in columns):
        return []
    by_id = {BusinessId(e["businessId"]): e for e in entries}
    problems: list[str] = []
    for offset, row in enumerate(rows[1:], start=start + 2):
        values = {c: cell.strip() for c, cell in zip(columns, row, strict=False) if c and cell.strip()}
        try:
            entry = by_id.get(BusinessId(values.get("business_id", "")))
        except InvalidBusinessId:
            entry = None
        if entry is None:
            continue
        where = f"{path}: line {offset} ({entry['name']}, {entry['businessId']})"
        if entry["erp"] == "procountor":
            if "customer_id" in values or "customer_key" in values:
                problems.append(f"{where}: Netvisor credentials on a Procountor client; leave them empty")
            if "procountor_api_key" in values:
                keys.procountor[entry["businessId"]] = values["procountor_api_key"]
            continue
        if "procountor_api_key" in values:
            problems.append(f"{where}: a Procountor API key on a Netvisor client; leave it empty")
        pair = {
            k: values[v]
            for k, v in (("customerId", "customer_id"), ("customerKey", "customer_key"))
            if v in values
        }
        if not pair:
            continue
        name = entry["netvisorCredentials"]
        known = keys.netvisor.setdefault(name, {})
        for part, value in pair.items():
            if known.setdefault(part, value) != value:
                problems.append(
                    f"{where}: Netvisor credential set {name!r} has another {part} on an earlier line; one "
                    "set has one customer id and key (name different sets in the Netvisor-tunnukset column)"
                )
    return problems


def file_keys(path: Path, keys: Keys) -> list[str]:
    """The keys file (YAML, as stack config holds them: ``roster:procountorApiKeys``,
    ``roster:netvisorCredentials``) into ``keys``; a value here wins over the CSV's."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise OperatorError(
            f"--keys-file {path}: cannot read it: {getattr(error, 'strerror', error)}"
        ) from None
    except yaml.YAMLError:
        # The parser's message may quote a line of the file, that is a key: only the position is said.
        raise OperatorError(f"--keys-file {path}: not valid YAML") from None
    if not isinstance(loaded, dict) or not set(loaded) <= {PROCOUNTOR_API_KEYS, NETVISOR_CREDENTIALS}:
        return [
            f"--keys-file {path}: expected a mapping of {PROCOUNTOR_API_KEYS} (business ID: API key) and/or "
            f"{NETVISOR_CREDENTIALS} (name: {{customerId, customerKey}})"
        ]
    problems: list[str] = []
    for section in (PROCOUNTOR_API_KEYS, NETVISOR_CREDENTIALS):
        if not isinstance(loaded.get(section) or {}, dict):
            problems.append(f"--keys-file {path}: {section}: expected a mapping")
            loaded[section] = {}
    for business_id, key in (loaded.get(PROCOUNTOR_API_KEYS) or {}).items():
        if not isinstance(key, str):
            problems.append(
                f"--keys-file {path}: {PROCOUNTOR_API_KEYS}: the key of {business_id} is not text"
            )
            continue
        keys.procountor[str(business_id)] = key
    for name, pair in (loaded.get(NETVISOR_CREDENTIALS) or {}).items():
        if not isinstance(pair, dict):
            problems.append(
                f"--keys-file {path}: {NETVISOR_CREDENTIALS}.{name}: expected customerId and customerKey"
            )
            continue
        keys.netvisor.setdefault(str(name), {}).update({k: str(v) for k, v in pair.items()})
    return problems


def _ask_keys(entries: Sequence[Mapping[str, Any]], keys: Keys, asker: Asker, *, later: bool) -> list[str]:
    """Asks every key still missing (without echo); with ``later`` none is asked and the commands to set
    them are returned."""
    have = {BusinessId(k) for k in keys.procountor if _is_business_id(k)}
    missing_keys = [
        e for e in entries if e["erp"] == "procountor" and BusinessId(e["businessId"]) not in have
    ]
    sets = sorted({e["netvisorCredentials"] for e in entries if e["erp"] == "netvisor"})
    missing_sets = [s for s in sets if not {"customerId", "customerKey"} <= set(keys.netvisor.get(s, {}))]
    if not (missing_keys or missing_sets):
        return []
    if asker.interactive and not later:
        asker.explain(
            f"Your clients' keys: {len(missing_keys)} Procountor API key(s) (made for FabricAI in each "
            f"client's Procountor) and {len(missing_sets)} Netvisor credential set(s). They are stored "
            "encrypted."
        )
        later = not asker.yes_no("Type them now? (no: the commands to set them later are printed)", True)
    if later:
        complete = {n: p for n, p in keys.netvisor.items() if {"customerId", "customerKey"} <= set(p)}
        known = {PROCOUNTOR_API_KEYS: keys.procountor, NETVISOR_CREDENTIALS: complete}
        # A customer id already known is written in the settings file: only its key is still to set.
        written = [
            f"'{NETVISOR_CREDENTIALS}.{n}.customerId'" for n, p in keys.netvisor.items() if "customerId" in p
        ]
        return [c for c in generate.key_commands(entries, known) if not any(w in c for w in written)]
    if not asker.interactive:
        names = ", ".join(
            [e["businessId"] for e in missing_keys] + [f"netvisor set {s!r}" for s in missing_sets]
        )
        raise OperatorError(
            f"no key for {names}: put them in the CSV's key columns or in --keys-file FILE, or pass "
            "--keys-later"
        )
    for entry in missing_keys:
        keys.procountor[entry["businessId"]] = asker.secret(
            f"Procountor API key of {entry['name']} ({entry['businessId']})", "--keys-file"
        )
    for name in missing_sets:
        pair = keys.netvisor.setdefault(name, {})
        if "customerId" not in pair:
            pair["customerId"] = asker.text(f"Netvisor customer id of credential set {name!r}", "--keys-file")
        if "customerKey" not in pair:
            pair["customerKey"] = asker.secret(
                f"Netvisor customer key of credential set {name!r}", "--keys-file"
            )
    return []


def _is_business_id(text: str) -> bool:
    try:
        BusinessId(text)
    except InvalidBusinessId:
        return False
    return True


def _validate(entries: Sequence[Mapping[str, Any]], keys: Keys) -> None:
    """The roster model's verdict with the real keys; a key still to be set later is stood in for (each by
    a stand-in of its own: one value for all would be "the same API key under two clients")."""
    procountor: dict[str, str] = {
        e["businessId"]: f"stand-in-{e['businessId']}" for e in entries if e["erp"] == "procountor"
    }
    for written, key in keys.procountor.items():
        match = next(
            (b for b in procountor if _is_business_id(written) and BusinessId(written) == b), written
        )
        procountor[match] = key
    sets: dict[str, dict[str, str]] = {
        e["netvisorCredentials"]: {
            "customerId": f"stand-in-{e['netvisorCredentials']}",
            "customerKey": f"stand-in-{e['netvisorCredentials']}",
        }
        for e in entries
        if e["erp"] == "netvisor"
    }
    for name, pair in keys.netvisor.items():
        sets[name] = {**sets.get(name, {}), **pair}
    parse_roster(list(entries), procountor, sets)


def _print_problems(invalid: RosterInvalid, err: Any, closing: str) -> None:
    for problem in invalid.problems:
        err.print(
            render.problem_line(
                problem.entry, (f"{problem.field}: " if problem.field else "") + problem.message
            )
        )
    err.print(f"[bold red]{closing}[/]")


def _settings_text(plan: Plan) -> str:
    config: dict[str, Any] = {}
    if plan.portal_url:
        config["fabricai:portalUrl"] = plan.portal_url
    config["roster:clients"] = plan.entries
    ids = {
        name: {"customerId": pair["customerId"]}
        for name, pair in plan.keys.netvisor.items()
        if "customerId" in pair
    }
    if ids:
        config[NETVISOR_CREDENTIALS] = ids
    header = (
        f"# Stack {plan.stack}, made by `fabricai-roster init`. Secrets are set with\n"
        "# `pulumi config set --secret` and stored here encrypted (with the stack's passphrase or KMS key),\n"
        "# never in plain text.\n"
    )
    return header + yaml.safe_dump({"config": config}, allow_unicode=True, sort_keys=False)


def _secrets(plan: Plan) -> list[tuple[str, str]]:
    """(``pulumi config set --path`` path, value) of every secret init sets."""
    found = [("fabricai:apiKey", plan.api_key)]
    found += [(f'{PROCOUNTOR_API_KEYS}["{bid}"]', key) for bid, key in sorted(plan.keys.procountor.items())]
    found += [
        (f'{NETVISOR_CREDENTIALS}["{name}"]["customerKey"]', pair["customerKey"])
        for name, pair in sorted(plan.keys.netvisor.items())
        if "customerKey" in pair
    ]
    return found


def _pulumi(plan: Plan, *args: str, stdin: str | None = None) -> None:
    """``pulumi ARGS --stack S`` for the new stack."""
    hide = [plan.api_key, *_password(plan.backend), *(value for _, value in _secrets(plan))]
    # The passphrase is in the environment: masked too, should the CLI quote it.
    hide = [*hide, plan.env.get(PASSPHRASE_ENV, "")]
    run_pulumi(plan.project, plan.env, [*args, "--stack", plan.stack], stdin=stdin, hide=hide)


def _password(url: str) -> list[str]:
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return [password] if password else []


def _make(plan: Plan) -> None:
    """The settings file, the stack, its secrets; on any failure, what this run made is removed again."""
    err = render.stderr()
    try:
        plan.settings_file.parent.mkdir(parents=True, exist_ok=True)
        with plan.settings_file.open("x", encoding="utf-8") as settings:  # "x": never overwrite
            settings.write(_settings_text(plan))
    except FileExistsError:
        raise OperatorError(f"{plan.settings_file} appeared meanwhile: init never overwrites it") from None
    except OSError as error:
        raise OperatorError(f"cannot write {plan.settings_file}: {error.strerror}") from None
    made_stack = False
    try:
        _pulumi(plan, "stack", "init", "--secrets-provider", plan.secrets_provider)
        made_stack = True
        secrets = _secrets(plan)
        for done, (path, value) in enumerate(secrets, start=1):
            err.print(f"  setting secret {done}/{len(secrets)}: {render.escape(path)}", highlight=False)
            _pulumi(plan, "config", "set", "--secret", "--path", path, stdin=value)
    except BaseException:
        _undo(plan, made_stack, err)
        raise


def _undo(plan: Plan, made_stack: bool, err: Any) -> None:
    """Removes the empty stack and the settings file this run made (nothing else is ever touched)."""
    if made_stack:
        try:
            _pulumi(plan, "stack", "rm", "--yes", "--force")
        except FabricaiRosterError as error:
            err.print(
                f"[yellow]the half-made stack {plan.stack!r} could not be removed "
                f"({render.escape(str(error))}); remove it with `pulumi stack rm {plan.stack}` before "
                "running init again[/]"
            )
    plan.settings_file.unlink(missing_ok=True)
    err.print(f"[yellow]init stopped: the stack {plan.stack!r} and its settings file were not kept.[/]")


def _next_steps(plan: Plan, cwd: Path | None) -> None:
    out = render.stdout()
    procountor = sum(1 for e in plan.entries if e["erp"] == "procountor")
    shown_file = plan.settings_file.relative_to(plan.project)
    out.print(
        f"[bold green]✓[/] Stack {plan.stack} is made: {len(plan.entries)} client"
        f"{'s' if len(plan.entries) != 1 else ''} ({procountor} Procountor, "
        f"{len(plan.entries) - procountor} Netvisor) in {shown_file}; its secrets are encrypted there."
    )
    out.print("\nEvery `pulumi` and `fabricai-roster` run of this stack needs, in its environment:")
    backend = redact_url(plan.backend).replace(":***@", ":<password>@")
    out.print(f"  export PULUMI_BACKEND_URL='{render.escape(backend)}'", soft_wrap=True)
    if plan.secrets_provider == "passphrase":
        out.print(
            f"  export {PASSPHRASE_FILE_ENV}=<a file only you can read, holding the passphrase>   "
            f"(or {PASSPHRASE_ENV})",
            soft_wrap=True,
        )
        out.print("  The passphrase encrypts the stack's secrets: keep it safe; it cannot be recovered.")
    if plan.later:
        out.print(
            "\nStill to set, the clients' keys (each value typed at the prompt, never on the command line):"
        )
        for command in plan.later:
            out.print(f"  {render.escape(command)} --stack {plan.stack}", soft_wrap=True)
    where = ["--cwd", str(cwd)] if cwd is not None else []
    validate_command = " ".join(["fabricai-roster", "--stack", plan.stack, *where, "validate"])
    preview = " ".join(["fabricai-roster", "--stack", plan.stack, *where, "preview"])
    up = " ".join(["fabricai-roster", "--stack", plan.stack, *where, "up"])
    out.print("\nNext:")
    out.print(f"  {render.escape(validate_command)}", soft_wrap=True)
    out.print(f"  {render.escape(preview)}", soft_wrap=True)
    out.print(f'then `{render.escape(up)}` (see docs/OPERATOR.md, "Your own firm").', soft_wrap=True)


__all__ = ["DEFAULT_BACKEND", "Keys", "add_parser", "csv_keys", "file_keys", "redact_url", "run"]
