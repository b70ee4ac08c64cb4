"""The error tree: context (which client) is attached to the error itself, whatever its class takes."""

from __future__ import annotations

import pytest

from provider.errors import (
    AccessDenied,
    AlreadyRegistered,
    PortalError,
    ProcountorError,
    ServerFailure,
    ServiceError,
    TokenRefused,
)
from provider.resources.client_company import about_client

LABEL = "Öljy-Äijät Oy (2925630-9)"

# One of each service error about_client handles, built with the keyword arguments its class takes.
ERRORS: list[ServiceError] = [
    PortalError("the portal failed", status_code=502, retryable=True),
    ProcountorError("Procountor could not be reached", retryable=True),
    ServerFailure("HTTP 500 after the token", status_code=500, retryable=True),
    AccessDenied("403 on company", path="company"),
    TokenRefused("401 at oauth/token", field="api_key"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda error: type(error).__name__)
def test_about_client_names_the_client_on_the_same_error(error: ServiceError) -> None:
    fields = dict(vars(error))
    with pytest.raises(ServiceError) as raised, about_client(LABEL):
        raise error
    assert raised.value is error  # annotated and re-raised, never rebuilt (AccessDenied has no `retryable`)
    assert str(raised.value) == f"{LABEL}: {error.args[0].removeprefix(LABEL + ': ')}"
    assert raised.value.client == LABEL
    assert {key: value for key, value in vars(raised.value).items() if key != "client"} == {
        key: value for key, value in fields.items() if key != "client"
    }


def test_a_client_is_named_once_however_often_it_is_attached() -> None:
    error = ProcountorError("failed")
    assert str(error.about(LABEL).about(LABEL)) == f"{LABEL}: failed"


def test_already_registered_passes_through_as_it_is() -> None:
    error = AlreadyRegistered("2925630-9 is registered already as portal client 7", existing_id=7)
    with pytest.raises(AlreadyRegistered) as raised, about_client(LABEL):
        raise error
    assert raised.value is error and raised.value.client is None
