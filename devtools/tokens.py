"""Mint an access token for `AUTH_MODE=token`: `python -m devtools.tokens alice [--days 90]`.

Prints the token once (give it to the user) and the hashed entry to merge into `AUTH_TOKENS`
or the SSM parameter named by `AUTH_TOKENS_PARAM`; the token itself is never stored. Every
token minted expires: after DEFAULT_DAYS unless `--days` says otherwise (mint a new one then).
"""

from __future__ import annotations

import argparse
import json
import secrets
from datetime import UTC, datetime, timedelta

from chalicelib.auth.access import token_hash

DEFAULT_DAYS = 90


def mint(user: str, days: int | None = DEFAULT_DAYS) -> tuple[str, dict[str, dict[str, str]]]:
    """(token, {hash: entry}); the entry always carries `expires_at` (None: DEFAULT_DAYS)."""
    days = DEFAULT_DAYS if days is None else days
    if days < 1:
        raise ValueError("a token lives at least one day")
    token = "sst_" + secrets.token_urlsafe(32)
    expires = datetime.now(tz=UTC) + timedelta(days=days)
    entry = {"user": user, "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}
    return token, {token_hash(token): entry}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("user", help="the user id the token signs in as")
    parser.add_argument(
        "--days",
        type=int,
        default=DEFAULT_DAYS,
        help=f"days until the token expires (default {DEFAULT_DAYS})",
    )
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be at least 1: every token expires")
    token, entry = mint(args.user, args.days)
    expires = next(iter(entry.values()))["expires_at"]
    print(f"token (give it to {args.user}; it is not stored anywhere; expires {expires}): {token}")
    print(f"entry for AUTH_TOKENS: {json.dumps(entry)}")


if __name__ == "__main__":
    main()
