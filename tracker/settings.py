"""The settings page (time zone, mail times, address, password, account deletion) and
one-click unsubscribe."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, logout_user
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, select
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    TimeField,
)
from wtforms.validators import Email, InputRequired, Length, NumberRange, StopValidation

from . import account, progress
from .account import NewPasswordForm, ResendForm, url_for_path
from .auth import csrf, limiter, log_in
from .db import db
from .forms import TimeZoneField
from .models import Notification, User, utcnow
from .scheduling import WEEKDAYS

bp = Blueprint("settings", __name__)

MAX_NUDGE_DAYS = 14
NUDGE_MESSAGE = f"Enter a whole number of days from 0 to {MAX_NUDGE_DAYS} (0 turns the nudge off)."
# What each unsubscribe stream turns off, and how the pages name it.
STREAMS = {
    "due": "due-day reminders",
    "nudge": "overdue nudges",
    "weekly": "the weekly progress email",
}
REMINDER_KINDS = ("due", "nudge")
KIND_NAMES = {
    "due": "Due-day reminder",
    "nudge": "Overdue nudge",
    "weekly": "Weekly progress email",
    "verify": "Address confirmation",
    "reset": "Password reset",
    "account-exists": "Sign-up notice",
    "email-change": "New address confirmation",
    "email-changed": "Address change notice",
}
FAILURES_SHOWN = 10


def _parsed(_form: Any, field: Field) -> None:
    # Input that did not parse already carries its message; say it once, not twice.
    if field.process_errors:
        raise StopValidation()


def local_time_field(label: str, **kwargs: Any) -> TimeField:
    """Return a wall-clock time field, HH:MM, as browsers send it from <input type=time>."""
    message = "Enter a time like 08:00 (24-hour clock)."
    return TimeField(label, format=["%H:%M", "%H:%M:%S"], invalid_value_message=message,
                     validators=[_parsed, InputRequired(message)], **kwargs)


class SettingsForm(FlaskForm):
    timezone = TimeZoneField(description="Reminder times and 'today' follow this IANA zone, "
                                         "like Europe/Berlin.")
    reminder_time = local_time_field("Reminder time",
                                     description="Local time for due-day reminders and nudges.")
    due_reminders = BooleanField("Email me on the morning a milestone is due")
    nudge_days = IntegerField(
        "Overdue nudge after (days)",
        invalid_value_message=NUDGE_MESSAGE,
        render_kw={"min": 0, "max": MAX_NUDGE_DAYS},
        validators=[_parsed, InputRequired(NUDGE_MESSAGE),
                    NumberRange(0, MAX_NUDGE_DAYS, message=NUDGE_MESSAGE)],
        description="One email when a milestone is still open this many days after its due "
                    "date; 0 turns it off.",
    )
    weekly_enabled = BooleanField("Send me a weekly progress email")
    weekly_weekday = SelectField(
        "Weekly email day", coerce=int,
        choices=[SelectChoice(i, name) for i, name in enumerate(WEEKDAYS)],
    )
    weekly_time = local_time_field("Weekly email time", description="Local time.")


class ChangeEmailForm(FlaskForm):
    email = EmailField(
        "New address",
        validators=[InputRequired("Enter the new address."),
                    Email("Enter an address like you@example.com."), Length(max=254)],
        description="We send a link there; your address changes when you open it.",
    )
    current = PasswordField("Current password",
                            validators=[InputRequired("Enter your current password.")])


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField("Current password",
                            validators=[InputRequired("Enter your current password.")])


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        "Your password",
        validators=[InputRequired("Enter your password to delete your account.")],
        description="Deleting your account removes your plans, progress, notes, mail "
                    "history and calendar feed. It cannot be undone.",
    )


# The settings page shows several forms: prefixes keep their field names and ids apart.
def _email_form(**kwargs: Any) -> ChangeEmailForm:
    return ChangeEmailForm(prefix="address", **kwargs)


def _password_form(**kwargs: Any) -> ChangePasswordForm:
    return ChangePasswordForm(prefix="change", **kwargs)


def _deletion_form(**kwargs: Any) -> DeleteAccountForm:
    return DeleteAccountForm(prefix="delete", **kwargs)


def _serializer() -> URLSafeSerializer:
    # Its own salt: an unsubscribe token is useless as any other kind of token.
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="unsubscribe")


def unsubscribe_url(user: User, stream: str) -> str:
    """Return the absolute one-click unsubscribe URL for one of a learner's mail streams."""
    if stream not in STREAMS:
        raise ValueError(f"unknown mail stream {stream!r}")
    token = _serializer().dumps([user.id, stream])
    path = url_for_path("settings.unsubscribe", token=token)
    return current_app.config["BASE_URL"].rstrip("/") + path


def _unsubscribe_target(token: str) -> tuple[User, str] | None:
    try:
        user_id, stream = _serializer().loads(token)
    except (BadSignature, TypeError, ValueError):
        return None
    if stream not in STREAMS or not isinstance(user_id, int):
        return None
    user = db.session.get(User, user_id)
    return (user, stream) if user is not None else None


