"""Device cookies: a browser that signed in to an account before keeps signing in while
strangers spend that account's log-in limit (OWASP's "device cookies" against lock-out).

After a successful log-in the browser gets a long-lived signed cookie naming the account.
Log-ins that carry a valid one for the account they try are counted per device instead of
per account, so someone guessing from elsewhere cannot lock the owner out, and a stolen
device cookie buys its holder no more than its own budget.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

COOKIE = "tracker_device"
LIFETIME = timedelta(days=365)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="device")


def _account_of_cookie() -> str | None:
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    try:
        email, _nonce = _serializer().loads(value)
    except (BadSignature, TypeError, ValueError):
        return None
    return email if isinstance(email, str) else None


def trusted_device() -> bool:
    """Say whether this browser signed in before to the account the form names."""
    email = request.form.get("email", "").strip().lower()
    return bool(email) and _account_of_cookie() == email


def untrusted_device() -> bool:
    """Say whether this log-in comes from a browser unknown to the account it names."""
    return not trusted_device()


def device_key() -> str:
    """Return the rate-limit key of a trusted device: its cookie."""
    return f"device:{request.cookies.get(COOKIE, '')}"


def remember_device(response: Response, email: str) -> Response:
    """Give the browser a device cookie for the account it just signed in to."""
    value = _serializer().dumps([email.strip().lower(), secrets.token_urlsafe(8)])
    response.set_cookie(COOKIE, value, max_age=int(LIFETIME.total_seconds()), secure=True,
                        httponly=True, samesite="Lax")
    return response
