"""Procountor's answers as the client reads them (camelCase on the wire; unknown fields ignored)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class BusinessIdentifier(_Model):
    brn_type: str | None = None
    code: str | None = None


class Company(_Model):
    id: int
    name: str
    business_identifier: BusinessIdentifier | None = None


# An item's ``status`` is absent when it is active and "P" when it is not (Procountor's OpenAPI); the
# ACTIVE/INACTIVE words are read too, in case an answer spells it out.
_INACTIVE_STATUSES = frozenset({"P", "INACTIVE", "PASSIVE"})


class DimensionItem(_Model):
    id: int
    code_name: str
    status: str | None = None
    description: str | None = None

    @property
    def active(self) -> bool:
        return self.status is None or self.status.strip().upper() not in _INACTIVE_STATUSES


class Dimension(_Model):
    id: int
    name: str
    items: list[DimensionItem] = []


class UserRights(_Model):
    """``GET /users/rights``: both fields are optional in Procountor's schema; a group maps a right to a
    level (ALL_RIGHTS, VIEWING_RIGHTS, NO_ACCESS, NOT_ENABLED) or, for a few, a boolean."""

    role: str | None = None
    rights: dict[str, Any] | None = None
