"""The one table of mail kinds: what composes each notification the outbox delivers."""

from __future__ import annotations

from collections.abc import Mapping

from ..accounts import emails as account_mail
from ..mail.delivery import Composer
from ..reminders import emails as reminder_mail

COMPOSERS: Mapping[str, Composer] = {
    "verify": account_mail.compose_verification,
    "account-exists": account_mail.compose_account_exists,
    "reset": account_mail.compose_reset,
    "email-change": account_mail.compose_email_change,
    "email-changed": account_mail.compose_email_changed,
    "due": reminder_mail.compose_due,
    "nudge": reminder_mail.compose_nudge,
    "weekly": reminder_mail.compose_weekly,
}
