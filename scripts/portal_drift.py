"""Edit the sandbox portal behind Pulumi's back, as a person in the portal UI would (walk-through step 6).

    python -m scripts.portal_drift PORTAL_URL --change 2077474-0 --delete 0174592-8

``--change``: the client's process changes (to ``background``, or to ``standard`` if it was background;
the process is kept in the record's tags) and it gets a tag ``edited: by hand``;
``--delete``: the client is deleted from the portal. Uses the demo organisation key of
examples/sandbox-secrets.yaml, so it only works against the sandbox. Speaks FabricAI's public API only:
the client is found by reading the client list page by page (there is no business-ID filter).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import httpx

from scripts.example_config import demo_secrets

HAND_TAGS = {"edited": "by hand"}


def _client(portal: httpx.Client, business_id: str) -> dict[str, Any]:
    wanted = "FI" + business_id.replace("-", "")
    page = 1
    while True:
        response = portal.get("/clients", params={"page": page, "limit": 50})
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["data"]
        for item in items:
            if str(item.get("businessId", "")).upper() == wanted:
                return item
        if len(items) < 50:
            raise SystemExit(f"portal_drift: no client {business_id} in the portal")
        page += 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.portal_drift", description=__doc__.splitlines()[0]
    )
    parser.add_argument("portal_url")
    parser.add_argument("--change", action="append", default=[], metavar="BUSINESS_ID")
    parser.add_argument("--delete", action="append", default=[], metavar="BUSINESS_ID")
    args = parser.parse_args(argv)
    key = str(demo_secrets("sandbox")["fabricai:apiKey"])
    with httpx.Client(
        base_url=args.portal_url, headers={"Authorization": f"Bearer {key}"}, timeout=10
    ) as portal:
        for business_id in args.change:
            client = _client(portal, business_id)
            tags = dict(client.get("tags") or {})
            process = "standard" if tags.get("process") == "background" else "background"
            # The public PATCH takes a whole ModextClient (name and country required): the record, edited.
            record = portal.get(f"/clients/{client['id']}").raise_for_status().json()["data"]
            edit = {
                **record,
                "country": record.get("country") or "FI",
                "tags": {**tags, "process": process, **HAND_TAGS},
            }
            portal.patch(f"/clients/{client['id']}", json=edit).raise_for_status()
            print(f"    changed in the portal by hand: {business_id} (process: {process}, tag edited)")
        for business_id in args.delete:
            portal.delete(f"/clients/{_client(portal, business_id)['id']}").raise_for_status()
            print(f"    deleted in the portal by hand: {business_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
