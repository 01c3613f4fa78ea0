from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import outbox_rows
from flask import Flask

from tracker.database import db
from tracker.jobs.composers import COMPOSERS
from tracker.mail import claims, delivery, outbox
from tracker.mail.message import Email, compose
from tracker.models import Notification, User

NOW = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)


def _compose(n: Notification, user: User) -> Email | None:
    if n.payload.get("gone"):
        return None
    return compose(
        to=user.email, subject=n.payload.get("subject", "Test"),
        template="broken" if n.payload.get("broken") else "test", context={"key": n.dedupe_key},
    )


# The app's kinds, and a throwaway "test" kind whose payload says what to do.
COMPOSERS_WITH_TEST = {**COMPOSERS, "test": _compose}


@pytest.fixture
def outbox_app(app: Flask, tmp_path: Any) -> Iterator[Flask]:
    """The app with a throwaway 'test' kind of mail."""
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "test.txt").write_text("Hello {{ key }}\n{{ key }}")
    (tmp_path / "email" / "test.html").write_text("<p>Hello {{ key }}</p>")
    for ext in ("txt", "html"):
        (tmp_path / "email" / f"broken.{ext}").write_text("{{ missing.attribute }}")
    import jinja2

    app.jinja_loader = jinja2.ChoiceLoader(
        [jinja2.FileSystemLoader(str(tmp_path)), app.jinja_loader]
    )
    yield app


@pytest.fixture
def queue(outbox_app: Flask, make_user: Any) -> Any:
    user_id = make_user("learner@example.com")

    def add(key: str, due_at: datetime = NOW, **fields: Any) -> bool:
        with outbox_app.app_context():
            added = outbox.queue(
                db.session,
                user_id=user_id,
                kind="test",
                dedupe_key=key,
                due_at=due_at,
                now=NOW,
                **fields,
            )
            db.session.commit()
            return added

    return add


def deliver(app: Flask, now: datetime = NOW, **kwargs: Any) -> outbox.Counts:
    with app.app_context():
        return delivery.deliver(now, COMPOSERS_WITH_TEST, **kwargs)


def rows(app: Flask) -> dict[str, Notification]:
    return {n.dedupe_key: n for n in outbox_rows(app)}


def test_queue_is_insert_if_absent(queue: Any) -> None:
    assert queue("a") is True
    assert queue("a") is False
    assert queue("b") is True


def test_deliver_sends_once(outbox_app: Flask, smtp_server: Any, queue: Any) -> None:
    queue("a")
    queue("later", due_at=NOW + timedelta(minutes=5))
    assert deliver(outbox_app) == outbox.Counts(sent=1)
    assert deliver(outbox_app) == outbox.Counts()
    [message] = smtp_server.messages
    assert message["To"] == "learner@example.com"
    assert message["Auto-Submitted"] == "auto-generated"
    row = rows(outbox_app)["a"]
    assert (row.status, row.attempts, row.sent_at) == ("sent", 1, NOW)
    assert message["Message-ID"] == row.message_id
    assert message["Date"].datetime.tzinfo is not None
    assert deliver(outbox_app, NOW + timedelta(minutes=5)) == outbox.Counts(sent=1)
    assert len(smtp_server.messages) == 2


def test_server_down_for_a_pass(outbox_app: Flask, smtp_server: Any, queue: Any) -> None:
    for key in "abc":
        queue(key)
    with smtp_server.down():
        counts = deliver(outbox_app)
    # Nobody's attempt is spent: the server was not there to refuse anything.
    assert counts == outbox.Counts(deferred=3) and counts.unreachable
    for row in rows(outbox_app).values():
        assert row.status == "pending" and row.attempts == 0
        assert row.next_attempt_at == NOW + timedelta(minutes=1)
        assert "Connection" in row.last_error
    assert deliver(outbox_app, NOW + timedelta(seconds=30)) == outbox.Counts()
    assert deliver(outbox_app, NOW + timedelta(minutes=1)) == outbox.Counts(sent=3)
    assert deliver(outbox_app, NOW + timedelta(minutes=2)) == outbox.Counts()
    assert sorted(m["Subject"] for m in smtp_server.messages) == ["Test"] * 3


