"""Form fields and validators shared by several pages."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from flask import url_for
from flask_wtf import FlaskForm
from wtforms import Field, SelectChoice, SelectMultipleField, StringField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from .scheduling import WEEKDAYS


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes: a multi-select that needs no JavaScript."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


@cache
def time_zones() -> tuple[str, ...]:
    """Return the IANA zone names, sorted, for validation and the pick list."""
    return tuple(sorted(available_timezones() - {"localtime", "Factory"}))


def valid_time_zone(_form: Any, field: Field) -> None:
    """Reject anything that is not an IANA zone name such as Europe/Berlin."""
    if (field.data or "").strip() not in time_zones():
        raise ValidationError(
            "Unknown time zone: use a name like Europe/Berlin or America/New_York."
        )
    field.data = field.data.strip()


def study_days_field(label: str = "Study days") -> MultiCheckboxField:
    """Return the weekday checkboxes, Monday to Sunday."""
    return MultiCheckboxField(
        label,
        coerce=int,
        choices=[SelectChoice(i, name) for i, name in enumerate(WEEKDAYS)],
        validators=[_at_least_one_day],
    )


def _at_least_one_day(_form: Any, field: Field) -> None:
    if not field.data:
        raise ValidationError("Pick at least one study day.")


class TimeZoneField(StringField):
    """A text field for an IANA zone, validated against the zone database."""

    def __init__(self, label: str = "Time zone", **kwargs: Any) -> None:
        super().__init__(label, validators=[valid_time_zone], **kwargs)


def local_today(zone_name: str, now: Any) -> date:
    """Return today's date in a zone (UTC if the name is not valid)."""
    zone = ZoneInfo(zone_name) if zone_name in time_zones() else ZoneInfo("UTC")
    return now.astimezone(zone).date()


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token, checked on POST."""


def local_target(target: str | None) -> str:
    """Return ``target`` if it is a path on this site, else the dashboard: no open redirects."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("plan.dashboard")
