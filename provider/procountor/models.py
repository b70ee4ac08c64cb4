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


class DimensionItem(_Model):
    id: int
    code_name: str
    status: str | None = None


class Dimension(_Model):
    id: int
    name: str
    items: list[DimensionItem] = []


class UserRights(_Model):
    role: str | None = None
    rights: dict[str, dict[str, Any]]