def test_temporary_refusal_backs_off_then_fails(
    outbox_app: Flask, smtp_server: Any, queue: Any
) -> None:
    queue("a")
    message_ids = set()
    now = NOW
    with smtp_server.refusing_mail():
        for attempt in range(1, claims.MAX_ATTEMPTS + 1):
            counts = deliver(outbox_app, now)
            row = rows(outbox_app)["a"]
            message_ids.add(row.message_id)
            assert row.attempts == attempt
            assert row.last_error.startswith("SMTP 451")
            if attempt < claims.MAX_ATTEMPTS:
                assert counts == outbox.Counts(retried=1)
                wait = timedelta(minutes=claims.BACKOFF_MINUTES[attempt - 1])
                assert row.next_attempt_at == now + wait
                assert deliver(outbox_app, now + wait - timedelta(seconds=1)) == outbox.Counts()
                now += wait
            else:
                assert counts == outbox.Counts(failed=1)
                assert row.status == "failed"
    assert len(message_ids) == 1  # one Message-ID for every attempt
    assert deliver(outbox_app, now + timedelta(days=30)) == outbox.Counts()
    assert smtp_server.messages == []


def test_a_refused_message_does_not_hold_up_the_others(
    outbox_app: Flask, smtp_server: Any, queue: Any
) -> None:
    queue("a")
    queue("b")
    original = smtp_server.handle_DATA

    async def refuse_a(server: Any, session: Any, envelope: Any) -> str:
        if b"Hello a" in envelope.content:
            return "550 5.7.1 No thanks"
        return await original(server, session, envelope)

    smtp_server.handle_DATA = refuse_a
    assert deliver(outbox_app) == outbox.Counts(sent=1, retried=1)
    assert rows(outbox_app)["a"].last_error == "SMTP 550: 5.7.1 No thanks"


