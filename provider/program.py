"""The roster program: the whole roster from stack config, declared as one component per client.

``run()`` is what ``stacks/__main__.py`` calls. It reads ``roster:clients``, ``roster:procountorApiKeys`` and
``roster:netvisorCredentials``, validates the whole roster first (every problem at once) and only then
declares resources:

- per client a ``fabricai:roster:Client`` component named by business ID (the URN stays when the name
  changes) holding its ``ClientCompany`` and its integration (``ProcountorIntegration`` or
  ``NetvisorIntegration``, whose ``client_id`` is the company's portal id);
- per Netvisor credential set that a client uses, one ``NetvisorCredentials``; each Netvisor integration
  takes its ``customer_key_fingerprint`` as ``credentials_fingerprint`` and depends on it, so a rotated key
  is verified once, there, before any integration is touched.

Secrets: config values arrive decrypted in the program (that is how Pulumi hands config to it), so the
roster is validated from plain values; every API key and customer key is then passed on only inside
``pulumi.Output.secret``. Business IDs and names stay plain, so previews and diffs remain readable.

An invalid roster declares nothing: its message is logged as one error and the program exits with the
language host's "message already shown" code, so the CLI prints that message and no traceback.

Deregistration is deliberate (``provider.roster.deregistration``): before declaring, the program reads its own
stack's last checkpoint through the engine's ``pulumi:pulumi:readStackResourceOutputs`` (an invoke: nothing
of it is kept in state, so ``pulumi refresh --expect-no-changes`` stays quiet) and stops, declaring nothing,
when more ClientCompanies would be deleted or replaced (an ``erp`` move) than ``roster:maxDeregistrations``
allows and they are not all confirmed in ``roster:confirmDeregistration``. A client with ``retain: true`` has
its resources kept on delete (``retain_on_delete``): removing it from the roster forgets it in the stack and
leaves its portal record and connection as they are.

Identity (``provider.resources.stack_identity``): the same read gives the stack's identity (its
``StackIdentity`` resource), or ``roster:stackId`` pins it, or the first ``up`` makes it. It is declared
first; every ClientCompany depends on it and carries it as its ``stack`` (the record's ``rosterStack`` tag),
so no record carries an identity the state does not hold.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final, NoReturn

import pulumi
from pulumi.runtime import invoke_async, rpc

from provider.errors import ConfigurationError, DeregistrationUnconfirmed, RosterInvalid
from provider.resources.client_company import ClientCompany
from provider.resources.netvisor_credentials import NetvisorCredentials
from provider.resources.netvisor_integration import NetvisorIntegration
from provider.resources.procountor_integration import ProcountorIntegration
from provider.resources.stack_identity import STACK_ID_KEY, StackIdentity, first_run_notice, resolve
from provider.roster import ClientEntry, Erp, Roster
from provider.roster.deregistration import (
    ROSTER_CLIENTS_OUTPUT,
    StackRecord,
    notice,
    roster_record,
    stale_confirmations,
)
from provider.roster.deregistration import check as check_deregistrations
from provider.roster.required_settings import require_settings
from provider.roster.stack_config import (
    config_size_warning,
    parse_stack_config,
    read_engine_config,
    read_stack_config,
)
from provider.sdk_overhead import skip_sdk_overhead

CLIENT_TYPE: Final = "fabricai:roster:Client"
# pulumi-language-python-exec exits with this code to tell the CLI "the error was shown already": the CLI
# then prints the logged message only, without "program exited with non-zero exit code" or a traceback.
MESSAGE_SHOWN_EXIT_CODE: Final = 32
# The engine's built-in function that reads a stack's last checkpoint: every resource's type and outputs.
READ_STATE: Final = "pulumi:pulumi:readStackResourceOutputs"
# Pauses before reading it again after a failed read; a failure of the read after the last one stops the run.
READ_STATE_PAUSES: Final = (0.2, 0.5, 1.0)
# The resource that keeps the stack's identity, and the stack output that shows it.
IDENTITY_NAME: Final = "stack-identity"
STACK_ID_OUTPUT: Final = "rosterStackId"

Integration = ProcountorIntegration | NetvisorIntegration
# The NetvisorCredentials inputs naming the company a credential set is verified against.
VERIFY_WITH: Final = ("verify_business_id", "verify_client_name")


# How a caller marks a key secret: pulumi.Output.secret in the program, a test double elsewhere.
WrapSecret = Callable[[str], Any]


def company_name(client: ClientEntry) -> str:
    return f"{client.business_id}-company"


def integration_name(client: ClientEntry) -> str:
    return f"{client.business_id}-{client.erp.value}"


def credentials_name(set_name: str) -> str:
    return f"netvisor-credentials-{set_name}"


def company_inputs(client: ClientEntry, stack: str) -> dict[str, Any]:
    """The ClientCompany inputs of a roster entry, registered by the stack whose identity is ``stack``."""
    return {
        "business_id": str(client.business_id),
        "name": client.name,
        "erp": client.erp.value,
        "process": client.process.value,
        "vat": client.vat.model_dump(mode="json"),
        "teams": list(client.teams),
        "tags": dict(client.tags),
        "adopt": client.adopt,
        "kept_on_removal": client.retain or client.protect,
        "stack": stack,
    }


def integration_inputs(client: ClientEntry, roster: Roster, secret: WrapSecret) -> dict[str, Any]:
    """The integration inputs of a roster entry, but for those its dependencies' outputs provide
    (``client_id``; for Netvisor ``credentials_fingerprint``). ``secret`` wraps every key."""
    common = {
        "business_id": str(client.business_id),
        "client_name": client.name,
        "dimensions": list(client.dimensions),
    }
    if client.erp is Erp.PROCOUNTOR:
        return {**common, "api_key": secret(roster.api_key_for(client).get_secret_value())}
    pair = roster.credentials_for(client)
    return {
        **common,
        "customer_id": pair.customer_id,
        "customer_key": secret(pair.customer_key.get_secret_value()),
    }


def credentials_inputs(
    set_name: str, first_client: ClientEntry, roster: Roster, secret: WrapSecret
) -> dict[str, Any]:
    """The NetvisorCredentials inputs of a credential set, verified against its first client."""
    pair = roster.credentials_for(first_client)
    others = [
        str(client.business_id)
        for client in roster.clients
        if client.netvisor_credentials == set_name
        and client is not first_client
        and client.erp is Erp.NETVISOR
    ]
    return {
        "name": set_name,
        "customer_id": pair.customer_id,
        "customer_key": secret(pair.customer_key.get_secret_value()),
        "verify_business_id": str(first_client.business_id),
        "verify_client_name": first_client.name,
        "verify_alternatives": others,
    }


def credential_sets(roster: Roster) -> dict[str, ClientEntry]:
    """Each credential set a client uses, with the first client that uses it."""
    first_user: dict[str, ClientEntry] = {}
    for client in roster.clients:
        if client.erp is Erp.NETVISOR and client.netvisor_credentials is not None:
            first_user.setdefault(client.netvisor_credentials, client)
    return first_user


class RosterClient(pulumi.ComponentResource):
    """One client of the roster: its portal record and its ERP integration, shown as one tree."""

    # No class annotations: the SDK evaluates a resource class's annotations at every registration.

    def __init__(
        self,
        client: ClientEntry,
        roster: Roster,
        credentials: Mapping[str, NetvisorCredentials],
        identity: StackIdentity,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(CLIENT_TYPE, str(client.business_id), None, opts)
        # Children inherit protect from this component; retain is set on each of them.
        child = pulumi.ResourceOptions(parent=self, retain_on_delete=client.retain)
        # The identity is in state before any record carries it (a record tagged with an identity the state
        # lost would be someone else's to the next run).
        self.company: ClientCompany = ClientCompany(
            company_name(client),
            **company_inputs(client, identity.declared_id),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[identity])),
        )
        inputs = integration_inputs(client, roster, pulumi.Output.secret)
        self.integration: Integration
        if client.erp is Erp.PROCOUNTOR:
            self.integration = ProcountorIntegration(
                integration_name(client), client_id=self.company.portal_id, **inputs, opts=child
            )
        else:
            verified = credentials[str(client.netvisor_credentials)]
            self.integration = NetvisorIntegration(
                integration_name(client),
                client_id=self.company.portal_id,
                credentials_fingerprint=verified.customer_key_fingerprint,
                **inputs,
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[verified])),
            )
        # Made once: the component's outputs and the stack's both use them.
        self.status: pulumi.Output[str] = pulumi.Output.all(
            self.integration.client_status, self.company.training
        ).apply(_progress)
        self.summary_outputs: dict[str, Any] = self.summary()
        self.register_outputs(self.summary_outputs)

    def summary(self) -> dict[str, Any]:
        """What the stack outputs say about this client.

        ``status`` is where the client is on its way to production, from its models (CONNECTING, TRAINING,
        IN_PRODUCTION, FAILED, INACTIVE) as of the last up or refresh; ``connection`` is the status of the
        ERP connection this stack made; ``predictions`` the state of each roster dimension's predictions
        (a model status, or WAITING until FabricAI has read the dimension from the ERP).
        """
        return {
            "portalId": self.company.portal_id,
            "erp": self.erp.value,
            "status": self.status,
            "connection": self.integration.status,
            "predictions": self.integration.dimension_predictions,
        }

    @property
    def erp(self) -> Erp:
        return Erp.PROCOUNTOR if isinstance(self.integration, ProcountorIntegration) else Erp.NETVISOR


def _progress(statuses: list[Any]) -> str:
    """A client's status: the progress the integration saw after connecting (or at refresh); until it has
    connected, the company's (CONNECTING for a new client)."""
    return str(statuses[0] or statuses[1] or "CONNECTING")


