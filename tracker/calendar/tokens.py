"""Feed tokens: a secret per learner, derived so the settings page can show it again.

A token is HMAC(SECRET_KEY, a random per-learner salt), 256 bits; only its SHA-256 is
stored, for the lookup. An account gets one when it is made (tracker.accounts); Rotate
makes a new salt, and with it a new address. A new SECRET_KEY changes every token:
learners then press Rotate for a new address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from flask import current_app

from ..models import User
from ..web.urls import absolute_url


def digest(token: str) -> str:
    """Return what is stored of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def _derive(salt: str) -> str:
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else bytes(key or b"")
    mac = hmac.new(key, f"feed:{salt}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def issue_token(user: User) -> str:
    """Give the learner a new feed token (the old URL stops working) and return it."""
    user.feed_token_salt = secrets.token_urlsafe(16)
    token = _derive(user.feed_token_salt)
    user.feed_token_hash = digest(token)
    return token


def feed_token(user: User) -> str | None:
    """Return the learner's feed token; None without one, or after SECRET_KEY changed."""
    if not user.feed_token_salt or not user.feed_token_hash:
        return None
    token = _derive(user.feed_token_salt)
    return token if hmac.compare_digest(digest(token), user.feed_token_hash) else None


def feed_url(token: str) -> str:
    """Return the absolute https (or http) feed URL for a token."""
    return absolute_url("calendar.feed", token=token)


def webcal_url(url: str) -> str:
    """Return the webcal:// form of a feed URL, which calendar apps open as a subscription."""
    return "webcal://" + url.partition("://")[2]
