"""busy path storage

Gate admissions update tickets in place: on PostgreSQL, room left in each page of ``tickets`` lets an
update stay on its page without touching the table's four indexes (a heap-only update). Scans without
a conflict (nearly all) are left out of the conflicts index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 06:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TICKETS_FILLFACTOR = 85
HAS_CONFLICT = sa.text("conflict IS NOT NULL")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE tickets SET (fillfactor = {TICKETS_FILLFACTOR})")
    with op.batch_alter_table("scans") as batch_op:
        batch_op.drop_index("ix_scans_conflicts")
        batch_op.create_index(
            "ix_scans_conflicts", ["conflict", "scanned_at"], postgresql_where=HAS_CONFLICT, sqlite_where=HAS_CONFLICT
        )


def downgrade() -> None:
    with op.batch_alter_table("scans") as batch_op:
        batch_op.drop_index("ix_scans_conflicts")
        batch_op.create_index("ix_scans_conflicts", ["conflict", "scanned_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE tickets RESET (fillfactor)")
