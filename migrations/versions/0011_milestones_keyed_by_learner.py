"""Milestones carry their learner: user_id, filled from the plan, leads every key

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("milestone") as batch:
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
    op.execute(sa.text(
        "UPDATE milestone SET user_id = (SELECT plan.user_id FROM plan"
        " WHERE plan.id = milestone.plan_id)"))
    with op.batch_alter_table("milestone") as batch:
        batch.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(batch.f("fk_milestone_user_id_user"), "user", ["user_id"], ["id"],
                                 ondelete="CASCADE")
        batch.drop_constraint("uq_milestone_plan_id", type_="unique")
        batch.create_unique_constraint(batch.f("uq_milestone_user_id"),
                                       ["user_id", "plan_id", "step_id"])
        batch.drop_index("ix_milestone_plan_position")
        batch.drop_index("ix_milestone_plan_due")
        batch.create_index("ix_milestone_user_plan_position", ["user_id", "plan_id", "position"])
        batch.create_index("ix_milestone_user_plan_due", ["user_id", "plan_id", "due_date"])


def downgrade() -> None:
    with op.batch_alter_table("milestone") as batch:
        batch.drop_index("ix_milestone_user_plan_due")
        batch.drop_index("ix_milestone_user_plan_position")
        batch.create_index("ix_milestone_plan_position", ["plan_id", "position"])
        batch.create_index("ix_milestone_plan_due", ["plan_id", "due_date"])
        batch.drop_constraint("uq_milestone_user_id", type_="unique")
        batch.create_unique_constraint(batch.f("uq_milestone_plan_id"), ["plan_id", "step_id"])
        batch.drop_constraint("fk_milestone_user_id_user", type_="foreignkey")
        batch.drop_column("user_id")
