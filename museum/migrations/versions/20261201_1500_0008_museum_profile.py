"""museum profile

The museum's own profile, one row: its name, address, opening hours, directions, visiting rules, what to
bring, child and senior policy and cancellation terms, each in Chinese and English, and its public phone
number and e-mail address.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 15:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import museum.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: (name, length): None for unbounded text.
_TEXTS = (
    ("name", 80),
    ("address", 200),
    ("opening_hours", None),
    ("directions", None),
    ("visiting_rules", None),
    ("what_to_bring", None),
    ("child_policy", None),
    ("senior_policy", None),
    ("cancellation", None),
)


def upgrade() -> None:
    columns = [
        sa.Column(f"{name}_{lang}", sa.String(length=length) if length else sa.Text(), nullable=False)
        for name, length in _TEXTS
        for lang in ("zh", "en")
    ]
    op.create_table(
        "museum_profiles",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        *columns,
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("updated_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_museum_profiles")),
    )


def downgrade() -> None:
    op.drop_table("museum_profiles")
