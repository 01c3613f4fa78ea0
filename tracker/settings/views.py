"""The settings, in sections: profile, schedule and mail, calendar feed, security, your data."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, logout_user
from sqlalchemy import delete, select
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import Field

from ..accounts import emails
from ..accounts.forms import ResendForm
from ..accounts.sessions import end_session, is_this_browser, log_in
from ..calendar.card import calendar_card
from ..core.scheduling import WEEKDAYS
from ..database import db
from ..extensions import limiter
from ..models import LoginSession, User, utcnow
from ..plans import changes
from ..plans.queries import current_plan
from ..web.forms import ActionForm, Form
from . import unsubscribe
from .forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    DeleteAccountForm,
    ImportForm,
    ProfileForm,
    SettingsForm,
)
from .mail_status import KIND_NAMES, mail_status

bp = Blueprint("settings", __name__)

# The unsubscribe pages are the settings' too: /unsubscribe/<token>, endpoint
# settings.unsubscribe (the link in every reminder).
bp.add_url_rule("/unsubscribe/<token>", view_func=unsubscribe.unsubscribe_confirm,
                endpoint="unsubscribe_confirm", methods=["GET"])
bp.add_url_rule("/unsubscribe/<token>", view_func=unsubscribe.unsubscribe,
                endpoint="unsubscribe", methods=["POST"])


# The settings page shows several forms: prefixes keep their field names and ids apart.
def _email_form(**kwargs: Any) -> ChangeEmailForm:
    return ChangeEmailForm(prefix="address", **kwargs)


def _password_form(**kwargs: Any) -> ChangePasswordForm:
    return ChangePasswordForm(prefix="change", **kwargs)


def _deletion_form(**kwargs: Any) -> DeleteAccountForm:
    return DeleteAccountForm(prefix="delete", **kwargs)


# The sections of the settings, each a page of its own with its own save buttons: (endpoint,
# name in the section menu).
SECTIONS = (("index", "Profile"), ("mail", "Schedule and mail"), ("calendar", "Calendar feed"),
            ("security", "Security"), ("data", "Your data"))


def render_settings(section: str, status: int = 200, *, template: str | None = None,
                    **context: Any) -> ResponseReturnValue:
    """Render one section of the settings, with the forms it shows (refused ones passed in)."""
    user = current_user
    if section == "index":
        context.setdefault("profile", ProfileForm(obj=user, formdata=None))
        context.setdefault("address", _email_form(formdata=None))
    elif section == "mail":
        context.setdefault("form", SettingsForm(obj=user, formdata=None))
        context |= {"plan": current_plan(user), "weekdays": WEEKDAYS, "mail": mail_status(user),
                    "kinds": KIND_NAMES, "resend": ResendForm()}
    elif section == "calendar":
        context["calendar"] = calendar_card(user)
    elif section == "security":
        context.setdefault("password", _password_form(formdata=None))
        context.setdefault("deletion", _deletion_form(formdata=None))
        context["sessions"] = [(row, is_this_browser(row, user)) for row in db.session.scalars(
            select(LoginSession).where(LoginSession.user_id == user.id)
            .order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc()))]
    elif section == "data":
        context.setdefault("importing", ImportForm(prefix="import", formdata=None))
        context.setdefault("problems", [])
    page = "profile" if section == "index" else section
    return render_template(template or f"settings/{page}.html",
                           section=section, sections=SECTIONS, zone=user.zone, **context), status


@bp.get("/settings")
@login_required
def index() -> ResponseReturnValue:
    """Show the profile: time zone, colour scheme and email address."""
    return render_settings("index")


for _name in ("mail", "calendar", "security", "data"):  # endpoints settings.mail, ...
    bp.add_url_rule(f"/settings/{_name}", _name, login_required(partial(render_settings, _name)))


@bp.post("/settings/profile")
@login_required
def save_profile() -> ResponseReturnValue:
    """Save the time zone and colour scheme, or show them again with what is wrong."""
    form = ProfileForm()
    if not form.validate():
        return render_settings("index", 400, profile=form)
    if form.timezone.data != current_user.timezone:
        current_user.next_mail_at = utcnow()  # every mail instant moves with the zone
    country_changed = form.locale.data != current_user.locale
    form.populate_obj(current_user)
    moved = _keep_days_off() if country_changed else 0
    db.session.commit()
    flash("Profile saved." + (f" {moved} milestone{'s' if moved != 1 else ''} moved off "
                              "public holidays." if moved else ""))
    return redirect(url_for("settings.index"))


@bp.post("/settings")
@login_required
def save() -> ResponseReturnValue:
    """Save when mail comes, or show the form again with a message by each wrong field."""
    form = SettingsForm()
    if not form.validate():
        return render_settings("mail", 400, form=form)
    now = utcnow()
    if (form.reviews_enabled.data, form.feed_reviews.data) != (current_user.reviews_enabled,
                                                               current_user.feed_reviews):
        current_user.calendar_changed_at = now  # the feed shows reviews, or stops
    holidays_changed = form.holidays_off.data != current_user.holidays_off
    form.populate_obj(current_user)
    current_user.next_mail_at = now  # a mail time may have moved it
    moved = _keep_days_off() if holidays_changed else 0
    db.session.commit()
    flash("Email settings saved." + (f" {moved} milestone{'s' if moved != 1 else ''} moved off "
                               "public holidays." if moved else ""))
    return redirect(url_for("settings.mail"))


def _keep_days_off() -> int:
    """Move the current plan's open milestones off the learner's days off, if there are any."""
    plan = current_plan(current_user)
    return changes.keep_days_off(plan, utcnow()) if plan else 0


@bp.get("/settings/calendar/new-address")
@login_required
def rotate_confirm() -> ResponseReturnValue:
    """Ask before making a new calendar address, saying what stops working."""
    if current_user.feed_token_hash is None:  # nothing to stop: the card makes one directly
        return redirect(url_for("settings.calendar"))
    return render_settings("calendar", template="settings/rotate.html")


@bp.get("/settings/delete")
@login_required
def delete_confirm() -> ResponseReturnValue:
    """Ask for the password before deleting the account, saying what goes with it."""
    return render_settings("security", template="settings/delete.html")


# Each asks for the password: one budget per learner, so a stolen session cannot guess it.
_per_learner = limiter.shared_limit("10 per hour", scope="password-check",
                                    key_func=lambda: f"user:{current_user.id}")


def _password_ok(form: Form, field: Field, wrong: str) -> bool:
    """Validate a form the learner confirms with their password; put ``wrong`` by the field."""
    if not form.validate():
        return False
    if check_password_hash(current_user.password_hash, field.data):
        return True
    field.errors.append(wrong)
    return False


@bp.post("/settings/email")
@login_required  # first: the limit counts per learner
@_per_learner
def change_email() -> ResponseReturnValue:
    """Send a link to the new address; opening it moves the account there."""
    form = _email_form()
    if _password_ok(form, form.current, "That is not your current password."):
        new_email = form.email.data.strip().lower()
        if new_email == (current_user.email or "").lower():
            form.email.errors.append("That is already your address.")
        else:
            emails.queue_email_change(current_user, new_email, utcnow())
            db.session.commit()
            flash(f"We sent a link to {new_email}. Your address changes when you open it; "
                  f"until then it stays {current_user.address}.")
            return redirect(url_for("settings.index"))
    return render_settings("index", 400, address=form)


@bp.post("/settings/password")
@login_required  # first: the limit counts per learner
@_per_learner
def change_password() -> ResponseReturnValue:
    """Change the password after checking the current one; other sessions end with it."""
    form = _password_form()
    if not _password_ok(form, form.current, "That is not your current password."):
        return render_settings("security", 400, password=form)
    user = current_user._get_current_object()
    user.password_hash = generate_password_hash(form.password.data)
    log_in(user, utcnow(), end_others=True)  # this browser starts afresh; the others end
    db.session.commit()
    flash("Your password is changed. Other devices where you were logged in are logged out.")
    return redirect(url_for("settings.security"))


@bp.post("/settings/delete")
@login_required  # first: the limit counts per learner
@_per_learner
def delete_account() -> ResponseReturnValue:
    """Delete the learner and everything of theirs, once they confirm with their password."""
    form = _deletion_form()
    if not _password_ok(form, form.password, "That is not your password."):
        return render_settings("security", 400, template="settings/delete.html",
                               deletion=form)
    # The database deletes the rest with the user (ON DELETE CASCADE): plans, milestones,
    # queued mail (none goes out after this) and the cached feed (its address answers 404).
    db.session.execute(delete(User).where(User.id == current_user.id))
    db.session.commit()
    logout_user()
    session.clear()
    flash("Your account and all its data are deleted.")
    return redirect(url_for("index"))


@bp.post("/settings/sessions/<int(max=9223372036854775807):session_id>/end", endpoint="end_session")
@login_required
def end_session_view(session_id: int) -> ResponseReturnValue:
    """Sign one browser out; another learner's session answers 404."""
    row = db.session.scalar(select(LoginSession).where(
        LoginSession.id == session_id, LoginSession.user_id == current_user.id))
    if row is None:
        abort(404)
    if not ActionForm().validate():
        return redirect(url_for("settings.security"))
    if is_this_browser(row, current_user):
        end_session()
        db.session.commit()
        flash("You are signed out.")
        return redirect(url_for("accounts.login"))
    db.session.delete(row)
    db.session.commit()
    flash("That browser is signed out: it has to log in again.")
    return redirect(url_for("settings.security") + "#sessions")


@bp.post("/settings/sessions/end-all")
@login_required
def end_all_sessions() -> ResponseReturnValue:
    """Sign every browser out, this one included."""
    if not ActionForm().validate():
        return redirect(url_for("settings.security"))
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == current_user.id))
    end_session()
    db.session.commit()
    flash("You are signed out everywhere, here too.")
    return redirect(url_for("accounts.login"))

