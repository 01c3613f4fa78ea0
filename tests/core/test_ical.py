"""The feed's bytes: checked by hand (parsers accept broken files), then by three parsers."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import vobject
from hypothesis import given, settings
from hypothesis import strategies as st
from ical_checks import check_bytes, check_parsers

from tracker.core.ical import Entry, build_calendar, clean_text, escape_text, fold, refold

BASE = "https://tracker.example"
STAMP = datetime(2027, 1, 1, 9, 30, 15, 123456, tzinfo=UTC)


def entry(**fields: object) -> Entry:
    values: dict[str, object] = {
        "uid": "7f0c5d2e-1b7a-4c39-9d0f-3a1e2b4c5d6e",
        "sequence": 0,
        "due": date(2027, 1, 4),
        "updated_at": STAMP,
        "plan": "Go",
        "title": "Toolchain, modules and your first program",
        "path": "/milestones/1",
        "topic": "Core syntax",
        "learn": "Install Go; learn go mod init, go build and go test.",
        "done_when": ("gofmt -l . reports nothing.", "go vet ./... is clean."),
        "links": (("A Tour of Go", "https://go.dev/tour/"),),
    }
    values.update(fields)
    return Entry(**values)  # type: ignore[arg-type]


def build(*entries: Entry, name: str = "Roadmap Tracker: Start with Go",
          alarm_at: time | None = None) -> bytes:
    return build_calendar(name, entries or (entry(),), base_url=BASE, alarm_at=alarm_at)


# -- the byte checks ----------------------------------------------------------------------

def test_calendar_properties() -> None:
    data = build()
    check_bytes(data)
    head = data.split(b"BEGIN:VEVENT")[0].decode()
    assert head.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Roadmap Tracker//")
    assert "NAME:Roadmap Tracker: Start with Go\r\n" in head
    assert "X-WR-CALNAME:Roadmap Tracker: Start with Go\r\n" in head
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in head
    assert "X-PUBLISHED-TTL:PT1H\r\n" in head
    assert "METHOD" not in head
    assert b"TZID" not in data and b"VTIMEZONE" not in data
    check_parsers(data)


def test_event_properties() -> None:
    berlin = datetime(2027, 1, 2, 10, 0, 5, tzinfo=ZoneInfo("Europe/Berlin"))
    data = build(entry(due=date(2027, 12, 31), sequence=3, updated_at=berlin))
    check_bytes(data)
    event = check_parsers(data).walk("VEVENT")[0]
    text = data.decode()
    assert "DTSTART;VALUE=DATE:20271231\r\n" in text
    assert "DTEND;VALUE=DATE:20280101\r\n" in text  # exclusive end, across a year
    assert "UID:7f0c5d2e-1b7a-4c39-9d0f-3a1e2b4c5d6e\r\n" in text
    assert "SEQUENCE:3\r\n" in text
    assert "DTSTAMP:20270102T090005Z\r\n" in text  # the update time, in UTC
    assert "LAST-MODIFIED:20270102T090005Z\r\n" in text
    assert "TRANSP:TRANSPARENT\r\n" in text
    assert "URL:https://tracker.example/milestones/1\r\n" in text
    assert "CATEGORIES:Go,Core syntax\r\n" in text
    assert "STATUS" not in text
    assert str(event["summary"]) == "Go · Toolchain, modules and your first program"
    description = str(event["description"])
    assert description.startswith("Install Go; learn go mod init")
    assert "Done when:\n• gofmt -l . reports nothing.\n• go vet ./... is clean." in description
    assert "A Tour of Go: https://go.dev/tour/" in description
    assert description.endswith("Open in Roadmap Tracker: https://tracker.example/milestones/1")
    assert "VALARM" not in text


def test_done_milestones_get_a_check_mark_not_a_status() -> None:
    data = build(entry(done=True, note="Built a word counter.",
                       evidence_url="https://github.com/me/wc"))
    check_bytes(data)
    event = check_parsers(data).walk("VEVENT")[0]
    assert str(event["summary"]) == "✓ Go · Toolchain, modules and your first program"
    assert "Your note: Built a word counter.\nEvidence: https://github.com/me/wc" in str(
        event["description"])
    assert b"STATUS" not in data and b"COMPLETED" not in data


@pytest.mark.parametrize(("at", "trigger"), [
    (time(8, 0), "PT8H"), (time(7, 30), "PT7H30M"), (time(0, 5), "PT5M"), (time(0, 0), "P0D"),
])
def test_alarm_at_the_reminder_time(at: time, trigger: str) -> None:
    data = build(entry(), entry(uid="second", path="/milestones/2"), alarm_at=at)
    check_bytes(data)
    calendar = check_parsers(data)
    alarms = calendar.walk("VALARM")
    assert len(alarms) == 2
    text = data.decode()
    assert text.count(f"TRIGGER:{trigger}\r\n") == 2
    alarm = alarms[0]
    assert str(alarm["action"]) == "DISPLAY"
    assert str(alarm["description"]) == "Due today: Toolchain, modules and your first program"
    assert len([k for k in alarm if k == "TRIGGER"]) == 1


def test_same_input_same_bytes_in_order() -> None:
    entries = [entry(uid=f"uid-{i}", path=f"/milestones/{i}", due=date(2027, 1, 4 + i))
               for i in (3, 1, 2)]
    first = build(*entries, alarm_at=time(8))
    assert first == build(*entries, alarm_at=time(8))
    assert [m.group(1) for m in re.finditer(rb"UID:(\S+)", first)] == [b"uid-3", b"uid-1", b"uid-2"]


def test_empty_calendar() -> None:
    data = build_calendar("Roadmap Tracker", [], base_url=BASE)
    check_bytes(data)
    assert check_parsers(data).walk("VEVENT") == []


# -- TEXT and folding ---------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "escaped"), [
    ("a,b", "a\\,b"),
    ("a;b", "a\\;b"),
    ("a\\b", "a\\\\b"),
    ("a\nb", "a\\nb"),
    ("a\r\nb\rc", "a\\nb\\nc"),
    ("C:\\New", "C:\\\\New"),  # icalendar 7 would turn this \N into a line break
    ("a:b", "a:b"),
    ("tab\there", "tab\there"),
])
def test_text_escaping(raw: str, escaped: str) -> None:
    assert escape_text(raw) == escaped
    data = build(entry(title=raw))
    check_bytes(data)
    assert f"SUMMARY:Go · {escaped}\r\n".encode() in data


def test_control_characters_are_dropped() -> None:
    assert clean_text("a\x00b\x07c\x1b[0m\x7f") == "abc[0m"
    assert clean_text("one\u2028two\u2029three\x85four") == "one\ntwo\nthree\nfour"
    check_bytes(build(entry(title="bell\x07 and escape\x1b", note="nul\x00")))


@pytest.mark.parametrize("offset", range(66, 78))
@pytest.mark.parametrize("tricky", [",", "\\", "\\\\,", "é", "🎉", "\n", "👩‍💻"])
def test_folds_never_split_an_escape_or_a_character(offset: int, tricky: str) -> None:
    # Slide the tricky text across the fold boundary, one octet at a time.
    title = "x" * (offset - len("SUMMARY:Go · ")) + tricky * 5 + "y" * 200
    data = build(entry(title=title))
    check_bytes(data)
    event = check_parsers(data).walk("VEVENT")[0]
    assert str(event["summary"]) == "Go · " + title


def test_fold_and_refold() -> None:
    line = ("DESCRIPTION:" + "é" * 100).encode()
    folded = fold(line)
    assert all(len(part) <= 75 for part in folded.split(b"\r\n"))
    assert folded.replace(b"\r\n ", b"") == line
    assert fold(b"SHORT:value") == b"SHORT:value"
    assert refold(b"A:1\r\nB:2\r\n x\r\n") == b"A:1\r\nB:2x\r\n"


# -- properties ---------------------------------------------------------------------------

FRAGMENTS = [",", ";", "\\", ":", "\n", "\r", "\r\n", "\t", '"', "^", "\\n", "\\N", "\\,",
             "🎉", "👩‍💻", "שלום", "مرحبا", "\u200f", "é", "ß", "\u2028", "\x00", "\x1b"]
tricky_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.characters(codec="utf-8")),
                       max_size=60).map("".join)
long_word = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Zs"]),
                    min_size=80, max_size=300)


@settings(max_examples=50, deadline=None)
@given(title=st.one_of(tricky_text, long_word), note=tricky_text, topic=tricky_text,
       learn=st.one_of(tricky_text, long_word))
def test_any_text_stays_valid_and_round_trips(title: str, note: str, topic: str,
                                               learn: str) -> None:
    data = build(entry(title=title, note=note, topic=topic, learn=learn), alarm_at=time(8, 15))
    check_bytes(data)
    calendar = check_parsers(data)
    event = calendar.walk("VEVENT")[0]
    summary = "Go · " + clean_text(title)
    assert str(event["summary"]) == summary
    parsed = vobject.readOne(data.decode()).vevent
    assert parsed.summary.value == summary
    description = parsed.description.value
    assert clean_text(learn).strip() in description
    if clean_text(note):
        assert f"Your note: {clean_text(note)}" in description
    categories = ["Go"] + ([clean_text(topic)] if clean_text(topic).strip() else [])
    assert parsed.categories.value == categories
