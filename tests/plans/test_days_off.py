"""Days off and hours a week: no milestone on Christmas Day, New Year's Day or the learner's
public holidays unless they study on holidays; fewer hours a week, a longer plan; dates
written the learner's way."""

from __future__ import annotations

from datetime import date, timedelta

from conftest import answered
from sqlalchemy import select

from tracker.core.days_off import clear_of_days_off, country_of, days_off, is_day_off
from tracker.database import db
from tracker.models import Milestone, Plan, User

WEEKDAYS = range(5)
CHRISTMAS, NEW_YEAR = date(2026, 12, 25), date(2027, 1, 1)
GOOD_FRIDAY, MAY_DAY = date(2027, 3, 26), date(2027, 5, 3)  # the UK's bank holidays


def test_days_off_are_christmas_new_year_and_the_countrys_holidays() -> None:
    assert {CHRISTMAS, date(2026, 1, 1)} <= days_off("", 2026)
    assert not is_day_off(MAY_DAY, "") and is_day_off(MAY_DAY, "GB")
    assert is_day_off(date(2027, 7, 5), "US")  # Independence Day, observed on the Monday
    assert not is_day_off(date(2027, 7, 5), "GB")
    assert (country_of("en_GB"), country_of("en_001"), country_of("de_DE")) == ("GB", "", "DE")


def test_clear_moves_to_the_next_study_day_that_is_free() -> None:
    # Fri 25 Dec to Mon 28 Dec; with Monday the only study day, Fri 1 Jan to Mon 4 Jan.
    assert clear_of_days_off([CHRISTMAS, date(2026, 12, 24)], WEEKDAYS, "") == [
        date(2026, 12, 28), date(2026, 12, 24)]
    assert clear_of_days_off([NEW_YEAR], (0,), "") == [date(2027, 1, 4)]
    assert clear_of_days_off([GOOD_FRIDAY], WEEKDAYS, "GB") == [date(2027, 3, 29)]
    assert clear_of_days_off([CHRISTMAS], WEEKDAYS, "", keep=[True]) == [CHRISTMAS]  # done


def plan_dues(app, email: str) -> list[date]:
    with app.app_context():
        return list(db.session.scalars(
            select(Milestone.due_date).join(Plan).join(User)
            .where(User.email == email, Plan.archived_at.is_(None))
            .order_by(Milestone.position)))


def test_a_plan_over_the_holidays_keeps_them_free(app, make_user, make_plan):
    start = date(2026, 12, 1)
    make_plan(make_user("free@example.com"), start=start, study_days=tuple(range(7)))
    make_plan(make_user("keen@example.com", holidays_off=False), start=start,
              study_days=tuple(range(7)))
    free, keen = plan_dues(app, "free@example.com"), plan_dues(app, "keen@example.com")
    assert CHRISTMAS not in free and NEW_YEAR not in free
    assert free == clear_of_days_off(keen, range(7), "")  # only the days off differ
    if CHRISTMAS in keen or NEW_YEAR in keen:
        assert free != keen


def test_the_learners_country_keeps_its_holidays_free(app, make_user, make_plan):
    make_plan(make_user("uk@example.com", locale="en_GB"), start=date(2027, 3, 1))
    make_plan(make_user("anywhere@example.com"), start=date(2027, 3, 1))
    uk, anywhere = plan_dues(app, "uk@example.com"), plan_dues(app, "anywhere@example.com")
    assert GOOD_FRIDAY not in uk and MAY_DAY not in uk
    assert uk == clear_of_days_off(anywhere, WEEKDAYS, "GB")


def test_settings_move_open_milestones_off_the_new_days_off(app, client, auth, make_user,
                                                          make_plan):
    make_plan(make_user(holidays_off=False), start=date(2027, 3, 1))
    auth.login()
    before = plan_dues(app, "learner@example.com")
    assert client.submit("/settings/profile", {"timezone": "UTC", "theme": "auto",
                                               "locale": "en_GB"}).status_code == 302
    assert plan_dues(app, "learner@example.com") == before  # studies on holidays: no move
    mail = {"reminder_time": "08:00", "due_reminders": "y", "nudge_days": "2",
            "weekly_weekday": "0", "weekly_time": "18:00", "holidays_off": "y"}
    client.submit("/settings", mail)
    after = plan_dues(app, "learner@example.com")
    assert after == clear_of_days_off(before, WEEKDAYS, "GB")
    moved = sum(1 for a, b in zip(after, before, strict=True) if a != b)
    if moved:
        assert f"{moved} milestone" in client.get("/settings/mail").get_data(as_text=True)
    assert GOOD_FRIDAY not in after and MAY_DAY not in after


def start_plan(client, hours: int, start: date) -> None:
    answered(client)
    response = client.submit("/decide/result", {
        "outcome": "go", "start_date": start.isoformat(), "study_days": ["0", "1", "2", "3", "4"],
        "weekly_hours": str(hours), "timezone": "UTC", "confirm": "yes"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def test_hours_a_week_shape_the_plan(app, client, auth, make_user):
    make_user()
    auth.login()
    start = date.today() + timedelta(days=1)
    spans = {}
    for hours in (10, 5, 20):
        start_plan(client, hours, start)
        dues = plan_dues(app, "learner@example.com")
        spans[hours] = (max(dues) - start).days
        with app.app_context():
            assert db.session.scalar(select(Plan.weekly_hours).where(
                Plan.archived_at.is_(None))) == hours
    assert 1.8 < spans[5] / spans[10] < 2.2  # half the hours: twice as long
    assert 0.4 < spans[20] / spans[10] < 0.6
    answered(client)  # answering again offers the hours of the plan one follows
    page = client.get("/decide/result").get_data(as_text=True)
    assert 'name="weekly_hours"' in page and '<option selected value="20">' in page


def test_fewer_hours_stretch_the_open_work(app, client, auth, make_user, make_plan):
    make_plan(make_user(), start=date.today())
    auth.login()
    with app.app_context():
        first = db.session.scalars(select(Milestone).order_by(Milestone.position)).first()
    client.submit(f"/milestones/{first.id}/done")
    before = plan_dues(app, "learner@example.com")
    page = client.submit("/plan/schedule", {"study_days": ["0", "1", "2", "3", "4"],
                                            "weekly_hours": "5"}).get_data(as_text=True)
    assert 'id="new-hours">5<' in page
    client.submit("/plan/schedule", {"study_days": ["0", "1", "2", "3", "4"],
                                     "weekly_hours": "5", "confirm": "yes"})
    after = plan_dues(app, "learner@example.com")
    assert after[0] == before[0]  # done stays
    assert 1.8 < (after[-1] - after[1]).days / (before[-1] - before[1]).days < 2.3
    assert client.submit("/plan/schedule", {"study_days": ["1"], "weekly_hours": "7"}
                         ).status_code == 400  # not one of the choices


def test_sign_up_takes_the_browsers_language_for_dates(app, client):
    client.submit("/signup", {"email": "berlin@example.com", "password": "a long enough one",
                              "timezone": "Europe/Berlin"},
                  headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    with app.app_context():
        assert db.session.scalar(select(User.locale).where(
            User.email == "berlin@example.com")) == "de_DE"
