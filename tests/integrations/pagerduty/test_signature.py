"""The documented signature vectors, rotation, and the header forms PagerDuty sends."""

import json

import pytest

from app.integrations.pagerduty.signature import sign, verify_signature
from tests.support.pagerduty import FIXTURES

VECTORS = json.loads((FIXTURES / "documented" / "signature_test_vectors.json").read_text())["vectors"]


def vector_body(vector: dict) -> bytes:
    if "body_file" in vector:
        return (FIXTURES / "documented" / vector["body_file"]).read_bytes()
    return vector["body"].encode()


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"][:60] for v in VECTORS])
def test_documented_vectors(vector):
    valid = verify_signature(vector_body(vector), vector["x_pagerduty_signature"], [vector["secret"].encode()])
    assert valid is vector["expect_valid"]


def test_any_configured_secret_may_match_during_rotation():
    body = b'{"event": {}}'
    header = sign(body, b"old")
    assert verify_signature(body, header, [b"new", b"old"])
    assert not verify_signature(body, header, [b"new"])


@pytest.mark.parametrize("header", [None, "", "v0=abc", "sha256=abc", "v1=", "v1=zz"])
def test_missing_or_malformed_headers_never_verify(header):
    assert not verify_signature(b"{}", header, [b"secret"])


def test_uppercase_hex_and_spaces_after_commas_are_accepted():
    body = b"{}"
    header = "v1=" + "0" * 64 + ", " + sign(body, b"s").upper().replace("V1=", "v1=")
    assert verify_signature(body, header, [b"s"])
