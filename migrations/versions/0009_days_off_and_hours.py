"""Dates in the learner's locale, public holidays kept free, and hours a week per plan

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# SQLite rebuilds the table to alter it: keep its ids never reused (see 0002).
KEEP = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("user", table_kwargs=KEEP) as batch:
        batch.add_column(sa.Column("locale", sa.String(16), nullable=False,
                                   server_default="en_001"))
        batch.add_column(sa.Column("holidays_off", sa.Boolean, nullable=False,
                                   server_default=sa.true()))
    # A column with a constant default: both engines add it without rewriting the plans.
    op.add_column("plan", sa.Column("weekly_hours", sa.Integer, nullable=False,
                                    server_default="10"))


def downgrade() -> None:
    with op.batch_alter_table("plan") as batch:
        batch.drop_column("weekly_hours")
    with op.batch_alter_table("user", table_kwargs=KEEP) as batch:
        batch.drop_column("holidays_off")
        batch.drop_column("locale")
