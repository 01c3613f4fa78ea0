"""Where mail goes: ``TRACKER_MAIL_URL`` picks SMTP, ``.eml`` files or the console.

``smtp://[user:pass@]host:port[?starttls=1]``, ``smtps://…``, ``file:///dir`` (one ``.eml``
per message; the default, under ``instance/mail``) or ``console:``.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

from ..models import utcnow


class Unreachable(OSError):
    """The mail server could not be reached: no message was handed over."""


class Transport(Protocol):
    """Hands messages over, one at a time; ``send`` raises if one was not taken."""

    def send(self, message: EmailMessage) -> None: ...
    def close(self) -> None: ...


class SMTPTransport:
    """Send over one SMTP connection, opened on first use and reused for a whole pass."""

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

    def _open(self) -> smtplib.SMTP:
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
        return smtp

    def send(self, message: EmailMessage) -> None:
        """Send one message; raise the server's refusal or the lost connection."""
        if self.smtp is None:
            try:
                self.smtp = self._open()
            except (smtplib.SMTPException, OSError) as e:
                raise Unreachable(f"{type(e).__name__}: {e}") from e
        try:
            self.smtp.send_message(message)
        except smtplib.SMTPResponseException as e:
            if e.smtp_code == 421:  # the server is closing the connection: open a new one
                self.smtp.close()
                self.smtp = None
            raise
        except smtplib.SMTPServerDisconnected:
            self.smtp = None
            raise

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
        text = message.as_bytes().decode(errors="replace").replace("\r\n", "\n")
        sys.stdout.write(text + "-" * 72 + "\n")
        sys.stdout.flush()

    def close(self) -> None:
        pass


def transport_for(url: str | None) -> Transport:
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
def connection() -> Iterator[Transport]:
    """Open the configured transport for a pass and close it afterwards."""
    transport = transport_for(current_app.config.get("MAIL_URL"))
    try:
        yield transport
    finally:
        transport.close()
