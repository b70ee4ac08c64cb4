"""Moved to ``provider.procountor.checks``; this alias keeps the old import path working."""

from provider.procountor.checks import (
    API_KEYS_CONFIG,
    BILLABLE_FIX,
    USERS_FIX,
    VerifiedCompany,
    verify_api_key,
)

__all__ = ["API_KEYS_CONFIG", "BILLABLE_FIX", "USERS_FIX", "VerifiedCompany", "verify_api_key"]
