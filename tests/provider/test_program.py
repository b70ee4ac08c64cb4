"""The roster program under Pulumi's mocks: the resource graph, secrets, invalid rosters, outputs."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest
from pulumi.runtime import mocks, rpc
from pulumi.runtime import settings as runtime_settings

from provider.program import (
    CLIENT_TYPE,
    MESSAGE_SHOWN_EXIT_CODE,
    declare_roster,
    declare_roster_yielding,
    run,
    stack_outputs,
)
from provider.resources.netvisor_credentials import NetvisorCredentialsProvider
from provider.roster import Roster, parse_roster
from scripts.example_config import stack_config
from tests.sandbox.conftest import business_ids

DYNAMIC = "pulumi-python:dynamic/fabricai:"
SANDBOX_URL = "http://127.0.0.1:9"
# The identity the program would have resolved (provider/resources/stack_identity.py).
STACK_ID = "sandbox-0123456789abcdef01234567"


@dataclass(frozen=True)
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    dependencies: frozenset[str]
    protect: bool
    ignore_changes: frozenset[str]
    inputs: dict[str, Any]

    def compared_inputs(self) -> dict[str, Any]:
        """The inputs that make a change from the previous run's: ignore_changes left out, and what the
        provider's own diff does not count (a credential set's other clients)."""
        return {
            key: value
            for key, value in self.inputs.items()
            if key not in self.ignore_changes and key not in NetvisorCredentialsProvider.not_a_change
        }


class RecordingMocks(mocks.Mocks):
    """Answers like a successful engine would; ids and outputs are predictable."""

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        raise AssertionError(f"the program makes no invokes, got {args.token}")

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        outputs = {key: value for key, value in args.inputs.items() if key != "__provider"}
        if args.typ == DYNAMIC + "ClientCompany":
            return f"portal-{args.name}", {
                **outputs,
                "portal_id": 100 + len(args.name),
                "status": "ACTIVE",
                "training": "CONNECTING",
            }
        if args.typ == DYNAMIC + "NetvisorCredentials":
            return str(args.inputs["name"]), {**outputs, "customer_key_fingerprint": "fp-" + args.name}
        # A Procountor integration reports the progress it saw after connecting and its predictions; the
        # Netvisor mock reports none, so the company's progress stands in.
        seen = (
            {"client_status": "TRAINING", "dimension_predictions": {"Kustannuspaikka": "PENDING"}}
            if args.name.endswith("-procountor")
            else {}
        )
        return f"connection-{args.name}", {**outputs, "status": "ACTIVE", **seen}


class RecordingMonitor(mocks.MockMonitor):
    """Also keeps what the mock API leaves out: parent, dependencies, protect, secret-wrapped inputs."""

    def __init__(self) -> None:
        super().__init__(RecordingMocks())
        self.registrations: dict[str, Registration] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type != "pulumi:pulumi:Stack":
            dependencies = set(request.dependencies) | {
                urn for deps in request.propertyDependencies.values() for urn in deps.urns
            }
            inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
            self.registrations[urn] = Registration(
                urn,
                request.type,
                request.name,
                request.parent,
                frozenset(dependencies),
                request.protect,
                frozenset(request.ignoreChanges),
                inputs,
            )
        return super().RegisterResource(request)  # type: ignore[no-untyped-call]  # pulumi leaves it untyped

    def by_name(self, name: str) -> Registration:
        (found,) = [registration for registration in self.registrations.values() if registration.name == name]
        return found


@pytest.fixture
def monitor() -> Iterator[RecordingMonitor]:
    # Pulumi's mocks run on the current event loop; give each test its own, whatever ran before.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    recording = RecordingMonitor()
    pulumi.runtime.set_mocks(RecordingMocks(), "fabricai-roster", "test", False, monitor=recording)
    yield recording
    loop.close()
    asyncio.set_event_loop(None)


def under_mocks(program: Callable[[], Any]) -> None:
    """Run ``program`` as ``@pulumi.runtime.test`` does: to the end, every output resolved."""
    test: Callable[[Callable[[], Any]], Callable[[], None]] = pulumi.runtime.test
    test(program)()


def example_roster(extra_clients: list[dict[str, Any]] | None = None) -> Roster:
    config = stack_config("sandbox", SANDBOX_URL, lambda value: value)
    clients = list(config["roster:clients"]) + (extra_clients or [])
    return parse_roster(clients, config["roster:procountorApiKeys"], config["roster:netvisorCredentials"])


def declared(roster: Roster, check: Callable[[dict[str, Any]], None] | None = None) -> Any:
    """Declare ``roster`` and, once every output is known, hand the resolved stack outputs to ``check``."""
    outputs = stack_outputs(declare_roster(roster, STACK_ID))
    return pulumi.Output.from_input(outputs).apply(check or (lambda _: None))


def test_every_client_is_a_component_holding_its_company_and_integration(monitor: RecordingMonitor) -> None:
    roster = example_roster()

    def program() -> Any:
        return declared(roster)

    under_mocks(program)
    stack_urn = "urn:pulumi:test::fabricai-roster::pulumi:pulumi:Stack::fabricai-roster-test"
    credentials = monitor.by_name("netvisor-credentials-firm")
    assert credentials.type == DYNAMIC + "NetvisorCredentials"
    assert credentials.parent == stack_urn
    assert credentials.inputs["customer_id"] == "TT_tase_api_1"
    identity = monitor.by_name("stack-identity")
    assert identity.type == DYNAMIC + "StackIdentity" and identity.inputs["stack_id"] == STACK_ID
    for client in roster.clients:
        business_id = str(client.business_id)
        component = monitor.by_name(business_id)
        assert component.type == CLIENT_TYPE
        assert component.parent == stack_urn
        company = monitor.by_name(f"{business_id}-company")
        assert company.type == DYNAMIC + "ClientCompany"
        assert company.parent == component.urn
        assert company.inputs["business_id"] == business_id
        assert company.inputs["name"] == client.name
        assert company.inputs["process"] == client.process.value
        # Registered by this stack's identity, which is in state before the record carries it.
        assert company.inputs["stack"] == STACK_ID and identity.urn in company.dependencies
        integration = monitor.by_name(f"{business_id}-{client.erp.value}")
        assert integration.type == DYNAMIC + (
            "ProcountorIntegration" if client.erp == "procountor" else "NetvisorIntegration"
        )
        assert integration.parent == component.urn
        assert company.urn in integration.dependencies
        assert integration.inputs["client_id"] == 100 + len(company.name)
        if client.erp == "netvisor":
            assert credentials.urn in integration.dependencies
            assert integration.inputs["credentials_fingerprint"] == "fp-netvisor-credentials-firm"
    assert len(monitor.registrations) == 3 * len(roster.clients) + 2


def test_keys_are_secret_outputs_and_identities_stay_plain(monitor: RecordingMonitor) -> None:
    roster = example_roster()

    def program() -> Any:
        return declared(roster)

    under_mocks(program)
    keys = [key.get_secret_value() for key in roster.procountor_api_keys.values()] + [
        credential_set.customer_key.get_secret_value()
        for credential_set in roster.netvisor_credentials.values()
    ]
    secret_inputs = {"api_key", "customer_key"}
    for registration in monitor.registrations.values():
        for key, value in registration.inputs.items():
            if key in secret_inputs:
                assert rpc.is_rpc_secret(value), f"{registration.name}.{key} is not secret"
                assert rpc.unwrap_rpc_secret(value) in keys
            else:
                assert not rpc.is_rpc_secret(value), f"{registration.name}.{key} should stay readable"
                assert not any(secret in repr(value) for secret in keys), f"{registration.name}.{key} leaks"
    assert any(registration.inputs.get("api_key") for registration in monitor.registrations.values())
    assert any(registration.inputs.get("customer_key") for registration in monitor.registrations.values())


def test_a_protected_client_protects_everything_it_holds(monitor: RecordingMonitor) -> None:
    roster = example_roster()

    def program() -> Any:
        return declared(roster)

    under_mocks(program)
    protected = {str(client.business_id) for client in roster.clients if client.protect}
    assert protected == {"2358253-3"}
    for registration in monitor.registrations.values():
        owner = registration.name[: len("2358253-3")]
        assert registration.protect == (owner in protected), registration.name


def test_stack_outputs_per_client_and_counts(monitor: RecordingMonitor) -> None:
    roster = example_roster()
    seen: dict[str, Any] = {}

    def program() -> Any:
        return declared(roster, seen.update)

    under_mocks(program)
    assert seen["clients"]["2925630-9"] == {
        "portalId": 100 + len("2925630-9-company"),
        "erp": "procountor",
        "status": "TRAINING",
        "connection": "ACTIVE",
        "predictions": {"Kustannuspaikka": "PENDING"},
    }
    assert seen["clients"]["1572860-0"]["erp"] == "netvisor"
    assert seen["clients"]["1572860-0"]["status"] == "CONNECTING"
    assert seen["clientsByErp"] == {"netvisor": 3, "procountor": 4}
    assert seen["clientsByStatus"] == {"CONNECTING": 3, "TRAINING": 4}


def test_the_company_carries_the_erp_and_no_favourite(monitor: RecordingMonitor) -> None:
    roster = example_roster()

    def program() -> Any:
        return declared(roster)

    under_mocks(program)
    for client in roster.clients:
        company = monitor.by_name(f"{client.business_id}-company")
        assert company.inputs["erp"] == client.erp.value
        assert "favorite" not in company.inputs and "dimensions" not in company.inputs


def test_adding_and_removing_a_client_changes_only_that_clients_resources(monitor: RecordingMonitor) -> None:
    base = example_roster()
    base_without = parse_roster(
        [
            client.model_dump(mode="json", by_alias=True, exclude_none=True)
            for client in base.clients
            if str(client.business_id) != "1572860-0"
        ],
        {str(key): value.get_secret_value() for key, value in base.procountor_api_keys.items()},
        {
            name: {"customerId": cred.customer_id, "customerKey": cred.customer_key.get_secret_value()}
            for name, cred in base.netvisor_credentials.items()
        },
    )
    runs: list[dict[str, Registration]] = []
    for roster in (base_without, base):

        def program(roster: Roster = roster) -> Any:
            return declared(roster)

        monitor.registrations.clear()
        under_mocks(program)
        runs.append(dict(monitor.registrations))
    without, with_ = runs
    added = set(with_) - set(without)
    assert {with_[urn].name for urn in added} == {"1572860-0", "1572860-0-company", "1572860-0-netvisor"}
    assert set(without) <= set(with_)
    for urn in without:
        assert with_[urn].compared_inputs() == without[urn].compared_inputs(), with_[urn].name


def refusal(
    monitor: RecordingMonitor,
    caplog: pytest.LogCaptureFixture,
    config: dict[str, str],
    secret_keys: list[str],
) -> list[str]:
    """Run the program with this config under Pulumi's mocks; it must stop with its message shown (exit
    code MESSAGE_SHOWN_EXIT_CODE), declaring nothing: the one error message it logged."""
    logger = logging.getLogger("roster-program-test")
    pulumi.runtime.set_mocks(RecordingMocks(), "fabricai-roster", "test", False, logger, monitor)
    pulumi.runtime.set_all_config(config, secret_keys)
    exits: list[int] = []

    def program() -> None:
        try:
            run()
        except SystemExit as exit_:
            exits.append(int(str(exit_.code)))

    with caplog.at_level(logging.ERROR, logger="roster-program-test"):
        under_mocks(program)
    assert exits == [MESSAGE_SHOWN_EXIT_CODE]
    assert monitor.registrations == {}
    errors = [record.getMessage() for record in caplog.records if record.name == "roster-program-test"]
    assert len(errors) == 1
    return errors


def test_an_invalid_roster_declares_nothing_and_shows_every_problem_once(
    monitor: RecordingMonitor, caplog: pytest.LogCaptureFixture
) -> None:
    config = stack_config("sandbox", SANDBOX_URL, lambda value: value)
    clients = list(config["roster:clients"])
    clients[0] = {**clients[0], "businessId": "2925630-8"}  # wrong check digit
    clients[1] = {**clients[1], "process": "sometimes"}
    errors = refusal(
        monitor,
        caplog,
        {
            "roster:clients": json.dumps(clients),
            "roster:procountorApiKeys": json.dumps(config["roster:procountorApiKeys"]),
            "roster:netvisorCredentials": json.dumps(config["roster:netvisorCredentials"]),
        },
        ["roster:procountorApiKeys", "roster:netvisorCredentials"],
    )
    message = errors[0]
    assert message.startswith("The roster has")
    assert "2925630-8" in message and "sometimes" in message
    assert "Traceback" not in message
    for secret in config["roster:procountorApiKeys"].values():
        assert secret not in message
    runtime_settings.SETTINGS.outputs.clear()


def test_missing_provider_settings_declare_nothing_and_are_named_all_at_once(
    monitor: RecordingMonitor, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 19: no `fabricai:apiKey`, and a Procountor partner secret without its client id (so `auto`
    verifies Procountor locally): the program names both, with their commands, before declaring anything."""
    config = stack_config("sandbox", SANDBOX_URL, lambda value: value)
    errors = refusal(
        monitor,
        caplog,
        {
            "roster:clients": json.dumps(config["roster:clients"]),
            "roster:procountorApiKeys": json.dumps(config["roster:procountorApiKeys"]),
            "roster:netvisorCredentials": json.dumps(config["roster:netvisorCredentials"]),
            "procountor:clientSecret": "FAKE-partner-client-secret",
        },
        ["roster:procountorApiKeys", "roster:netvisorCredentials", "procountor:clientSecret"],
    )
    assert "pulumi config set --secret fabricai:apiKey <key>" in errors[0]
    assert "pulumi config set procountor:clientId <client id>" in errors[0]
    assert "netvisor:partner" not in errors[0]  # Netvisor verifies at FabricAI: no partner secret is set
    assert "FAKE-partner-client-secret" not in errors[0]
    runtime_settings.SETTINGS.outputs.clear()


def test_the_first_clients_are_registered_while_the_rest_are_still_being_declared(
    monitor: RecordingMonitor,
) -> None:
    """The program yields after each client: the engine gets the first registrations at once, not after the
    whole roster is declared (with 2,000 clients that was a minute before the first client was created)."""
    beta = next(c for c in example_roster().clients if str(c.business_id) == "1572860-0")
    extra = [
        {**beta.model_dump(mode="json", by_alias=True, exclude_none=True), "businessId": business_id}
        for business_id in business_ids(60, start=3000000)
    ]
    roster = example_roster(extra)

    async def program() -> None:
        await declare_roster_yielding(roster, STACK_ID)

    under_mocks(program)
    # The monitor records registrations as the engine receives them: the client components declared
    # before the first company reached the engine are all the program had declared by then.
    kinds = [registration.type for registration in monitor.registrations.values()]
    assert kinds.count(CLIENT_TYPE) == len(roster.clients)
    declared_before_first = kinds[: kinds.index(DYNAMIC + "ClientCompany")].count(CLIENT_TYPE)
    assert declared_before_first < len(roster.clients), declared_before_first