def declare_credentials(roster: Roster) -> dict[str, NetvisorCredentials]:
    """One NetvisorCredentials per credential set a client uses, verified against its first client.

    The verifying client is kept from the first run (``ignore_changes``): a rotation is verified against
    the same company, and roster edits elsewhere leave the credential set alone. Its other clients go with
    it (``verify_alternatives``, never a change by itself): on a firm's stack the portal verifies through the
    first that has a record, should the first client have left.
    """
    return {
        name: NetvisorCredentials(
            credentials_name(name),
            **credentials_inputs(name, client, roster, pulumi.Output.secret),
            # Which client the set was first verified with does not matter later: adding or removing
            # clients must not re-verify (and show as a change of) the shared credentials.
            opts=pulumi.ResourceOptions(ignore_changes=list(VERIFY_WITH)),
        )
        for name, client in credential_sets(roster).items()
    }


def declare_clients(roster: Roster, stack_id: str) -> Iterator[tuple[str, RosterClient]]:
    """Declare the stack's identity, then the clients of a validated roster one by one: each business ID with
    its component."""
    identity = StackIdentity(IDENTITY_NAME, stack_id=stack_id)
    credentials = declare_credentials(roster)
    for client in roster.clients:
        options = pulumi.ResourceOptions(protect=client.protect, retain_on_delete=client.retain)
        yield str(client.business_id), RosterClient(client, roster, credentials, identity, options)


