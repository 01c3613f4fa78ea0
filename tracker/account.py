"""Email verification and password reset: signed links, sent through the outbox.

Neither flow says whether an address has an account: sign-up and the reset form answer the
same page either way, and only the mailbox owner learns the rest.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    after_this_request,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from . import mail, outbox
from .auth import MIN_PASSWORD, find_user, limiter, log_in
from .db import db
from .forms import local_target
from .models import Notification, User, utcnow

bp = Blueprint("account", __name__)

VERIFY_MAX_AGE = timedelta(days=3)
RESET_MAX_AGE = timedelta(hours=1)
# Salts keep the token kinds apart: a verification token is no reset token.
VERIFY_SALT = "email-verify"
RESET_SALT = "password-reset"
CHANGE_SALT = "email-change"
CHANGE_MAX_AGE = timedelta(days=1)


class ResendForm(FlaskForm):
    """The "Resend confirmation" button: only the CSRF token."""


class ResetRequestForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."),
                                            Email("Enter an address like you@example.com."),
                                            Length(max=254)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[
            DataRequired("Enter a new password."),
            Length(min=MIN_PASSWORD, max=200, message=f"Use at least {MIN_PASSWORD} characters."),
        ],
        description=f"At least {MIN_PASSWORD} characters.",
    )
    confirm = PasswordField(
        "New password again",
        validators=[DataRequired("Enter the new password again."),
                    EqualTo("password", message="The two passwords differ.")],
    )


class _ClockSigner(TimestampSigner):
    """A timestamp signer that reads the time from ``now``: time is a parameter."""

    def __init__(self, *args: Any, now: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = now

    def get_timestamp(self) -> int:
        return int(self.now.timestamp())


def _serializer(salt: str, now: datetime) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt,
                                  signer=_ClockSigner, signer_kwargs={"now": now})


def _load(salt: str, token: str, now: datetime, max_age: timedelta) -> tuple[User, dict[str, Any]]:
    """Return the learner a token names and its data; raise BadSignature if it is not valid."""
    data = _serializer(salt, now).loads(token, max_age=int(max_age.total_seconds()))
    user_id = data.get("user") if isinstance(data, dict) else None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None:
        raise BadSignature("no such account")
    return user, data


def _absolute(path: str) -> str:
    # Mail is composed by the worker, outside any request: build links from BASE_URL.
    return current_app.config["BASE_URL"].rstrip("/") + path


# Verification -------------------------------------------------------------------------


def verification_token(user: User, now: datetime) -> str:
    """Return a signed token that confirms the learner's current address."""
    return _serializer(VERIFY_SALT, now).dumps({"user": user.id, "email": user.email.lower()})


def verified_user(token: str, now: datetime) -> User:
    """Return the learner a verification token names; raise BadSignature if it is not valid now."""
    user, data = _load(VERIFY_SALT, token, now, VERIFY_MAX_AGE)
    # A token for an address the account no longer has confirms nothing.
    if user.email.lower() != data.get("email"):
        raise BadSignature("no such account")
    return user


def _next_number(user_id: int, kind: str) -> int:
    count = db.session.scalar(
        select(func.count()).select_from(Notification)
        .where(Notification.user_id == user_id, Notification.kind == kind)
    )
    return (count or 0) + 1


def _queue(user: User, kind: str, dedupe_key: str, now: datetime) -> str | None:
    added = outbox.queue(db.session, user_id=user.id, kind=kind, dedupe_key=dedupe_key,
                         due_at=now, now=now)
    return dedupe_key if added else None


def queue_verification(user: User, now: datetime) -> str | None:
    """Queue a confirmation email and return its key; each resend gets a key of its own."""
    db.session.flush()  # a new account needs its id for the key
    return _queue(user, "verify", f"verify:{user.id}:{_next_number(user.id, 'verify')}", now)


def queue_account_exists(user: User, now: datetime) -> str | None:
    """Queue the "someone tried to sign up with your address" email, at most one an hour."""
    return _queue(user, "account-exists", f"account-exists:{user.id}:{now:%Y-%m-%dT%H}", now)


def deliver_after_response(dedupe_key: str | None) -> None:
    """Send a just-queued email once the response is out; the worker is the fallback.

    The page never waits for SMTP, so it answers as fast whether or not mail was queued.
    Call it after the commit that queued the row.
    """
    if dedupe_key is None:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def deliver() -> None:
        with app.app_context():
            try:
                ids = db.session.scalars(
                    select(Notification.id).where(Notification.dedupe_key == dedupe_key)).all()
                outbox.deliver(utcnow(), only_ids=ids)
            except Exception:  # the row stays pending: the worker retries it
                app.logger.exception("sending %s right away failed", dedupe_key)

    @after_this_request
    def send_on_close(response: Response) -> Response:
        response.call_on_close(deliver)
        return response


