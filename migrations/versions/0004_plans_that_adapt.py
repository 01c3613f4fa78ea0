"""Plans that adapt: skipped milestones, a learner's own milestones, uploaded roadmaps

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tracker.models import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("milestone") as batch:
        batch.add_column(sa.Column("skipped_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("skip_reason", sa.String(500), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("title", sa.String(200), nullable=True))
        batch.add_column(sa.Column("learn", sa.Text(), nullable=True))
        batch.add_column(sa.Column("done_when", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("links", sa.JSON(), nullable=True))
    op.create_table(
        "roadmap_upload",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_roadmap_upload_user_id", "roadmap_upload", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_roadmap_upload_user_id", "roadmap_upload")
    op.drop_table("roadmap_upload")
    with op.batch_alter_table("milestone") as batch:
        for column in ("links", "done_when", "learn", "title", "skip_reason", "skipped_at"):
            batch.drop_column(column)
