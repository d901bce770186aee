"""Migrations: one head, and upgrading an empty database gives exactly the models' schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from museum.migrate import alembic_config, target_metadata


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
