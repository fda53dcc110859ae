"""`X-Hub-Signature: sha256=<hex>`: HMAC-SHA256 of the raw body with the Jira webhook secret."""

import hashlib
import hmac


def verify_signature(body: bytes, header: str | None, secret: bytes) -> bool:
    algorithm, _, digest = (header or "").strip().partition("=")
    if algorithm.lower() != "sha256" or not digest:
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, digest.strip().lower())


def sign(body: bytes, secret: bytes) -> str:
    """The header value Jira would send (tests, stand-ins)."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
