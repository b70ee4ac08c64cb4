"""Moved to ``provider.procountor.rights``; this alias keeps the old import path working."""

from provider.procountor.rights import (
    BY_DOTTED,
    GUIDE_RIGHTS,
    MissingRight,
    RequiredRight,
    RightLevel,
    missing_rights,
    verified_rights,
)

__all__ = [
    "BY_DOTTED",
    "GUIDE_RIGHTS",
    "MissingRight",
    "RequiredRight",
    "RightLevel",
    "missing_rights",
    "verified_rights",
]
