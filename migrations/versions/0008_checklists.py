"""A milestone's "done when" items as a checklist the learner ticks

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column: both engines add it in place, without rewriting the milestones.
    op.add_column("milestone", sa.Column("checked", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("milestone") as batch:
        batch.drop_column("checked")
