"""Server-side login sessions; a per-account secret for emailed links; user ids never reused;
what the mail transport last reported

Revision ID: 0002
Revises: 0001
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tracker.models

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", tracker.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", tracker.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"],
                                name=op.f("fk_login_session_user_id_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_login_session_token_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_login_session_user_id"), "login_session", ["user_id"])
    with op.batch_alter_table("heartbeat") as batch:
        batch.add_column(sa.Column("detail", sa.String(length=500), nullable=False,
                                   server_default=""))
    with op.batch_alter_table("heartbeat") as batch:
        batch.alter_column("detail", existing_type=sa.String(length=500), server_default=None)
    # Each account gets its own random secret; SQLite rebuilds the table with AUTOINCREMENT
    # so that a deleted account's id is never handed to the next one.
    with op.batch_alter_table("user", recreate="auto",
                              table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("link_secret", sa.String(length=32), nullable=True))
    user = sa.table("user", sa.column("id", sa.Integer), sa.column("link_secret", sa.String))
    connection = op.get_bind()
    for (user_id,) in connection.execute(sa.select(user.c.id)).all():
        connection.execute(sa.update(user).where(user.c.id == user_id)
                           .values(link_secret=secrets.token_urlsafe(16)))
    with op.batch_alter_table("user", recreate="always" if connection.dialect.name == "sqlite"
                              else "auto", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.alter_column("link_secret", existing_type=sa.String(length=32), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("heartbeat") as batch:
        batch.drop_column("detail")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("link_secret")
    op.drop_index(op.f("ix_login_session_user_id"), table_name="login_session")
    op.drop_table("login_session")
