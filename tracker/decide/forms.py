"""The decision flow's forms: the questions, built from plans/decision.toml, and the start."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wtforms import DateField, RadioField, SelectChoice
from wtforms.validators import InputRequired

from ..core.decision import DecisionFlow, Question
from ..core.localtime import local_today
from ..models import utcnow
from ..web.forms import (
    Form,
    MultiCheckboxField,
    TimeZoneField,
    check_start,
    study_days_field,
    weekly_hours_field,
)


def decision_form(flow: DecisionFlow, questions: Sequence[Question] | None = None,
                  **kwargs: Any) -> Form:
    """Build the questionnaire form from the flow in ``plans/decision.toml``: every question,
    or the ones on one screen."""

    class DecisionForm(Form):
        pass

    for q in flow.questions if questions is None else questions:
        choices = [SelectChoice(a.id, a.label) for a in q.answers]
        if q.kind == "single":
            field: Any = RadioField(q.text, choices=choices, description=q.help,
                                    validators=[InputRequired("Pick one answer.")])
        else:
            field = MultiCheckboxField(q.text, choices=choices, description=q.help)
        setattr(DecisionForm, q.id, field)
    return DecisionForm(**kwargs)


class StartPlanForm(Form):
    outcome = RadioField("Roadmap", validators=[InputRequired("Pick a roadmap.")])
    start_date = DateField(
        "Start date", validators=[InputRequired("Enter a start date, like 2027-01-04.")]
    )
    study_days = study_days_field()
    weekly_hours = weekly_hours_field()
    timezone = TimeZoneField(description="Reminders and 'today' follow this zone.")

    def validate_start_date(self, field: DateField) -> None:
        check_start(field.data, local_today(self.timezone.data or "UTC", utcnow()))
