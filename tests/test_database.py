"""The schema: migrations build it on both engines, match the models, and SQLite is tuned."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import pg_url, private_schema

from tracker import (
    create_app,
    models,  # noqa: F401  (registers every table)
)
from tracker.database import db, read_one, read_only, read_then_write, writing
from tracker.models import Model
from tracker.schema import alembic_config, upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[sa.Engine]:
    """Yield an engine on an empty database: a new SQLite file or a new PostgreSQL schema."""
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
        yield engine
        engine.dispose()
        return
    with private_schema("test_empty") as schema:
        engine = sa.create_engine(pg_url(schema))
        yield engine
        engine.dispose()


def drift(engine: sa.Engine, metadata: sa.MetaData = Model.metadata) -> list:
    """Return what autogenerate would write to make the database match ``metadata``."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, metadata)


def table_names(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_from_empty_creates_every_table(empty_engine):
    assert table_names(empty_engine) == set()
    upgrade(empty_engine)
    assert table_names(empty_engine) == set(Model.metadata.tables)
    with empty_engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT version_num FROM alembic_version")) == "0012"


def test_downgrade_to_base_and_upgrade_again(empty_engine):
    upgrade(empty_engine)
    with empty_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert table_names(empty_engine) == set()
    upgrade(empty_engine)
    assert drift(empty_engine) == []


def test_models_and_migrations_agree(empty_engine):
    upgrade(empty_engine)
    assert drift(empty_engine) == []


def test_drift_check_sees_a_difference(empty_engine):
    # Guard the check itself: a column the migrations lack must show up.
    upgrade(empty_engine)
    metadata = sa.MetaData()
    for table in Model.metadata.sorted_tables:
        table.to_metadata(metadata)
    sa.Table("heartbeat", metadata, sa.Column("extra", sa.Integer), extend_existing=True)
    diffs = drift(empty_engine, metadata)
    assert [(d[0], d[3].name) for d in diffs] == [("add_column", "extra")]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_runs_in_production_shape(app):
    with app.app_context():
        conn = db.session.connection()
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_foreign_keys_cascade(app, make_user, make_plan):
    # On SQLite this holds only with PRAGMA foreign_keys on.
    plan_id = make_plan(make_user())
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(models.Milestone)) > 0
        db.session.execute(sa.delete(models.Plan).where(models.Plan.id == plan_id))
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(models.Milestone)) == 0


def _write(connection: sa.Connection) -> None:
    connection.execute(sa.update(models.User).values(timezone="UTC"))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_writers_wait_in_the_queue_not_in_the_busy_handler(app, make_user):
    make_user()
    with app.app_context():
        engine = db.engine
    first, second = engine.connect(), engine.connect()
    # Without the queue, this writer would fail at once behind the first one.
    second.connection.dbapi_connection.execute("PRAGMA busy_timeout=0")
    errors: list[BaseException] = []

    def write_second() -> None:
        try:
            _write(second)
            second.commit()
        except BaseException as e:  # reported below
            errors.append(e)

    _write(first)
    waiting = threading.Thread(target=write_second)
    waiting.start()
    waiting.join(0.2)
    assert waiting.is_alive() and not errors  # queued behind the first writer
    first.commit()
    waiting.join(10)
    assert not waiting.is_alive() and not errors, errors
    first.close()
    second.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_second_writer_in_the_same_thread_fails_instead_of_waiting_forever(app, make_user):
    make_user()
    with app.app_context():
        engine = db.engine
    with engine.connect() as first, engine.connect() as second:
        second.connection.dbapi_connection.execute("PRAGMA busy_timeout=100")
        _write(first)
        with pytest.raises(sa.exc.OperationalError, match="database is locked"):
            _write(second)


def _rename(user_id: int) -> None:
    user = db.session.get(models.User, user_id)
    user.timezone = "Europe/Berlin"


def test_a_write_in_a_read_only_view_raises(app, make_user):
    # On SQLite it would fail only when another writer commits meanwhile: fail every time.
    user_id = make_user()

    @read_only
    def view() -> None:
        _rename(user_id)
        db.session.commit()

    with app.test_request_context(), pytest.raises(RuntimeError, match="read_only"):
        view()


def in_db_transaction(connection: sa.Connection | None = None) -> bool:
    """Say whether the database (not just the session) has a transaction open."""
    raw = (connection or db.session.connection()).connection.dbapi_connection
    if isinstance(raw, sqlite3.Connection):
        return raw.in_transaction
    return raw.info.transaction_status != raw.info.transaction_status.IDLE


