"""The local checks as a test wants them: run, and raise the operator's error when they do not pass."""

from __future__ import annotations

from collections.abc import Sequence

from provider.procountor.checks import check_api_key
from provider.procountor.client import ProcountorClient
from provider.verification.findings import Verification
from provider.verification.messages import Subject, explain


def procountor_verdict(
    client: ProcountorClient, *, api_key: str, business_id: str, label: str, dimensions: Sequence[str]
) -> Verification:
    """``check_api_key``; its first failure raised as ``pulumi up`` would word it (partner mode)."""
    verification = check_api_key(client, api_key=api_key, business_id=business_id, dimensions=dimensions)
    if not verification.passed:
        raise explain(verification, Subject(label, business_id, "procountor", "local"))
    return verification
