"""The base of every form, and the fields that several pages share."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from functools import cache
from typing import Any

from flask_wtf import FlaskForm
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape
from werkzeug.datastructures import LanguageAccept
from wtforms import Field, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from ..core.localtime import listed_zones, time_zones
from ..core.scheduling import WEEKDAYS

# Control characters nobody types; PostgreSQL cannot even store NUL in text.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTROL_MESSAGE = "Remove the control characters (such as NUL) from this field."


def _typed(_form: Any, field: Field) -> None:
    if isinstance(field.data, str) and CONTROL.search(field.data):
        raise ValidationError(CONTROL_MESSAGE)


class Form(FlaskForm):
    """The base of every form: a CSRF token, and no field takes control characters."""

    def validate(
        self, extra_validators: Mapping[str, Sequence[Callable[..., Any]]] | None = None
    ) -> bool:
        extra = dict(extra_validators or {})
        return super().validate({name: [*extra.get(name, ()), _typed] for name in self._fields})


@pass_context
def form_errors(context: Context) -> list[tuple[str, str]]:
    """Return (field id, message) for every refused field of the forms on a page, in the
    order the view passed them: the links of the page's error summary (base.html)."""
    found = []
    for value in context.get_all().values():
        if isinstance(value, FlaskForm) and value.errors:
            found += [(field.id, message) for field in value
                      if field.type not in ("CSRFTokenField", "HiddenField")
                      for message in field.errors]
    return found


class ActionForm(Form):
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


@cache
def zone_list() -> Markup:
    """Return the list of zones a zone field offers as one types (a datalist, id "zones")."""
    options = "".join(f'<option value="{escape(z)}">' for z in listed_zones())
    return Markup(f'<datalist id="zones">{options}</datalist>')


class ZoneInput(TextInput):
    """A text input that offers the zones to search as one types; no script needed."""

    def __call__(self, field: Field, **kwargs: Any) -> Markup:
        return Markup(super().__call__(field, list="zones", spellcheck="false", **kwargs)
                      + zone_list())


class TimeZoneField(StringField):
    """A text field for an IANA zone, validated against the zone database."""

    widget = ZoneInput()

    def __init__(self, label: str = "Time zone", **kwargs: Any) -> None:
        super().__init__(label, validators=[valid_time_zone], **kwargs)


MAX_START_AHEAD = timedelta(days=365)
# A plan may start up to 30 days back, for a learner who began before signing up: it is laid
# out from that day, and what fell due since shows as behind, ready to tick or re-plan.
MAX_START_BACK = timedelta(days=30)


def check_start(day: date | None, today: date) -> None:
    """Refuse a plan start over 30 days before ``today`` (the learner's) or a year ahead."""
    if day is None:  # unparseable: the field already says so
        return
    if day < today - MAX_START_BACK:
        raise ValidationError(f"Pick {(today - MAX_START_BACK).isoformat()} or a later date: "
                              "a plan can start at most 30 days ago.")
    if day > today + MAX_START_AHEAD:
        raise ValidationError("Pick a date within the next year.")


def study_days_field(label: str = "Study days") -> MultiCheckboxField:
    """Return the weekday checkboxes, Monday to Sunday."""
    return MultiCheckboxField(
        label,
        coerce=int,
        choices=[SelectChoice(i, name) for i, name in enumerate(WEEKDAYS)],
        validators=[_at_least_one_day],
    )


# Where a learner lives, for how dates read and which public holidays stay free. The
# country is the locale's territory (tracker.core.days_off.country_of).
LOCALES = (("en_001", "International English: no country's holidays"),
           ("en_GB", "United Kingdom"), ("en_IE", "Ireland"), ("en_US", "United States"),
           ("en_CA", "Canada"), ("en_AU", "Australia"), ("en_NZ", "New Zealand"),
           ("en_IN", "India"), ("de_DE", "Germany"), ("de_AT", "Austria"),
           ("de_CH", "Switzerland"), ("fr_FR", "France"), ("nl_NL", "Netherlands"),
           ("es_ES", "Spain"), ("it_IT", "Italy"), ("pt_BR", "Brazil"), ("pl_PL", "Poland"),
           ("sv_SE", "Sweden"), ("ja_JP", "Japan"))


def best_locale(accepted: LanguageAccept) -> str:
    """Return the locale of LOCALES a browser's languages ask for first; en_001 if none."""
    tags = {code.replace("_", "-"): code for code, _ in LOCALES}
    return tags.get(accepted.best_match(list(tags)) or "", "en_001")


HOURS = (3, 5, 8, 10, 15, 20)


def weekly_hours_field() -> SelectField:
    """Return the hours-a-week choice that sets how dense a plan is."""
    return SelectField(
        "Hours a week", coerce=int, default=10,
        choices=[SelectChoice(h, f"{h} hours" + (" (the roadmaps' own pace)" if h == 10 else ""))
                 for h in HOURS],
        description="Fewer hours spread the same milestones over more weeks; more hours, "
                    "fewer weeks.")


def _at_least_one_day(_form: Any, field: Field) -> None:
    if not field.data:
        raise ValidationError("Pick at least one study day.")
