"""Act from the email: Mark done, Skip and Push by a week, from the reminder and the weekly
mail, through a page that asks first; bound to the learner and milestone, spent once the
milestone changes, expired after a week and a day."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tracker.accounts.tokens import ACTION_MAX_AGE
from tracker.database import db
from tracker.jobs.worker import run_once
from tracker.models import Milestone

LINK = re.compile(r"(?P<label>Mark done|Skip|Push by a week): https://tracker\.example(?P<path>/act/\S+)")
NINE = timedelta(hours=9)


def milestones(app) -> list[Milestone]:
    with app.app_context():
        rows = list(db.session.scalars(select(Milestone).order_by(Milestone.position)))
        db.session.expunge_all()
        return rows


def due_mail(app, smtp_server, first: Milestone) -> tuple[datetime, dict[str, str]]:
    """Run the worker on the first milestone's due morning; return the time and its links."""
    when = datetime.combine(first.due_date, datetime.min.time(), UTC) + NINE
    with app.app_context():
        run_once(when)
    [message] = [m for m in smtp_server.messages if m["Subject"].startswith("Due today")]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    links = {m["label"]: m["path"] for m in LINK.finditer(text)}
    assert set(links) == {"Mark done", "Skip", "Push by a week"}, text
    for path in links.values():
        assert f'href="https://tracker.example{path}"' in html  # the HTML part has them too
    return when, links


def test_mark_done_from_the_due_mail_asks_first_and_works_once(app, learner, smtp_server):
    first = milestones(app)[0]
    _, links = due_mail(app, smtp_server, first)
    phone = app.test_client()  # the mail app: not logged in
    for _ in range(3):  # a scanner, a preview, the person: opening changes nothing
        page = phone.get(links["Mark done"])
        assert page.status_code == 200 and "Mark “Toolchain" in page.get_data(as_text=True)
        assert page.headers["Cache-Control"] == "no-store"
    assert milestones(app)[0].done_at is None
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      page.get_data(as_text=True)).group(1)
    done = phone.post(links["Mark done"], data={"csrf_token": token})
    assert done.status_code == 200 and "Done: Toolchain" in done.get_data(as_text=True)
    assert milestones(app)[0].done_at is not None
    # Spent: this link, and the mail's other links for the same milestone.
    for label in ("Mark done", "Skip", "Push by a week"):
        again = phone.get(links[label])
        assert again.status_code == 404 and "no longer works" in again.get_data(as_text=True)
    assert phone.post(links["Skip"], data={"csrf_token": token}).status_code == 404
    assert milestones(app)[0].skipped_at is None


def test_a_post_without_the_pages_token_changes_nothing(app, learner, smtp_server):
    first = milestones(app)[0]
    _, links = due_mail(app, smtp_server, first)
    assert app.test_client().post(links["Skip"]).status_code == 400
    assert milestones(app)[0].skipped_at is None


def test_skip_from_the_mail(app, client, learner, smtp_server):
    first = milestones(app)[0]
    _, links = due_mail(app, smtp_server, first)
    assert "Skip “Toolchain" in client.get(links["Skip"]).get_data(as_text=True)
    assert client.submit(links["Skip"]).status_code == 200
    skipped = milestones(app)[0]
    assert skipped.skipped_at is not None and skipped.done_at is None


def test_push_moves_it_and_the_open_ones_after_it_by_a_week(app, client, learner, smtp_server):
    before = milestones(app)
    _, links = due_mail(app, smtp_server, before[0])
    page = client.submit(links["Push by a week"])
    assert page.status_code == 200 and "Pushed by a week" in page.get_data(as_text=True)
    after = milestones(app)
    for old, new in zip(before, after, strict=True):
        assert new.due_date == old.due_date + timedelta(days=7)
        assert new.due_date.weekday() == old.due_date.weekday()  # still a study day
        assert new.sequence == old.sequence + 1 and new.uid == old.uid  # the feed follows


def test_a_link_expires(app, client, learner, smtp_server, monkeypatch):
    first = milestones(app)[0]
    sent = datetime.now(UTC)  # the links are made as the mail goes out
    _, links = due_mail(app, smtp_server, first)
    import tracker.reminders.views as views

    monkeypatch.setattr(views, "utcnow", lambda: sent + ACTION_MAX_AGE + timedelta(minutes=1))
    page = client.get(links["Mark done"])
    assert page.status_code == 404 and "has expired" in page.get_data(as_text=True)


def test_the_weekly_mail_links_what_is_open(app, make_user, make_plan, smtp_server):
    make_plan(make_user(), start=datetime(2027, 1, 4).date())
    rows = milestones(app)
    with app.app_context():  # the first milestone is done: it gets no links
        db.session.get(Milestone, rows[0].id).done_at = datetime(2027, 1, 5, 10, tzinfo=UTC)
        db.session.commit()
        run_once(datetime(2027, 1, 11, 9, tzinfo=UTC))  # Monday: the weekly mail
    [weekly] = [m for m in smtp_server.messages if m["Subject"].startswith("Week")]
    text = weekly.get_body(("plain",)).get_content()
    done_part, _, open_part = text.partition("Due in the next 7 days")
    assert "Mark done:" not in done_part and "Toolchain" in done_part
    assert len(LINK.findall(open_part)) == 3 * len(re.findall(r"^- ", open_part, re.M))
