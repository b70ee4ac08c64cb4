"""The SERVICE_ACCESS_ERROR message names every cause Netvisor gives that code for, in its UI words."""

from __future__ import annotations

import pytest

from provider.errors import PrerequisiteFailed
from provider.netvisor.rights import RESOURCE_RIGHTS, WIRE_BY_RESOURCE_RIGHT
from provider.verification.findings import Check, Verification, fails
from provider.verification.messages import Subject, explain

BETA = Subject(
    "Beta Oy (1572860-0)",
    "1572860-0",
    "netvisor",
    "portal",
    "(customer id X)",
    "E2DCB2FF20700782F1EA878EDC19DC27",
)
ACCESS_KEY = "E2DCB2FF20700782F1EA878EDC19DC27"


def rights_not_allowed(missing: tuple[str, ...]) -> PrerequisiteFailed:
    wire = [WIRE_BY_RESOURCE_RIGHT[right] for right in missing]
    error = explain(Verification.of("netvisor", [fails(Check.RESOURCE_RIGHTS, not_allowed=wire)]), BETA)
    assert isinstance(error, PrerequisiteFailed)
    return error


@pytest.mark.parametrize("missing", [("purchase invoices",), RESOURCE_RIGHTS])
def test_every_cause_and_its_fix_is_named(missing: tuple[str, ...]) -> None:
    message = str(rights_not_allowed(missing))
    assert message.startswith("Beta Oy (1572860-0): Netvisor answered SERVICE_ACCESS_ERROR")
    for words in (
        # the resource right, where and how it is set
        "Software interface > API resource rights",
        "Custom integrations",
        ACCESS_KEY,
        '"resource status"',
        '"allowed"',
        # general vs integration-specific rights, and who may edit them
        "Integration-specific rights override the general access rights",
        "(KH)",
        "(TPK)",
        # the other two causes
        "API service is closed",
        "service package",
        "Professional and Premium",
    ):
        assert words in message, words
    for right in missing:
        assert f'"{right}"' in message


def test_when_every_resource_is_refused_the_service_is_named_first() -> None:
    every = rights_not_allowed(RESOURCE_RIGHTS)
    some = rights_not_allowed(("calculation targets",))
    assert every.fix.startswith("Check that the company's Netvisor API service is open")
    assert some.fix.startswith("In Netvisor, logged in to this company")
    assert "likely, as every resource was refused" in every.cause
