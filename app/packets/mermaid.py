"""The Event Packet's timeline as a Mermaid `timeline` diagram: one section per UTC day, one period per minute.

Pure: the packet's timeline entries in, Mermaid text out. Mermaid's timeline grammar has no escapes
and draws text as plain text: a period may not hold `:` and an event ends where `: ` begins the next.
So times are written with the ratio sign (`10∶03`, which looks like a colon) and, in an event, a
colon followed by a space becomes that sign too. Everything else (`#`, `%%`, quotes, `<b>`) renders
as written (checked by drawing them in headless Chromium); the packet's JSON keeps the exact text.
"""

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

RATIO = "∶"  # U+2236, in place of ':' where Mermaid would read a colon as syntax
MAX_EVENT = 160  # characters drawn per event; the packet keeps the whole summary


def _text(value: str, *, limit: int = MAX_EVENT) -> str:
    """One line of event text that Mermaid's timeline grammar reads as text."""
    text = " ".join(value.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return re.sub(r":(?=\s|$)", RATIO, text) or "(no summary)"


def _moment(entry: Mapping[str, Any]) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(entry.get("at")))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _event(entry: Mapping[str, Any]) -> str:
    kind = str(entry.get("type") or "event").replace("_", " ")
    summary = str(entry.get("summary") or "")
    if not summary or summary == entry.get("type"):
        text = kind
    else:  # webhook summaries already start with their kind ("resolved — <title>")
        text = summary if summary.startswith(str(entry.get("type"))) else f"{kind} — {summary}"
    actor = entry.get("actor")
    return _text(text) + (f" ({_text(str(actor), limit=60)})" if actor else "")


def packet_timeline(entries: Sequence[Mapping[str, Any]], *, title: str) -> str:
    """The timeline as a Mermaid `timeline`; a packet without entries gives a diagram that says so."""
    lines = ["timeline", f"    title {' '.join(title.split())[:200] or 'Event Packet'}"]
    dated = sorted(((moment, entry) for entry in entries if (moment := _moment(entry)) is not None),
                   key=lambda pair: pair[0])
    if not dated:
        lines += ["    section No events", "        nothing recorded : the packet has no timeline entries"]
        return "\n".join(lines) + "\n"
    for day, of_day in groupby(dated, key=lambda pair: pair[0].date()):
        lines.append(f"    section {day.isoformat()} (UTC)")
        for minute, at_minute in groupby(of_day, key=lambda pair: pair[0].strftime("%H:%M")):
            events = [_event(entry) for _, entry in at_minute]
            lines.append(f"        {minute.replace(':', RATIO)} : {events[0]}")
            lines.extend(f"              : {event}" for event in events[1:])
    return "\n".join(lines) + "\n"
