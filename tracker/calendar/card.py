"""The calendar card of the settings page: the feed's addresses and the alarm switch."""

from __future__ import annotations

from typing import Any

from wtforms import BooleanField

from ..models import User
from ..web.forms import Form
from .tokens import feed_token, feed_url, webcal_url


class AlarmForm(Form):
    feed_alarm = BooleanField("Add an alarm to each calendar event at my reminder time")


def calendar_card(user: User) -> dict[str, Any]:
    """Return what the card shows: the addresses and the alarm form."""
    token = feed_token(user)
    url = feed_url(token) if token else None
    return {
        "url": url,
        "webcal": webcal_url(url) if url else None,
        # formdata=None: on a page re-rendered after another form's POST, show the saved value.
        "alarm": AlarmForm(formdata=None, feed_alarm=user.feed_alarm),
        "reminder_time": user.reminder_time,
    }
