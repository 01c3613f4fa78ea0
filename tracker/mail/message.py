"""Compose email: a text and an HTML part from ``templates/email/``, as an ``EmailMessage``."""

from __future__ import annotations

import email.policy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import urlsplit

from flask import current_app

from ..models import utcnow


class _OneToken(UnstructuredHeader, BaseHeader):
    """A header whose value is one ``<https://…>`` token (RFC 8058): never folded.

    The standard policies would fold a token longer than a line into encoded words,
    which mail clients then cannot use as a link.
    """

    def fold(self, *, policy: Any) -> str:
        return f"{self.name}: {self}{policy.linesep}"


def _policy(base: Any) -> email.policy.EmailPolicy:
    registry = HeaderRegistry()
    registry.map_to_type("list-unsubscribe", _OneToken)
    return base.clone(header_factory=registry)


SMTP = _policy(email.policy.SMTP)  # CRLF, lines folded at 78
SMTPUTF8 = _policy(email.policy.SMTPUTF8)  # the same, for a non-ASCII address


@dataclass(frozen=True)
class Email:
    """A composed message: its headers, and the templates and context of its two parts."""

    sender: str  # the From header, "Name <address>"
    to: str
    subject: str
    template: str  # email/<template>.txt and .html
    context: Mapping[str, Any]  # plain values: rendering may happen after the session closed
    message_id: str
    date: datetime
    unsubscribe_url: str | None = None

    @property
    def international(self) -> bool:
        """Say whether an address is not ASCII, so sending needs SMTPUTF8."""
        return not (self.sender.isascii() and self.to.isascii())

    def as_message(self) -> EmailMessage:
        """Render the text and HTML parts into a message ready for ``smtplib``."""
        message = EmailMessage(policy=SMTPUTF8 if self.international else SMTP)
        message["Subject"] = self.subject
        message["From"] = self.sender
        message["To"] = self.to
        message["Date"] = format_datetime(self.date)
        message["Message-ID"] = self.message_id
        message["Auto-Submitted"] = "auto-generated"
        if self.unsubscribe_url:
            message["List-Unsubscribe"] = f"<{self.unsubscribe_url}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        base_url = current_app.config["BASE_URL"].rstrip("/")
        context = {**self.context, "base_url": base_url, "unsubscribe_url": self.unsubscribe_url}
        # The app's Jinja environment without Flask's context processors: mail depends on
        # no request.
        jinja = current_app.jinja_env
        text = jinja.get_template(f"email/{self.template}.txt").render(context)
        html = jinja.get_template(f"email/{self.template}.html").render(context)
        message.set_content(text, cte=_transfer_encoding(text))
        message.add_alternative(html, subtype="html", cte=_transfer_encoding(html))
        return message

    def as_bytes(self) -> bytes:
        """Return the message as it goes over SMTP (CRLF line ends)."""
        return self.as_message().as_bytes()


def _transfer_encoding(body: str) -> str:
    # Readable source where it can be; quoted-printable rather than the base64 the library
    # may pick, so the text stays legible in a mail client's "show original".
    lines = body.splitlines()
    return "7bit" if body.isascii() and all(len(s) <= 78 for s in lines) else "quoted-printable"


def new_message_id() -> str:
    """Return a fresh Message-ID on the app's own domain."""
    return make_msgid(domain=urlsplit(current_app.config["BASE_URL"]).hostname or "localhost")


def compose(
    *,
    to: str,
    subject: str,
    template: str,
    context: Mapping[str, Any],
    unsubscribe_url: str | None = None,
    message_id: str | None = None,
    date: datetime | None = None,
) -> Email:
    """Return a text + HTML message from ``email/<template>.txt`` and ``.html``.

    The templates get ``context`` (plain values, no ORM objects), ``base_url`` and
    ``unsubscribe_url``. Reminder and weekly mail pass ``unsubscribe_url``: it becomes
    RFC 8058 one-click List-Unsubscribe headers and a visible link. A retried send passes
    the same ``message_id`` so mail clients fold a duplicate.
    """
    return Email(
        sender=current_app.config["MAIL_FROM"],
        to=to,
        subject=subject,
        template=template,
        context=context,
        message_id=message_id or new_message_id(),
        date=date or utcnow(),
        unsubscribe_url=unsubscribe_url,
    )
