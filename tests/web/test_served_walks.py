"""Two walks over every route of the served app, as an attacker would take them.

One walks every route that takes an id or a token as a second signed-in learner: each
answers 404. The other fills every form the pages show with hostile values: each is
answered, never with a 500. Both check that they cover every route the app has, so a
route added later joins the walk or fails it.
"""

from __future__ import annotations

import base64
import json
import zlib
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from conftest import CSRF, PASSWORD, Browser
from pages import Form, forms_on
from sqlalchemy import select

from tracker.accounts.tokens import (
    action_token,
    email_change_token,
    reset_token,
    unsubscribe_url,
    verification_token,
)
from tracker.calendar.tokens import feed_token, issue_token
from tracker.database import db
from tracker.models import LoginSession, Milestone, Plan, Review, User, utcnow
from tracker.plans import changes
from tracker.plans.steps import new_own_step_id


def routes_with_arguments(app: Any) -> set[tuple[str, str]]:
    """Return (method, endpoint) of every route that takes an id or a token."""
    return {(method, rule.endpoint) for rule in app.url_map.iter_rules()
            if rule.arguments and rule.endpoint != "static"
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def repointed(token: str, user_id: int) -> str:
    """Return one's own signed token with another learner's id put in, signature kept."""
    compressed = token.startswith(".")  # itsdangerous zips payloads that shrink so
    payload, _, signature = token.removeprefix(".").partition(".")
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    data = json.loads(zlib.decompress(raw) if compressed else raw)
    if isinstance(data, dict):
        data["user"] = user_id
    else:  # unsubscribe tokens are [user id, stream, mark]
        data[0] = user_id
    raw = json.dumps(data, separators=(",", ":")).encode()
    raw = zlib.compress(raw) if compressed else raw
    return ("." if compressed else "") + base64.urlsafe_b64encode(raw).rstrip(b"=").decode() \
        + "." + signature


def links_of(user: User) -> dict[str, str]:
    """Return the path of every kind of link a learner (with a plan) is sent, made now."""
    now = utcnow()
    milestone = user.plans[-1].milestones[0]
    return {
        "verify": "/verify/" + verification_token(user, now),
        "reset": "/reset/" + reset_token(user, now),
        "email": "/email/" + email_change_token(user, f"moved-{user.id}@example.com", now),
        "unsubscribe": urlsplit(unsubscribe_url(user, "weekly")).path,
        "act": "/act/" + action_token(user, milestone, "skip", now),
    }


def add_own(app: Any, plan_id: int) -> int:
    """Give a plan a milestone of the learner's own; return its id."""
    with app.app_context():
        plan = db.session.get(Plan, plan_id)
        mine = Milestone(step_id=new_own_step_id(), title="My own")
        changes.place_own(plan, mine, after=None, due=plan.start_date, now=utcnow())
        db.session.commit()
        return mine.id


def test_another_learners_ids_and_tokens_answer_404(app, make_user, make_plan, served):
    """Eve, signed in with her own session and CSRF token, reaches for Alice's things."""
    alice_id, eve_id = make_user("alice@example.com"), make_user("eve@example.com")
    alice_plan = make_plan(alice_id)
    make_plan(eve_id)
    alice = Browser(served)
    alice.login("alice@example.com")
    own = add_own(app, alice_plan)
    with app.app_context():
        milestone = db.session.scalars(select(Milestone.id).join(Milestone.plan)
                                       .where(Milestone.plan.has(user_id=alice_id))).first()
        session_id = db.session.scalar(select(LoginSession.id).filter_by(user_id=alice_id))
        reviewed = db.session.scalars(select(Milestone.id).where(
            Milestone.plan_id == alice_plan).order_by(Milestone.position.desc())).first()
        changes.tick(db.session.connection(), reviewed, alice_id, now=utcnow(),
                     today=utcnow().date())  # a milestone done has a review
        review = db.session.scalar(select(Review.id).filter_by(user_id=alice_id))
        alice_user, eve_user = db.session.get(User, alice_id), db.session.get(User, eve_id)
        old_feed = feed_token(alice_user)
        issue_token(alice_user)  # Alice rotated her feed address: the old one is dead
        db.session.commit()
        eves = links_of(eve_user)
    # Eve's own links, re-pointed at Alice (signature kept), and her links of another kind.
    forged = {kind: path.rsplit("/", 1)[0] + "/" + repointed(path.rsplit("/", 1)[1], alice_id)
              for kind, path in eves.items()}
    other_kind = {"verify": "reset", "reset": "email", "email": "unsubscribe",
                  "unsubscribe": "act", "act": "verify"}
    crossed = {kind: f"/{kind}/" + eves[other].rsplit("/", 1)[1]
               for kind, other in other_kind.items()}
    endpoints = {"verify": [("GET", "accounts.verify_confirm"), ("POST", "accounts.verify")],
                 "reset": [("GET", "accounts.reset"), ("POST", "accounts.reset")],
                 "email": [("GET", "accounts.change_email_confirm"),
                           ("POST", "accounts.change_email")],
                 "unsubscribe": [("GET", "settings.unsubscribe_confirm"),
                                 ("POST", "settings.unsubscribe")],
                 "act": [("GET", "actions.confirm"), ("POST", "actions.act")]}
    walk: list[tuple[str, str, str]] = [  # (method, endpoint, path)
        ("GET", "plans.milestone", f"/milestones/{milestone}"),
        ("POST", "plans.done", f"/milestones/{milestone}/done"),
        ("POST", "plans.undo", f"/milestones/{milestone}/undo"),
        ("POST", "plans.skip", f"/milestones/{milestone}/skip"),
        ("POST", "plans.checklist", f"/milestones/{milestone}/checklist"),
        ("GET", "plans.old_plan", f"/plans/{alice_plan}"),
        ("GET", "plans.edit_own", f"/milestones/{own}/edit"),
        ("POST", "plans.edit_own", f"/milestones/{own}/edit"),
        ("POST", "plans.delete_own", f"/milestones/{own}/delete"),
        ("POST", "plans.skip_phase", "/plan/phases/999/skip"),  # no such month of hers
        ("POST", "settings.end_session", f"/settings/sessions/{session_id}/end"),
        ("GET", "calendar.feed", f"/calendar/{old_feed}.ics"),
        ("GET", "plans.review", f"/reviews/{review}"),
        ("POST", "plans.answer", f"/reviews/{review}"),
    ]
    walk += [(method, name, path) for kind, names in endpoints.items()
             for path in (forged[kind], crossed[kind]) for method, name in names]
    assert {(m, e) for m, e, _ in walk} == routes_with_arguments(app), "a route is not walked"

    eve = Browser(served)
    token = eve.login("eve@example.com")
    for method, endpoint, path in walk:
        form = {"csrf_token": token, "password": "x" * 12, "confirm": "x" * 12, "answer": "4"}
        status, _ = eve.request(method, path, form if method == "POST" else None)
        assert status == 404, (endpoint, path, status)
    assert eve.request("GET", "/dashboard")[0] == 200  # Eve is still signed in
    # Nothing of Alice's changed: her milestone is open, her session and address hold.
    assert alice.request("GET", "/settings")[0] == 200
    with app.app_context():
        assert db.session.get(Milestone, milestone).done_at is None
        assert db.session.get(Review, review).sequence == 0  # never answered
        assert db.session.get(User, alice_id).email == "alice@example.com"


# -- every form, filled with what an attacker or a broken client sends ----------------------

HOSTILE: list[Any] = [
    "x" * 1_000_000,  # 1 MB
    "a\x00b",  # a NUL byte
    b"\xff\xfe",  # not UTF-8
    "-1",
    "-99999999999999999999",
    "99999999999999999999999999",
    "1e308",
    "99999-12-31",
    "Mars/Olympus",
    "../../etc/passwd",
    "",
]


def endpoint_of(app: Any, path: str) -> str:
    adapter = app.url_map.bind("tracker.example")
    try:
        return adapter.match(urlsplit(path).path, method="POST")[0]
    except Exception as e:
        raise AssertionError(f"a form posts to {path}, which takes no POST") from e


def test_every_form_answers_hostile_input_without_a_500(app, make_user, make_plan, serve):
    learner_id = make_user(verified=False)  # unconfirmed: the settings show the resend button
    own = add_own(app, make_plan(learner_id))
    make_plan(make_user("other@example.com", verified=False))
    with app.app_context():
        other = db.session.scalar(select(User).filter_by(email="other@example.com"))
        links = links_of(other)
        milestone = db.session.scalars(select(Milestone.id).order_by(Milestone.id)).first()
    # Limits off: this walk is about answers, the limits have their own tests.
    with serve(RATELIMIT_ENABLED="false") as port:
        stranger, learner = Browser(port), Browser(port)
        learner.login("learner@example.com")

        def token_of(browser: Browser) -> str:
            """Return the browser's CSRF token, signing the learner in again if a form
            signed it out (one GET: the token comes with the check)."""
            if browser is stranger:
                return browser.csrf("/login")
            status, text = learner.request("GET", "/settings")
            if status != 200:
                learner.login("learner@example.com")
                status, text = learner.request("GET", "/settings")
            return CSRF.search(text).group(1)

        found: list[tuple[Browser, Form]] = []
        for path in ("/signup", "/login", "/reset", *links.values()):
            found += [(stranger, f) for f in forms_on(stranger, path)]
        for path in ("/dashboard", f"/milestones/{milestone}", "/replan", "/settings",
                     "/settings/mail", "/settings/calendar", "/settings/calendar/new-address",
                     "/settings/security", "/settings/delete", "/settings/data", "/decide?step=all",
                     "/plan/schedule", "/plans",
                     "/plan/switch?to=rust", "/plan/milestones/new", f"/milestones/{own}/edit",
                     "/plan/upload"):
            found += [(learner, f) for f in forms_on(learner, path)]
        tick = next(f for _, f in found if f.action == f"/milestones/{milestone}/done")
        assert learner.request("POST", tick.action, tick.fields)[0] == 302
        found += [(learner, f) for f in forms_on(learner, f"/milestones/{milestone}")]
        with app.app_context():  # a milestone done has a review, answered on its page
            review = db.session.scalar(select(Review.id).filter_by(milestone_id=milestone))
        found += [(learner, f) for f in forms_on(learner, f"/reviews/{review}")]
        [decide] = [f for _, f in found if f.action == "/decide"]
        assert learner.request("POST", "/decide", decide.answered())[0] == 302
        found += [(learner, f) for f in forms_on(learner, "/decide/result")]
        with app.app_context():  # fallen behind: the dashboard offers to push the rest a week
            for m in db.session.scalars(select(Milestone)):
                m.due_date -= timedelta(days=400)
            db.session.commit()
        found += [(learner, f) for f in forms_on(learner, "/dashboard")
                  if f.action == "/plan/push-week"]
        [pause] = [f for _, f in found if f.action == "/pause"]
        assert learner.request("POST", "/pause", pause.fields)[0] == 302
        found += [(learner, f) for f in forms_on(learner, "/dashboard") if f.action == "/resume"]

        posts = {(m, e) for e in app.view_functions if e != "static"
                 for rule in app.url_map.iter_rules(e) for m in rule.methods if m == "POST"}
        assert {("POST", endpoint_of(app, f.action)) for _, f in found} == posts, \
            "a POST route has no form on the pages walked"

        answers: dict[int, int] = {}
        # One form of each kind: the log-out button is on every page, a done button per milestone.
        kinds = {(endpoint_of(app, f.action), frozenset(f.fields)): (b, f) for b, f in found}
        for browser, form in kinds.values():
            for name in form.fields:
                if name == "csrf_token":
                    continue
                for value in HOSTILE:
                    # The CSRF token of this browser's session, fresh after a sign-out.
                    data = {**form.fields, "csrf_token": token_of(browser), name: value}
                    status, body = browser.request("POST", form.action, data)
                    answers[status] = answers.get(status, 0) + 1
                    assert status < 500, (form.action, name, repr(value)[:40], status, body[:300])
        assert stranger.request("GET", "/healthz")[0] == 200
    assert answers.keys() <= {200, 302, 400, 404, 409, 413}, answers
    assert sum(answers.values()) > 400  # every field of some twenty forms, eleven ways


def test_malformed_addresses_answer_404(app, learner, served):
    browser = Browser(served)
    token = browser.login("learner@example.com")
    for path in ("/milestones/abc", "/milestones/-1", "/milestones/1e9", "/milestones/%00",
                 "/milestones/0x10/done", "/settings/sessions/-5/end",
                 "/settings/sessions/%2e%2e/end", "/verify/%00", "/reset/" + "A" * 2000,
                 "/email/..%2f..%2f", "/unsubscribe/%ff%fe", "/calendar/%00.ics",
                 "/calendar/" + "A" * 3000 + ".ics"):
        for method in ("GET", "POST"):
            form = {"csrf_token": token, "password": PASSWORD} if method == "POST" else None
            status, _ = browser.request(method, path, form)
            assert status in (404, 405), (method, path, status)
    assert browser.request("GET", "/dashboard")[0] == 200