def declare_roster(roster: Roster, stack_id: str) -> dict[str, RosterClient]:
    """Declare every client of a validated roster; returns the components by business ID."""
    return dict(declare_clients(roster, stack_id))


async def declare_roster_yielding(roster: Roster, stack_id: str) -> dict[str, RosterClient]:
    """``declare_roster``, yielding to the event loop after each client: the SDK sends a resource's
    registration from the loop, so the engine creates the first clients while the next ones are still
    being declared (declaring 2,000 clients takes the program about a minute)."""
    clients: dict[str, RosterClient] = {}
    for business_id, component in declare_clients(roster, stack_id):
        clients[business_id] = component
        await asyncio.sleep(0)
    return clients


def stack_outputs(clients: Mapping[str, RosterClient]) -> dict[str, Any]:
    """Per client its portal id, ERP and status; counts by status and by ERP. (``declare`` adds
    ``rosterClients``, each client's name and ``retain``, which the next run's deregistration guard reads.)"""
    by_erp = Counter(client.erp.value for client in clients.values())
    statuses: Sequence[pulumi.Output[Any]] = [client.status for client in clients.values()]
    return {
        "clients": {business_id: client.summary_outputs for business_id, client in clients.items()},
        "clientsByStatus": pulumi.Output.all(*statuses).apply(_count),
        "clientsByErp": dict(sorted(by_erp.items())),
    }


def _count(statuses: list[Any]) -> dict[str, int]:
    return dict(sorted(Counter(str(status) for status in statuses if status is not None).items()))


def read_roster(config: pulumi.Config | None = None) -> Roster:
    """The validated roster from stack config; RosterInvalid lists every problem found.

    Warns first when the stack config nears the size the engine can still hand to the program (see
    ``provider.roster.config_size``): the next clients added inline would stop ``pulumi up``.
    """
    if config is None:  # every key of the run's config, so that a misspelt roster key is found too
        warning = config_size_warning(read_engine_config())
        if warning is not None:
            pulumi.log.warn(warning)
        return parse_stack_config(read_stack_config())
    names = (
        "clients",
        "clientsFile",
        "procountorApiKeys",
        "netvisorCredentials",
        "allowEmpty",
        "maxDeregistrations",
        "confirmDeregistration",
        "stackId",
    )
    return parse_stack_config({f"roster:{name}": config.get_object(name) for name in names})


