"""`/status`, `/status.json`, `/status/feed.atom` of a real `warroom serve`, fed by sync."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET

from markupsafe import escape

from tests.status.conftest import Responder
from warroom.core.commands import AddNote, AssignRole, ChangeStatus, PostUpdate

ATOM = "{http://www.w3.org/2005/Atom}"
SECRET = "token=sk_live_DO_NOT_SHARE_42"


def public_post(phase: str, body: str) -> PostUpdate:
    return PostUpdate(body=body, audience="status-page", template=f"statuspage-{phase}")


def test_an_empty_page_is_all_operational(responder: Responder) -> None:
    page = responder.get("/status")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none'
    assert "default-src 'none'" in page.headers["content-security-policy"]
    text = page.text
    assert '<html lang="en">' in text and "<script" not in text
    assert "All systems operational" in text and "Example Shop status" in text
    assert text.index("Checkout") < text.index("Public API") < text.index("Search")
    data = responder.get("/status.json").json()
    assert data["status"] == {"indicator": "none", "description": "All systems operational"}
    assert [c["status"] for c in data["components"]] == ["operational"] * 3
    assert data["incidents"] == [] and data["history"] == []
    feed = ET.fromstring(responder.get("/status/feed.atom").content)
    assert feed.find(f"{ATOM}title").text == "Example Shop status"  # type: ignore[union-attr]
    assert feed.findall(f"{ATOM}entry") == []


def test_only_status_page_posts_are_public(responder: Responder) -> None:
    """Declaring, notes, internal and stakeholder updates, actors and roles never show; a
    status-page post makes the incident public, with the components it names."""
    incident = responder.declare("Checkout failing", "SEV1", ("checkout", "billing-db"))
    responder.run(
        incident,
        AddNote(text=f"rotating creds, {SECRET}"),
        PostUpdate(body=f"internal: {SECRET}", audience="internal"),
        PostUpdate(body=f"stakeholders: {SECRET}", audience="stakeholders"),
        AssignRole(role="comms", person="mallory-the-comms-lead"),
    )
    assert "Checkout failing" not in responder.get("/status").text  # nothing public yet
    body = "Investigating: We are investigating reports of failed checkouts."
    responder.run(incident, public_post("investigating", body))

    page = responder.get("/status").text
    data = responder.get("/status.json").json()
    feed = responder.get("/status/feed.atom").text
    assert "Checkout failing" in page and html.escape(body.removeprefix("Investigating: ")) in page
    assert "Major outage" in page
    [active] = data["incidents"]
    assert active["status"] == "investigating" and active["impact"] == "critical"
    assert active["components"] == ["Checkout"]  # billing-db is not a public component
    assert [u["body"] for u in active["updates"]] == [body]
    assert data["status"]["indicator"] == "critical"
    assert {c["name"]: c["status"] for c in data["components"]}["Checkout"] == "major_outage"
    for shown in (page, feed, str(data)):
        for private in (SECRET, "alice", "mallory-the-comms-lead", "Comms Lead", "billing-db"):
            assert private not in shown


def test_each_phase_shows_at_once_and_resolved_goes_to_history(responder: Responder) -> None:
    incident = responder.declare("Search is slow", "SEV3", ("search",))
    phases = [
        ("investigating", "Investigating: We are investigating slow searches."),
        ("identified", "Identified: We have identified the issue affecting search."),
        ("monitoring", "Monitoring: A fix has been deployed and we are monitoring the results."),
    ]
    for phase, body in phases:
        responder.run(incident, public_post(phase, body))
        [active] = responder.get("/status.json").json()["incidents"]  # the next read has it
        assert active["status"] == phase and active["updates"][0]["body"] == body
        assert phase.title() in responder.get("/status").text
    responder.run(incident, ChangeStatus(status="resolved"))
    data = responder.get("/status.json").json()
    assert data["incidents"] == [] and data["status"]["indicator"] == "none"
    [past] = data["history"]
    assert past["status"] == "resolved" and past["resolved_at"]
    assert [u["status"] for u in past["updates"]] == ["monitoring", "identified", "investigating"]
    page = responder.get("/status").text
    assert page.index("Past incidents") < page.index("Search is slow")
    entries = ET.fromstring(responder.get("/status/feed.atom").content).findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == [  # type: ignore[union-attr]
        "Monitoring: Search is slow",
        "Identified: Search is slow",
        "Investigating: Search is slow",
    ]


def test_hostile_text_stays_text(responder: Responder) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)> & ]]> <b>bold</b>'
    incident = responder.declare(f"Title {hostile}", "SEV2", ("api",))
    responder.run(incident, public_post("investigating", f"Investigating: {hostile}"))
    page = responder.get("/status").text
    assert "<script>" not in page and "<img" not in page and "<b>bold" not in page
    assert str(escape(hostile)) in page
    assert html.unescape(str(escape(hostile))) == hostile
    feed = ET.fromstring(responder.get("/status/feed.atom").content)  # still well-formed XML
    entry = feed.find(f"{ATOM}entry")
    assert entry is not None
    assert entry.find(f"{ATOM}content").text == hostile  # type: ignore[union-attr]
    assert (
        responder.get("/status.json").json()["incidents"][0]["updates"][0]["body"].endswith(hostile)
    )


def test_escapes_controls_and_bidi_overrides_are_dropped(responder: Responder) -> None:
    """What a terminal or a reader's software would act on never leaves; XML stays valid."""
    incident = responder.declare("Pay\u202egnp.exe\u202c down", "SEV2", ("api",))
    body = "Investigating: errors \x1b[31mred\x1b[0m\x07 and \u2066isolated\u2069 text"
    responder.run(incident, public_post("investigating", body))
    feed = responder.get("/status/feed.atom")
    entry = ET.fromstring(feed.content).find(f"{ATOM}entry")
    assert entry is not None
    assert entry.find(f"{ATOM}content").text == "errors red and isolated text"  # type: ignore[union-attr]
    for shown in (responder.get("/status").text, feed.text, responder.get("/status.json").text):
        assert "\x1b" not in shown and "\u202e" not in shown and "\x07" not in shown
        assert "\\u001b" not in shown and "\\u202e" not in shown
    assert "Paygnp.exe down" in responder.get("/status").text


def test_readers_revalidate_with_etags(responder: Responder) -> None:
    first = responder.get("/status")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=5"
    again = httpx_get(responder, "/status", {"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    incident = responder.declare("Login errors", "SEV2", ("api",))
    responder.run(incident, public_post("investigating", "Investigating: login errors."))
    changed = httpx_get(responder, "/status", {"If-None-Match": etag})
    assert changed.status_code == 200 and "Login errors" in changed.text


def httpx_get(responder: Responder, path: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    import httpx

    return httpx.get(f"{responder.server}{path}", headers=headers, timeout=10)