def _turn_off(user: User, stream: str) -> None:
    if stream == "due":
        user.due_reminders = False
    elif stream == "nudge":
        user.nudge_days = 0
    else:
        user.weekly_enabled = False


def _invalid_link() -> ResponseReturnValue:
    return render_template("unsubscribe/invalid.html"), 400


@bp.get("/unsubscribe/<token>")
def unsubscribe_confirm(token: str) -> ResponseReturnValue:
    """Ask before unsubscribing: link scanners follow GETs, so a GET changes nothing."""
    target = _unsubscribe_target(token)
    if target is None:
        return _invalid_link()
    user, stream = target
    return render_template("unsubscribe/confirm.html", email=user.email, what=STREAMS[stream])


@bp.post("/unsubscribe/<token>")
@csrf.exempt  # RFC 8058: mail clients POST without cookies or a form; the signature protects it
def unsubscribe(token: str) -> ResponseReturnValue:
    """Turn one mail stream off for the learner the signed token names."""
    target = _unsubscribe_target(token)
    if target is None:
        return _invalid_link()
    user, stream = target
    _turn_off(user, stream)
    db.session.commit()
    return render_template("unsubscribe/done.html", email=user.email, what=STREAMS[stream])


def mail_status(user: User) -> dict[str, Any]:
    """Return what the settings page says about the learner's mail: last sends and failures."""

    def last_sent(kinds: tuple[str, ...]) -> datetime | None:
        return db.session.scalar(
            select(Notification.sent_at)
            .where(Notification.user_id == user.id, Notification.kind.in_(kinds),
                   Notification.status == "sent")
            .order_by(Notification.sent_at.desc())
            .limit(1)
        )

    failures = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == user.id, Notification.status == "failed")
        .order_by(Notification.due_at.desc(), Notification.id.desc())
        .limit(FAILURES_SHOWN)
    ).all()
    return {"last_reminder": last_sent(REMINDER_KINDS), "last_weekly": last_sent(("weekly",)),
            "failures": failures}


def _render(form: SettingsForm | None = None, status: int = 200, *,
            address: ChangeEmailForm | None = None,
            password: ChangePasswordForm | None = None,
            deletion: DeleteAccountForm | None = None) -> ResponseReturnValue:
    return render_template(
        "settings/index.html",
        form=form or SettingsForm(obj=current_user, formdata=None),
        address=address or _email_form(formdata=None),
        password=password or _password_form(formdata=None),
        deletion=deletion or _deletion_form(formdata=None),
        plan=progress.current_plan(current_user),
        weekdays=WEEKDAYS,
        mail=mail_status(current_user),
        zone=current_user.zone,
        kinds=KIND_NAMES,
        resend=ResendForm(),
    ), status


@bp.get("/settings")
@login_required
def index() -> ResponseReturnValue:
    """Show the learner's time zone, mail settings and mail status."""
    return _render()


@bp.post("/settings")
@login_required
def save() -> ResponseReturnValue:
    """Save the settings, or show the form again with a message by each wrong field."""
    form = SettingsForm()
    if not form.validate():
        return _render(form, 400)
    form.populate_obj(current_user)
    db.session.commit()
    flash("Settings saved.")
    return redirect(url_for("settings.index"))


# Each asks for the password: one budget per learner, so a stolen session cannot guess it.
_per_learner = limiter.shared_limit("10 per hour", scope="password-check",
                                    key_func=lambda: f"user:{current_user.id}")


def _password_ok(form: FlaskForm, field: Field, wrong: str) -> bool:
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
        if new_email == current_user.email.lower():
            form.email.errors.append("That is already your address.")
        else:
            key = account.queue_email_change(current_user, new_email, utcnow())
            db.session.commit()
            account.deliver_after_response(key)
            flash(f"We sent a link to {new_email}. Your address changes when you open it; "
                  f"until then it stays {current_user.email}.")
            return redirect(url_for("settings.index"))
    return _render(status=400, address=form)


@bp.post("/settings/password")
@login_required  # first: the limit counts per learner
@_per_learner
def change_password() -> ResponseReturnValue:
    """Change the password after checking the current one; other sessions end with it."""
    form = _password_form()
    if not _password_ok(form, form.current, "That is not your current password."):
        return _render(status=400, password=form)
    user = current_user._get_current_object()
    user.password_hash = generate_password_hash(form.password.data)
    db.session.commit()
    log_in(user)  # the old session's mark is void: this device starts a new one
    flash("Your password is changed. Other devices where you were logged in are logged out.")
    return redirect(url_for("settings.index"))


@bp.post("/settings/delete")
@login_required  # first: the limit counts per learner
@_per_learner
def delete_account() -> ResponseReturnValue:
    """Delete the learner and everything of theirs, once they confirm with their password."""
    form = _deletion_form()
    if not _password_ok(form, form.password, "That is not your password."):
        return _render(status=400, deletion=form)
    # The database deletes the rest with the user (ON DELETE CASCADE): plans, milestones,
    # queued mail (none goes out after this) and the cached feed (its address answers 404).
    db.session.execute(delete(User).where(User.id == current_user.id))
    db.session.commit()
    logout_user()
    session.clear()
    flash("Your account and all its data are deleted.")
    return redirect(url_for("index"))