def test_a_refused_recipient_does_not_hold_up_the_others(
    outbox_app: Flask, smtp_server: Any, queue: Any
) -> None:
    queue("a")
    queue("b")

    async def refuse(server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        return "550 5.1.1 No such user"

    smtp_server.handle_RCPT = refuse
    assert deliver(outbox_app) == outbox.Counts(retried=2)  # the connection stays usable
    assert rows(outbox_app)["b"].last_error == "SMTP 550: 5.1.1 No such user"
    del smtp_server.handle_RCPT
    assert deliver(outbox_app, NOW + timedelta(minutes=1)) == outbox.Counts(sent=2)


def test_a_broken_template_fails_only_its_own_message(
    outbox_app: Flask, smtp_server: Any, queue: Any
) -> None:
    queue("a")
    queue("broken", payload={"broken": True})
    queue("c")
    assert deliver(outbox_app) == outbox.Counts(sent=2, retried=1)
    assert rows(outbox_app)["broken"].last_error.startswith("compose: UndefinedError")
    assert sorted(m["Message-ID"] for m in smtp_server.messages) == sorted(
        r.message_id for k, r in rows(outbox_app).items() if k != "broken")


def test_lines_starting_with_a_dot_arrive_intact(
    outbox_app: Flask, smtp_server: Any, queue: Any
) -> None:
    queue(".hidden")
    assert deliver(outbox_app) == outbox.Counts(sent=1)
    [message] = smtp_server.messages
    assert message.get_body(("plain",)).get_content().splitlines() == [
        "Hello .hidden", ".hidden"]


def test_a_crashed_worker_loses_nothing(outbox_app: Flask, smtp_server: Any, queue: Any) -> None:
    queue("a")
    with outbox_app.app_context():
        [claimed] = claims.claim(NOW, 10)  # then the worker dies before sending
    row = rows(outbox_app)["a"]
    assert row.status == "sending" and row.message_id
    assert deliver(outbox_app, NOW + timedelta(minutes=1)) == outbox.Counts()  # still claimed
    assert deliver(outbox_app, NOW + claims.LEASE) == outbox.Counts(sent=1)
    [message] = smtp_server.messages
    assert message["Message-ID"] == row.message_id


def test_nothing_to_send_or_expired_is_skipped(
    outbox_app: Flask, smtp_server: Any, queue: Any
) -> None:
    queue("gone", payload={"gone": True})
    queue("stale", expires_at=NOW)
    queue("fresh", expires_at=NOW + timedelta(hours=1))
    assert deliver(outbox_app) == outbox.Counts(sent=1, skipped=2)
    assert {k: r.status for k, r in rows(outbox_app).items()} == {
        "gone": "skipped",
        "stale": "skipped",
        "fresh": "sent",
    }


def test_limit_and_only_ids(outbox_app: Flask, smtp_server: Any, queue: Any) -> None:
    for key in "abcd":
        queue(key)
    ids = {k: r.id for k, r in rows(outbox_app).items()}
    assert deliver(outbox_app, only_ids=[ids["c"]]) == outbox.Counts(sent=1)
    assert deliver(outbox_app, limit=2) == outbox.Counts(sent=2)
    assert deliver(outbox_app) == outbox.Counts(sent=1)
    assert len({m["Message-ID"] for m in smtp_server.messages}) == 4


def test_overlapping_workers_send_each_once(
    outbox_app: Flask, smtp_server: Any, queue: Any, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SKIP LOCKED claims: several workers run only on PostgreSQL")
    for i in range(60):
        queue(f"m{i}")
    results: list[outbox.Counts] = []

    def work() -> None:
        results.append(deliver(outbox_app))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.sent for r in results) == 60
    assert len(smtp_server.messages) == 60
    assert len({m["Message-ID"] for m in smtp_server.messages}) == 60


def test_a_drop_mid_data_counts_only_the_message_in_hand(
    outbox_app: Flask, smtp_server: Any, queue: Any
) -> None:
    for key in "abcd":
        queue(key)
    original = smtp_server.handle_DATA

    async def drop_b(server: Any, session: Any, envelope: Any) -> str:
        if b"Hello b" in envelope.content:
            server.transport.close()  # the link breaks with b in hand
            return "250 never read"
        return await original(server, session, envelope)

    smtp_server.handle_DATA = drop_b
    counts = deliver(outbox_app)
    assert counts == outbox.Counts(sent=1, retried=1, deferred=2) and counts.unreachable
    attempts = {k: (r.status, r.attempts) for k, r in rows(outbox_app).items()}
    assert attempts == {"a": ("sent", 1), "b": ("pending", 1), "c": ("pending", 0),
                        "d": ("pending", 0)}
    smtp_server.handle_DATA = original
    assert deliver(outbox_app, NOW + timedelta(minutes=1)) == outbox.Counts(sent=3)
    assert sorted(m["Subject"] for m in smtp_server.messages) == ["Test"] * 4


def test_every_third_message_refused_counts_only_those(
    outbox_app: Flask, smtp_server: Any, queue: Any
) -> None:
    for key in "abcdef":
        queue(key)
    smtp_server.refuse_every = 3
    assert deliver(outbox_app) == outbox.Counts(sent=4, retried=2)
    assert sorted(r.attempts for r in rows(outbox_app).values()) == [1, 1, 1, 1, 1, 1]


def test_a_reminder_gets_a_last_try_before_it_expires(
    outbox_app: Flask, smtp_server: Any, queue: Any
) -> None:
    queue("due", expires_at=NOW + timedelta(hours=12))
    expiry_try = NOW + timedelta(hours=12) - claims.LAST_TRY
    now, tries = NOW, []
    with smtp_server.refusing_mail():
        while now < expiry_try:
            assert deliver(outbox_app, now) == outbox.Counts(retried=1)
            now = rows(outbox_app)["due"].next_attempt_at
            tries.append(now - NOW)
    row = rows(outbox_app)["due"]
    assert len(tries) == 7 and tries[-1] == timedelta(hours=12) - claims.LAST_TRY
    # The back-off (1, 5, 15, 60, 180, 360 minutes...) would pass the expiry: the last try
    # is moved before it, so the reminder is tried once more instead of expiring untried.
    assert row.status == "pending"
    assert row.next_attempt_at == NOW + timedelta(hours=12) - claims.LAST_TRY
    assert deliver(outbox_app, row.next_attempt_at) == outbox.Counts(sent=1)


def test_the_lease_is_renewed_while_sending(
    outbox_app: Flask, smtp_server: Any, queue: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in "abc":
        queue(key)
    monkeypatch.setattr(delivery, "RENEW_EVERY", -1.0)  # renew before every message
    leases: list[datetime | None] = []
    original = smtp_server.handle_DATA

    async def note_the_lease(server: Any, session: Any, envelope: Any) -> str:
        leases.append(rows(outbox_app)["c"].claimed_until)
        return await original(server, session, envelope)

    smtp_server.handle_DATA = note_the_lease
    assert deliver(outbox_app) == outbox.Counts(sent=3)
    assert all(lease is not None and lease > NOW + claims.LEASE - timedelta(seconds=1)
               for lease in leases)
    assert claims.LEASE <= timedelta(minutes=2)  # a dead worker's claims return soon
