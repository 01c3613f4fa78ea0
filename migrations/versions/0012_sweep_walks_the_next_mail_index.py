"""The sweep reads who is due in (next_mail_at, id) order: the index holds both

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_user_next_mail_at", table_name="user")
    op.create_index("ix_user_next_mail_at", "user", ["next_mail_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_user_next_mail_at", table_name="user")
    op.create_index("ix_user_next_mail_at", "user", ["next_mail_at"])
