"""The review pages: the reviews due, and one review answered Again, Hard, Good or Easy.

Registered on the plans blueprint (tracker.plans.views).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..core.review import Answer, answer_review
from ..database import db
from ..models import Review, utcnow
from ..web.filters import day_text
from . import reviews
from .forms import ReviewForm
from .steps import milestone_step
from .views import bp, today

REVIEW = "/reviews/<int(max=9223372036854775807):review_id>"
LISTED = 100


@bp.get("/reviews")
@login_required
def review_list() -> ResponseReturnValue:
    """List the reviews due today and earlier, oldest first."""
    due, count = reviews.due_reviews(db.session, current_user, today(), limit=LISTED)
    return render_template("plans/reviews.html", due=due, count=count)


def _review(review_id: int) -> Review:
    review = reviews.own_review(db.session, current_user, review_id)
    if review is None:
        abort(404)
    return review


def _render(review: Review, form: ReviewForm, status: int = 200) -> ResponseReturnValue:
    day, now = today(), utcnow()
    # What each answer would do: the learner sees the next date before choosing.
    then = {a: answer_review(review.card, a, now, day)[1] for a in Answer}
    return render_template("plans/review.html", review=review, m=review.milestone,
                           step=milestone_step(review.milestone), form=form, then=then,
                           today=day, answers=list(Answer)), status


@bp.get(REVIEW)
@login_required
def review(review_id: int) -> ResponseReturnValue:
    """Show what to re-check for a finished milestone and the four answers."""
    return _render(_review(review_id), ReviewForm(formdata=None))


@bp.post(REVIEW)
@login_required
def answer(review_id: int) -> ResponseReturnValue:
    """Record the answer; FSRS sets the next review. Then on to the next one due."""
    review = _review(review_id)
    form = ReviewForm()
    if not form.validate():
        return _render(review, form, 400)
    reviews.answer(review, current_user, Answer(form.answer.data), now=utcnow(), today=today())
    db.session.commit()
    title = step.title if (step := milestone_step(review.milestone)) else review.milestone.step_id
    flash(f"Reviewed: {title}. Next review on {day_text(review.due_on)}.")
    due, _ = reviews.due_reviews(db.session, current_user, today(), limit=1)
    if due:
        return redirect(url_for("plans.review", review_id=due[0].id))
    return redirect(url_for("plans.dashboard"))
