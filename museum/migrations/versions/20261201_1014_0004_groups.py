"""groups

Group bookings (a school's or tour's request, its leader, its state) and blocks of organisations or leader
accounts. A group's members are ticket rows without a reference (so tickets' reference becomes nullable)
that carry their document's type and mask.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:14:16
"""

import sqlalchemy as sa
from alembic import op

import museum.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "group_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation", sa.String(length=120), nullable=True),
        sa.Column("organisation_key", sa.String(length=120), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", museum.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "organisation_key IS NOT NULL OR account_id IS NOT NULL", name=op.f("ck_group_blocks_blocks_someone")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_group_blocks_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_blocks")),
    )
    with op.batch_alter_table("group_blocks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_blocks_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_group_blocks_organisation_key"), ["organisation_key"], unique=False)

    op.create_table(
        "group_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("organisation", sa.String(length=120), nullable=False),
        sa.Column("organisation_key", sa.String(length=120), nullable=False),
        sa.Column(
            "kind", sa.Enum("school", "tour", "other", name="groupkind", native_enum=False, length=20), nullable=False
        ),
        sa.Column("leader_name", sa.String(length=80), nullable=False),
        sa.Column("leader_phone_masked", sa.String(length=24), nullable=False),
        sa.Column("leader_phone_sealed", sa.LargeBinary(length=80), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "approved", "rejected", "cancelled", name="groupstatus", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("party_size", sa.Integer(), nullable=False),
        sa.Column("created_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("decided_at", museum.db.UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=254), nullable=True),
        sa.CheckConstraint("party_size > 0", name=op.f("ck_group_bookings_party_positive")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_group_bookings_account_id_accounts")),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], name=op.f("fk_group_bookings_booking_id_bookings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_bookings")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_group_bookings_booking_id")),
    )
    with op.batch_alter_table("group_bookings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_bookings_account_id"), ["account_id"], unique=False)
        batch_op.create_index("ix_group_bookings_organisation_day", ["organisation_key", "visit_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_group_bookings_status"), ["status"], unique=False)

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.alter_column("reference", existing_type=sa.VARCHAR(length=12), nullable=True)
        batch_op.add_column(
            sa.Column(
                "id_type",
                sa.Enum("cn_id", "hk_mo_permit", "tw_permit", "passport", name="idtype", native_enum=False, length=20),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("id_masked", sa.String(length=40), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM tickets WHERE reference IS NULL")  # group members' rows
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.alter_column("reference", existing_type=sa.VARCHAR(length=12), nullable=False)
        batch_op.drop_column("id_masked")
        batch_op.drop_column("id_type")

    with op.batch_alter_table("group_bookings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_bookings_status"))
        batch_op.drop_index("ix_group_bookings_organisation_day")
        batch_op.drop_index(batch_op.f("ix_group_bookings_account_id"))

    op.drop_table("group_bookings")
    with op.batch_alter_table("group_blocks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_blocks_organisation_key"))
        batch_op.drop_index(batch_op.f("ix_group_blocks_account_id"))

    op.drop_table("group_blocks")
