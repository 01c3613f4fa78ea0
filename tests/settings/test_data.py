"""Your data: export everything as one JSON file, import it into an empty account, and get
the same file back; a bad file is refused by field and changes nothing."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import jsonschema
import pytest
from samples import ROADMAP
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from tracker.core.review import Answer
from tracker.database import db
from tracker.models import Milestone, Plan, Review, ReviewAnswer, RoadmapUpload, User
from tracker.settings.export import schema


def upload_file(client, data: bytes, name: str = "export.json"):
    # Encoded here, in memory: the test client spools a large body to a file it never closes.
    body, length, boundary = stream_encode_multipart(
        {"import-file": FileStorage(io.BytesIO(data), name), "csrf_token": client.csrf_token()},
        threshold=len(data) + 4096)
    return client.post("/settings/import", input_stream=body, content_length=length,
                       content_type=f'multipart/form-data; boundary="{boundary}"')


def milestone_ids(app, user_email: str) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(
            select(Milestone.id).join(Plan).join(User).where(User.email == user_email,
                                                              Plan.archived_at.is_(None))
            .order_by(Milestone.position)))


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {m.__name__: db.session.scalar(select(func.count()).select_from(m))
                for m in (Plan, Milestone, Review, ReviewAnswer, RoadmapUpload)}


def a_full_account(app, client, auth, make_user) -> None:
    """Alice: an uploaded roadmap (archived), then Go with ticks, a skip, a note, her own
    milestone, a review answered, a break taken, a switch to Go-then-Rust, and her settings."""
    make_user("alice@example.com", timezone="America/New_York", nudge_days=3,
              weekly_weekday=4, reviews_enabled=True, feed_reviews=False, feed_alarm=True)
    auth.login("alice@example.com")
    start = (date.today() + timedelta(days=1)).isoformat()
    assert client.submit("/plan/upload", {
        "start_date": start, "study_days": ["0", "2", "4"],
        "file": (io.BytesIO(ROADMAP.encode()), "kotlin.toml")},
        content_type="multipart/form-data").status_code == 302
    with app.app_context():
        from tracker.catalog import get_catalog
        from tracker.models import utcnow
        from tracker.plans import changes

        user = db.session.scalar(select(User).where(User.email == "alice@example.com"))
        changes.create_plan(user, get_catalog(), outcome="go", recommended="rust",
                            answers={"team": ["small"], "latency": ["p99"]},
                            start=date.today() - timedelta(days=20),
                            study_days=(0, 1, 2, 3, 4), now=utcnow())
        db.session.commit()
    ids = milestone_ids(app, "alice@example.com")
    client.submit(f"/milestones/{ids[0]}/done", {"note": "Wrote «wc»; tests too.\nLine two",
                                                 "evidence_url": "https://github.com/a/wc"})
    client.submit(f"/milestones/{ids[1]}/done")
    assert client.submit(f"/milestones/{ids[4]}/checklist", {"item": ["0", "1"]}
                         ).status_code == 302
    client.submit(f"/milestones/{ids[2]}/skip", {"skip-reason": "I use it at work"})
    assert client.submit("/plan/milestones/new", {
        "title": "Build a URL shortener", "learn": "Put it together.",
        "done_when": "It runs\nIt has tests", "links": "Go by Example https://gobyexample.com/",
        "placement": "after", "after": ids[1]}).status_code == 302
    with app.app_context():
        review = db.session.scalar(select(Review).join(Milestone).where(Milestone.id == ids[0]))
        review.due_on = date.today()
        db.session.commit()
        review_id = review.id
    assert client.submit(f"/reviews/{review_id}", {"answer": str(Answer.HARD.value)}
                         ).status_code == 302
    client.submit("/pause")
    with app.app_context():  # the break began three days ago
        plan = db.session.scalar(select(Plan).where(Plan.archived_at.is_(None)))
        plan.paused_on = date.today() - timedelta(days=3)
        db.session.commit()
    client.submit("/resume")
    assert client.submit("/plan/switch", {"to": "go-rust"}).status_code == 302


def test_export_import_export_gives_the_same_file(app, client, auth, make_user):
    a_full_account(app, client, auth, make_user)
    first = client.get("/settings/export")
    assert first.status_code == 200
    assert first.headers["Content-Type"] == "application/json; charset=utf-8"
    assert first.headers["Content-Disposition"].startswith('attachment; filename="roadmap-')
    data = json.loads(first.data)
    jsonschema.validate(data, schema())  # the file follows its published schema
    text = first.data.decode()
    for secret in ("alice@example.com", "password", "feed_token", "link_secret", '"uid"'):
        assert secret not in text
    assert [p["outcome"] for p in data["plans"]] == ["upload", "go", "go-rust"]
    assert data["plans"][0]["roadmaps"] == ["upload-1"] and data["uploads"][0]["ref"] == "upload-1"
    assert data["settings"]["timezone"] == "America/New_York"
    assert data["settings"]["locale"] == "en_001" and data["plans"][1]["weekly_hours"] == 10
    assert data["plans"][1]["pauses"] and data["plans"][1]["answers"]["team"] == ["small"]
    go, go_rust = data["plans"][1]["milestones"], data["plans"][2]["milestones"]
    assert go[0]["review_answers"][0]["rating"] == 2  # the answer stays with the row it was on
    assert go_rust[0]["review"]["card"]["stability"] > 0  # the review came along the switch
    assert go[3]["skip_reason"] == go_rust[3]["skip_reason"] == "I use it at work"
    assert go[5]["checked"] == go_rust[5]["checked"] == [0, 1]  # a checklist begun comes along
    own = [m for m in data["plans"][2]["milestones"] if m["step_id"].startswith("own/")]
    assert own[0]["title"] == "Build a URL shortener" and own[0]["done_when"] == ["It runs",
                                                                                 "It has tests"]
    before = counts(app)

    auth.logout()
    # Someone's other account on the same tracker: the upload gets another id, and the file
    # still names it upload-1.
    make_user("bob@example.com")
    auth.login("bob@example.com")
    response = upload_file(client, first.data)
    assert response.status_code == 302 and response.location.endswith("/dashboard")
    assert "Imported: your plans and" in client.get("/dashboard").get_data(as_text=True)
    second = client.get("/settings/export")
    assert second.data == first.data
    after = counts(app)
    assert all(after[name] == 2 * before[name] for name in before)

    # The imported account works: its pages, its feed, its reviews.
    assert client.get("/dashboard").status_code == 200
    assert client.get("/reviews").status_code == 200
    with app.app_context():
        bob = db.session.scalar(select(User).where(User.email == "bob@example.com"))
        assert bob.timezone == "America/New_York" and bob.feed_reviews is False


def test_import_needs_an_empty_account_and_a_bad_file_changes_nothing(app, client, auth,
                                                                      make_user, make_plan):
    make_user("alice@example.com")
    auth.login("alice@example.com")
    with app.app_context():
        alice = db.session.scalar(select(User).where(User.email == "alice@example.com"))
        alice_id = alice.id
    good = {"format": "roadmap-tracker-export", "version": 1,
            "settings": {"timezone": "Europe/Berlin", "reminder_time": "07:30",
                         "due_reminders": True, "nudge_days": 2, "weekly_enabled": True,
                         "weekly_weekday": 0, "weekly_time": "08:00", "feed_alarm": False,
                         "reviews_enabled": True, "feed_reviews": True, "theme": "dark"},
            "uploads": [],
            "plans": [{"outcome": "go", "recommended": "go", "roadmaps": ["go"], "answers": {},
                       "start_date": "2027-01-04", "study_days": [0, 1, 2, 3, 4],
                       "paused_on": None, "pauses": [], "archived_at": None,
                       "created_at": "2027-01-01T09:00:00+00:00",
                       "milestones": [{"step_id": "go/x", "phase_id": "go/month-1",
                                       "due_date": "2027-01-04", "done_at": None,
                                       "skipped_at": None, "skip_reason": "", "note": "",
                                       "evidence_url": "", "title": None, "learn": None,
                                       "done_when": None, "links": None, "review": None,
                                       "review_answers": []}]}]}
    before = counts(app)

    def refused(data: bytes, *expected: str) -> None:
        response = upload_file(client, data)
        page = response.get_data(as_text=True)
        assert response.status_code == 400, page
        for text in expected:
            assert text in page, (text, page[page.find("your-data"):][:3000])
        assert counts(app) == before

    refused(b"\xff\xfe not text", "The file is not JSON text")
    refused(b"{not json", "The file is not JSON text")
    refused(b"x" * (4 * 1024 * 1024 + 1), "larger than 4 MB")
    refused(json.dumps({**good, "version": 2}).encode(), "version: 1 was expected")
    bad = json.loads(json.dumps(good))
    bad["plans"][0]["milestones"][0]["due_date"] = "2027-02-30"
    bad["settings"]["timezone"] = "Mars/Olympus"
    bad["settings"]["locale"] = "xx_XX"
    bad["plans"][0]["milestones"][0]["review"] = {"due_on": "2027-01-05", "card": {"x": 1}}
    refused(json.dumps(bad).encode(), "plans[0].milestones[0].due_date: not a date",
            "settings.timezone: not a time zone", "settings.locale: not one of the countries",
            "plans[0].milestones[0].review: only a "
            "milestone done", "plans[0].milestones[0].review.card: not an FSRS card",
            "Nothing was imported")
    bad = json.loads(json.dumps(good))
    bad["plans"][0]["study_days"] = [9]
    del bad["plans"][0]["milestones"][0]["note"]
    refused(json.dumps(bad).encode(), "plans[0].study_days[0]: 9 is greater than",
            "plans[0].milestones[0]: &#39;note&#39; is a required property")
    refused(b"", "The file is not JSON text")
    refused(b"[" * 100_000 + b"]" * 100_000, "The file is not JSON text")  # nested too deep
    bad = json.loads(json.dumps(good))
    bad["plans"][0]["roadmaps"] = ["cobol"]
    refused(json.dumps(bad).encode(), "plans[0].roadmaps: cobol is not a roadmap of this tracker",
            "plans[0].milestones[0].phase_id: names a roadmap the plan does not follow")
    bad = json.loads(json.dumps(good))
    milestone = bad["plans"][0]["milestones"][0]
    milestone["done_at"] = "2027-01-04T18:00:00+00:00"
    for card in ({"state": 2, "step": None, "stability": "a lot", "difficulty": 2.0,
                  "due": "2027-01-06T18:00:00+00:00", "last_review": "2027-01-04T18:00:00+00:00"},
                 {"state": 2, "step": None, "stability": 2.3, "difficulty": 2.0,
                  "due": "soon", "last_review": "2027-01-04T18:00:00+00:00"}):
        milestone["review"] = {"due_on": "2027-01-06", "card": card}
        refused(json.dumps(bad).encode(), "review.card: not an FSRS card")

    response = upload_file(client, json.dumps(good).encode())  # the good one goes in
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(User, alice_id).timezone == "Europe/Berlin"
    before = counts(app)
    refused(json.dumps(good).encode(), "Your account already has a plan")


@pytest.mark.parametrize("path", ["/settings/export"])
def test_export_needs_a_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.location


def test_a_file_from_before_the_later_fields_still_imports(app, client, auth, make_user):
    a_full_account(app, client, auth, make_user)
    data = json.loads(client.get("/settings/export").data)
    del data["settings"]["locale"], data["settings"]["holidays_off"]
    for plan in data["plans"]:
        del plan["weekly_hours"]
        for milestone in plan["milestones"]:
            del milestone["checked"]
    auth.logout()
    make_user("carol@example.com", locale="en_GB")
    auth.login("carol@example.com")
    assert upload_file(client, json.dumps(data).encode()).status_code == 302
    again = json.loads(client.get("/settings/export").data)
    assert again["settings"]["locale"] == "en_GB"  # the account keeps its own
    assert {p["weekly_hours"] for p in again["plans"]} == {10}
