"""history indexes

What keeps the busy paths flat on a year of history (bench/history.py: 3 million bookings, 10 million
tickets, 12 million scans), found with bench/scale.py --explain; each is there for one measured query:

- ``ix_bans_active_until``: a booking's recheck asks for the latest end of an active ban on the account or
  its visitors. Its OR (with a subquery of saved persons) can use neither the account's nor the digest's
  index, so PostgreSQL read every ban ever made (23,000 after a year: 540 pages, 2 ms, on every booking).
  Active bans are those not lifted that end after now: through this index, with the account and the digest
  in it, that is the last BAN_DAYS' bans only (3,400: 44 pages, no table access, 0.4 ms), however many
  years lie behind. Bans are written by the no-show job, on no busy path.
- ``ix_tickets_day``: the live figures' full count sums each window's admitted; bounded by the day
  (admin/live_counts.py), it reads the day's tickets through this index and joins them to the day's
  bookings, instead of one lookup per booking through the tickets' booking index, whose depth grows with
  the years (12,000 pages and 11 ms for a day of 4,600 tickets on 500,000, against 350 pages and 3 ms).
  It costs each new ticket one more index entry, at the end of its day's; neither column changes at a gate,
  so admissions stay heap-only.
- ``ix_no_shows_day``: the live figures' full count counts the day's absent persons per window; bounded by
  the day (admin/live_counts.py), it finds today's few rows here instead of joining the day's bookings to
  all of the year's 870,000 no-shows (17,000 pages, 120 ms, on every full count). No-shows are written by
  the no-show job and late cancellations.
- ``ix_scans_day_conflicts`` in place of ``ix_scans_conflicts``: both hold only the scans with a conflict;
  ops read a day's (the live figures' count, the day's list), which the old one, by conflict, found only by
  reading every conflict of every day (1,200 after a year: 26 pages against 1 on an empty database).
- ``tickets.booking_id`` statistics (PostgreSQL): ANALYZE's sample sees most bookings' tickets once and
  takes 10 million tickets for 190,000 bookings (54 each, where there are 3.3), so a join from a day's
  bookings to their tickets read the whole table instead of those bookings' tickets (the live figures'
  sum before its day's bound: 415,000 pages, 960 ms; the no-show job and the day's close join the same
  way). The share of distinct values is set instead; ANALYZE makes it count at once.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

NOT_LIFTED = sa.text("lifted_at IS NULL")
HAS_CONFLICT = sa.text("conflict IS NOT NULL")
#: About 3.3 tickets per booking: a third of the tickets' booking ids are distinct.
TICKETS_PER_BOOKING_DISTINCT = -0.3


def upgrade() -> None:
    with op.batch_alter_table("bans") as batch_op:
        batch_op.create_index(
            "ix_bans_active_until",
            ["ends_at"],
            postgresql_include=["account_id", "id_digest"],
            postgresql_where=NOT_LIFTED,
            sqlite_where=NOT_LIFTED,
        )
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.create_index("ix_tickets_day", ["visit_date"])
    with op.batch_alter_table("no_shows") as batch_op:
        batch_op.create_index("ix_no_shows_day", ["visit_date"])
    with op.batch_alter_table("scans") as batch_op:
        batch_op.drop_index("ix_scans_conflicts")
        batch_op.create_index(
            "ix_scans_day_conflicts",
            ["visit_date", "scanned_at"],
            postgresql_where=HAS_CONFLICT,
            sqlite_where=HAS_CONFLICT,
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE tickets ALTER COLUMN booking_id SET (n_distinct = {TICKETS_PER_BOOKING_DISTINCT})")
        op.execute("ANALYZE tickets")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE tickets ALTER COLUMN booking_id RESET (n_distinct)")
    with op.batch_alter_table("scans") as batch_op:
        batch_op.drop_index("ix_scans_day_conflicts")
        batch_op.create_index(
            "ix_scans_conflicts", ["conflict", "scanned_at"], postgresql_where=HAS_CONFLICT, sqlite_where=HAS_CONFLICT
        )
    with op.batch_alter_table("no_shows") as batch_op:
        batch_op.drop_index("ix_no_shows_day")
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_index("ix_tickets_day")
    with op.batch_alter_table("bans") as batch_op:
        batch_op.drop_index("ix_bans_active_until")
