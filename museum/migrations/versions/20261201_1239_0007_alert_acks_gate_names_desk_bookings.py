"""alert acks, gate names in English, desk bookings

Acknowledged operations alerts (one per day, cause and subject), the dashboard's shared snapshot of the
day's slow figures, each gate's English name, and for
bookings made at the help desk their channel and a contact phone as a keyed blind index with its mask; a
group leader's phone gets a blind index too, so the desk can find a group by it; the audit log indexed
by who and by what.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:39:53.661971
"""

import sqlalchemy as sa
from alembic import op

import museum.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_actor_id", ["actor", "id"], unique=False)
        batch_op.create_index("ix_audit_events_action_id", ["action", "id"], unique=False)
    op.create_table(
        "alert_acks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=254), nullable=False),
        sa.Column("acknowledged_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_acks")),
        sa.UniqueConstraint("day", "code", "subject", name=op.f("uq_alert_acks_day_code_subject")),
    )
    op.create_table(
        "live_snapshots",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("computed_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_live_snapshots")),
    )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=12), server_default="online", nullable=False))
        batch_op.add_column(sa.Column("contact_phone_digest", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("contact_phone_masked", sa.String(length=24), nullable=True))
        batch_op.create_index(batch_op.f("ix_bookings_contact_phone_digest"), ["contact_phone_digest"], unique=False)

    with op.batch_alter_table("gates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_en", sa.String(length=120), server_default="", nullable=False))
    gates = sa.table(
        "gates", sa.column("key", sa.String), sa.column("name", sa.String), sa.column("name_en", sa.String)
    )
    op.execute(  # the gate every museum starts with gets its Chinese name; its English one stays
        gates.update()
        .where(gates.c.key == "main", gates.c.name == "Main entrance")
        .values(name="正门", name_en="Main entrance")
    )

    with op.batch_alter_table("group_bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leader_phone_digest", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_group_bookings_leader_phone_digest"), ["leader_phone_digest"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_action_id")
        batch_op.drop_index("ix_audit_events_actor_id")
    with op.batch_alter_table("group_bookings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_bookings_leader_phone_digest"))
        batch_op.drop_column("leader_phone_digest")

    gates = sa.table(
        "gates", sa.column("key", sa.String), sa.column("name", sa.String), sa.column("name_en", sa.String)
    )
    op.execute(gates.update().where(gates.c.key == "main", gates.c.name == "正门").values(name="Main entrance"))
    with op.batch_alter_table("gates", schema=None) as batch_op:
        batch_op.drop_column("name_en")

    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bookings_contact_phone_digest"))
        batch_op.drop_column("contact_phone_masked")
        batch_op.drop_column("contact_phone_digest")
        batch_op.drop_column("channel")

    op.drop_table("live_snapshots")
    op.drop_table("alert_acks")
