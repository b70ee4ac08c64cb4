"""Every default of the provider in one place, by service (each section cites where its numbers come from).

Stack config overrides the ones that have a key (named beside each); the rest are fixed policy.
"""

from __future__ import annotations

# ---- Procountor ----

# `procountor:baseUrl`. Production; PTS is https://pts-api.procountor.com/api; versioned prefixes
# (.../latest/api, .../v2604/api) work as well.
DEFAULT_PROCOUNTOR_URL = "https://api.procountor.com/api"
# `procountor:requestsPerSecond`. Procountor's "API requests" page: 20 requests per second per client
# application, and exceeding it "may result in suspending the service for the API client". A higher
# value is the firm's own choice (e.g. a limit Procountor agreed to); the client warns in the log.
PROCOUNTOR_REQUESTS_PER_SECOND = 20.0
# Requests that may leave at once (the token and the three reads of one verification), at the same
# average pace: a token bucket of this capacity.
PROCOUNTOR_BURST = 4
# Renew an access token this long before Procountor says it expires (at most a tenth of its lifetime).
PROCOUNTOR_RENEW_MARGIN_SECONDS = 60.0
# Tokens live 3600 s (Procountor's docs); used when an answer omits expires_in.
PROCOUNTOR_TOKEN_LIFETIME_SECONDS = 3600.0
# Reads of one verification run concurrently on a pool of this size per client application.
PROCOUNTOR_READ_THREADS = 12
