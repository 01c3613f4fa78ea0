"""Byte-level and parser checks of an iCalendar feed, shared by the core and feed tests.

Parsers accept broken files, so the bytes are checked too: CRLF, 75-octet folding that never
splits an escape or a character, escaping, durations.
"""

from __future__ import annotations

import re

import icalendar
import ics
import vobject

TEXT_PROPERTIES = {"SUMMARY", "DESCRIPTION", "NAME", "X-WR-CALNAME", "LOCATION", "COMMENT"}
DURATION = re.compile(
    r"[+-]?P(\d+W|\d+D(T(\d+H(\d+M(\d+S)?)?|\d+M(\d+S)?|\d+S))?|T(\d+H(\d+M(\d+S)?)?|\d+M(\d+S)?|\d+S))"
)
CONTENT_LINE = re.compile(
    r"([A-Za-z0-9-]+)((?:;[A-Za-z0-9-]+=(?:\"[^\"]*\"|[^\";:,]*))*):(.*)", re.S
)
DATE_TIME = re.compile(r"\d{8}T\d{6}Z?")


def logical_lines(data: bytes) -> list[tuple[str, list[int]]]:
    """Unfold the bytes: each logical line with the offsets where a fold continued it."""
    lines: list[tuple[str, list[int]]] = []
    for physical in data.split(b"\r\n")[:-1]:
        if physical.startswith((b" ", b"\t")):
            text, folds = lines[-1]
            folds.append(len(text))
            lines[-1] = (text + physical[1:].decode(), folds)
        else:
            lines.append((physical.decode(), []))
    return lines


def check_bytes(data: bytes) -> None:
    """Assert what RFC 5545 asks of the bytes, beyond what parsers enforce."""
    assert data.endswith(b"\r\n"), "the last line must end with CRLF"
    assert b"\n" not in data.replace(b"\r\n", b""), "a bare LF"
    assert b"\r" not in data.replace(b"\r\n", b""), "a bare CR"
    for physical in data.split(b"\r\n")[:-1]:
        assert len(physical) <= 75, f"{len(physical)} octets: {physical!r}"
        # Each physical line decodes alone: no fold split a UTF-8 sequence.
        physical.decode("utf-8")
    stack: list[str] = []
    for text, folds in logical_lines(data):
        match = CONTENT_LINE.fullmatch(text)
        assert match, f"not a content line: {text!r}"
        name, params, value = match.group(1).upper(), match.group(2).upper(), match.group(3)
        assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f]", value), f"a control character: {text!r}"
        # No escape straddles a fold: scanning left to right pairs "\\\\" correctly.
        for escape in re.finditer(r"\\.", text, re.S):
            assert escape.start() + 1 not in folds, f"a fold splits {escape.group()!r}: {text!r}"
        if name == "BEGIN":
            stack.append(value)
        elif name == "END":
            assert stack.pop() == value
        if name in TEXT_PROPERTIES or name == "CATEGORIES":
            rest = re.sub(r"\\[\\;,nN]", "", value)
            assert "\\" not in rest, f"a bad escape in {text!r}"
            assert ";" not in rest, f"an unescaped ; in {text!r}"
            if name != "CATEGORIES":  # a list: its commas separate values
                assert "," not in rest, f"an unescaped , in {text!r}"
        if "VALUE=DURATION" in params or name in ("X-PUBLISHED-TTL", "DURATION") or (
                name == "TRIGGER" and "VALUE=DATE-TIME" not in params):
            assert DURATION.fullmatch(value), f"not a duration: {text!r}"
        if name in ("DTSTART", "DTEND") and "VALUE=DATE" in params.split(";"):
            assert re.fullmatch(r"\d{8}", value), text
        for stamp in DATE_TIME.finditer(value):
            # UTC or zoned, never floating.
            assert stamp.group().endswith("Z") or "TZID=" in params, f"floating: {text!r}"
    assert stack == []


def check_parsers(data: bytes) -> icalendar.Calendar:
    """Parse with icalendar 7 (no errors, no missing VTIMEZONE), vobject and ics-py."""
    calendar = icalendar.Calendar.from_ical(data)
    for component in calendar.walk():
        assert component.errors == [], (component.name, component.errors)
    assert calendar.get_missing_tzids() == set()
    vobject.readOne(data.decode())
    ics.Calendar(data.decode())
    return calendar


# -- the calendar -------------------------------------------------------------------------
