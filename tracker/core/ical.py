"""The calendar feed: milestones as all-day iCalendar events, serialized to bytes.

Pure: no Flask, no database. The same input gives the same bytes, so the feed can be
cached, compared and served with a strong ETag. icalendar builds the components; two
things are done here because icalendar 7 gets them subtly wrong for learner text: TEXT
escaping (it turns a literal ``\\N`` into a line break) and folding (it can split a
backslash escape across a fold).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from icalendar import Alarm, Calendar, Event, vCategory, vDuration, vText

PRODID = "-//Roadmap Tracker//Milestone feed 1//EN"
# How often clients should poll: edits should show up within the hour, and a poll with
# nothing new costs a 304.
REFRESH = timedelta(hours=1)
LIMIT = 75  # octets per physical line, CRLF excluded (RFC 5545 3.1)
DONE_MARK = "✓ "
SKIPPED_MARK = "(skipped) "


@dataclass(frozen=True)
class Entry:
    """One milestone as the feed shows it: plain values joined from state and roadmap text."""

    uid: str
    sequence: int
    due: date
    updated_at: datetime  # aware; becomes DTSTAMP and LAST-MODIFIED in UTC
    plan: str  # short plan label in the SUMMARY, e.g. "Go"
    title: str
    path: str  # link back to the milestone, relative to the base URL
    done: bool = False
    skipped: bool = False  # the event stays, marked: the learner knew it already
    skip_reason: str = ""
    topic: str = ""
    learn: str = ""
    done_when: tuple[str, ...] = ()
    links: tuple[tuple[str, str], ...] = ()  # (title, url)
    note: str = ""
    evidence_url: str = ""
    categories: tuple[str, ...] = ()  # default: plan and topic


def build_calendar(
    name: str,
    entries: Iterable[Entry],
    *,
    base_url: str,
    alarm_at: time | None = None,
) -> bytes:
    """Return the iCalendar bytes for a plan: one all-day event per entry, in the given order.

    ``alarm_at`` adds a display alarm at that wall-clock time on the due day, as an offset
    from the all-day start so no floating or zoned date-time is needed.
    """
    base = base_url.rstrip("/")
    cal = Calendar()  # not Calendar.new(): that adds a random UID
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("name", _Text(name))
    cal.add("x-wr-calname", _Text(name))
    cal.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH))
    for entry in entries:
        cal.add_component(_event(entry, base, alarm_at))
    return refold(cal.to_ical())


def _event(entry: Entry, base: str, alarm_at: time | None) -> Event:
    url = base + entry.path
    mark = DONE_MARK if entry.done else SKIPPED_MARK if entry.skipped else ""
    summary = f"{mark}{entry.plan} · {entry.title}"
    stamp = entry.updated_at.astimezone(UTC).replace(microsecond=0)
    event = Event()  # not Event.new(): that adds a random UID and the current time
    event.add("uid", entry.uid)
    event.add("sequence", entry.sequence)
    event.add("dtstamp", stamp)
    event.add("last-modified", stamp)
    event.add("dtstart", entry.due)
    event.add("dtend", entry.due + timedelta(days=1))  # exclusive: a one-day event
    event.add("summary", _Text(summary))
    event.add("description", _Text(describe(entry, url)))
    event.add("url", url)
    categories = entry.categories or (entry.plan, entry.topic)
    categories = tuple(c for c in categories if clean_text(c).strip())
    if categories:
        event.add("categories", _Categories(categories))
    # A study day should not block the learner's calendar as busy.
    event.add("transp", "TRANSPARENT")
    if alarm_at is not None and not entry.skipped:  # nothing to study that day
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", _Text(f"Due today: {entry.title}"))
        alarm.add("trigger", vDuration(timedelta(hours=alarm_at.hour, minutes=alarm_at.minute)))
        event.add_component(alarm)
    return event


def describe(entry: Entry, url: str) -> str:
    """Return the event description: what to learn, when it is done, the learner's note."""
    learn = clean_text(entry.learn).strip()
    parts = [learn] if learn else []
    if entry.skipped:
        parts.insert(0, "Skipped" + (f": {entry.skip_reason}" if entry.skip_reason else
                                     " (you knew it already)"))
    if entry.done_when:
        parts.append("Done when:\n" + "\n".join(f"• {d}" for d in entry.done_when))
    if entry.links:
        parts.append("Resources:\n" + "\n".join(f"• {t}: {u}" for t, u in entry.links))
    mine = [f"Your note: {entry.note}" if entry.note else "",
            f"Evidence: {entry.evidence_url}" if entry.evidence_url else ""]
    if any(mine):
        parts.append("\n".join(m for m in mine if m))
    parts.append(f"Open in Roadmap Tracker: {url}")
    return "\n\n".join(parts)


# TEXT (RFC 5545 3.3.11) allows any character but controls other than HTAB; a newline
# is written as \n. U+2028/U+2029 are line breaks to many parsers (str.splitlines).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def clean_text(text: str) -> str:
    """Return text as the feed carries it: newlines as LF, no control characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROLS.sub(lambda m: "\n" if m.group() in "\u2028\u2029\x85\x0b\x0c" else "", text)
    # Lone surrogates cannot be written as UTF-8 (SQLite may hand them back).
    return "".join(c for c in text if unicodedata.category(c) != "Cs")


def escape_text(text: str) -> str:
    """Escape a TEXT value: backslash, semicolon, comma and newline."""
    return (clean_text(text).replace("\\", "\\\\").replace(";", "\\;")
            .replace(",", "\\,").replace("\n", "\\n"))


class _Text(vText):
    """A TEXT value escaped exactly as RFC 5545 says, literal ``\\N`` included."""

    def to_ical(self) -> bytes:
        return escape_text(str(self)).encode()


class _Categories(vCategory):
    """A CATEGORIES list with the same escaping as TEXT."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(list(names))
        self._names = tuple(names)

    def to_ical(self) -> bytes:
        return ",".join(escape_text(n) for n in self._names).encode()


_ESCAPE = re.compile(rb"\\.", re.DOTALL)


def refold(ical: bytes) -> bytes:
    """Fold every content line to at most 75 octets, never inside a UTF-8 sequence or escape."""
    lines = ical.replace(b"\r\n ", b"").replace(b"\r\n\t", b"").split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return b"".join(fold(line) + b"\r\n" for line in lines)


def fold(line: bytes) -> bytes:
    """Fold one unfolded content line (RFC 5545 3.1)."""
    if len(line) <= LIMIT:
        return line
    # Scanning escapes from the start pairs "\\\\" correctly, so "\\\\," is two escapes.
    inside = {m.start() + 1 for m in _ESCAPE.finditer(line)}
    pieces, start, room = [], 0, LIMIT
    while len(line) - start > room:
        cut = start + room
        while cut - start > 1 and (cut in inside or line[cut] & 0xC0 == 0x80):
            cut -= 1
        pieces.append(line[start:cut])
        start, room = cut, LIMIT - 1  # a continuation line starts with one space
    pieces.append(line[start:])
    return b"\r\n ".join(pieces)
