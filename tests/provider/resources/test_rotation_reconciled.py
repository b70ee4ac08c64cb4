"""A rotation whose answer was lost is settled, and its failed run's message is true.

Through the engine stand-in against the example sandbox: the portal's fault injection is switched on just
for the PATCH of the credentials (a dropped answer is processed first: the portal applies the rotation and
the answer is lost), and off again where the case says so. Then a clean re-run with the same roster:
0 duplicate records, 0 orphan connections, state equal to the portal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from pydantic import SecretStr

from harness.engine import Engine, EngineCallFailed, ResourceState
from provider.portal import PortalClient
from provider.resources.erp_health import CREDENTIALS_UNKNOWN
from provider.resources.procountor_integration import ProcountorIntegrationProvider
from provider.settings import PortalSettings
from tests.support.erp_stack import (
    HEALTHY,
    PORTAL_KEY,
    SECOND_KEY,
    SECRETS,
    Stack,
    engine_config,
    fresh_process,
)
from tests.support.fault_trigger import FaultTrigger

ACME = "2925630-9"
ACME_LABEL = "Öljy-Äijät Oy (2925630-9)"


@contextmanager
def faults_on_the_patch(stack: Stack, *, clear_after: bool, **faults: Any) -> Iterator[None]:
    """The portal's faults are on from the PATCH of the credentials on (off again at the first other
    request after it, the read-back: clear_after), met by a new provider process (the next command)."""
    trigger = FaultTrigger(stack.running.admin)
    trigger.arm("PATCH", "/connection/", clear_after=clear_after, seed=11, **faults)
    fresh_process(transport=trigger)
    try:
        yield
    finally:
        stack.running.admin.clear_faults("portal")
        fresh_process()


def _rotate(stack: Stack, company: ResourceState, state: ResourceState) -> ResourceState:
    return stack.integration(company, SECOND_KEY, HEALTHY[ACME][2], state=state)


def _failed(stack: Stack, company: ResourceState, state: ResourceState) -> str:
    with pytest.raises(EngineCallFailed) as failure:
        _rotate(stack, company, state)
    details = str(failure.value.details)
    for secret in SECRETS:
        assert secret not in details
    # The engine's details carry the dynamic provider's own frames; what the operator reads is the last line.
    last = details.strip().splitlines()[-1]
    assert "PortalError" in last and ACME_LABEL in last, last
    return last


def _assert_converged(
    stack: Stack, company: ResourceState, settled: ResourceState, before: ResourceState
) -> None:
    """State equal to the portal, the same connection, 0 duplicates, 0 orphan connections."""
    client_id = int(company.outputs["portal_id"])
    portal = PortalClient(
        PortalSettings(url=stack.running.service_url("portal"), api_key=SecretStr(PORTAL_KEY))
    )
    connection = portal.connections.get(client_id)
    assert connection is not None
    assert settled.id == before.id == connection.id, "the same connection, none other made"
    assert settled.outputs["credentials_rotated_at"] == connection.credentials_rotated_at
    assert settled.outputs["status"] == connection.status
    assert stack.credentials_fingerprint(company) == stack.running.admin.fingerprint({"apiKey": SECOND_KEY})
    assert settled.outputs["api_key_fingerprint"] != before.outputs["api_key_fingerprint"]
    stats = stack.stats()["services"]["portal"]
    assert stats["connectionsPut"] == 1, "0 orphan connections: the rotation never connected anew"
    records = list(portal.directory.lookup(ACME))
    assert [record.id for record in records] == [client_id], "0 duplicate portal records"


def test_a_lost_rotation_that_cannot_be_read_back_says_it_may_have_happened_and_the_rerun_finishes_it(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    company, integration = stack.connect(ACME)
    with faults_on_the_patch(stack, clear_after=False, dropRate=1.0):
        details = _failed(stack, company, integration)
    assert f"{ACME_LABEL}: the rotation of the Procountor credentials on portal connection" in details
    assert "may have happened" in details and "pulumi up` again" in details
    assert "Nothing" not in details and "nothing was changed" not in details
    # The message was true: the portal did apply it, while state still says the old key.
    assert stack.credentials_fingerprint(company) == stack.running.admin.fingerprint({"apiKey": SECOND_KEY})

    with caplog.at_level(logging.WARNING):
        settled = _rotate(stack, company, integration)
    assert "after this stack last set them" in caplog.text  # the re-run saw the unknown outcome
    _assert_converged(stack, company, settled, integration)


def test_a_lost_rotation_read_back_as_applied_is_a_success(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    company, integration = stack.connect(ACME)
    with (
        caplog.at_level(logging.WARNING),
        faults_on_the_patch(stack, clear_after=True, dropRate=1.0),
    ):
        settled = _rotate(stack, company, integration)
    assert "reading it back shows its credentials rotated" in caplog.text
    _assert_converged(stack, company, settled, integration)
    # A re-run with the same roster changes nothing more.
    assert _rotate(stack, company, settled) is settled


def test_a_rotation_the_portal_never_saw_says_what_the_read_back_showed_and_the_rerun_finishes_it(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    company, integration = stack.connect(ACME)
    before = stack.credentials_fingerprint(company)
    with faults_on_the_patch(stack, clear_after=True, errorRate=1.0, errorStatus=503):
        details = _failed(stack, company, integration)
    assert "did not confirm the rotation" in details and "HTTP 503" in details
    assert "still shows the credentials it had before" in details and "may still be in progress" in details
    assert "pulumi up` again" in details
    assert stack.credentials_fingerprint(company) == before  # true: the 503s came before the portal
    settled = _rotate(stack, company, integration)
    _assert_converged(stack, company, settled, integration)


def test_a_lost_rotation_then_a_reverted_roster_is_seen_by_refresh_and_undone_by_up(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The portal applied the new key, the answers were lost, and the firm went back to the old key: the
    state and the roster agree on the old key while the portal holds the new one."""
    name, old_key, dimensions = HEALTHY[ACME]
    company, integration = stack.connect(ACME)
    # 1. The rotation to the second key lands in the portal; every answer after it is lost.
    with faults_on_the_patch(stack, clear_after=False, dropRate=1.0):
        _failed(stack, company, integration)
    assert stack.credentials_fingerprint(company) == stack.running.admin.fingerprint({"apiKey": SECOND_KEY})
    # 2. The roster is reverted: offline, nothing differs (the state still says the old key).
    reverted = stack.engine.checked(
        ProcountorIntegrationProvider(), stack.integration_inputs(company, old_key, dimensions)
    )
    assert not stack.engine.diff(integration.id, integration.outputs, reverted).has_changes
    # 3. `pulumi refresh` sees the portal's credentials changed after the stack last set them.
    with caplog.at_level(logging.WARNING):
        refreshed = stack.engine.refresh(integration)
    assert refreshed is not None
    assert "after this stack last set them" in caplog.text
    assert refreshed.outputs["api_key_fingerprint"] == CREDENTIALS_UNKNOWN
    assert refreshed.outputs["erp_health"] == "CREDENTIALS_CHANGED"  # a problem for `status`, not UNKNOWN
    assert "Fix: run `pulumi up`" in refreshed.outputs["erp_health_detail"]
    assert old_key not in str(refreshed.outputs) and SECOND_KEY not in str(refreshed.outputs)
    # 4. The next preview shows a change, and `pulumi up` sets the roster's (old) key again.
    assert stack.engine.diff(refreshed.id, refreshed.outputs, reverted).has_changes
    settled = stack.integration(company, old_key, dimensions, state=refreshed)
    assert settled.id == integration.id
    assert stack.credentials_fingerprint(company) == stack.running.admin.fingerprint({"apiKey": old_key})
    assert settled.outputs["erp_health"] == "OK"
    # 5. From then on a refresh is quiet: the stack knows what the portal holds.
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        again = stack.engine.refresh(settled)
    assert (
        again is not None and again.outputs["api_key_fingerprint"] == settled.outputs["api_key_fingerprint"]
    )
    assert "after this stack last set them" not in caplog.text
    assert name in settled.outputs["client_name"]


def test_with_refresh_erp_false_a_lost_rotation_is_still_seen_and_the_health_is_kept(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`fabricai:refreshErp: false` makes refresh portal-only: the credentials are still marked unknown (the
    portal tells that), while the ERP health stays as it was and no ERP request is made."""
    company, integration = stack.connect(ACME)
    with faults_on_the_patch(stack, clear_after=False, dropRate=1.0):
        _failed(stack, company, integration)
    portal_only = Engine({**engine_config(stack.running), "fabricai:refreshErp": "false"})
    erp_requests = stack.stats()["requests"]["procountor"]["total"]
    refreshed = portal_only.refresh(integration)
    assert refreshed is not None
    assert refreshed.outputs["api_key_fingerprint"] == CREDENTIALS_UNKNOWN
    assert refreshed.outputs["erp_health"] == integration.outputs["erp_health"] == "OK"
    assert refreshed.outputs["erp_checked_at"] == integration.outputs["erp_checked_at"]
    assert stack.stats()["requests"]["procountor"]["total"] == erp_requests
