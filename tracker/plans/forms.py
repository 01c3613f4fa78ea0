"""The plan's forms."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf.file import FileField
from wtforms import (
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    URL,
    InputRequired,
    Length,
    Optional,
    StopValidation,
    ValidationError,
)

from ..core.checks import is_url
from ..core.review import Answer
from ..web.forms import (
    Form,
    MultiCheckboxField,
    check_start,
    study_days_field,
    weekly_hours_field,
)


class TickForm(Form):
    note = TextAreaField("Note", validators=[Optional(), Length(max=2000)],
                         description="What you built or learned (optional).")
    evidence_url = StringField(
        "Evidence link",
        validators=[Optional(), URL(message="Enter a full link, like https://github.com/you/repo."),
                    Length(max=500)],
        description="A repository, gist or write-up (optional).",
    )


class ChecklistForm(Form):
    # The page writes its checkboxes out itself (as the dashboard's forms, for speed); this
    # checks what comes back. Its choices are the milestone's "done when" items, by place.
    item = MultiCheckboxField("Done when", coerce=int)


class ScheduleForm(Form):
    # Not posted once work is done (the page does not show it): then the plan keeps its own.
    start_date = DateField("Start date", description="Up to 30 days back, or up to a year ahead.")
    study_days = study_days_field()
    weekly_hours = weekly_hours_field()
    # Set by the preview's button: the first post shows what would move, this one moves it.
    confirm = HiddenField(default="")

    def __init__(self, *, today: date, begun: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.today, self.begun = today, begun  # the learner's day; whether work is done

    def validate_start_date(self, field: DateField) -> None:
        if self.begun:  # with work done, the start is history: the plan keeps its own
            return
        if field.data is None:
            raise StopValidation("Enter a start date, like 2027-01-04.")
        check_start(field.data, self.today)


class SkipForm(Form):
    reason = StringField("Why skip it? (optional)", validators=[Optional(), Length(max=500)],
                         description="For instance: I use this at work already.")


MAX_DONE_WHEN = 20
MAX_LINKS = 10


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def parse_links(text: str | None) -> list[list[str]]:
    """Return [title, url] pairs from "Title https://…" lines; raise ValueError saying why not."""
    pairs = []
    for line in _lines(text):
        title, _, url = line.rpartition(" ")
        if not is_url(url) or len(url) > 500:
            raise ValueError(f"“{line[:80]}” does not end in a link like https://…")
        pairs.append([title.strip() or url, url])
    if len(pairs) > MAX_LINKS:
        raise ValueError(f"Keep it to {MAX_LINKS} links.")
    return pairs


class OwnMilestoneForm(Form):
    """A milestone of the learner's own: what, when it is done, where to read, and when."""

    title = StringField("Title", validators=[InputRequired("Give it a title."), Length(max=200)])
    learn = TextAreaField("What to learn (optional)", validators=[Optional(), Length(max=5000)])
    done_when = TextAreaField(
        "Done when (optional)", validators=[Optional(), Length(max=6000)],
        description=f"One item a line, up to {MAX_DONE_WHEN}: how you will know it is done.")
    links = TextAreaField(
        "Links (optional)", validators=[Optional(), Length(max=5000)],
        description=f"One a line, up to {MAX_LINKS}: a title, a space, then the address, "
                    "like “Tour of Go https://go.dev/tour/”.")
    placement = RadioField("When", default="after", choices=[
        SelectChoice("after", "Right after another milestone"),
        SelectChoice("date", "On a date")])
    after = SelectField("After", coerce=int, validate_choice=False)
    due_date = DateField("Date", validators=[Optional()])

    def validate_done_when(self, field: Any) -> None:
        items = _lines(field.data)
        if len(items) > MAX_DONE_WHEN:
            raise ValidationError(f"Keep it to {MAX_DONE_WHEN} items (there are {len(items)}).")
        if any(len(item) > 300 for item in items):
            raise ValidationError("Keep each item under 300 characters.")

    def validate_links(self, field: Any) -> None:
        try:
            parse_links(field.data)
        except ValueError as e:
            raise ValidationError(str(e)) from None

    def validate_after(self, field: Any) -> None:
        if self.placement.data == "after" and field.data not in {c.value for c in field.choices}:
            raise ValidationError("Pick the milestone it follows.")

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        # Asked only when placing by date; Optional() stops the field's own chain when empty.
        due = self.due_date
        if self.placement.data == "date" and due.data is None and not due.errors:
            due.errors.append("Enter the date, like 2027-03-01.")
            return False
        return ok

    def done_when_items(self) -> list[str]:
        return _lines(self.done_when.data)

    def link_pairs(self) -> list[list[str]]:
        return parse_links(self.links.data)


MAX_UPLOAD = 64 * 1024  # bytes: the largest roadmap in plans/ is about 40 KB


class UploadForm(Form):
    """A roadmap file in the plans/ format, or its text pasted, and when to start it."""

    file = FileField("Roadmap file (.toml)",
                     description="The same format as the roadmaps in plans/, up to 64 KB.")
    source = TextAreaField("Or paste it here", validators=[Optional(), Length(max=MAX_UPLOAD)],
                           description="Problems are listed above with the field they are in; "
                                       "fix them here and send it again.")
    start_date = DateField("Start date", validators=[InputRequired("Enter a start date, like "
                                                                   "2027-01-04.")])
    study_days = study_days_field()


ANSWER_MESSAGE = "Choose how well you still know it: Again, Hard, Good or Easy."


def _an_answer(_form: Any, field: Any) -> None:
    # One message for a missing, garbled or unknown answer, in place of wtforms' own.
    if field.process_errors or field.data not in {a.value for a in Answer}:
        field.errors[:] = []
        raise StopValidation(ANSWER_MESSAGE)


class ReviewForm(Form):
    answer = RadioField("How well do you still know it?", coerce=int, validate_choice=False,
                        choices=[SelectChoice(a.value, a.label) for a in Answer],
                        validators=[_an_answer])
