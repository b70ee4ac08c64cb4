"""ERP health: what the guide's checks say of a connected client at ``pulumi refresh``.

Outputs ``erp_health`` (OK, a check's code such as RIGHTS_MISSING, CREDENTIALS_CHANGED when the portal's
credentials were changed outside this stack, or UNKNOWN when the ERP could not be checked),
``erp_health_detail`` (the check's words with its fix, never a secret) and ``erp_checked_at``.
A later check finding the same health keeps the earlier ``erp_checked_at``, so a healthy roster's refresh
shows no change. The checks are the create's: FabricAI re-verifies the connection's stored credentials
(``POST .../connection/{id}/verify``), or, in partner mode, the provider runs them with the key of stack
config whose fingerprint the state holds. An ERP problem is a health code, never a failed refresh.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from provider.resources.schema import OutputsModel

HEALTH_OK = "OK"
# The ERP could not be checked (no answer after the retries, or no credentials to check with).
HEALTH_UNKNOWN = "UNKNOWN"
# The portal's credentials were changed outside this stack (a rotation whose answers were lost, or a change
# in the portal): a problem until the next `up` sets the roster's again, never a quiet UNKNOWN.
HEALTH_CREDENTIALS_CHANGED = "CREDENTIALS_CHANGED"
# The fingerprint read stores when the portal's credentials were changed outside this stack: it matches no
# key, so the next `up` rotates to the roster's credentials whatever they are.
CREDENTIALS_UNKNOWN = "unknown: changed outside this stack"


class HealthOutputs(OutputsModel):
    erp_health: str | None
    erp_health_detail: str | None
    erp_checked_at: str | None


def health_outputs(code: str, detail: str | None) -> dict[str, Any]:
    checked_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return HealthOutputs(erp_health=code, erp_health_detail=detail, erp_checked_at=checked_at).model_dump(
        mode="json"
    )


def changed_health(props: Mapping[str, Any], code: str, detail: str | None) -> dict[str, Any]:
    """The health outputs to write: none when the state already says the same (keeps its time)."""
    if props.get("erp_health") == code and props.get("erp_health_detail") == detail:
        return {}
    return health_outputs(code, detail)
