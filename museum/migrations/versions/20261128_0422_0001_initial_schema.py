"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 04:22:15.859159
"""

import sqlalchemy as sa
from alembic import op

import museum.db

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column(
            "role",
            sa.Enum("visitor", "gate", "ops", "admin", name="role", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", museum.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("email", name=op.f("uq_accounts_email")),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("target", sa.String(length=120), nullable=False),
        sa.Column("old", sa.JSON(), nullable=True),
        sa.Column("new", sa.JSON(), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"], unique=False)

    op.create_table(
        "days",
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("opens_at", sa.Time(), nullable=True),
        sa.Column("closes_at", sa.Time(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "capacity IS NULL OR (booked >= 0 AND booked <= capacity)", name=op.f("ck_days_booked_within_cap")
        ),
        sa.PrimaryKeyConstraint("date", name=op.f("pk_days")),
    )
    op.create_table(
        "signing_keys",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("private_key_sealed", sa.LargeBinary(length=128), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", museum.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_keys")),
    )
    op.create_table(
        "venues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_zh", sa.String(length=120), nullable=False),
        sa.Column("safe_capacity", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_venues")),
        sa.UniqueConstraint("key", name=op.f("uq_venues_key")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", museum.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_api_tokens_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_account_id"), ["account_id"], unique=False)

    op.create_table(
        "persons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "id_type",
            sa.Enum("cn_id", "hk_mo_permit", "tw_permit", "passport", name="idtype", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("id_digest", sa.String(length=64), nullable=False),
        sa.Column("id_masked", sa.String(length=40), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", museum.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_persons_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
        sa.UniqueConstraint("account_id", "id_digest", name=op.f("uq_persons_account_id_id_digest")),
    )
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_persons_account_id"), ["account_id"], unique=False)

    op.create_table(
        "slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("venue_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("created_at", museum.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("start_time < end_time", name=op.f("ck_slots_window_order")),
        sa.ForeignKeyConstraint(["date"], ["days.date"], name=op.f("fk_slots_date_days")),
        sa.ForeignKeyConstraint(["venue_id"], ["venues.id"], name=op.f("fk_slots_venue_id_venues")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slots")),
        sa.UniqueConstraint(
            "venue_id", "date", "start_time", "end_time", name=op.f("uq_slots_venue_id_date_start_time_end_time")
        ),
    )
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slots_date"), ["date"], unique=False)

    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column(
            "pool_kind",
            sa.Enum("individual", "group", "reserve", name="poolkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("party_size", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("confirmed", "cancelled", name="bookingstatus", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("created_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("cancelled_at", museum.db.UTCDateTime(), nullable=True),
        sa.Column("cancelled_by", sa.String(length=254), nullable=True),
        sa.CheckConstraint("party_size > 0", name=op.f("ck_bookings_party_positive")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_bookings_account_id_accounts")),
        sa.ForeignKeyConstraint(["slot_id"], ["slots.id"], name=op.f("fk_bookings_slot_id_slots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
    )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_index("ix_bookings_account_day", ["account_id", "visit_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_bookings_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bookings_slot_id"), ["slot_id"], unique=False)

    op.create_table(
        "slot_pools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("individual", "group", "reserve", name="poolkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.CheckConstraint("booked >= 0 AND booked <= capacity", name=op.f("ck_slot_pools_booked_within_capacity")),
        sa.ForeignKeyConstraint(
            ["slot_id"], ["slots.id"], name=op.f("fk_slot_pools_slot_id_slots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slot_pools")),
        sa.UniqueConstraint("slot_id", "kind", name=op.f("uq_slot_pools_slot_id_kind")),
    )
    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("created_at", museum.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_idempotency_records_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_idempotency_records_booking_id_bookings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_records")),
        sa.UniqueConstraint("account_id", "key", name=op.f("uq_idempotency_records_account_id_key")),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("id_digest", sa.String(length=64), nullable=True),
        sa.Column("party_size", sa.Integer(), nullable=False),
        sa.Column("admitted", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=12), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("revoked_at", museum.db.UTCDateTime(), nullable=True),
        sa.CheckConstraint("admitted >= 0 AND admitted <= party_size", name=op.f("ck_tickets_admitted_within_party")),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], name=op.f("fk_tickets_booking_id_bookings")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_tickets_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("reference", name=op.f("uq_tickets_reference")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tickets_booking_id"), ["booking_id"], unique=False)
        batch_op.create_index(
            "uq_tickets_day_person",
            ["visit_date", "id_digest"],
            unique=True,
            postgresql_where=sa.text("revoked_at IS NULL AND id_digest IS NOT NULL"),
            sqlite_where=sa.text("revoked_at IS NULL AND id_digest IS NOT NULL"),
        )

    venues = sa.table("venues", sa.column("key"), sa.column("name"), sa.column("name_zh"), sa.column("safe_capacity"))
    op.bulk_insert(
        venues, [{"key": "main", "name": "Main Exhibition Hall", "name_zh": "主展厅", "safe_capacity": 8000}]
    )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_tickets_day_person",
            postgresql_where=sa.text("revoked_at IS NULL AND id_digest IS NOT NULL"),
            sqlite_where=sa.text("revoked_at IS NULL AND id_digest IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_tickets_booking_id"))

    op.drop_table("tickets")
    op.drop_table("idempotency_records")
    op.drop_table("slot_pools")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bookings_slot_id"))
        batch_op.drop_index(batch_op.f("ix_bookings_account_id"))
        batch_op.drop_index("ix_bookings_account_day")

    op.drop_table("bookings")
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slots_date"))

    op.drop_table("slots")
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_persons_account_id"))

    op.drop_table("persons")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_account_id"))

    op.drop_table("api_tokens")
    op.drop_table("venues")
    op.drop_table("signing_keys")
    op.drop_table("days")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_at"))

    op.drop_table("audit_events")
    op.drop_table("accounts")
