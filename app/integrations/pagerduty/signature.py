"""`X-PagerDuty-Signature`: HMAC-SHA256 of the raw body, `v1=<hex>` entries, any secret (rotation)."""

import hashlib
import hmac
from collections.abc import Iterable


def signatures_in(header: str | None) -> list[str]:
    if not header:
        return []
    entries = (entry.strip() for entry in header.split(","))
    return [entry[3:].lower() for entry in entries if entry.startswith("v1=")]


def verify_signature(body: bytes, header: str | None, secrets: Iterable[bytes]) -> bool:
    """True when any `v1=` entry matches the body under any secret; compared in constant time."""
    candidates = signatures_in(header)
    if not candidates:
        return False
    matched = False
    for secret in secrets:
        expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
        for candidate in candidates:
            # No early exit: the time taken does not depend on which entry matched.
            matched |= hmac.compare_digest(expected, candidate)
    return matched


def sign(body: bytes, secret: bytes) -> str:
    """The header value PagerDuty would send (tests, benchmarks, stand-ins)."""
    return "v1=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