def test_a_read_only_view_opens_a_transaction_on_sqlite_only(app, make_user):
    # SQLite: the page's reads share one snapshot, at no cost. PostgreSQL: READ COMMITTED
    # gives each statement its own snapshot anyway, so the BEGIN and ROLLBACK would only be
    # two more round trips.
    user_id = make_user()

    @read_only
    def view() -> bool:
        db.session.get(models.User, user_id)
        return in_db_transaction()

    with app.test_request_context():
        assert view() is (db.engine.dialect.name == "sqlite")
    with app.test_request_context():  # the pooled connection is back to transactions
        db.session.get(models.User, user_id)
        assert in_db_transaction()


def test_a_feed_read_runs_without_a_transaction(app, make_user):
    # read_one() answers every feed poll: one statement, so a transaction is only round trips
    # on PostgreSQL and a snapshot to keep on SQLite.
    user_id = make_user()
    seen: list[bool] = []

    def after(connection, *_args) -> None:
        seen.append(in_db_transaction(connection))

    with app.app_context():
        engine = db.engine
    select_user = sa.select(models.User.id).where(models.User.id == sa.bindparam("id"))
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        assert read_one(engine, select_user, id=user_id).id == user_id
        assert seen == [False]
        with engine.connect() as connection:  # the pooled connection is back to transactions
            connection.execute(select_user, {"id": user_id})
        assert seen[-1] is True
    finally:
        sa.event.remove(engine, "after_cursor_execute", after)


def test_a_read_then_write_view_writes_inside_writing_only(app, make_user):
    user_id = make_user()

    @read_then_write
    def outside() -> None:
        _rename(user_id)
        db.session.commit()

    @read_then_write
    def inside() -> None:
        db.session.get(models.User, user_id)  # a read before the block
        with writing():
            _rename(user_id)
        assert db.session.get(models.User, user_id).timezone == "Europe/Berlin"  # committed

    with app.test_request_context(), pytest.raises(RuntimeError, match="writing"):
        outside()
    with app.test_request_context():
        inside()
    with app.app_context():
        assert db.session.get(models.User, user_id).timezone == "Europe/Berlin"


def test_upgrading_a_database_with_learners_keeps_them(empty_engine):
    # Each migration runs on a database that has data: SQLite rebuilds "user" to change it,
    # and with foreign keys on (as the app's engine has them) dropping the old table would
    # cascade to every plan.
    app = create_app({"TESTING": True, "SECRET_KEY": "x",
                      "DATABASE_URL": empty_engine.url.render_as_string(hide_password=False)})
    with app.app_context():
        engine = db.engine
    upgrade(engine, "0001")
    with empty_engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO \"user\" (id, email, password_hash, created_at, timezone, reminder_time,"
            " due_reminders, nudge_days, weekly_enabled, weekly_weekday, weekly_time, feed_alarm,"
            " calendar_changed_at) VALUES (1, 'a@example.com', 'x', '2027-01-01 00:00:00',"
            " 'UTC', '08:00:00', true, 2, true, 0, '08:00:00', false, '2027-01-01 00:00:00')"))
        conn.execute(sa.text(
            "INSERT INTO plan (id, user_id, outcome, recommended, roadmaps, answers, start_date,"
            " study_days, created_at, updated_at) VALUES (1, 1, 'go', 'go', '[\"go\"]', '{}',"
            " '2027-01-04', '01234', '2027-01-01 00:00:00', '2027-01-01 00:00:00')"))
        conn.execute(sa.text(
            "INSERT INTO milestone (id, plan_id, step_id, phase_id, position, due_date, note,"
            " evidence_url, uid, sequence, updated_at) VALUES (1, 1, 'go/a', 'go/m1', 0,"
            " '2027-01-04', '', '', 'u-1', 0, '2027-01-01 00:00:00')"))
    upgrade(engine)
    engine.dispose()
    with empty_engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM plan")) == 1
        secret = conn.scalar(sa.text('SELECT link_secret FROM "user"'))
        assert secret and len(secret) >= 16
        # Milestones take their learner from the plan (0011).
        assert conn.execute(sa.text("SELECT user_id, plan_id FROM milestone")).all() == [(1, 1)]
    assert drift(empty_engine) == []