def compose_verification(notification: Notification, user: User) -> mail.Email | None:
    """Compose the confirmation email; the token is made now, so its 3 days start at sending."""
    if user.is_verified:
        return None  # confirmed meanwhile: nothing to send
    link = _absolute(url_for_path("account.verify", token=verification_token(user, utcnow())))
    return mail.compose(to=user.email, subject="Confirm your email address for Roadmap Tracker",
                        template="verify",
                        context={"email": user.email, "link": link,
                                 "days": VERIFY_MAX_AGE.days})


def compose_account_exists(notification: Notification, user: User) -> mail.Email | None:
    """Compose the note to an existing account that someone tried to sign up again."""
    return mail.compose(to=user.email, subject="You already have a Roadmap Tracker account",
                        template="account_exists",
                        context={"email": user.email,
                                 "login_link": _absolute(url_for_path("auth.login")),
                                 "reset_link": _absolute(url_for_path("account.reset_request"))})


@bp.get("/verify/<token>")
def verify(token: str) -> ResponseReturnValue:
    """Confirm an address from the emailed link."""
    now = utcnow()
    try:
        user = verified_user(token, now)
    except SignatureExpired:
        return render_template("account/verify_invalid.html", expired=True), 400
    except BadSignature:
        return render_template("account/verify_invalid.html", expired=False), 400
    if user.email_verified_at is None:
        user.email_verified_at = now
        db.session.commit()
    return render_template("account/verified.html", email=user.email)


def _user_key() -> str:
    return f"user:{current_user.id}"


@bp.post("/resend-confirmation")
@login_required
@limiter.limit("5 per hour", key_func=_user_key)
def resend_verification() -> ResponseReturnValue:
    """Send a fresh confirmation link to the logged-in learner."""
    if ResendForm().validate():
        if current_user.is_verified:
            flash(f"{current_user.email} is already confirmed.")
        else:
            key = queue_verification(current_user, utcnow())
            db.session.commit()
            deliver_after_response(key)
            flash(f"We sent a new confirmation link to {current_user.email}.")
    return redirect(local_target(request.form.get("next")))


# Password reset -----------------------------------------------------------------------


def reset_token(user: User, now: datetime) -> str:
    """Return a signed token that lets the learner set a new password once."""
    # The password's mark is in it: setting a new password changes the mark, so a used
    # link dies.
    return _serializer(RESET_SALT, now).dumps({"user": user.id, "pw": user.password_mark})


def reset_user(token: str, now: datetime) -> User:
    """Return the learner a reset token names; raise BadSignature if expired, used or forged."""
    user, data = _load(RESET_SALT, token, now, RESET_MAX_AGE)
    if not hmac.compare_digest(str(data.get("pw", "")), user.password_mark):
        raise BadSignature("used or unknown")
    return user


def queue_reset(user: User, now: datetime) -> str | None:
    """Queue a reset email and return its key; a double-click within a minute sends one."""
    return _queue(user, "reset", f"reset:{user.id}:{now:%Y-%m-%dT%H:%M}", now)


