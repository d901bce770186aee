"""Migrations: one head, upgrading an empty database gives exactly the models' schema, and every
migration can be undone and done again."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from museum.db import normalise_url
from museum.migrate import alembic_config, downgrade, target_metadata, upgrade
from tests.conftest import is_postgres


def test_there_is_one_head(database_url):
    assert len(ScriptDirectory.from_config(alembic_config(database_url)).get_heads()) == 1


def test_upgraded_schema_equals_the_models(app):
    engine = app.extensions["museum.db"].engine
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, target_metadata()) == []


def test_every_database_has_the_main_venue(app):
    from sqlalchemy import select

    from museum import db
    from museum.models import Venue

    assert db.session().scalar(select(Venue.key).where(Venue.key == "main")) == "main"


@pytest.fixture
def scratch_url(app, tmp_path):
    """An empty database of the kind the suite runs on (on PostgreSQL, one created for this test)."""
    if not is_postgres(app):
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    name = f"museum_scratch_{uuid.uuid4().hex[:12]}"
    server = app.extensions["museum.db"].engine.url
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        try:
            with admin.connect() as connection:
                connection.execute(text(f"CREATE DATABASE {name}"))
        except DBAPIError as error:
            pytest.skip(f"this role cannot create a scratch database: {error.orig}")
        yield server.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    finally:
        admin.dispose()


def test_every_migration_can_be_undone_and_done_again(scratch_url):
    upgrade(scratch_url)
    downgrade(scratch_url, "base")
    upgrade(scratch_url)
    engine = create_engine(normalise_url(scratch_url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, target_metadata()) == []
    finally:
        engine.dispose()
