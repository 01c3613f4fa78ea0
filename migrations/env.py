"""Alembic environment: run migrations on the connection tracker.schema hands over."""

from alembic import context

from tracker.models import Model

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise SystemExit("Run migrations through `flask --app app db upgrade`.")

context.configure(
    connection=connection,
    target_metadata=Model.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copy
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