def compose_reset(notification: Notification, user: User) -> mail.Email | None:
    """Compose the reset email; the token is made at sending, never stored."""
    link = _absolute(url_for_path("account.reset", token=reset_token(user, utcnow())))
    return mail.compose(to=user.email, subject="Reset your Roadmap Tracker password",
                        template="reset",
                        context={"email": user.email, "link": link,
                                 "minutes": int(RESET_MAX_AGE.total_seconds() // 60)})


def _email_key() -> str:
    return request.form.get("email", "").strip().lower() or get_remote_address()


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@limiter.limit("5 per hour", methods=["POST"], key_func=_email_key)
def reset_request() -> ResponseReturnValue:
    """Ask for a reset link; the answer is the same whether or not the account exists."""
    form = ResetRequestForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("account/reset_request.html", form=form), status
    user = find_user(form.email.data)
    if user is not None:
        key = queue_reset(user, utcnow())
        db.session.commit()
        deliver_after_response(key)
    return render_template("account/reset_sent.html", email=form.email.data.strip().lower())


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def reset(token: str) -> ResponseReturnValue:
    """Set a new password from the emailed link, then log the learner in."""
    now = utcnow()
    try:
        user = reset_user(token, now)
    except BadSignature as e:
        return _no_referrer(render_template("account/reset_invalid.html",
                                            expired=isinstance(e, SignatureExpired)), 400)
    form = NewPasswordForm()
    if not form.validate_on_submit():
        return _no_referrer(render_template("account/reset_form.html", form=form),
                            400 if form.is_submitted() else 200)
    user.password_hash = generate_password_hash(form.password.data)
    if user.email_verified_at is None:
        user.email_verified_at = now  # the link came by email: the address works
    db.session.commit()
    log_in(user)
    flash("Your password is changed and you are logged in.")
    return redirect(url_for("plan.dashboard"))


def _no_referrer(page: str, status: int) -> ResponseReturnValue:
    # The token is in this page's URL: keep it out of Referer headers and caches.
    return page, status, {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def url_for_path(endpoint: str, **values: Any) -> str:
    """Return the path of an endpoint, also outside a request (the worker has none)."""
    adapter = current_app.url_map.bind("localhost")
    return adapter.build(endpoint, values)


# Changing the address --------------------------------------------------------------------


def queue_email_change(user: User, new_email: str, now: datetime) -> str | None:
    """Queue a link to the new address that moves the account there; return its key.

    Nothing is sent when another account has the address, yet the page says the same: it
    must not tell who has an account.
    """
    if find_user(new_email) is not None:
        return None
    number = _next_number(user.id, "email-change")
    added = outbox.queue(db.session, user_id=user.id, kind="email-change", due_at=now, now=now,
                         dedupe_key=f"email-change:{user.id}:{number}", payload={"to": new_email})
    return f"email-change:{user.id}:{number}" if added else None


def email_change_token(user: User, new_email: str, now: datetime) -> str:
    """Return a signed token that moves the account from its current address to another."""
    return _serializer(CHANGE_SALT, now).dumps(
        {"user": user.id, "from": user.email.lower(), "to": new_email})


def compose_email_change(notification: Notification, user: User) -> mail.Email | None:
    """Compose the link to the new address; it is signed for the account's address now."""
    new_email = notification.payload["to"]
    if user.email.lower() == new_email:
        return None  # moved there meanwhile
    token = email_change_token(user, new_email, utcnow())
    return mail.compose(to=new_email, subject="Confirm your new address for Roadmap Tracker",
                        template="change_email",
                        context={"old": user.email, "new": new_email,
                                 "link": _absolute(url_for_path("account.change_email",
                                                                token=token)),
                                 "hours": int(CHANGE_MAX_AGE.total_seconds() // 3600)})


def compose_email_changed(notification: Notification, user: User) -> mail.Email | None:
    """Compose the notice to the old address that the account moved away from it."""
    return mail.compose(to=notification.payload["to"],
                        subject="Your Roadmap Tracker address was changed",
                        template="email_changed",
                        context={"old": notification.payload["to"], "new": user.email})


@bp.get("/email/<token>")
def change_email(token: str) -> ResponseReturnValue:
    """Move the account to the new address its emailed link names, and tell the old one."""
    now = utcnow()
    try:
        user, data = _load(CHANGE_SALT, token, now, CHANGE_MAX_AGE)
        if user.email.lower() != data.get("from"):
            raise BadSignature("the account has moved since")
    except BadSignature as e:
        return render_template("account/change_invalid.html",
                               expired=isinstance(e, SignatureExpired)), 400
    old, new = user.email, data["to"]
    if find_user(new) is not None:  # another account took the address since the link was sent
        return render_template("account/change_invalid.html", taken=new), 409
    user.email, user.email_verified_at = new, now  # the link came to it: the address works
    try:
        db.session.flush()
    except IntegrityError:  # ... or takes it this very moment
        db.session.rollback()
        return render_template("account/change_invalid.html", taken=new), 409
    number = _next_number(user.id, "email-changed")
    key = f"email-changed:{user.id}:{number}"
    outbox.queue(db.session, user_id=user.id, kind="email-changed", dedupe_key=key, due_at=now,
                 now=now, payload={"to": old})
    db.session.commit()
    deliver_after_response(key)
    return render_template("account/email_changed.html", email=new)


def init_app(app: Flask) -> None:
    """Add the verification, reset and address-change pages and register their composers."""
    app.register_blueprint(bp)
    outbox.register_composer("verify", compose_verification)
    outbox.register_composer("account-exists", compose_account_exists)
    outbox.register_composer("reset", compose_reset)
    outbox.register_composer("email-change", compose_email_change)
    outbox.register_composer("email-changed", compose_email_changed)
