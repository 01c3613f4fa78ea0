"""The decision flow, one question per screen: a step count, Back that keeps the answers,
"Change my answers" that shows them, and the three reasons that decided it first."""

from __future__ import annotations

import re

from tracker.catalog import get_catalog
from tracker.core.decision import recommend


def questions(app):
    with app.app_context():
        return get_catalog().decision.questions


def checked(page: str, name: str) -> list[str]:
    """Return the values of the ticked choices of a question on a page."""
    inputs = re.findall(rf'<input[^>]*name="{name}"[^>]*>', page)
    return [re.search(r'value="([^"]+)"', i).group(1) for i in inputs if " checked" in i]


def answer(client, step: int, **fields):
    return client.submit("/decide", {"step": str(step), "go": "next", **fields})


def test_one_question_per_screen_then_the_recommendation(app, client, auth, make_user):
    make_user()
    auth.login()
    qs = questions(app)
    for n, q in enumerate(qs, 1):
        page = client.get(f"/decide?step={n}").get_data(as_text=True)
        assert f"Question {n} of {len(qs)}" in page and q.text in page
        assert page.count("<fieldset") == 1
        assert ("Show my recommendation" in page) == (n == len(qs))
        assert ('value="back"' in page) == (n > 1)
        response = answer(client, n, **{q.id: q.answers[0].id})
        following = "/decide/result" if n == len(qs) else f"/decide?step={n + 1}"
        assert response.status_code == 302 and response.location.endswith(following)
    result = client.get("/decide/result").get_data(as_text=True)
    assert "Why: what decided it" in result


def test_back_keeps_the_answers_and_change_shows_them(app, client, auth, make_user):
    make_user()
    auth.login()
    first, second = questions(app)[:2]
    answer(client, 1, **{first.id: first.answers[1].id})
    # On screen 2, an answer then Back: both screens keep what was picked.
    response = client.submit("/decide", {"step": "2", "go": "back",
                                         second.id: second.answers[2].id})
    assert response.location.endswith("/decide?step=1")
    assert checked(client.get("/decide?step=1").get_data(as_text=True), first.id) == [
        first.answers[1].id]
    assert checked(client.get("/decide?step=2").get_data(as_text=True), second.id) == [
        second.answers[2].id]
    # Back with nothing picked loses nothing either.
    client.submit("/decide", {"step": "2", "go": "back"})
    assert checked(client.get("/decide?step=2").get_data(as_text=True), second.id) == [
        second.answers[2].id]
    everything = client.get("/decide?step=all").get_data(as_text=True)
    assert everything.count("<fieldset") == len(questions(app))
    assert checked(everything, first.id) == [first.answers[1].id]


def test_a_screen_without_its_answer_is_refused_and_the_result_waits(app, client, auth,
                                                                     make_user):
    make_user()
    auth.login()
    response = answer(client, 1)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Pick one answer." in page and "Question 1 of" in page
    assert client.get("/decide/result").location.endswith("/decide?step=1")
    q = questions(app)[0]
    answer(client, 1, **{q.id: q.answers[0].id})
    assert client.get("/decide/result").location.endswith("/decide?step=2")  # the next one
    assert client.get("/decide?step=99").status_code == 404
    assert client.get("/decide?step=x").status_code == 404
    assert client.post("/decide", data={"step": "1", "go": "back"}).status_code == 400  # CSRF


def test_the_three_reasons_that_decided_it_come_first(app, client, auth, make_user):
    make_user()
    auth.login()
    qs = questions(app)
    answers = {q.id: q.answers[0].id for q in qs}
    client.submit("/decide", answers)  # every screen at once: step=all
    with app.app_context():
        rec = recommend(get_catalog().decision, {k: [v] for k, v in answers.items()})
    page = client.get("/decide/result").get_data(as_text=True)
    deciding = page.split('id="deciding"')[1].split("</ul>")[0]
    assert 0 < deciding.count("<li") <= 3 and len(rec.deciding) <= 3
    for _, reason in rec.deciding:
        assert reason.replace("'", "&#39;") in deciding
    supports = {"go": {"go"}, "rust": {"rust"}, "go-rust": {"both", "go", "rust"}}
    assert {to for to, _ in rec.deciding} <= supports[rec.outcome.id]
    if len(rec.reasons) > len(rec.deciding):
        assert f"All {len(rec.reasons)} reasons" in page and 'id="all-reasons"' in page
