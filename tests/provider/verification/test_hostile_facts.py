"""Facts of any shape in the portal's verification answer are read, never crash the provider.

The portal's findings carry free-form ``facts``; a portal that answers an unexpected shape (a number where a
list was meant, a list where a string was) must still give the operator a message, not a traceback, and
must never stop a connection the portal already stored from reaching the state (its ``verified_rights``).
"""

from __future__ import annotations

from typing import Any

import pytest

from provider.errors import FabricaiRosterError
from provider.verification.findings import Check, Verification
from provider.verification.messages import Subject, explain, health, verified_rights

# Every fact the messages read, and shapes no documented answer has.
FACT_KEYS = (
    "reason",
    "status",
    "reportedBusinessId",
    "reportedKind",
    "reportedName",
    "missing",
    "existing",
    "notAllowed",
    "held",
    "allowed",
)
SHAPES: list[Any] = [
    5,
    "text",
    None,
    True,
    [1, 2],
    [[1]],
    [{"right": ["x"], "name": ["y"]}],
    {"a": 1},
    [None],
]


@pytest.mark.parametrize("system", ["procountor", "netvisor"])
@pytest.mark.parametrize("check", list(Check))
@pytest.mark.parametrize("shape", SHAPES, ids=[repr(shape) for shape in SHAPES])
def test_any_shape_of_facts_gives_words_not_a_crash(system: str, check: Check, shape: Any) -> None:
    subject = Subject(
        label="Acme Oy (2925630-9)", business_id="2925630-9", system=system, verified_by="portal"
    )
    facts = dict.fromkeys(FACT_KEYS, shape)
    for verdict, holds in (("PASSED", True), ("FAILED", False)):
        verification = Verification.model_validate(
            {
                "verdict": verdict,
                "system": system,
                "findings": [{"check": check.value, "holds": holds, "facts": facts}],
            }
        )
        assert isinstance(verified_rights(verification), list)
        code, detail = health(verification, subject)
        assert isinstance(code, str) and (detail is None or isinstance(detail, str))
        if not holds:
            assert isinstance(explain(verification, subject), FabricaiRosterError)
