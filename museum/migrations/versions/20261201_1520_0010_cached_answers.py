"""cached answers

Answers that many readers poll (the live dashboard's figures), shared by all workers for about a second.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 14:50:00
"""

import sqlalchemy as sa
from alembic import op

import museum.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cached_answers",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("stored_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_cached_answers")),
    )


def downgrade() -> None:
    op.drop_table("cached_answers")
