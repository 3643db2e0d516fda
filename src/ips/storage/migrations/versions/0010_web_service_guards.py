"""web-service guards: failures per login and source, allowed addresses, remembered credentials

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 16:00:00

The counts of failed logins so far were kept per login alone (``ws:<merchant id>``,
``cabinet:<login>``); they are dropped, and counting starts again per login and source.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ws_addresses", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("ws_credential_mac", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("ws_credential_until", sa.DateTime(timezone=True), nullable=True)
        )
    op.execute("DELETE FROM login_guards")
    with op.batch_alter_table("login_guards", schema=None) as batch_op:
        batch_op.alter_column(
            "subject",
            existing_type=sa.String(length=120),
            type_=sa.String(length=200),
            existing_nullable=False,
        )
        batch_op.add_column(sa.Column("succeeded_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM login_guards")
    with op.batch_alter_table("login_guards", schema=None) as batch_op:
        batch_op.drop_column("succeeded_at")
        batch_op.alter_column(
            "subject",
            existing_type=sa.String(length=200),
            type_=sa.String(length=120),
            existing_nullable=False,
        )
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_column("ws_credential_until")
        batch_op.drop_column("ws_credential_mac")
        batch_op.drop_column("ws_addresses")
