"""waitlist, no-shows, bans and messages

Waitlist entries with their persons, the no-shows bans are counted from, bans of accounts and of persons
by their blind index, the outbox of messages to visitors, each account's language for them, and an index
for one object's audit history. A booking may now also be ``no_show`` (the status column is a plain
string, so no change there).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:31:50.594274
"""

import sqlalchemy as sa
from alembic import op

import museum.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_target_at", ["target", "at"], unique=False)
    op.create_table(
        "bans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("id_digest", sa.String(length=64), nullable=True),
        sa.Column("holder", sa.String(length=160), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("starts_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("ends_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("lifted_at", museum.db.UTCDateTime(), nullable=True),
        sa.Column("lifted_by", sa.String(length=254), nullable=True),
        sa.Column("lift_reason", sa.String(length=300), nullable=False),
        sa.CheckConstraint("account_id IS NOT NULL OR id_digest IS NOT NULL", name=op.f("ck_bans_bans_someone")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_bans_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bans")),
    )
    with op.batch_alter_table("bans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bans_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bans_id_digest"), ["id_digest"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("dedupe_key", sa.String(length=120), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "sent", "failed", name="messagestatus", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=120), nullable=True),
        sa.Column("claimed_until", museum.db.UTCDateTime(), nullable=True),
        sa.Column("not_before", museum.db.UTCDateTime(), nullable=False),
        sa.Column("created_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("sent_at", museum.db.UTCDateTime(), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_messages_account_id_accounts"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_messages_dedupe_key")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_messages_account_id"), ["account_id"], unique=False)
        batch_op.create_index("ix_messages_due", ["status", "not_before"], unique=False)

    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("party_size", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "waiting", "converted", "expired", "cancelled", name="waitliststatus", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("skip_reason", sa.String(length=40), nullable=False),
        sa.Column("created_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("closed_at", museum.db.UTCDateTime(), nullable=True),
        sa.CheckConstraint("party_size > 0", name=op.f("ck_waitlist_entries_party_positive")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_waitlist_entries_account_id_accounts")),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], name=op.f("fk_waitlist_entries_booking_id_bookings")),
        sa.ForeignKeyConstraint(["slot_id"], ["slots.id"], name=op.f("fk_waitlist_entries_slot_id_slots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_waitlist_entries_booking_id")),
    )
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.create_index("ix_waitlist_entries_account_day", ["account_id", "visit_date"], unique=False)
        batch_op.create_index("ix_waitlist_entries_queue", ["slot_id", "status", "id"], unique=False)

    op.create_table(
        "no_shows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("id_digest", sa.String(length=64), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column(
            "kind", sa.Enum("absent", "late_cancel", name="noshowkind", native_enum=False, length=20), nullable=False
        ),
        sa.Column("recorded_at", museum.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_no_shows_account_id_accounts")),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], name=op.f("fk_no_shows_booking_id_bookings")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_no_shows_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_no_shows")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_no_shows_ticket_id")),
    )
    with op.batch_alter_table("no_shows", schema=None) as batch_op:
        batch_op.create_index("ix_no_shows_account_day", ["account_id", "visit_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_no_shows_booking_id"), ["booking_id"], unique=False)
        batch_op.create_index("ix_no_shows_digest_day", ["id_digest", "visit_date"], unique=False)

    op.create_table(
        "waitlist_persons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["waitlist_entries.id"],
            name=op.f("fk_waitlist_persons_entry_id_waitlist_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_waitlist_persons_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_persons")),
    )
    with op.batch_alter_table("waitlist_persons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_waitlist_persons_entry_id"), ["entry_id"], unique=False)

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lang", sa.String(length=8), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_target_at")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("lang")

    with op.batch_alter_table("waitlist_persons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waitlist_persons_entry_id"))

    op.drop_table("waitlist_persons")
    with op.batch_alter_table("no_shows", schema=None) as batch_op:
        batch_op.drop_index("ix_no_shows_digest_day")
        batch_op.drop_index(batch_op.f("ix_no_shows_booking_id"))
        batch_op.drop_index("ix_no_shows_account_day")

    op.drop_table("no_shows")
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_waitlist_entries_queue")
        batch_op.drop_index("ix_waitlist_entries_account_day")

    op.drop_table("waitlist_entries")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_due")
        batch_op.drop_index(batch_op.f("ix_messages_account_id"))

    op.drop_table("messages")
    with op.batch_alter_table("bans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bans_id_digest"))
        batch_op.drop_index(batch_op.f("ix_bans_account_id"))

    op.drop_table("bans")
