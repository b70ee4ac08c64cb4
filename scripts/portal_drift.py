"""Edit the sandbox portal behind Pulumi's back, as a person in the portal UI would (walk-through step 6).

    python -m scripts.portal_drift PORTAL_URL --change 2077474-0 --delete 0174592-8

``--change``: the client's process becomes ``background`` and it gets a tag ``edited: by hand``;
``--delete``: the client is deleted from the portal. Uses the demo organisation key of
examples/sandbox-secrets.yaml, so it only works against the sandbox.
"""

from __future__ import annotations

import argparse
import sys

import httpx

from scripts.example_config import demo_secrets

HAND_EDIT = {"process": "background", "tags": {"edited": "by hand"}}


def _client_id(portal: httpx.Client, business_id: str) -> int:
    response = portal.get("/clients", params={"businessId": business_id})
    response.raise_for_status()
    found = response.json()["data"]
    if not found:
        raise SystemExit(f"portal_drift: no client {business_id} in the portal")
    return int(found[0]["id"])


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
            portal.patch(f"/clients/{_client_id(portal, business_id)}", json=HAND_EDIT).raise_for_status()
            print(f"    changed in the portal by hand: {business_id} (process: background, tag edited)")
        for business_id in args.delete:
            portal.delete(f"/clients/{_client_id(portal, business_id)}").raise_for_status()
            print(f"    deleted in the portal by hand: {business_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
