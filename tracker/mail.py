"""Compose email from templates and deliver it over SMTP, into files, or to the console.

``TRACKER_MAIL_URL`` picks the transport:
``smtp://[user:pass@]host:port[?starttls=1]``, ``smtps://…``, ``file:///dir`` (one ``.eml``
per message; the default, under ``instance/mail``) or ``console:``.
"""

from __future__ import annotations

import binascii
import email.policy
import hashlib
import smtplib
import ssl
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, getaddresses, make_msgid
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

from .models import utcnow


class Transport(Protocol):
    """Where mail goes: ``start`` hands a message over, ``finish`` says if it was taken."""

    def start(self, message: Email, data: bytes) -> None: ...
    def finish(self) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Email:
    """A composed message: its headers, and the templates and context of its two parts.

    The templates are rendered by ``as_bytes``, so the outbox can render a message while
    the SMTP server reads the one before it.
    """

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

    def as_bytes(self) -> bytes:
        """Render the text and HTML parts; return the message as it goes over SMTP (CRLF).

        Written directly rather than through ``EmailMessage``: the standard library's header
        objects and generator were most of the cost of sending (bench/weekly.py). The
        headers that need it are still encoded and folded by the standard library.
        """
        utf8 = self.international
        boundary = f"==============={uuid.uuid4().hex}=="
        lines = [
            _header("Subject", self.subject, utf8),
            _header("From", self.sender, utf8),
            _header("To", self.to, utf8),
            f"Date: {format_datetime(self.date)}",
            f"Message-ID: {self.message_id}",
            "Auto-Submitted: auto-generated",
        ]
        if self.unsubscribe_url:
            # One plain <https://…> token (RFC 8058): never folded into encoded words.
            lines += [f"List-Unsubscribe: <{self.unsubscribe_url}>",
                      "List-Unsubscribe-Post: List-Unsubscribe=One-Click"]
        lines += ["MIME-Version: 1.0", "Content-Type: multipart/alternative;",
                  f' boundary="{boundary}"', ""]
        base_url = current_app.config["BASE_URL"].rstrip("/")
        context = {**self.context, "base_url": base_url, "unsubscribe_url": self.unsubscribe_url}
        # The app's Jinja environment without Flask's context processors: mail depends on
        # no request, and rendering must not touch the database (outbox._sent).
        jinja = current_app.jinja_env
        for extension, subtype in (("txt", "plain"), ("html", "html")):
            body = jinja.get_template(f"email/{self.template}.{extension}").render(context)
            lines += [f"--{boundary}", f'Content-Type: text/{subtype}; charset="utf-8"',
                      *_encoded(body)]
        lines += [f"--{boundary}--", ""]
        return "\r\n".join(lines).encode()


def _encoded(body: str) -> list[str]:
    """Return a text part's transfer-encoding header, blank line and lines.

    7bit when the text is short-lined ASCII, else quoted-printable.
    """
    lines = body.splitlines()
    if body.isascii() and all(len(line) <= 78 for line in lines):
        return ["Content-Transfer-Encoding: 7bit", "", *lines]
    encoded = binascii.b2a_qp(body.encode(), istext=True).decode("ascii")
    return ["Content-Transfer-Encoding: quoted-printable", "", *encoded.splitlines()]


SMTP = email.policy.SMTP
SMTPUTF8 = email.policy.SMTPUTF8


def _header(name: str, value: str, utf8: bool) -> str:
    """Return ``name: value``, encoded and folded when it is not short plain ASCII."""
    if value.isascii() and len(name) + len(value) <= 76 and "\r" not in value and "\n" not in value:
        return f"{name}: {value}"
    return _folded(name, value, utf8)


@lru_cache(maxsize=1024)  # subjects repeat across learners: "Week 3 of 13 · 5/33 done · …"
def _folded(name: str, value: str, utf8: bool) -> str:
    policy = SMTPUTF8 if utf8 else SMTP
    return policy.header_factory(name, value).fold(policy=policy).rstrip("\r\n")


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

    def open(self) -> smtplib.SMTP:
        smtp: smtplib.SMTP
        if self.implicit_tls:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
        if self.username:
            smtp.login(self.username, self.password or "")
        smtp.ehlo_or_helo_if_needed()
        self.smtp = smtp
        return smtp

    def start(self, message: Email, data: bytes) -> None:
        """Send the envelope and the message; raise if the server refuses it meanwhile.

        ``smtplib.SMTP.sendmail``'s steps for one recipient, except the last: the caller
        reads the server's verdict with ``finish``, and can work while the server reads.
        """
        smtp = self.smtp or self.open()
        sender = _address(message.sender)
        options = ["SMTPUTF8", "BODY=8BITMIME"] if message.international else []
        if smtp.has_extn("size"):
            options.append(f"SIZE={len(data)}")
        code, reply = smtp.mail(sender, options)
        if code != 250:
            self._reset(code)
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        code, reply = smtp.rcpt(message.to)
        if code not in (250, 251):
            self._reset(code)
            raise smtplib.SMTPRecipientsRefused({message.to: (code, reply)})
        code, reply = smtp.docmd("DATA")
        if code != 354:
            self._reset(code)
            raise smtplib.SMTPDataError(code, reply)
        # Dot-stuffing (RFC 5321 4.5.2; every line but the first starts after a CRLF), then
        # the end-of-data line.
        lead = b"." if data.startswith(b".") else b""
        smtp.send(lead + data.replace(b"\r\n.", b"\r\n..") + b".\r\n")

    def finish(self) -> None:
        """Raise unless the server accepted the message handed over by ``start``."""
        assert self.smtp is not None
        code, reply = self.smtp.getreply()
        if code != 250:
            self._reset(code)
            raise smtplib.SMTPDataError(code, reply)

    def _reset(self, code: int) -> None:
        assert self.smtp is not None
        if code == 421:  # the server is closing the connection
            self.smtp.close()
            self.smtp = None
        else:
            try:
                self.smtp.rset()
            except smtplib.SMTPServerDisconnected:
                self.smtp = None

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None


@lru_cache(maxsize=16)
def _address(header: str) -> str:
    """Return the address of a From header, for the envelope."""
    return getaddresses([header])[0][1]


class FileTransport:
    """Write each message as an .eml file: a local mailbox for development."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def start(self, message: Email, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(message.message_id.encode()).hexdigest()[:16]
        name = f"{utcnow():%Y%m%dT%H%M%S}-{digest}.eml"
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(self.directory / name)  # readers never see half a message

    def finish(self) -> None:
        pass

    def close(self) -> None:
        pass


class ConsoleTransport:
    """Print each message to standard output."""

    def start(self, message: Email, data: bytes) -> None:
        sys.stdout.write(data.decode().replace("\r\n", "\n") + "-" * 72 + "\n")
        sys.stdout.flush()

    def finish(self) -> None:
        pass

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
    raise ValueError(
        f"TRACKER_MAIL_URL: unknown scheme {scheme!r} (use smtp, smtps, file, console)")


@contextmanager
def connection() -> Iterator[SMTPTransport | FileTransport | ConsoleTransport]:
    """Open the configured transport for a batch and close it afterwards."""
    transport = transport_for(current_app.config.get("MAIL_URL"))
    try:
        yield transport
    finally:
        transport.close()
