"""Every default of the provider, in one place: where each service is, how long we wait, how fast we go.

Each value is overridable where the table in README.md ("Provider settings") says so; the rest are bounds
the code keeps. Modules import their defaults from here (often under their old local names), so a default
is changed in this file only.
"""

from __future__ import annotations

from typing import Final

# --- where the services are ----------------------------------------------------------------------------
PORTAL_URL: Final = "https://ai.fabricai.io"
PROCOUNTOR_URL: Final = "https://api.procountor.com/api"
NETVISOR_URL: Final = "https://integration.netvisor.fi"

# --- HTTP, every client (provider/http.py) -------------------------------------------------------------
USER_AGENT: Final = "fabricai-roster/0.1 (+https://github.com/fabricai-roster)"
TIMEOUT_SECONDS: Final = 30.0  # read, write and pool timeout of one request
CONNECT_TIMEOUT_SECONDS: Final = 10.0
MAX_CONNECTIONS: Final = 16  # per client; the engine runs four resource workers

# --- retries, every remote call (provider/retry.py) ----------------------------------------------------
RETRY_MAX_ATTEMPTS: Final = 5
RETRY_INITIAL_WAIT_SECONDS: Final = 0.25
RETRY_MAX_WAIT_SECONDS: Final = 8.0
RETRY_MAX_TOTAL_SECONDS: Final = 90.0  # the total deadline of one call, its retries included
RETRY_MAX_RETRY_AFTER_SECONDS: Final = 30.0  # a longer Retry-After is capped to this
RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})

# --- answers of the portal and Procountor (provider/http_body.py) ---------------------------------------
# An answer is refused unread beyond these sizes (on the wire, and once decompressed: a gzip bomb), and cut
# when the whole of it takes longer than the deadline (a trickle within the per-read timeout). A page of
# 50 clients or a company's dimensions are a few hundred kilobytes at most.
ANSWER_MAX_COMPRESSED_BYTES: Final = 8 * 1024 * 1024
ANSWER_MAX_BYTES: Final = 16 * 1024 * 1024
ANSWER_DEADLINE_SECONDS: Final = 60.0

# --- FabricAI portal (the public "AI Inside" API; see docs/PORTAL_API.md) -------------------------------

# The public API's page size limit for collections (`limit` <= 50, default 50).
PORTAL_PAGE_LIMIT: Final = 50
# The most pages one listing of the clients reads (50 000 clients): a bound, never a truncation.
PORTAL_MAX_PAGES: Final = 1000
# How long one provider process trusts its listing of the clients (the directory) before reading it
# again: long enough for the registrations of a whole `up` (they run first, within seconds), short enough
# that a record someone registered by hand meanwhile is seen. A registration whose answer was lost always
# reads it again; a record found there is confirmed with GET /clients/{id} before it counts as taken.
PORTAL_DIRECTORY_TTL_SECONDS: Final = 30.0
# How long the team list is trusted; an unknown team name reads it again before it is an error.
PORTAL_TEAMS_TTL_SECONDS: Final = 120.0
# `country` is required on create; every client of the roster is Finnish (Y-tunnus).
PORTAL_COUNTRY: Final = "FI"
# The tags a registration writes, so that its own record is recognised after a lost answer.
PORTAL_MANAGED_BY_TAG: Final = "managedBy"
PORTAL_MANAGED_BY_VALUE: Final = "fabricai-roster"
PORTAL_REGISTRATION_TAG: Final = "rosterRegistration"
# The stack that registered the record (``project/stack``): a later `pulumi up` of that stack recognises a
# record whose registration's answer was lost (or a client it retained) as its own, in any process.
PORTAL_STACK_TAG: Final = "rosterStack"
# The tag that keeps the roster's process (the public API has no process field; see docs/PORTAL_API.md).
PORTAL_PROCESS_TAG: Final = "process"
# VAT as `overrides` (assumption, docs/PORTAL_API.md): exempt = no deduction and this `vatStatus` code
# (the public API's invoice rows use `vat_N` codes; which N means "exempt" is not public).
PORTAL_EXEMPT_VAT_STATUS: Final = "vat_4"

# --- ERP health at refresh (provider/resources/integration.py) -------------------------------------------
# `fabricai:refreshErp`: whether `pulumi refresh` re-runs the guide's checks against each client's ERP.
REFRESH_ERP: Final = True

# --- Procountor -----------------------------------------------------------------------------------------
# `procountor:baseUrl` is PROCOUNTOR_URL above. PTS is https://pts-api.procountor.com/api; versioned
# prefixes (.../latest/api, .../v2604/api) work as well.
# `procountor:requestsPerSecond`. Procountor's "API requests" page: 20 requests per second per client
# application, and exceeding it "may result in suspending the service for the API client". A higher
# value is the firm's own choice (e.g. a limit Procountor agreed to); the client warns in the log.
PROCOUNTOR_REQUESTS_PER_SECOND: Final = 20.0
# Requests that may leave at once (the token and the three reads of one verification), at the same
# average pace: a token bucket of this capacity.
PROCOUNTOR_BURST: Final = 4
# Renew an access token this long before Procountor says it expires (at most a tenth of its lifetime).
PROCOUNTOR_RENEW_MARGIN_SECONDS: Final = 60.0
# Tokens live 3600 s (Procountor's docs); used when an answer omits expires_in.
PROCOUNTOR_TOKEN_LIFETIME_SECONDS: Final = 3600.0
# Reads of one verification run concurrently on a pool of this size per client application.
PROCOUNTOR_READ_THREADS: Final = 12

# --- Netvisor -------------------------------------------------------------------------------------------
NETVISOR_SENDER: Final = "FabricAI roster"
NETVISOR_LANGUAGE: Final = "FI"
# FabricAI's access key in Netvisor's "API resource rights" page (from the onboarding guide).
NETVISOR_ACCESS_KEY: Final = "E2DCB2FF20700782F1EA878EDC19DC27"
NETVISOR_REQUEST_TIMEOUT_SECONDS: Final = 120.0  # Netvisor advises at least 120 s ("Controlling errors")
NETVISOR_CONNECT_TIMEOUT_SECONDS: Final = 15.0
# An answer is refused unread beyond these sizes: on the wire (compressed) and once decompressed.
# The largest answer we read (a month of purchase invoices of a big company) is far below them.
NETVISOR_MAX_COMPRESSED_BYTES: Final = 16 * 1024 * 1024
NETVISOR_MAX_ANSWER_BYTES: Final = 32 * 1024 * 1024
# After our timeout abandons a request, Netvisor may still be processing it: the customer environment's
# lock is kept this long after the connection was closed, so the retry does not overlap with it.
# Netvisor does not publish its server-side timeout: an assumption (docs/SANDBOX_NETVISOR.md).
NETVISOR_ABANDONED_HOLD_SECONDS: Final = 30.0
# How long a request waits for another process on this machine that uses the same customer id.
NETVISOR_LOCK_WAIT_SECONDS: Final = 600.0
