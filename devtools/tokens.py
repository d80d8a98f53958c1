"""Mint an access token for `AUTH_MODE=token`: `python -m devtools.tokens alice [--days 90]`.

Prints the token once (give it to the user) and the hashed entry to merge into `AUTH_TOKENS`
or the SSM parameter named by `AUTH_TOKENS_PARAM`; the token itself is never stored.
"""

from __future__ import annotations

import argparse
import json
import secrets
from datetime import UTC, datetime, timedelta

from chalicelib.auth.access import token_hash


def mint(user: str, days: int | None) -> tuple[str, dict[str, dict[str, str]]]:
    token = "sst_" + secrets.token_urlsafe(32)
    entry: dict[str, str] = {"user": user}
    if days:
        expires = datetime.now(tz=UTC) + timedelta(days=days)
        entry["expires_at"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    return token, {token_hash(token): entry}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("user", help="the user id the token signs in as")
    parser.add_argument("--days", type=int, default=None, help="days until the token expires")
    args = parser.parse_args()
    token, entry = mint(args.user, args.days)
    print(f"token (give it to {args.user}; it is not stored anywhere): {token}")
    print(f"entry for AUTH_TOKENS: {json.dumps(entry)}")


if __name__ == "__main__":
    main()
