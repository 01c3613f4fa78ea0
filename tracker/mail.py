"""Compose email from templates and deliver it over SMTP, into files, or to the console.

``TRACKER_MAIL_URL`` picks the transport:
``smtp://[user:pass@]host:port[?starttls=1]``, ``smtps://…``, ``file:///dir`` (one ``.eml``
per message; the default, under ``instance/mail``) or ``console:``.
"""

from __future__ import annotations

import binascii
import email.headerregistry
import email.policy
import hashlib
import smtplib
import ssl
import sys
import uuid
from contextlib import contextmanager
from collections.abc import Iterator, Mapping
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app, render_template

from .models import utcnow


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


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
) -> EmailMessage:
    """Render ``email/<template>.txt`` and ``.html`` into a text + HTML message.

    Reminder and weekly mail pass ``unsubscribe_url``: it becomes RFC 8058 one-click
    List-Unsubscribe headers and a visible link (templates get it as ``unsubscribe_url``).
    A retried send passes the same ``message_id`` so mail clients fold a duplicate.
    """
    config = current_app.config
    ctx = {**context, "base_url": config["BASE_URL"].rstrip("/"), "unsubscribe_url": unsubscribe_url}
    message = EmailMessage(policy=POLICY)
    message["Subject"] = subject
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    _set_plain(message, "Date", format_datetime(date or utcnow()))
    _set_plain(message, "Message-ID", message_id or new_message_id())
    _set_plain(message, "Auto-Submitted", "auto-generated")
    if unsubscribe_url:
        _set_plain(message, "List-Unsubscribe", f"<{unsubscribe_url}>")
        _set_plain(message, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    text = render_template(f"email/{template}.txt", **ctx)
    html = render_template(f"email/{template}.html", **ctx)
    # What set_content + add_alternative build, parsing only the headers that are read
    # back when the message is written (Content-Type, several times per part).
    boundary = f"==============={uuid.uuid4().hex}=="
    message.set_raw("MIME-Version", "1.0")
    message["Content-Type"] = f'multipart/alternative; boundary="{boundary}"'
    message.set_payload([_text_part(text, "plain"), _text_part(html, "html")])
    return message


def _text_part(body: str, subtype: str) -> EmailMessage:
    """Return a UTF-8 text part: 7bit when it is short-lined ASCII, else quoted-printable."""
    part = EmailMessage(policy=POLICY)
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    lines = body.splitlines()
    if body.isascii() and all(len(line) <= 78 for line in lines):
        part.set_raw("Content-Transfer-Encoding", "7bit")
        part.set_payload("\n".join(lines) + "\n")
    else:
        part.set_raw("Content-Transfer-Encoding", "quoted-printable")
        part.set_payload(binascii.b2a_qp(body.encode(), istext=True).decode("ascii"))
    return part


class _HeaderClasses(email.headerregistry.HeaderRegistry):
    """The standard header registry, building each header class once instead of per header.

    ``HeaderRegistry.__getitem__`` calls ``type()`` for every header set or read, which
    was the largest single cost of writing a message (bench/weekly.py).
    """

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        if key not in self._classes:
            self._classes[key] = super().__getitem__(name)
        return self._classes[key]


# Headers stored raw are written as they are: a long List-Unsubscribe URL must stay one
# plain token (refolding would turn it into RFC 2047 encoded words no client reads).
POLICY = email.policy.default.clone(refold_source="none", header_factory=_HeaderClasses())


def _set_plain(message: EmailMessage, name: str, value: str) -> None:
    # Parsing a header into the policy's objects, and refolding it when the message is
    # written, is most of the cost of building a message (bench/weekly.py): plain ASCII
    # needs neither, so it is stored as is (RFC 5322 allows lines up to 998 characters).
    if value.isascii() and "\n" not in value and "\r" not in value and len(name) + len(value) < 996:
        message.set_raw(name, value)
    else:
        message[name] = value


class SMTPTransport:
    """Send over one SMTP connection, reused for a whole batch."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        self.host = parts.hostname or "localhost"
        self.implicit_tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.starttls = query.get("starttls", ["0"])[0] in ("1", "true", "yes")
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = float(query.get("timeout", ["30"])[0])
        self.smtp: smtplib.SMTP | None = None

    def open(self) -> None:
        if self.implicit_tls:
            self.smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                         context=ssl.create_default_context())
        else:
            self.smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                self.smtp.starttls(context=ssl.create_default_context())
        if self.username:
            self.smtp.login(self.username, self.password or "")

    def send(self, message: EmailMessage) -> None:
        if self.smtp is None:
            self.open()
        assert self.smtp is not None
        self.smtp.send_message(message)

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None


class FileTransport:
    """Write each message as an .eml file: a local mailbox for development."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(str(message["Message-ID"]).encode()).hexdigest()[:16]
        name = f"{utcnow():%Y%m%dT%H%M%S}-{digest}.eml"
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(message.as_bytes())
        tmp.replace(self.directory / name)  # readers never see half a message

    def close(self) -> None:
        pass


class ConsoleTransport:
    """Print each message to standard output."""

    def send(self, message: EmailMessage) -> None:
        sys.stdout.write(message.as_string() + "\n" + "-" * 72 + "\n")
        sys.stdout.flush()

    def close(self) -> None:
        pass


def transport_for(url: str | None) -> SMTPTransport | FileTransport | ConsoleTransport:
    """Return the transport a mail URL names (default: files under instance/mail)."""
    if not url:
        return FileTransport(Path(current_app.instance_path) / "mail")
    scheme = urlsplit(url).scheme
    if scheme in ("smtp", "smtps"):
        return SMTPTransport(url)
    if scheme == "file":
        return FileTransport(Path(unquote(urlsplit(url).path)))
    if scheme == "console":
        return ConsoleTransport()
    raise ValueError(f"TRACKER_MAIL_URL: unknown scheme {scheme!r} (use smtp, smtps, file, console)")


@contextmanager
def connection() -> Iterator[SMTPTransport | FileTransport | ConsoleTransport]:
    """Open the configured transport for a batch and close it afterwards."""
    transport = transport_for(current_app.config.get("MAIL_URL"))
    try:
        yield transport
    finally:
        transport.close()
