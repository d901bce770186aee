"""scheduler, templates and rules

Scheduler runs (one per job and trigger time) and its lease, calendar templates with their windows,
quota rules and the pool releases they made; pools keep the base capacity rules scale.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 11:16:39.858767
"""

import sqlalchemy as sa
from alembic import op

import museum.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("trigger_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("started_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("finished_at", museum.db.UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("runner", sa.String(length=254), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
        sa.UniqueConstraint("job_id", "trigger_at", name=op.f("uq_job_runs_job_id_trigger_at")),
    )
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_runs_trigger_at"), ["trigger_at"], unique=False)

    op.create_table(
        "scheduler_leases",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=False),
        sa.Column("expires_at", museum.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_leases")),
    )
    op.create_table(
        "calendar_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("venue_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("closed_weekdays", sa.JSON(), nullable=False),
        sa.Column("closed_dates", sa.JSON(), nullable=False),
        sa.Column("created_at", museum.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["venue_id"], ["venues.id"], name=op.f("fk_calendar_templates_venue_id_venues")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_templates")),
    )
    with op.batch_alter_table("calendar_templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_templates_venue_id"), ["venue_id"], unique=False)

    op.create_table(
        "quota_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("weekdays", sa.JSON(), nullable=True),
        sa.Column("venue_id", sa.Integer(), nullable=True),
        sa.Column(
            "action",
            sa.Enum(
                "set_capacity",
                "scale_capacity",
                "open_day",
                "add_window",
                "release_pool",
                "release_reserve_when_booked",
                name="ruleaction",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", museum.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["venue_id"], ["venues.id"], name=op.f("fk_quota_rules_venue_id_venues")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_quota_rules_name")),
    )
    op.create_table(
        "pool_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_kind",
            sa.Enum("individual", "group", "reserve", name="poolkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column(
            "to_kind",
            sa.Enum("individual", "group", "reserve", name="poolkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("moved", sa.Integer(), nullable=False),
        sa.Column("at", museum.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["quota_rules.id"], name=op.f("fk_pool_releases_rule_id_quota_rules"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"], ["slots.id"], name=op.f("fk_pool_releases_slot_id_slots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_releases")),
        sa.UniqueConstraint("rule_id", "slot_id", name=op.f("uq_pool_releases_rule_id_slot_id")),
    )
    with op.batch_alter_table("pool_releases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pool_releases_slot_id"), ["slot_id"], unique=False)

    op.create_table(
        "template_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column(
            "day_kind", sa.Enum("workday", "rest_day", name="daykind", native_enum=False, length=20), nullable=False
        ),
        sa.Column("start", sa.Time(), nullable=False),
        sa.Column("end", sa.Time(), nullable=False),
        sa.Column("individual", sa.Integer(), nullable=False),
        sa.Column("group", sa.Integer(), nullable=False),
        sa.Column("reserve", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["calendar_templates.id"],
            name=op.f("fk_template_windows_template_id_calendar_templates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_template_windows")),
        sa.UniqueConstraint(
            "template_id", "day_kind", "start", name=op.f("uq_template_windows_template_id_day_kind_start")
        ),
    )
    with op.batch_alter_table("days", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opened_by_hand", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("slot_pools", schema=None) as batch_op:
        batch_op.add_column(sa.Column("base_capacity", sa.Integer(), nullable=True))
    op.execute("UPDATE slot_pools SET base_capacity = capacity")
    with op.batch_alter_table("slot_pools", schema=None) as batch_op:
        batch_op.alter_column("base_capacity", existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("slot_pools", schema=None) as batch_op:
        batch_op.drop_column("base_capacity")
    with op.batch_alter_table("days", schema=None) as batch_op:
        batch_op.drop_column("opened_by_hand")

    op.drop_table("template_windows")
    with op.batch_alter_table("pool_releases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pool_releases_slot_id"))

    op.drop_table("pool_releases")
    op.drop_table("quota_rules")
    with op.batch_alter_table("calendar_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_templates_venue_id"))

    op.drop_table("calendar_templates")
    op.drop_table("scheduler_leases")
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_runs_trigger_at"))

    op.drop_table("job_runs")
