"""The settings page's forms: mail times, a new address, a new password, deletion."""

from __future__ import annotations

from typing import Any

from flask_wtf.file import FileField
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

from ..accounts.forms import NewPasswordForm
from ..core.scheduling import WEEKDAYS
from ..web.forms import LOCALES, Form, TimeZoneField

MAX_NUDGE_DAYS = 14
NUDGE_MESSAGE = f"Enter a whole number of days from 0 to {MAX_NUDGE_DAYS} (0 turns the nudge off)."
def _parsed(_form: Any, field: Field) -> None:
    # Input that did not parse already carries its message; say it once, not twice.
    if field.process_errors:
        raise StopValidation()


def local_time_field(label: str, **kwargs: Any) -> TimeField:
    """Return a wall-clock time field, HH:MM, as browsers send it from <input type=time>."""
    message = "Enter a time like 08:00 (24-hour clock)."
    return TimeField(label, format=["%H:%M", "%H:%M:%S"], invalid_value_message=message,
                     validators=[_parsed, InputRequired(message)], **kwargs)


THEMES = (("auto", "Match my device"), ("light", "Light"), ("dark", "Dark"))



class ProfileForm(Form):
    timezone = TimeZoneField(description="Reminder times and 'today' follow this IANA zone, "
                                         "like Europe/Berlin. Start typing to search.")
    locale = SelectField("Country", default="en_001",
                         choices=[SelectChoice(*c) for c in LOCALES],
                         description="Dates are written the way they are there, and its "
                                     "public holidays stay free of milestones.")
    theme = SelectField("Colour scheme", default="auto", choices=[SelectChoice(*c) for c in THEMES],
                        description="Match my device follows your system's light or dark "
                                    "setting.")


class SettingsForm(Form):
    """When mail comes: reminders, the weekly email, reviews."""

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
    reviews_enabled = BooleanField("Bring finished milestones back for review",
                                   description="A few days after you finish one, then at longer "
                                               "gaps; reviews due come in the due-day email.")
    feed_reviews = BooleanField("Show reviews in my calendar feed")
    holidays_off = BooleanField("Keep public holidays free of milestones",
                                description="Christmas Day, New Year's Day and your country's "
                                            "public holidays (set in your profile).")


class ChangeEmailForm(Form):
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


class DeleteAccountForm(Form):
    password = PasswordField(
        "Your password",
        validators=[InputRequired("Enter your password to delete your account.")],
        description="Deleting your account removes your plans, progress, notes, mail "
                    "history and calendar feed. It cannot be undone.",
    )


class ImportForm(Form):
    file = FileField("Your export file (.json)",
                     description="A file from “Download my data”, on this or another Roadmap "
                                 "Tracker, up to 4 MB.")
