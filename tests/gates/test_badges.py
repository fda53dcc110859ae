"""Gate badges: `GET /api/v1/gates/postmortems/{id}/badge.svg` and `/gates/services/{service}/badge.svg`, SVG that
an XML parser reads, `passing` or `N violations`; with `gates:read`, or without a token when
LOOPGATE_PUBLIC_BADGES=true."""

from xml.etree import ElementTree

import httpx
import pytest

from app.gates.badge import badge_svg, text_width
from app.gates.rules import GateResult, Violation
from app.main import create_app
from tests.support.constants import ADMIN
from tests.support.factories import add_finding, add_packet, make_incident, make_postmortem

SVG = "{http://www.w3.org/2000/svg}"


def read_badge(response: httpx.Response) -> dict:
    """What the badge says, read back with an XML parser."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "no-cache, max-age=0"
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts[0::2] == texts[1::2]  # each text twice: its shadow, then itself
    (message_box,) = [r for r in root.iter(f"{SVG}rect") if r.get("x")]  # the right-hand part
    return {"label": texts[0], "message": texts[2], "title": root.find(f"{SVG}title").text,
            "aria": root.get("aria-label"), "colour": message_box.get("fill"), "width": int(root.get("width"))}


async def token(client, *scopes: str) -> dict[str, str]:
    response = await client.post("/api/v1/tokens", headers=ADMIN, json={"name": "badge", "scopes": list(scopes)})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
async def public_client(settings):
    app = create_app(settings.model_copy(update={"public_badges": True}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            http.runtime = app.state.runtime
            yield http


async def test_a_failing_postmortem_shows_its_violation_count_and_a_passing_one_passing(client, runtime):
    incident = await make_incident(client, runtime)
    postmortem = await make_postmortem(client, [incident])  # no finding, no packet: two violations
    gates = await token(client, "gates:read")
    failing = read_badge(await client.get(f"/api/v1/gates/postmortems/{postmortem['id']}/badge.svg", headers=gates))
    assert failing == {"label": "postmortem gate", "message": "2 violations", "colour": "#c62828",
                       "title": f"postmortem gate for postmortem {postmortem['id']}: 2 violations",
                       "aria": f"postmortem gate for postmortem {postmortem['id']}: 2 violations",
                       "width": failing["width"]}
    await add_packet(runtime, incident)
    await add_finding(client, postmortem["id"])
    passing = read_badge(await client.get(f"/api/v1/gates/postmortems/{postmortem['id']}/badge.svg", headers=gates))
    assert (passing["message"], passing["colour"]) == ("passing", "#2e7d32")
    gate = (await client.get(f"/api/v1/gates/postmortems/{postmortem['id']}", headers=gates)).json()
    assert gate["passed"] is True  # the badge says what the gate says


async def test_the_service_badge_says_what_the_deploy_gate_says_and_escapes_the_name(client):
    name = 'checkout <api> & "co"'
    response = await client.get(f"/api/v1/gates/services/{name}/badge.svg", headers=ADMIN)
    badge = read_badge(response)
    assert badge["message"] == "passing" and badge["title"] == f"deploy gate for service {name}: passing"
    assert b"<api>" not in response.content and b"&lt;api&gt; &amp; &quot;co&quot;" in response.content


async def test_without_public_badges_a_token_with_gates_read_is_needed(client):
    url = "/api/v1/gates/services/checkout/badge.svg"
    anonymous = await client.get(url)
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthorized"
    refused = await client.get(url, headers=await token(client, "read"))
    assert refused.status_code == 403 and refused.json()["details"] == {"required_scope": "gates:read"}
    assert read_badge(await client.get(url, headers=await token(client, "gates:read")))["message"] == "passing"


async def test_with_public_badges_anyone_may_look_but_unknown_ids_are_still_404(public_client):
    assert read_badge(await public_client.get("/api/v1/gates/services/checkout/badge.svg"))["message"] == "passing"
    missing = await public_client.get("/api/v1/gates/postmortems/5d0c3a4e-0000-4000-8000-000000000000/badge.svg")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    malformed = await public_client.get("/api/v1/gates/postmortems/not-a-uuid/badge.svg")
    assert malformed.status_code == 422
    # Only the badges are public: the gate's JSON still needs a token.
    assert (await public_client.get("/api/v1/gates/services/checkout")).status_code == 401


def test_one_violation_is_singular_and_the_badge_is_as_wide_as_its_words():
    one = GateResult.of([Violation("no_findings", "none", ("p",))])
    svg = badge_svg(label="postmortem gate", result=one, subject="postmortem p")
    root = ElementTree.fromstring(svg)
    assert [t.text for t in root.iter(f"{SVG}text")][2] == "1 violation"
    assert int(root.get("width")) == round(text_width("postmortem gate") + 12) + round(text_width("1 violation") + 12)
    many = GateResult.of([Violation("no_findings", "none", (str(i),)) for i in range(12)])
    assert ElementTree.fromstring(badge_svg(label="x", result=many, subject="s")).find(
        f"{SVG}title").text == "x for s: 12 violations"
