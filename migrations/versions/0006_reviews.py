"""Spaced review: a review per finished milestone, its answers, the settings, past pauses

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tracker.models import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# SQLite rebuilds the table to alter it: keep its ids never reused (see 0002).
KEEP = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("user", table_kwargs=KEEP) as batch:
        batch.add_column(sa.Column("reviews_enabled", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
        batch.add_column(sa.Column("feed_reviews", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
    with op.batch_alter_table("plan") as batch:
        batch.add_column(sa.Column("pauses", sa.JSON(), nullable=False, server_default="[]"))
    op.create_table(
        "review",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("milestone_id", sa.Integer(),
                  sa.ForeignKey("milestone.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("uid", sa.String(64), nullable=False, unique=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_review_user_due", "review", ["user_id", "due_on"])
    op.create_table(
        "review_answer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("milestone_id", sa.Integer(),
                  sa.ForeignKey("milestone.id", ondelete="CASCADE"), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("answered_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_review_answer_user_at", "review_answer", ["user_id", "answered_at"])
    op.create_index("ix_review_answer_milestone_id", "review_answer", ["milestone_id"])


def downgrade() -> None:
    op.drop_table("review_answer")
    op.drop_table("review")
    with op.batch_alter_table("plan") as batch:
        batch.drop_column("pauses")
    with op.batch_alter_table("user", table_kwargs=KEEP) as batch:
        batch.drop_column("feed_reviews")
        batch.drop_column("reviews_enabled")
