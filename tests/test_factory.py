"""The app factory: configuration defaults."""

from __future__ import annotations

from pathlib import Path

from tracker import create_app


def test_secret_key_is_generated_and_kept_in_instance(database_url):
    first = create_app({"DATABASE_URL": database_url})
    key = Path(first.instance_path, "secret_key").read_text().strip()
    assert first.secret_key == key and len(key) >= 48
    second = create_app({"DATABASE_URL": database_url})
    assert second.secret_key == key  # sessions survive a restart of `make run`


def test_secret_key_from_config_wins(database_url):
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "from-env"})
    assert app.secret_key == "from-env"


def test_forms_work_without_a_configured_secret_key(database_url):
    app = create_app({"DATABASE_URL": database_url})
    response = app.test_client().get("/signup")
    assert response.status_code == 200 and b'name="csrf_token"' in response.data
