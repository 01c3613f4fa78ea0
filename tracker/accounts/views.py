"""The account's pages: sign up, log in and out, confirm the address, reset the password,
and the link that moves an account to a new address.

Neither sign-up nor the reset form says whether an address has an account: both answer the
same page either way, and only the mailbox owner learns the rest.
"""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from itsdangerous import BadSignature, SignatureExpired
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..database import db
from ..extensions import limiter
from ..models import User, utcnow
from ..web.forms import ActionForm, best_locale
from ..web.urls import next_or_dashboard
from . import emails, tokens
from .devices import device_key, remember_device, trusted_device, untrusted_device
from .forms import LoginForm, NewPasswordForm, ResendForm, ResetRequestForm, SignupForm
from .sessions import email_key, end_session, find_user, log_in, new_account

bp = Blueprint("accounts", __name__)

# Checked when no account matches, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def _user_key() -> str:
    return f"user:{current_user.id}"


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def signup() -> ResponseReturnValue:
    """Create an account, log the learner in and go on to the questions.

    Whether or not the address has an account, the visitor gets the same: a new account,
    signed in, and "we sent you an email". If the address is taken, its owner is told
    instead of sent a confirmation link, and the new account has no address of its own: it
    can never take this one, and gets no mail (models.User.email).
    """
    form = SignupForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("accounts/signup.html", form=form), status
    email = form.email.data.strip().lower()
    now = utcnow()
    password_hash = generate_password_hash(form.password.data)
    locale = best_locale(request.accept_languages)
    try:
        with db.session.begin_nested():
            user = new_account(email, password_hash, now, form.timezone.data, locale)
        emails.queue_verification(user, now)
    except IntegrityError:  # the unique constraint, whoever took the address and when
        existing = find_user(email)
        assert existing is not None
        emails.queue_account_exists(existing, now)
        user = new_account(None, password_hash, now, form.timezone.data, locale,
                           signup_email=email)
        db.session.flush()  # its id, for the session
    log_in(user, now)
    db.session.commit()
    flash(f"Welcome! We sent an email to {email}: open the link in it to confirm the address, "
          "and reminders start.")
    return redirect(url_for("decide.questions"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
# Per account, from browsers that never signed in to it; a browser that did (its device
# cookie) has a budget of its own, so strangers cannot lock the owner out.
@limiter.limit("20 per hour", methods=["POST"], key_func=email_key, exempt_when=trusted_device)
@limiter.limit("20 per hour", methods=["POST"], key_func=device_key,
               exempt_when=untrusted_device)
def login() -> ResponseReturnValue:
    """Log a learner in; one message for a wrong email or a wrong password."""
    form = LoginForm()
    if form.validate_on_submit():
        user = find_user(form.email.data)
        if (
            check_password_hash(user.password_hash if user else _DUMMY_HASH, form.password.data)
            and user
        ):
            log_in(user, utcnow())
            db.session.commit()
            return remember_device(redirect(next_or_dashboard(request.args.get("next"))),
                                   user.address)
        form.password.errors.append("Email or password is incorrect.")
    return render_template("accounts/login.html", form=form), 400 if form.errors else 200


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    """Log out: this browser's session ends on the server too. Back to the landing page."""
    end_session()
    db.session.commit()
    flash("You are logged out.")
    return redirect(url_for("index"))


def _verify_link(token: str, now: datetime) -> User:
    """Return the account a confirmation link names; else answer why not (404, as the feed)."""
    try:
        return tokens.verified_user(token, now)
    except BadSignature as e:  # expired, spent or forged
        abort(make_response(render_template("accounts/verify_invalid.html",
                                            expired=isinstance(e, SignatureExpired)), 404))


@bp.get("/verify/<token>")
def verify_confirm(token: str) -> ResponseReturnValue:
    """Ask before confirming: mail scanners open every link, so a GET confirms nothing."""
    user = _verify_link(token, utcnow())
    if user.is_verified:
        return render_template("accounts/verified.html", email=user.email)
    return render_template("accounts/verify_confirm.html", email=user.email, form=ActionForm())


@bp.post("/verify/<token>")
def verify(token: str) -> ResponseReturnValue:
    """Confirm an address from the emailed link's page."""
    now = utcnow()
    user = _verify_link(token, now)
    if not ActionForm().validate():
        return render_template("accounts/verify_confirm.html", email=user.email,
                               form=ActionForm()), 400
    if user.email_verified_at is None:
        user.email_verified_at, user.next_mail_at = now, now  # its mail may start
        db.session.commit()
    return render_template("accounts/verified.html", email=user.email)


@bp.post("/resend-confirmation")
@login_required
@limiter.limit("5 per hour", key_func=_user_key)
def resend_verification() -> ResponseReturnValue:
    """Send a fresh confirmation link to the logged-in learner."""
    if ResendForm().validate():
        now = utcnow()
        if current_user.is_verified:
            flash(f"{current_user.email} is already confirmed.")
        else:
            if current_user.email is not None:
                emails.queue_verification(current_user, now)
            elif (owner := find_user(current_user.address)) is not None:
                # The address has another account: its owner hears of it (an hour apart).
                emails.queue_account_exists(owner, now)
            db.session.commit()
            flash(f"We sent a new confirmation link to {current_user.address}.")
    return redirect(next_or_dashboard(request.form.get("next")))


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@limiter.limit("5 per hour", methods=["POST"], key_func=email_key)
def reset_request() -> ResponseReturnValue:
    """Ask for a reset link; the answer is the same whether or not the account exists."""
    form = ResetRequestForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("accounts/reset_request.html", form=form), status
    # The same work for every address: the worker finds out whether an account has it.
    emails.queue_reset(form.email.data, utcnow())
    db.session.commit()
    return render_template("accounts/reset_sent.html", email=form.email.data.strip().lower())


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def reset(token: str) -> ResponseReturnValue:
    """Set a new password from the emailed link, then log the learner in."""
    now = utcnow()
    try:
        user = tokens.reset_user(token, now)
    except BadSignature as e:
        return _no_referrer(render_template("accounts/reset_invalid.html",
                                            expired=isinstance(e, SignatureExpired)), 404)
    form = NewPasswordForm()
    if not form.validate_on_submit():
        return _no_referrer(render_template("accounts/reset_form.html", form=form),
                            400 if form.is_submitted() else 200)
    user.password_hash = generate_password_hash(form.password.data)
    if user.email_verified_at is None:
        user.email_verified_at = user.next_mail_at = now  # the link came by email: it works
    log_in(user, now, end_others=True)  # a stolen session dies with the reset
    db.session.commit()
    flash("Your password is changed and you are logged in.")
    return redirect(url_for("plans.dashboard"))


def _no_referrer(page: str, status: int) -> ResponseReturnValue:
    # The token is in this page's URL: keep it out of Referer headers and caches.
    return page, status, {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _change_link(token: str, now: datetime) -> tuple[User, str]:
    """Return the account and new address a change link names; else answer why not."""
    try:
        user, new = tokens.email_change(token, now)
    except BadSignature as e:
        abort(make_response(render_template("accounts/change_invalid.html",
                                            expired=isinstance(e, SignatureExpired)), 404))
    if find_user(new) is not None:  # another account took the address since the link was sent
        abort(make_response(render_template("accounts/change_invalid.html", taken=new), 409))
    return user, new


@bp.get("/email/<token>")
def change_email_confirm(token: str) -> ResponseReturnValue:
    """Ask before moving the account: mail scanners open every link, so a GET moves nothing."""
    _user, new = _change_link(token, utcnow())
    return render_template("accounts/change_confirm.html", email=new, form=ActionForm())


@bp.post("/email/<token>")
def change_email(token: str) -> ResponseReturnValue:
    """Move the account to the new address its emailed link names, and tell the old one."""
    now = utcnow()
    user, new = _change_link(token, now)
    old = user.email
    user.email, user.email_verified_at = new, now  # the link came to it: the address works
    user.signup_email, user.next_mail_at = None, now
    try:
        db.session.flush()
    except IntegrityError:  # ... or takes it this very moment
        db.session.rollback()
        return render_template("accounts/change_invalid.html", taken=new), 409
    if old:  # an account that had no address of its own has no old one to tell
        emails.queue_email_changed(user, old, now)
    db.session.commit()
    return render_template("accounts/email_changed.html", email=new)
