"""The secret scan itself: a scan that cannot find a leak would prove nothing."""

from __future__ import annotations

import base64
import json
import pickle

import pytest

from provider.redaction import REDACTED, redact
from tests.support.secret_scan import ECHO_FORM_NAMES, echo_forms, leaks, pickled_providers

SECRET = "FAKE-key/Öljy+Äijät=2 & x"  # each of its forms differs from the others


@pytest.mark.parametrize("form", range(len(ECHO_FORM_NAMES)), ids=ECHO_FORM_NAMES)
def test_every_form_is_found_and_every_form_is_redacted(form: int) -> None:
    echoed = f"error: bad request ({echo_forms(SECRET)[form]}) from the service"
    assert f"secret #0 as {ECHO_FORM_NAMES[form]}" in leaks(echoed, [SECRET])
    cleaned = redact(echoed, [SECRET])
    assert REDACTED in cleaned and not leaks(cleaned, [SECRET])
    assert cleaned.startswith("error: bad request (") and cleaned.endswith(") from the service")


def test_the_forms_differ_so_that_each_one_is_a_real_check() -> None:
    assert len(set(echo_forms(SECRET))) == len(ECHO_FORM_NAMES)


def test_a_secret_pickled_in_a_state_file_is_found() -> None:
    blob = base64.b64encode(pickle.dumps({"key": SECRET})).decode("ascii")
    state = json.dumps({"resources": [{"outputs": {"__provider": blob, "name": "Öljy-Äijät Oy"}}]})
    assert not leaks(state, [SECRET])  # base64 of the whole pickle hides it from a plain scan
    assert "secret #0 as raw" in leaks(pickled_providers(state), [SECRET])
