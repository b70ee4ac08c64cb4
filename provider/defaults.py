"""Every default of the provider in one place (one section per service; the sections merge)."""

from __future__ import annotations

# -- Netvisor ------------------------------------------------------------------------------------------
# Netvisor advises timeouts of at least 120 s (its support page "Controlling errors").
NETVISOR_REQUEST_TIMEOUT_SECONDS = 120.0
NETVISOR_CONNECT_TIMEOUT_SECONDS = 15.0
# An answer is refused unread beyond these sizes: on the wire (compressed) and once decompressed.
# The largest answer we read (a month of purchase invoices of a big company) is far below them.
NETVISOR_MAX_COMPRESSED_BYTES = 16 * 1024 * 1024
NETVISOR_MAX_ANSWER_BYTES = 32 * 1024 * 1024
# After our timeout abandons a request, Netvisor may still be processing it: the customer environment's
# lock is kept this long after the connection was closed, so the retry does not overlap with it.
# Netvisor does not publish its server-side timeout: an assumption (docs/SANDBOX_NETVISOR.md).
NETVISOR_ABANDONED_HOLD_SECONDS = 30.0
# How long a request waits for another process on this machine that uses the same customer id.
NETVISOR_LOCK_WAIT_SECONDS = 600.0
