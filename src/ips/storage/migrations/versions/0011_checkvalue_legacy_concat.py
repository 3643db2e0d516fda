"""a merchant may opt in to checkvalues over fields joined without separators

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "checkvalue_legacy_concat", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_column("checkvalue_legacy_concat")
