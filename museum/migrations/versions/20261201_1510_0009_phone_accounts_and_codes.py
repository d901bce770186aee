"""phone accounts and codes

Accounts may have a mainland mobile number (unique, normalised to its 11 digits) instead of or beside an
e-mail address, and need no password then: e-mail and password hash become nullable, and a check keeps
every account reachable by one of the two. One-time SMS login codes (one row per number, under the
number's keyed digest, the code only as a keyed hash) and "forgot password" links (only the token's hash).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 15:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

import museum.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=11), nullable=True))
        batch_op.alter_column("email", existing_type=sa.String(length=254), nullable=True)
        batch_op.alter_column("password_hash", existing_type=sa.String(length=255), nullable=True)
        batch_op.create_unique_constraint(batch_op.f("uq_accounts_phone"), ["phone"])
        batch_op.create_check_constraint("email_or_phone", "email IS NOT NULL OR phone IS NOT NULL")
    op.create_table(
        "sms_codes",
        sa.Column("phone_digest", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("sent_at", museum.db.UTCDateTime(), nullable=True),
        sa.Column("expires_at", museum.db.UTCDateTime(), nullable=True),
        sa.Column("wrong_attempts", sa.Integer(), nullable=False),
        sa.Column("hour_started_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("hour_count", sa.Integer(), nullable=False),
        sa.Column("day_started_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("day_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("phone_digest", name=op.f("pk_sms_codes")),
    )
    op.create_table(
        "password_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("password_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", museum.db.UTCDateTime(), nullable=False),
        sa.Column("used_at", museum.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_password_resets_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_resets_token_hash")),
    )
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_password_resets_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_password_resets_account_id"))
    op.drop_table("password_resets")
    op.drop_table("sms_codes")
    # The old schema needs an e-mail and a password: accounts made with a mobile number keep their bookings
    # under an address nobody can receive mail at (.invalid), and cannot log in.
    op.execute(
        "UPDATE accounts SET email = 'phone-' || CAST(id AS VARCHAR(12)) || '@accounts.invalid' WHERE email IS NULL"
    )
    op.execute("UPDATE accounts SET password_hash = '!' WHERE password_hash IS NULL")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint("email_or_phone", type_="check")
        batch_op.drop_constraint(batch_op.f("uq_accounts_phone"), type_="unique")
        batch_op.alter_column("password_hash", existing_type=sa.String(length=255), nullable=False)
        batch_op.alter_column("email", existing_type=sa.String(length=254), nullable=False)
        batch_op.drop_column("phone")
