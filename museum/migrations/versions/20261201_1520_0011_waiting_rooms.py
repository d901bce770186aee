"""waiting rooms

A waiting room per release (its settings and its two join counters), each account's place in it, the one
pass it issues an account, and the persons booked with its passes (by their ID's blind index).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 15:20:00
"""

import sqlalchemy as sa
from alembic import op

import museum.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "waiting_rooms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("release_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("opens_minutes_before", sa.Integer(), nullable=False),
        sa.Column("admit_per_second", sa.Float(), nullable=False),
        sa.Column("pass_minutes", sa.Integer(), nullable=False),
        sa.Column("lasts_minutes", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("rate_from", museum.db.UTCDateTime(), nullable=False),
        sa.Column("admitted_before", sa.Float(), nullable=False),
        sa.Column("early_joins", sa.Integer(), nullable=False),
        sa.Column("late_joins", sa.Integer(), nullable=False),
        sa.Column("created_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.CheckConstraint("admit_per_second > 0", name=op.f("ck_waiting_rooms_admit_rate")),
        sa.CheckConstraint("early_joins >= 0 AND late_joins >= 0", name=op.f("ck_waiting_rooms_joins")),
        sa.CheckConstraint("lasts_minutes >= 1", name=op.f("ck_waiting_rooms_lasts_minutes")),
        sa.CheckConstraint("opens_minutes_before >= 0", name=op.f("ck_waiting_rooms_opens_before")),
        sa.CheckConstraint("pass_minutes >= 1", name=op.f("ck_waiting_rooms_pass_minutes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waiting_rooms")),
        sa.UniqueConstraint("visit_date", name=op.f("uq_waiting_rooms_visit_date")),
    )
    op.create_table(
        "queue_joins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("early", sa.Boolean(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("joined_at", museum.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_queue_joins_account_id_accounts")),
        sa.ForeignKeyConstraint(["room_id"], ["waiting_rooms.id"], name=op.f("fk_queue_joins_room_id_waiting_rooms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_joins")),
        sa.UniqueConstraint("room_id", "account_id", name=op.f("uq_queue_joins_room_id_account_id")),
        sa.UniqueConstraint("room_id", "early", "seq", name=op.f("uq_queue_joins_room_id_early_seq")),
    )
    op.create_table(
        "queue_pass_persons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("id_digest", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("booked_at", museum.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_queue_pass_persons_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["waiting_rooms.id"], name=op.f("fk_queue_pass_persons_room_id_waiting_rooms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_pass_persons")),
        sa.UniqueConstraint("room_id", "id_digest", name=op.f("uq_queue_pass_persons_room_id_id_digest")),
    )
    op.create_table(
        "queue_passes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", museum.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_queue_passes_account_id_accounts")),
        sa.ForeignKeyConstraint(["room_id"], ["waiting_rooms.id"], name=op.f("fk_queue_passes_room_id_waiting_rooms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_passes")),
        sa.UniqueConstraint("room_id", "account_id", name=op.f("uq_queue_passes_room_id_account_id")),
    )


def downgrade() -> None:
    op.drop_table("queue_passes")
    op.drop_table("queue_pass_persons")
    op.drop_table("queue_joins")
    op.drop_table("waiting_rooms")