def run() -> None:
    """The program (stacks/__main__.py): validate the roster, then declare it from Pulumi's asynchronous
    entry point; or show every problem and stop before anything is declared."""
    try:
        roster = read_roster()
        require_settings(roster, pulumi.runtime.get_config)  # every missing setting, before any write
    except RosterInvalid as invalid:
        pulumi.log.error(str(invalid))
        raise SystemExit(MESSAGE_SHOWN_EXIT_CODE) from None

    skip_sdk_overhead()  # before the first resource: see provider/sdk_overhead.py

    async def program() -> None:
        await declare(roster)

    pulumi.run(program)


async def read_state() -> StackRecord:
    """This stack as its last checkpoint holds it (empty before the first run): its ClientCompanies, its
    identity, its outputs.

    Read through the engine's ``readStackResourceOutputs`` for the stack itself, in ``preview`` as in ``up``:
    an invoke, so nothing of the read is kept in state. The local backend's checkpoint was seen unreadable
    for an instant while the engine saved the update's first step ("failed to load checkpoint: EOF", CLI
    v3.274.0, a first ``up``), so a failed read is tried again a few times. A read that still fails raises:
    ``declare`` says so and stops the run; the guard is never skipped silently.
    """
    name = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    for pause in READ_STATE_PAUSES:
        try:
            answer = await invoke_async(READ_STATE, {"stackName": name})
            break
        except Exception:  # noqa: BLE001 - the engine's error type is not public; the last try raises it
            await asyncio.sleep(pause)
    else:
        answer = await invoke_async(READ_STATE, {"stackName": name})
    resources = answer.get("outputs") if isinstance(answer, dict) else None
    if not isinstance(resources, dict):
        raise TypeError(f"reading the state of stack {name} answered {type(resources).__name__}")
    return StackRecord.from_state(_plain(resources))


def _plain(value: Any) -> Any:
    """The engine's answer without its secret markers (only names, ERPs and flags are read from it)."""
    if rpc.is_rpc_secret(value):
        return _plain(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _stop(message: str) -> NoReturn:
    pulumi.log.error(message)
    raise SystemExit(MESSAGE_SHOWN_EXIT_CODE) from None


async def declare(roster: Roster) -> None:
    """Check what would be deregistered, declare the roster and export the outputs.

    When more clients would be deregistered than the roster allows (``provider.roster.deregistration``),
    nothing is declared: the refusal is logged as one error, the previous outputs are exported again and the
    program exits with the "message already shown" code, so the engine changes nothing.

    It yields to the event loop after each client and once more after the exports. Declared in one go
    without yielding, every resource's outputs are still pending when the SDK starts waiting for them
    (``wait_for_rpcs``), and each output that completes then wakes a wait over all the pending ones:
    measured with 2,000 clients, the program spent minutes of CPU in that loop, and the first client was
    created only after all were declared (docs/PERFORMANCE.md has the figures before and after).
    """
    try:
        record = await read_state()
    except Exception as failure:  # noqa: BLE001 - any failure to read must stop the run, said plainly
        pulumi.log.warn(f"The stack's state could not be read ({type(failure).__name__}: {failure}).")
        _stop(
            "The roster was not applied: without the stack's last state the program cannot tell which "
            "clients this update would deregister, so nothing was changed. Check that `pulumi stack export` "
            "works for this stack, then run `pulumi up` again."
        )
    try:
        stack_id, new = resolve(
            pulumi.Config("roster").get(STACK_ID_KEY.partition(":")[2]), record.stack_id, pulumi.get_stack()
        )
        check_deregistrations(record, roster)
    except (DeregistrationUnconfirmed, ConfigurationError) as refused:
        for name, value in record.outputs.items():
            pulumi.export(name, value)
        _stop(str(refused))
    for message in (notice(record, roster), stale_confirmations(record, roster)):
        if message:
            pulumi.log.warn(message)
    if new and not pulumi.runtime.is_dry_run():
        pulumi.log.warn(first_run_notice(stack_id))
    for name, value in stack_outputs(await declare_roster_yielding(roster, stack_id)).items():
        pulumi.export(name, value)
    pulumi.export(ROSTER_CLIENTS_OUTPUT, roster_record(roster))
    pulumi.export(STACK_ID_OUTPUT, stack_id)
    await asyncio.sleep(0)
