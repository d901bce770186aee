"""no-show bookings by slot

``ix_bookings_no_show_slot`` holds only the bookings the no-show job marked ``no_show`` (those nobody of
came to), by slot. The live figures read a day's whole absent groups each time their snapshot is brought
forward (admin/live_counts.py, every few seconds while screens watch): through the slots' index that read
all the day's bookings (30,000 on a summer day: about 10 ms), through this one the day's few no-shows.
Bookings are marked by the no-show job, on no busy path.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 22:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

NO_SHOW = sa.text("status = 'no_show'")


def upgrade() -> None:
    with op.batch_alter_table("bookings") as batch_op:
        batch_op.create_index("ix_bookings_no_show_slot", ["slot_id"], postgresql_where=NO_SHOW, sqlite_where=NO_SHOW)


def downgrade() -> None:
    with op.batch_alter_table("bookings") as batch_op:
        batch_op.drop_index("ix_bookings_no_show_slot")
