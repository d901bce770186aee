"""Alembic, driven from code: ``museum db upgrade`` and the migration tests use this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def target_metadata() -> MetaData:
    """The metadata of every package's models (importing them registers their tables)."""
    import admin.models  # noqa: F401
    import booking.models  # noqa: F401
    import gate.models  # noqa: F401
    import museum.models  # noqa: F401
    import waiting.models  # noqa: F401
    from museum import profile  # noqa: F401
    from museum.db import Base

    return Base.metadata


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.set_main_option(
        "file_template", "%%(year)d%%(month).2d%%(day).2d_%%(hour).2d%%(minute).2d_%%(rev)s_%%(slug)s"
    )
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)
