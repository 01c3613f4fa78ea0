"""Acting on a milestone from a reminder: Mark done, Skip and Push by a week.

Each link in a mail opens a page that asks, and only its button changes anything: mail
scanners open every link. The token names the learner, the milestone and the action, and
works without logging in; it expires, and once the milestone changes (this action or any
other) it is spent.
"""

from __future__ import annotations

from flask import Blueprint, abort, make_response, render_template
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, SignatureExpired

from ..accounts.tokens import ACTIONS, milestone_action
from ..core.localtime import local_today
from ..database import db
from ..models import Milestone, User, utcnow
from ..plans import changes
from ..plans.steps import milestone_title
from ..web.forms import ActionForm

bp = Blueprint("actions", __name__)


def _link(token: str) -> tuple[User, Milestone, str]:
    """Return what a link does to which milestone of whom; else answer why not (404)."""
    try:
        return milestone_action(token, utcnow())
    except BadSignature as e:
        abort(make_response(render_template("reminders/action_invalid.html",
                                            expired=isinstance(e, SignatureExpired)), 404))


@bp.get("/act/<token>")
def confirm(token: str) -> ResponseReturnValue:
    """Ask before acting: a GET changes nothing."""
    user, milestone, action = _link(token)
    return render_template("reminders/action_confirm.html", action=action,
                           label=ACTIONS[action], title=milestone_title(milestone), m=milestone,
                           push_days=changes.PUSH_DAYS, form=ActionForm())


@bp.post("/act/<token>")
def act(token: str) -> ResponseReturnValue:
    """Do what the link says to the milestone, once."""
    user, milestone, action = _link(token)
    if not ActionForm().validate():
        return render_template("reminders/action_confirm.html", action=action,
                               label=ACTIONS[action], title=milestone_title(milestone), m=milestone,
                               push_days=changes.PUSH_DAYS, form=ActionForm()), 400
    now = utcnow()
    if action == "done":
        changes.tick(db.session.connection(), milestone.id, user.id, now=now,
                     today=local_today(user.timezone, now))
        db.session.expire(milestone)
    elif action == "skip":
        changes.skip([milestone], "Skipped from a reminder", now)
    else:
        changes.push(milestone, changes.PUSH_DAYS, now)
    db.session.commit()
    return render_template("reminders/action_done.html", action=action,
                           title=milestone_title(milestone), m=milestone)
