"""The bytes of a composed message, read back by the standard library's parser."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask

from tracker import create_app
from tracker.mail import message as mail

CONTEXT = {"email": "learner@example.com", "link": "https://tracker.example/verify/x", "days": 3}


@pytest.fixture
def app() -> Iterator[Flask]:
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": "sqlite://",
                      "BASE_URL": "https://tracker.example/"})
    with app.app_context():
        yield app


def compose(**fields: object) -> mail.Email:
    return mail.compose(**{"to": "learner@example.com", "subject": "Confirm", "template": "verify",
                           "context": CONTEXT, "date": datetime(2027, 1, 4, 8, tzinfo=UTC),
                           **fields})  # type: ignore[arg-type]


def parse(data: bytes, policy: email.policy.EmailPolicy = email.policy.default) -> Any:
    assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF only, as SMTP wants it
    assert all(len(line) <= 78 for line in data.split(b"\r\n") if b"List-Unsubscribe:" not in line)
    return email.message_from_bytes(data, policy=policy)


def test_headers_and_parts(app: Flask) -> None:
    url = "https://tracker.example/unsubscribe/" + "t" * 120
    message = compose(subject="Week 3 of 13 · 5/33 done · on track", unsubscribe_url=url,
                      message_id="<1@tracker.example>")
    data = message.as_bytes()
    assert data.isascii() and not message.international
    parsed = parse(data)
    assert parsed["Subject"] == "Week 3 of 13 · 5/33 done · on track"
    assert parsed["From"] == "Roadmap Tracker <tracker@localhost>"
    assert parsed["To"] == "learner@example.com"
    assert parsed["Date"].datetime == datetime(2027, 1, 4, 8, tzinfo=UTC)
    assert parsed["Message-ID"] == "<1@tracker.example>"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert f"\r\nList-Unsubscribe: <{url}>\r\n".encode() in data  # one token, never folded
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed.get_content_type() == "multipart/alternative"
    text, html = parsed.iter_parts()
    assert "please confirm that learner@example.com" in text.get_content()
    assert "https://tracker.example/verify/x" in html.get_content()
    assert text.get_content().rstrip().endswith("https://tracker.example")  # base_url, no slash


def test_long_lines_and_long_subjects_are_encoded(app: Flask) -> None:
    subject = "A subject that goes on " * 8
    context = {**CONTEXT, "link": "https://tracker.example/verify/" + "é" * 100}
    parsed = parse(compose(subject=subject.strip(), context=context).as_bytes())
    assert parsed["Subject"] == subject.strip()
    text, html = parsed.iter_parts()
    for part in (text, html):
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
    assert context["link"] in text.get_content()


def test_an_international_address_is_sent_as_utf8(app: Flask) -> None:
    message = compose(to="jürgen@exämple.de")
    assert message.international
    parsed = parse(message.as_bytes(), email.policy.SMTPUTF8)
    assert parsed["To"] == "jürgen@exämple.de"


@pytest.mark.parametrize("subject", [
    "Week 3 of 13 · 5/33 done · 2 milestones behind, projected finish Friday 9 April 2027",
    "Due today: " + "a very long milestone title " * 4,
])
def test_long_subjects_fold_between_words(app: Flask, subject: str) -> None:
    data = compose(subject=subject).as_bytes()
    first = next(line for line in data.split(b"\r\n") if line.startswith(b"Subject:"))
    # Folded after a word, never right after the colon: a parser would keep a leading space.
    assert first != b"Subject:" and not first.startswith(b"Subject:  ")
    assert parse(data)["Subject"] == subject
