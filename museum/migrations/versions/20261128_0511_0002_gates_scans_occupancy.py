"""gates scans occupancy

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 05:11:32.761648
"""

import sqlalchemy as sa
from alembic import op

import museum.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("venue_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind", sa.Enum("entry", "exit", "both", name="gatekind", native_enum=False, length=20), nullable=False
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["venue_id"], ["venues.id"], name=op.f("fk_gates_venue_id_venues")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gates")),
        sa.UniqueConstraint("key", name=op.f("uq_gates_key")),
    )
    op.create_table(
        "occupancy",
        sa.Column("venue_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("inside", sa.Integer(), nullable=False),
        sa.Column("entered", sa.Integer(), nullable=False),
        sa.Column("exited", sa.Integer(), nullable=False),
        sa.CheckConstraint("inside >= 0", name=op.f("ck_occupancy_inside_not_negative")),
        sa.ForeignKeyConstraint(["venue_id"], ["venues.id"], name=op.f("fk_occupancy_venue_id_venues")),
        sa.PrimaryKeyConstraint("venue_id", "date", name=op.f("pk_occupancy")),
    )
    op.create_table(
        "gate_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("gate_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", museum.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["gate_id"], ["gates.id"], name=op.f("fk_gate_devices_gate_id_gates")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_devices")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_gate_devices_token_hash")),
    )
    op.create_table(
        "scans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=100), nullable=True),
        sa.Column("gate_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("direction", sa.Enum("in", "out", name="direction", native_enum=False, length=20), nullable=False),
        sa.Column(
            "verdict", sa.Enum("admitted", "refused", name="verdict", native_enum=False, length=20), nullable=False
        ),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("already_admitted", sa.Integer(), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("scanned_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("recorded_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("conflict", sa.String(length=40), nullable=True),
        sa.CheckConstraint("count >= 0", name=op.f("ck_scans_count_not_negative")),
        sa.ForeignKeyConstraint(["device_id"], ["gate_devices.id"], name=op.f("fk_scans_device_id_gate_devices")),
        sa.ForeignKeyConstraint(["gate_id"], ["gates.id"], name=op.f("fk_scans_gate_id_gates")),
        sa.ForeignKeyConstraint(["staff_id"], ["accounts.id"], name=op.f("fk_scans_staff_id_accounts")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_scans_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scans")),
        sa.UniqueConstraint("nonce", name=op.f("uq_scans_nonce")),
    )
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.create_index("ix_scans_conflicts", ["conflict", "scanned_at"], unique=False)
        batch_op.create_index("ix_scans_gate_at", ["gate_id", "scanned_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_scans_ticket_id"), ["ticket_id"], unique=False)

    with op.batch_alter_table("days", schema=None) as batch_op:
        batch_op.add_column(sa.Column("late_entry_allowed", sa.Boolean(), server_default=sa.false(), nullable=False))

    # Keep only the birth year: with the masked number, a full birth date told too much of the ID.
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birth_year", sa.Integer(), nullable=True))
    year = (
        "CAST(strftime('%Y', birth_date) AS INTEGER)"
        if op.get_bind().dialect.name == "sqlite"
        else ("CAST(EXTRACT(YEAR FROM birth_date) AS INTEGER)")
    )
    op.execute(f"UPDATE persons SET birth_year = {year} WHERE birth_date IS NOT NULL")
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_column("birth_date")

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holder_name", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("inside", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_check_constraint("inside_within_party", "inside >= 0 AND inside <= party_size")
    op.execute("UPDATE tickets SET holder_name = (SELECT name FROM persons WHERE persons.id = tickets.person_id)")

    venues = sa.table("venues", sa.column("id"), sa.column("key"))
    gates = sa.table(
        "gates", sa.column("key"), sa.column("name"), sa.column("venue_id"), sa.column("kind"), sa.column("active")
    )
    main_venue = sa.select(venues.c.id).where(venues.c.key == "main").scalar_subquery()
    op.execute(gates.insert().values(key="main", name="Main entrance", venue_id=main_venue, kind="both", active=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_tickets_inside_within_party"), type_="check")
        batch_op.drop_column("inside")
        batch_op.drop_column("holder_name")

    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birth_date", sa.DATE(), nullable=True))
        batch_op.drop_column("birth_year")

    with op.batch_alter_table("days", schema=None) as batch_op:
        batch_op.drop_column("late_entry_allowed")

    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scans_ticket_id"))
        batch_op.drop_index("ix_scans_gate_at")
        batch_op.drop_index("ix_scans_conflicts")

    op.drop_table("scans")
    op.drop_table("gate_devices")
    op.drop_table("occupancy")
    op.drop_table("gates")
