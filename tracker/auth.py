"""Sign-up, log-in and log-out; the login manager, CSRF and rate limits."""

from __future__ import annotations

import hmac

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length

from .db import db
from .forms import local_target
from .models import User, utcnow

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
limiter = Limiter(get_remote_address)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see that page."

MIN_PASSWORD = 10
# Checked when no account matches, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class SignupForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD, max=200, message=f"Use at least {MIN_PASSWORD} characters."),
        ],
        description=f"At least {MIN_PASSWORD} characters.",
    )


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email()])
    password = PasswordField("Password", validators=[DataRequired()])


def _email_key() -> str:
    return request.form.get("email", "").strip().lower() or get_remote_address()


def find_user(email: str) -> User | None:
    """Return the account for an email address, matched case-insensitively."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


# Every signed-in request runs it: a prebuilt select costs two thirds of Session.get,
# whose identity-map lookup never hits in a session that lives for one request.
_USER_BY_ID = select(User).where(User.id == bindparam("id"))


def log_in(user: User) -> None:
    """Start a fresh session for the learner: no fixation, and their password's mark."""
    session.clear()
    login_user(user)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Return the logged-in learner for the session, unless the password changed since."""
    user_id, _, _mark = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.execute(_USER_BY_ID, {"id": int(user_id)}).scalar_one_or_none()
    return user if user and hmac.compare_digest(user.get_id(), session_id) else None


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def signup() -> ResponseReturnValue:
    """Create an account; the answer is the same whether or not the address is taken."""
    form = SignupForm()
    if not form.validate_on_submit():
        return render_template("auth/signup.html", form=form), 400 if form.is_submitted() else 200
    from . import account  # account imports this module's limiter

    email = form.email.data.strip().lower()
    now = utcnow()
    password_hash = generate_password_hash(form.password.data)
    existing = find_user(email)
    if existing is None:
        try:
            user = User(email=email, password_hash=password_hash)
            db.session.add(user)
            key = account.queue_verification(user, now)
            db.session.commit()
        except IntegrityError:  # the same address signed up a moment ago, in another request
            db.session.rollback()
            existing = find_user(email)
    if existing is not None:
        # The password was hashed anyway, so a taken address answers as slowly as a new
        # one; its owner gets a note instead of a confirmation link: the page reveals nothing.
        key = account.queue_account_exists(existing, now)
        db.session.commit()
    account.deliver_after_response(key)
    return render_template("auth/check_inbox.html", email=email, form=LoginForm(email=email))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@limiter.limit("20 per hour", methods=["POST"], key_func=_email_key)
def login() -> ResponseReturnValue:
    """Log a learner in; one message for a wrong email or a wrong password."""
    form = LoginForm()
    if form.validate_on_submit():
        user = find_user(form.email.data)
        if (
            check_password_hash(user.password_hash if user else _DUMMY_HASH, form.password.data)
            and user
        ):
            log_in(user)
            return redirect(local_target(request.args.get("next")))
        form.password.errors.append("Email or password is incorrect.")
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    """Log out and go back to the landing page."""
    logout_user()
    session.clear()
    flash("You are logged out.")
    return redirect(url_for("index"))


def index() -> ResponseReturnValue:
    """Show the landing page, or the dashboard to a learner who is logged in."""
    if current_user.is_authenticated:
        return redirect(url_for("plan.dashboard"))
    return render_template("index.html")


def init_app(app: Flask) -> None:
    """Wire sessions, CSRF on every form and rate limits into the app."""
    csrf.init_app(app)
    limiter.init_app(app)
    # The extension checks app-wide limits before every request. Ours are per view, each
    # checked by its decorator when the view is called, so unless an operator sets
    # app-wide ones that check finds nothing to do, at a tenth of a signed-in page's CPU.
    checks = app.before_request_funcs[None]
    app_wide = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META")
    if limiter._check_request_limit in checks and not any(map(app.config.get, app_wide)):
        checks.remove(limiter._check_request_limit)  # not there when RATELIMIT_ENABLED is off
    login_manager.init_app(app)
    app.register_blueprint(bp)
    app.add_url_rule("/", endpoint="index", view_func=index)
