"""Sign-up logs in even with an address another account has: such an account has no email
of its own, only the address typed

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# SQLite rebuilds the table to alter it: keep its ids never reused (see 0002).
KEEP = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("user", table_kwargs=KEEP) as batch:
        batch.alter_column("email", existing_type=sa.String(254), nullable=True)
        batch.add_column(sa.Column("signup_email", sa.String(254)))


def downgrade() -> None:
    op.execute(sa.text('DELETE FROM "user" WHERE email IS NULL'))
    with op.batch_alter_table("user", table_kwargs=KEEP) as batch:
        batch.drop_column("signup_email")
        batch.alter_column("email", existing_type=sa.String(254), nullable=False)
