"""The instant each learner next has mail to look at: an indexed column the sweep reads

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tracker.models import SWEEP_NOW, UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# SQLite rebuilds the table to alter it: keep its ids never reused (see 0002).
KEEP = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("user", table_kwargs=KEEP) as batch:
        batch.add_column(sa.Column("next_mail_at", UTCDateTime(timezone=True), nullable=True))
    user = sa.table("user", sa.column("next_mail_at", UTCDateTime(timezone=True)))
    op.execute(user.update().values(next_mail_at=SWEEP_NOW))  # look at every learner next sweep
    with op.batch_alter_table("user", table_kwargs=KEEP) as batch:
        batch.alter_column("next_mail_at", existing_type=UTCDateTime(timezone=True), nullable=False)
        batch.create_index("ix_user_next_mail_at", ["next_mail_at"])


def downgrade() -> None:
    with op.batch_alter_table("user", table_kwargs=KEEP) as batch:
        batch.drop_index("ix_user_next_mail_at")
        batch.drop_column("next_mail_at")
