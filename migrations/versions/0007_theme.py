"""A learner's colour scheme: follow the device, or always light or dark

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# SQLite rebuilds the table to alter it: keep its ids never reused (see 0002).
KEEP = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("user", table_kwargs=KEEP) as batch:
        batch.add_column(sa.Column("theme", sa.String(5), nullable=False, server_default="auto"))


def downgrade() -> None:
    with op.batch_alter_table("user", table_kwargs=KEEP) as batch:
        batch.drop_column("theme")
