"""orders, operations, transactions, merchants, events

Revision ID: 0001
Revises:
Create Date: 2026-11-30 05:02:35.361529
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "merchants",
        sa.Column("merchant_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("login", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("sealed_secret_word", sa.Text(), nullable=False),
        sa.Column("default_currency", sa.String(length=3), nullable=False),
        sa.Column("double_stage", sa.Boolean(), nullable=False),
        sa.Column("callback_url", sa.Text(), nullable=False),
        sa.Column("require_checkvalue", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_merchants")),
    )
    op.create_table(
        "orders",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("billnumber", sa.String(length=20), nullable=False),
        sa.Column("merchant_id", sa.String(length=12), nullable=False),
        sa.Column("ordernumber", sa.String(length=128), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("delay", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("buyer", sa.JSON(), nullable=False),
        sa.Column("url_return", sa.Text(), nullable=False),
        sa.Column("url_return_ok", sa.Text(), nullable=False),
        sa.Column("url_return_no", sa.Text(), nullable=False),
        sa.Column("holds_ordernumber", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "NOT (state IN ('Approved', 'Canceled', 'Delayed', 'PartialCanceled', 'PartialDelayed')) OR holds_ordernumber",
            name=op.f("ck_orders_paid_holds_ordernumber"),
        ),
        sa.CheckConstraint(
            "state IN ('In Process', 'Delayed', 'Approved', 'PartialDelayed', 'Canceled', 'PartialCanceled', 'Declined', 'Timeout')",
            name=op.f("ck_orders_state"),
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_orders_amount_positive")),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.merchant_id"], name=op.f("fk_orders_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("billnumber", name=op.f("uq_orders_billnumber")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_orders_merchant_created", ["merchant_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_orders_merchant_ordernumber",
            ["merchant_id", "ordernumber", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "uq_orders_paid_ordernumber",
            ["merchant_id", "ordernumber"],
            unique=True,
            sqlite_where=sa.text("holds_ordernumber"),
            postgresql_where=sa.text("holds_ordernumber"),
        )

    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=True),
        sa.Column("old", sa.String(length=20), nullable=False),
        sa.Column("new", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_events_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_order_id", ["order_id"], unique=False)

    op.create_table(
        "operations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("means", sa.String(length=20), nullable=False),
        sa.Column("masked_pan", sa.String(length=19), nullable=True),
        sa.Column("card_brand", sa.String(length=30), nullable=True),
        sa.Column("card_expiry", sa.String(length=7), nullable=True),
        sa.Column("cardholder", sa.String(length=26), nullable=True),
        sa.Column("sealed_pan", sa.Text(), nullable=True),
        sa.Column("client_ip", sa.String(length=45), nullable=False),
        sa.Column("response_code", sa.String(length=5), nullable=True),
        sa.Column("approval_code", sa.String(length=6), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('in_process', 'success', 'declined', 'timeout', 'error')",
            name=op.f("ck_operations_status"),
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_operations_amount_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_operations_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operations")),
        sa.UniqueConstraint("order_id", "number", name=op.f("uq_operations_order_id_number")),
    )
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.create_index(
            "uq_operations_live_payment",
            ["order_id"],
            unique=True,
            sqlite_where=sa.text("kind = '100' AND status IN ('in_process', 'success')"),
            postgresql_where=sa.text("kind = '100' AND status IN ('in_process', 'success')"),
        )

    op.create_table(
        "transactions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "operation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "original_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("transmitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response", sa.String(length=4), nullable=False),
        sa.Column("approval_code", sa.String(length=6), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('created', 'sent', 'approved', 'declined', 'unknown', 'reversed')",
            name=op.f("ck_transactions_status"),
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_transactions_amount_positive")),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["operations.id"],
            name=op.f("fk_transactions_operation_id_operations"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_transactions_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["original_id"],
            ["transactions.id"],
            name=op.f("fk_transactions_original_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transactions")),
    )
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_transactions_open",
            ["updated_at"],
            unique=False,
            sqlite_where=sa.text("status IN ('created', 'sent', 'unknown')"),
            postgresql_where=sa.text("status IN ('created', 'sent', 'unknown')"),
        )
        batch_op.create_index("ix_transactions_operation_id", ["operation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_transactions_operation_id")
        batch_op.drop_index(
            "ix_transactions_open",
            sqlite_where=sa.text("status IN ('created', 'sent', 'unknown')"),
            postgresql_where=sa.text("status IN ('created', 'sent', 'unknown')"),
        )

    op.drop_table("transactions")
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_operations_live_payment",
            sqlite_where=sa.text("kind = '100' AND status IN ('in_process', 'success')"),
            postgresql_where=sa.text("kind = '100' AND status IN ('in_process', 'success')"),
        )

    op.drop_table("operations")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_order_id")

    op.drop_table("events")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_orders_paid_ordernumber",
            sqlite_where=sa.text("holds_ordernumber"),
            postgresql_where=sa.text("holds_ordernumber"),
        )
        batch_op.drop_index("ix_orders_merchant_ordernumber")
        batch_op.drop_index("ix_orders_merchant_created")

    op.drop_table("orders")
    op.drop_table("merchants")
