"""Form fields that several pages share."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, SelectChoice, SelectMultipleField, StringField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..core.localtime import time_zones
from ..core.scheduling import WEEKDAYS


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token, checked on POST."""


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes: a multi-select that needs no JavaScript."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def valid_time_zone(_form: Any, field: Field) -> None:
    """Reject anything that is not an IANA zone name such as Europe/Berlin."""
    if (field.data or "").strip() not in time_zones():
        raise ValidationError(
            "Unknown time zone: use a name like Europe/Berlin or America/New_York."
        )
    field.data = field.data.strip()


class TimeZoneField(StringField):
    """A text field for an IANA zone, validated against the zone database."""

    def __init__(self, label: str = "Time zone", **kwargs: Any) -> None:
        super().__init__(label, validators=[valid_time_zone], **kwargs)


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
