"""The plan's forms."""

from __future__ import annotations

from wtforms import StringField, TextAreaField
from wtforms.validators import URL, Length, Optional

from ..web.forms import Form


class TickForm(Form):
    note = TextAreaField("Note", validators=[Optional(), Length(max=2000)],
                         description="What you built or learned (optional).")
    evidence_url = StringField(
        "Evidence link",
        validators=[Optional(), URL(message="Enter a full link, like https://github.com/you/repo."),
                    Length(max=500)],
        description="A repository, gist or write-up (optional).",
    )


class SkipForm(Form):
    reason = StringField("Why skip it? (optional)", validators=[Optional(), Length(max=500)],
                         description="For instance: I use this at work already.")
