"""The account forms: sign-up, log-in, reset, new password."""

from __future__ import annotations

from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..web.forms import Form, TimeZoneField

MIN_PASSWORD = 10


class SignupForm(Form):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD, max=200, message=f"Use at least {MIN_PASSWORD} characters."),
        ],
        description=f"At least {MIN_PASSWORD} characters.",
    )
    # Filled in from the browser (timezone.js) and shown, so a learner sees and can fix it.
    timezone = TimeZoneField(default="UTC", description="Reminders come at your local time. "
                                                        "Start typing a city to search.")


class LoginForm(Form):
    email = EmailField("Email", validators=[DataRequired(), Email()])
    password = PasswordField("Password", validators=[DataRequired()])


class ResendForm(Form):
    """The "Resend confirmation" button: only the CSRF token."""


class ResetRequestForm(Form):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."),
                                            Email("Enter an address like you@example.com."),
                                            Length(max=254)])


class NewPasswordForm(Form):
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
