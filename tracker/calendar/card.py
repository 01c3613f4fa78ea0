"""The calendar card of the settings page: the feed's addresses, one-click subscribe links,
and the alarm switch."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from wtforms import BooleanField

from ..models import User
from ..web.forms import Form
from .tokens import feed_token, feed_url, webcal_url


class AlarmForm(Form):
    feed_alarm = BooleanField("Add an alarm to each calendar event at my reminder time")


def subscribe_links(url: str) -> list[tuple[str, str, str]]:
    """Return (client, one-click link, how often it refreshes) for the feed at ``url``.

    Each opens the client's own "subscribe from URL" with the address filled in; the learner
    confirms there. Apple Calendar (and Outlook for desktop) take the webcal:// link.
    """
    name = quote("Roadmap Tracker")
    return [
        ("Google Calendar", "https://calendar.google.com/calendar/render?cid="
         + quote(webcal_url(url), safe=""), "Google refreshes on its own schedule: changes "
         "show up within a day, often sooner."),
        ("Apple Calendar", webcal_url(url), "Refreshes as often as you set it; choose every "
         "hour when it asks."),
        ("Outlook.com", "https://outlook.live.com/calendar/0/addfromweb?url="
         + quote(url, safe="") + f"&name={name}", "Refreshes every few hours."),
        ("Outlook for work or school", "https://outlook.office.com/calendar/0/addfromweb?url="
         + quote(url, safe="") + f"&name={name}", "Refreshes every few hours."),
    ]


def calendar_card(user: User) -> dict[str, Any]:
    """Return what the card shows: the addresses, the one-click links and the alarm form."""
    token = feed_token(user)
    url = feed_url(token) if token else None
    return {
        "url": url,
        "webcal": webcal_url(url) if url else None,
        "subscribe": subscribe_links(url) if url else [],
        # formdata=None: on a page re-rendered after another form's POST, show the saved value.
        "alarm": AlarmForm(formdata=None, feed_alarm=user.feed_alarm),
        "reminder_time": user.reminder_time,
    }
