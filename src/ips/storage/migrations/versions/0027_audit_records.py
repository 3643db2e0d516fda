"""audit_records: the audit trail of every change a person makes, which nobody may change
or delete

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSAL = "audit records are never changed or deleted"


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=12), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("actor_merchant_id", sa.String(length=12), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("subject_kind", sa.String(length=30), nullable=False),
        sa.Column("subject_key", sa.String(length=100), nullable=False),
        sa.Column("merchant_id", sa.String(length=12), nullable=True),
        sa.Column("billnumber", sa.String(length=20), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "actor_kind IN ('operator', 'user', 'command')",
            name=op.f("ck_audit_records_actor_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_records")),
    )
    op.create_index("ix_audit_records_merchant_id_id", "audit_records", ["merchant_id", "id"])
    op.create_index("ix_audit_records_billnumber", "audit_records", ["billnumber"])
    op.create_index("ix_audit_records_actor_id", "audit_records", ["actor", "id"])
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_records_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_records_unchanged BEFORE UPDATE OR DELETE ON audit_records "
            "FOR EACH ROW EXECUTE FUNCTION audit_records_refuse()"
        )
        op.execute(
            "CREATE TRIGGER audit_records_kept BEFORE TRUNCATE ON audit_records "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_records_refuse()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_records_no_{event.lower()} BEFORE {event} "
                f"ON audit_records BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_records_kept ON audit_records")
        op.execute("DROP TRIGGER audit_records_unchanged ON audit_records")
        op.execute("DROP FUNCTION audit_records_refuse()")
    op.drop_index("ix_audit_records_actor_id", table_name="audit_records")
    op.drop_index("ix_audit_records_billnumber", table_name="audit_records")
    op.drop_index("ix_audit_records_merchant_id_id", table_name="audit_records")
    op.drop_table("audit_records")
